"""What every benchmark returns, and how results are printed.

A benchmark runs wirekit and a peer (dpkt, Scapy, tcpdump, tcpreplay, iperf3, the seed's C
server) in the same run on the same input and reports the ratio.  Absolute numbers drift on
shared machines; ratios are what we quote and what goals are set on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """wirekit against one peer on one task."""

    name: str
    unit: str
    wirekit: float
    peer_name: str
    peer: float
    goal: float | None = None  # minimum ratio wirekit/peer (or peer/wirekit when lower is better)
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.wirekit / self.peer if self.peer else float("inf")
        return self.peer / self.wirekit if self.wirekit else float("inf")

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.ratio >= self.goal

    def row(self) -> str:
        goal = "—" if self.goal is None else f"≥ {self.goal:g}×"
        verdict = {None: "", True: "met", False: "**missed**"}[self.met]
        return (f"| {self.name} | {self.wirekit:,.0f} {self.unit} | {self.peer_name}: "
                f"{self.peer:,.0f} {self.unit} | {self.ratio:.2f}× | {goal} {verdict} "
                f"| {self.note} |")


TABLE_HEADER = ("| task | wirekit | peer | ratio | goal | note |\n"
                "|---|---:|---:|---:|---|---|")


def best_rate(count: int, func: Callable[[], object], repeats: int = 3) -> float:
    """Items per second of ``func`` (which handles ``count`` items), best of ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return count / best


def quick() -> bool:
    """WIREKIT_BENCH_QUICK=1 shrinks inputs so the benchmark code itself can be tested fast."""
    return os.environ.get("WIREKIT_BENCH_QUICK") == "1"
