"""The codec benchmark runs (tiny inputs) and compares like with like; no timing asserted."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def test_benchmark_code_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREKIT_BENCH_QUICK", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module("bench_codec")
    try:
        rows = module.run()
    finally:
        sys.modules.pop("bench_codec", None)
    peers = [(row.name.split(" (")[0], row.peer_name) for row in rows]
    assert ("decode Ether/IPv4/L4, 5-tuple + IP length", "dpkt") in peers
    assert ("build Ether/IPv4/TCP with lengths and checksums", "dpkt") in peers
    assert ("decode Ether/IPv4/L4, 5-tuple + IP length", "Scapy") in peers
    assert {row.goal for row in rows} == {None, 2.0, 3.0}
    assert all(row.wirekit > 0 and row.peer > 0 for row in rows)


def test_the_capture_mixes_tcp_and_udp_of_many_sizes() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        module = importlib.import_module("bench_codec")
        frames = module.capture(48)
    finally:
        sys.path.remove(str(BENCHMARKS))
        sys.modules.pop("bench_codec", None)
    import wirekit.packet as w

    kinds = {type(w.parse(frame)[2]).__name__ for frame in frames}
    assert kinds == {"TCP", "UDP"} and len({len(frame) for frame in frames}) >= 4
