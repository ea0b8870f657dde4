"""Throughput on loopback: iperf3 client -> iperf3 server against wirekit client -> wirekit server.

Three tasks, each run as alternating rounds (iperf3, wirekit, iperf3, wirekit, ...) so both see
the same background load; the ratio of the medians is reported with the spread of the per-round
ratios, and wirekit's own CPU use (client and server, percent of one core) from its -J output.

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

TASKS = [
    ("TCP, one stream", "Mbit/s", [], 0.95),
    ("TCP, -P 4", "Mbit/s", ["-P", "4"], 0.95),
    ("UDP 64-byte datagrams, unlimited rate (received)", "kpps",
     ["-u", "-b", "0", "-l", "64"], 1.0),
]


def _measure(tool: str, args: list[str], seconds: int) -> tuple[float, dict[str, Any]]:
    port = free_port()
    server = start_server(tool, port)
    try:
        done = subprocess.run(client_command(tool, port, ["-t", str(seconds), *args]),
                              capture_output=True, text=True, timeout=seconds + 30, check=True)
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


def _task(args: list[str], rounds: int, seconds: int) -> tuple[list[float], list[float],
                                                                list[dict[str, Any]]]:
    peer, ours, ends = [], [], []
    for _ in range(rounds):
        peer.append(_measure("iperf3", args, seconds)[0])
        value, end = _measure("wirekit", args, seconds)
        ours.append(value)
        ends.append(end)
        time.sleep(0.2)
    return peer, ours, ends


def run() -> list[Comparison]:
    rounds, seconds = (1, 1) if quick() else (5, 3)
    results = []
    for name, unit, args, goal in TASKS:
        peer, ours, ends = _task(args, rounds, seconds)
        ratios = sorted(w / p for w, p in zip(ours, peer, strict=True) if p)
        cpu = [e["cpu_utilization_percent"] for e in ends]
        note = (f"{rounds} rounds of {seconds} s; per-round ratio {ratios[0]:.2f}-{ratios[-1]:.2f}"
                f"; wirekit CPU client {statistics.median(c['host_total'] for c in cpu):.0f}%"
                f" server {statistics.median(c['remote_total'] for c in cpu):.0f}%")
        results.append(Comparison(name, unit, statistics.median(ours), "iperf3 3.12",
                                  statistics.median(peer), goal=goal, note=note))
    return results


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
