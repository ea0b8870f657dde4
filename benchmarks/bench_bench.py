"""Throughput on loopback: iperf3 client -> iperf3 server against wirekit client -> wirekit server.

Three tasks, each run as interleaved rounds so both tools see the same background load; the
order flips every round (iperf3 then wirekit, wirekit then iperf3, ...) so a load that drifts
during a round does not always hit the same tool.  Reported: the geometric mean of each tool's
rounds (so the ratio is the geometric mean of the per-round ratios), their spread, and each
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
import math
import statistics
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
    serve_one,
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
    done, _, _ = serve_one(server, client_command(tool, port, [*length, *args]), timeout=60)
    done.check_returncode()
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


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if all(values) else 0.0


def run() -> list[Comparison]:
    """One row per task: the geometric means of each tool's rounds.

    Their ratio is the geometric mean of the per-round ratios.  On the shared machine the tool
    that runs second in a round came out ahead, by up to 2x (per-round ratios alternated
    1.89, 0.92, 1.70, 0.92, ...), so the rounds are an even number, half in each order, and a
    multiplicative order effect cancels out of the geometric mean (it does not out of a median:
    an earlier 0.89x was the ratio of two medians from different rounds, where the per-round
    ratios were 0.79-1.68).
    """
    rounds = 1 if quick() else 8
    results = []
    for name, unit, args, goal, quick_bytes in TASKS:
        length = ["-n", quick_bytes] if quick() else ["-t", "3"]
        peer, ours, peer_ends, our_ends = _task(args, rounds, length)
        ratios = [w / p if p else 0.0 for w, p in zip(ours, peer, strict=True)]
        note = (f"{rounds} interleaved rounds of {' '.join(length)}, geometric means; "
                f"per-round ratios {min(ratios):.2f}-{max(ratios):.2f}, median "
                f"{statistics.median(ratios):.2f}; CPU wirekit {_cpu(our_ends)}, "
                f"iperf3 {_cpu(peer_ends)}")
        results.append(Comparison(name, unit, geometric_mean(ours), "iperf3 3.12",
                                  geometric_mean(peer), goal=goal, note=note))
    return results


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
