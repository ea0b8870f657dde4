"""The message protocol: ``wirekit proto server`` against the seed's C server, same load.

The load generator (proto_load.py) runs as its own process and speaks version 1, the seed's
wire format, so both servers get the same bytes: 64-byte DATA frames, pipelined.  Each
throughput figure is the best of several alternating runs (this machine is shared; ratios are
what to quote).  The C server keeps a connection slot per connection ever accepted (100 in
all), so each scenario gets a fresh C server.  10,000 idle connections are held against
wirekit only (the C server stops at 100) and its RSS is compared with the 200 MB budget.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import Comparison, quick

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support.peers import build_seed_protocol  # noqa: E402

LOAD = [sys.executable, str(HERE / "proto_load.py")]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def c_server() -> Iterator[int]:
    """The seed's server; its stdin is its off switch (getchar), its stdout goes nowhere."""
    port = _free_port()
    proc = subprocess.Popen([str(build_seed_protocol()), "server", str(port)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        _wait(port)
        yield port
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def wirekit_server() -> Iterator[tuple[int, int]]:
    """``wirekit proto server`` (uvloop when installed); yields (port, pid)."""
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "proto", "server", "0", "--host",
                             "127.0.0.1", "--log-level", "warning", "--idle-timeout", "600",
                             "--max-connections", "20000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"listening on [\d.]+:(\d+)", line)
        if found is None:
            raise RuntimeError(f"wirekit server did not start: {line}")
        yield int(found.group(1)), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(port: int) -> None:
    """Wait for a listening socket on ``port`` without connecting to it: the C server never
    frees the slot of a connection, so a probe would cost one of its 100."""
    deadline = time.monotonic() + 10
    wanted = f":{port:04X} "
    while time.monotonic() < deadline:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if (fields[1] + " ").endswith(wanted) and fields[3] == "0A":  # 0A: TCP_LISTEN
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _load(*args: str, timeout: float = 300) -> dict[str, float]:
    done = subprocess.run([*LOAD, *args], capture_output=True, text=True, timeout=timeout,
                          check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _throughput(connections: int, messages: int, repeats: int) -> tuple[float, float]:
    best_c = best_w = 0.0
    for _ in range(repeats):
        args = ("--connections", str(connections), "--messages", str(messages))
        with c_server() as port:
            best_c = max(best_c, _load("throughput", str(port), *args)["rate"])
        with wirekit_server() as (port, _):
            best_w = max(best_w, _load("throughput", str(port), *args)["rate"])
    return best_w, best_c


def _latency(messages: int) -> tuple[dict[str, float], dict[str, float]]:
    with c_server() as port:
        peer = _load("latency", str(port), "--messages", str(messages))
    with wirekit_server() as (port, _):
        ours = _load("latency", str(port), "--messages", str(messages))
    return ours, peer


def _idle_rss(connections: int) -> tuple[float, float]:
    """(RSS with ``connections`` idle sessions, RSS before), in MiB."""
    with wirekit_server() as (port, pid):
        time.sleep(0.3)
        before = _rss_mib(pid)
        proc = subprocess.Popen([*LOAD, "idle", str(port), "--connections", str(connections),
                                 "--hold", "3"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        time.sleep(1.0)
        held = _rss_mib(pid)
        proc.communicate(timeout=60)
    if ready["ready"] != connections:
        raise RuntimeError(f"only {ready['ready']} idle connections opened")
    return held, before


def run() -> list[Comparison]:
    small = quick()
    messages, repeats = (60_000, 1) if small else (1_000_000, 3)
    idle = 200 if small else 10_000
    one_w, one_c = _throughput(1, messages, repeats)
    many_w, many_c = _throughput(100, messages, repeats)
    ours, peer = _latency(500 if small else 5_000)
    held, before = _idle_rss(idle)
    return [
        Comparison("64-byte DATA pipelined, 1 connection", "msg/s", one_w, "seed C server",
                   one_c, goal=1.0, note=f"best of {repeats}, {messages:,} messages"),
        Comparison("64-byte DATA pipelined, 100 connections", "msg/s", many_w,
                   "seed C server", many_c, goal=1.0,
                   note=f"best of {repeats}, {messages:,} messages"),
        Comparison("ACK latency p50, window 1", "µs", ours["p50_us"], "seed C server",
                   peer["p50_us"], higher_is_better=False, note="ping-pong, v1"),
        Comparison("ACK latency p99, window 1", "µs", ours["p99_us"], "seed C server",
                   peer["p99_us"], higher_is_better=False, note="ping-pong, v1"),
        Comparison(f"RSS with {idle:,} idle connections", "MiB", held, "budget", 200.0,
                   goal=1.0, higher_is_better=False,
                   note=f"{before:.0f} MiB before; the C server holds at most 100"),
    ]


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
