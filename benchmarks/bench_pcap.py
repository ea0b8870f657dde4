"""Capture files: read a 1 GB pcap in constant memory, and read/write rates against dpkt.

Each reader runs in its own subprocess over the same file, so its peak RSS (``VmHWM`` of
that process) is its own; the goal is wirekit < 100 MiB for a 1 GB file.  Rates are the best of
three runs, wirekit and dpkt interleaved (the file is in the page cache for both).  tcpdump
``-r file -w /dev/null`` (libpcap reading and writing, no decoding) is a further reference.
``WIREKIT_BENCH_QUICK=1`` uses a 2 MB file and one run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Comparison, quick

GIB = 1024**3
RSS_LIMIT_MIB = 100
#: IMIX-like sizes (64, 576 and 1500-byte frames, 7:4:1), so records vary as in real traffic.
SIZES = (64,) * 7 + (576,) * 4 + (1500,)
T0 = 1_700_000_000_000_000_000

#: kind -> (imports, reading loop); imports are not timed.
READERS = {
    "wirekit": ("from wirekit.pcap import Reader", """
with Reader(path) as reader:
    for record in reader:
        count += 1
        size += len(record.data)
        record.timestamp
"""),
    "dpkt": ("import dpkt", """
with open(path, "rb") as handle:
    reader = dpkt.pcapng.Reader(handle) if path.endswith(".pcapng") else dpkt.pcap.Reader(handle)
    for timestamp, data in reader:
        count += 1
        size += len(data)
"""),
}

CHILD = """
import json, sys, time
{imports}
path = sys.argv[1]
count = size = 0
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child of a big parent
# would report the parent's peak; VmHWM belongs to this process's own address space.
with open("/proc/self/status", encoding="ascii") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({{"count": count, "bytes": size, "seconds": elapsed, "rss_mib": hwm / 1024}}))
"""


def _frames() -> list[bytes]:
    return [bytes([index & 0xFF]) * size for index, size in enumerate(SIZES)]


def write_capture(path: Path, target_bytes: int) -> int:
    """Write about ``target_bytes`` of capture with wirekit; return the packet count."""
    from wirekit.pcap import Writer

    frames = _frames()
    per_round = sum(len(f) + 16 for f in frames)
    rounds = max(1, target_bytes // per_round)
    with Writer(path) as writer:
        write = writer.write
        stamp = T0
        for _ in range(rounds):
            for frame in frames:
                write(frame, stamp)
                stamp += 1_000
    return rounds * len(frames)


def read_in_child(kind: str, path: Path) -> dict[str, float]:
    imports, body = READERS[kind]
    code = CHILD.format(imports=imports, body=body)
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True, timeout=900)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def tcpdump_rate(path: Path, count: int) -> float | None:
    if shutil.which("tcpdump") is None:
        return None
    start = time.perf_counter()
    subprocess.run(["tcpdump", "-r", str(path), "-w", os.devnull], capture_output=True,
                   check=True, timeout=900)
    return count / (time.perf_counter() - start)


def write_rates(directory: Path, count: int) -> tuple[float, float]:
    """Packets per second written by wirekit's Writer.write and by dpkt's pcap Writer."""
    import dpkt

    from wirekit.pcap import Writer

    frames = _frames()
    rounds = max(1, count // len(frames))
    start = time.perf_counter()
    with Writer(directory / "w.pcap") as writer:
        write = writer.write
        for index in range(rounds):
            for frame in frames:
                write(frame, T0 + index)
    ours = rounds * len(frames) / (time.perf_counter() - start)
    start = time.perf_counter()
    with (directory / "d.pcap").open("wb") as handle:
        peer = dpkt.pcap.Writer(handle, nano=True)
        for index in range(rounds):
            for frame in frames:
                peer.writepkt(frame, ts=1.7e9 + index)
    theirs = rounds * len(frames) / (time.perf_counter() - start)
    return ours, theirs


def _best(results: list[dict[str, float]]) -> dict[str, float]:
    best = min(results, key=lambda r: r["seconds"])
    return {**best, "rss_mib": max(r["rss_mib"] for r in results)}


def compare_reads(path: Path, repeats: int) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in READERS}
    for _ in range(repeats):
        for kind in READERS:
            runs[kind].append(read_in_child(kind, path))
    counts = {kind: runs[kind][0]["count"] for kind in READERS}
    if len(set(counts.values())) != 1:
        raise RuntimeError(f"readers disagree on the packet count: {counts}")
    return {kind: _best(found) for kind, found in runs.items()}


def run() -> list[Comparison]:
    size = 2 * 1024**2 if quick() else GIB
    repeats = 1 if quick() else 3
    comparisons: list[Comparison] = []
    with tempfile.TemporaryDirectory(prefix="wirekit-bench-pcap-") as tmp:
        directory = Path(tmp)
        path = directory / "big.pcap"
        count = write_capture(path, size)
        label = f"{path.stat().st_size / 1e9:.2f} GB" if not quick() else "2 MB"
        reads = compare_reads(path, repeats)
        ours, dpkt_run = reads["wirekit"], reads["dpkt"]
        met = "met" if ours["rss_mib"] < RSS_LIMIT_MIB else "MISSED"
        comparisons.append(Comparison(
            f"read a {label} pcap ({count:,} packets)", "packets/s",
            ours["count"] / ours["seconds"], "dpkt", dpkt_run["count"] / dpkt_run["seconds"],
            note=f"subprocess each, best of {repeats}"))
        comparisons.append(Comparison(
            f"peak RSS reading the {label} pcap", "MiB", ours["rss_mib"], "dpkt",
            dpkt_run["rss_mib"], higher_is_better=False,
            note=f"limit {RSS_LIMIT_MIB} MiB for wirekit: {met}"))
        rate = tcpdump_rate(path, count)
        if rate is not None:
            comparisons.append(Comparison(
                f"read the {label} pcap", "packets/s", ours["count"] / ours["seconds"],
                "tcpdump -r -w /dev/null", rate, note="libpcap copies records, no decoding"))
        path.unlink()
        comparisons.extend(_pcapng(directory, size // 4, repeats))
        ours_w, dpkt_w = write_rates(directory, min(count, 1_000_000))
        comparisons.append(Comparison("write pcap records (Writer.write)", "packets/s", ours_w,
                                      "dpkt", dpkt_w, note="IMIX sizes, to a file"))
    return comparisons


def _pcapng(directory: Path, size: int, repeats: int) -> list[Comparison]:
    from wirekit.pcap import Reader, Writer

    source = directory / "mid.pcap"
    write_capture(source, size)
    path = directory / "mid.pcapng"
    with Reader(source) as reader, Writer(path, format="pcapng") as writer:
        for record in reader:
            writer.write_packet(record)
    source.unlink()
    reads = compare_reads(path, repeats)
    ours, theirs = reads["wirekit"], reads["dpkt"]
    return [Comparison(f"read a {path.stat().st_size / 1e6:.0f} MB pcapng", "packets/s",
                       ours["count"] / ours["seconds"], "dpkt",
                       theirs["count"] / theirs["seconds"],
                       note=f"wirekit peak RSS {ours['rss_mib']:.0f} MiB")]


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
