"""Throughput on loopback: iperf3 client -> iperf3 server against wirekit client -> wirekit server.

Three tasks, each run as interleaved rounds so both tools see the same background load; the
order flips every round (iperf3 then wirekit, wirekit then iperf3, ...) so a load that drifts
during a round does not always hit the same tool.  Reported: the round whose wirekit/iperf3
ratio is the median of the per-round ratios, their spread, the medians of each tool, and each
tool's CPU use (client and server, percent of one core, from the -J output: user + system time
of the process over the test, as iperf3 computes it with getrusage; checked against
/proc/PID/stat sampled during the test).

Quick mode (``WIREKIT_BENCH_QUICK=1``) moves a few megabytes (``-n``) instead of running for
seconds, so a test can check that this code runs.

Goals (issue 6): TCP one stream >= 0.95x, TCP -P 4 >= 0.95x, UDP 64-byte datagrams at unlimited
rate >= 1.0x iperf3's *received* packets per second.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import Comparison, quick

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.bench.bench_support import (  # noqa: E402
    client_command,
    free_port,
    start_server,
)

#: (name, unit, arguments, goal, bytes moved in quick mode)
TASKS = [
    ("TCP, one stream", "Mbit/s", [], 0.95, "64M"),
    ("TCP, -P 4", "Mbit/s", ["-P", "4"], 0.95, "64M"),
    ("UDP 64-byte datagrams, unlimited rate (received)", "kpps",
     ["-u", "-b", "0", "-l", "64"], 1.0, "1M"),
]


def _measure(tool: str, args: list[str], length: list[str]) -> tuple[float, dict[str, Any]]:
    """One run of ``tool`` in both roles; (throughput, the client's -J "end" object)."""
    port = free_port()
    server = start_server(tool, port)
    try:
        done = subprocess.run(client_command(tool, port, [*length, *args]),
                              capture_output=True, text=True, timeout=60, check=True)
        server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    end = json.loads(done.stdout)["end"]
    if "-u" in args:
        received = end["sum_received"]
        got = received["packets"] - received["lost_packets"]
        return got / received["seconds"] / 1000, end
    return end["sum_received"]["bits_per_second"] / 1e6, end


def _task(args: list[str], rounds: int, length: list[str]) -> tuple[list[float], list[float],
                                                                    list[dict[str, Any]],
                                                                    list[dict[str, Any]]]:
    peer: list[float] = []
    ours: list[float] = []
    peer_ends: list[dict[str, Any]] = []
    our_ends: list[dict[str, Any]] = []
    for index in range(rounds):
        for tool in ("iperf3", "wirekit") if index % 2 == 0 else ("wirekit", "iperf3"):
            value, end = _measure(tool, args, length)
            (peer if tool == "iperf3" else ours).append(value)
            (peer_ends if tool == "iperf3" else our_ends).append(end)
            time.sleep(0.2)
    return peer, ours, peer_ends, our_ends


def _cpu(ends: list[dict[str, Any]]) -> str:
    cpu = [e["cpu_utilization_percent"] for e in ends]
    return (f"client {statistics.median(c['host_total'] for c in cpu):.0f}%"
            f" server {statistics.median(c['remote_total'] for c in cpu):.0f}%")


def run() -> list[Comparison]:
    """One row per task: the round with the median per-round ratio (an odd count of rounds).

    The two tools of a round ran back to back under the same load, so their ratio is the
    paired measurement; the ratio of two medians taken over different rounds mixes load
    changes into it (0.89x where the per-round ratios were 0.79-1.68, in an earlier run).
    """
    rounds = 1 if quick() else 7
    results = []
    for name, unit, args, goal, quick_bytes in TASKS:
        length = ["-n", quick_bytes] if quick() else ["-t", "3"]
        peer, ours, peer_ends, our_ends = _task(args, rounds, length)
        ratios = [w / p if p else 0.0 for w, p in zip(ours, peer, strict=True)]
        middle = sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]
        note = (f"{rounds} interleaved rounds of {' '.join(length)}, the median round shown; "
                f"per-round ratios {min(ratios):.2f}-{max(ratios):.2f}; medians wirekit "
                f"{statistics.median(ours):,.0f}, iperf3 {statistics.median(peer):,.0f}; "
                f"CPU wirekit {_cpu(our_ends)}, iperf3 {_cpu(peer_ends)}")
        results.append(Comparison(name, unit, ours[middle], "iperf3 3.12", peer[middle],
                                  goal=goal, note=note))
    return results


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
