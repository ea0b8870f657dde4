"""Raw sockets against tcpdump and tcpreplay, in one run, on the same veth pair and files.

1. Zero drops: tcpreplay ``--topspeed`` pushes N 60-byte frames into a veth; on the other end
   ``wirekit capture -w`` and then (same file, same replay) ``tcpdump -w`` record them.  Both
   get the same 64 MiB ring (``-B 65536``).  Reported: packets written and kernel drops.
2. Decode rate: ``wirekit read FILE`` and ``tcpdump -r FILE -nn``, summary lines to /dev/null.
3. Replay rate: ``wirekit replay --topspeed`` and ``tcpreplay --topspeed`` of the same file
   onto the same veth, alternately, best of three each.

Needs root (namespaces).  WIREKIT_BENCH_QUICK=1 shrinks every input.  Run alone:
``.venv/bin/python benchmarks/bench_link.py``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Comparison, quick

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.netns import NetnsPair, netns_pair  # noqa: E402

WIREKIT = [sys.executable, "-m", "wirekit"]
#: The issue's size for the zero-drop run; tcpreplay pushes ~300k packets/s into a veth here.
FRAMES = 3_000_000
QUICK_FRAMES = 20_000
DECODE_PACKETS = 300_000
RING_KIB = "65536"


def _sizes() -> tuple[int, int]:
    return (QUICK_FRAMES, 5_000) if quick() else (FRAMES, DECODE_PACKETS)


def write_small_frames(path: Path, count: int) -> None:
    """``count`` 60-byte Ethernet/IPv4/UDP frames over 1024 flows, to a host that is not there."""
    from wirekit.packet import UDP, Ether, IPv4, LinkType
    from wirekit.pcap import Writer

    templates = [bytes(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
                       / IPv4(src="10.99.0.1", dst="10.99.0.2")
                       / UDP(sport=10000 + flow, dport=9) / (b"w" * 18))
                 for flow in range(1024)]
    if len(templates[0]) != 60:
        raise RuntimeError(f"template frame is {len(templates[0])} bytes, not 60")
    with Writer(str(path), LinkType.ETHERNET) as writer:
        for index in range(count):
            writer.write(templates[index % 1024], 1_000_000_000 + index * 1000)


def write_mixed(path: Path, count: int) -> None:
    """A realistic mix for the decode benchmark: TCP, UDP, ICMP, ARP, IPv6."""
    from wirekit.packet import ARP, ICMP, TCP, UDP, Ether, ICMPv6, IPv4, IPv6, LinkType
    from wirekit.pcap import Writer

    eth = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    mix = [
        bytes(eth / IPv4(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000, dport=443,
                                                              flags="PA", seq=7, ack=9)
              / (b"t" * 500)),
        bytes(eth / IPv4(src="10.0.0.2", dst="10.0.0.1") / TCP(sport=443, dport=40000,
                                                              flags="A", seq=9, ack=507)),
        bytes(eth / IPv4(src="10.0.0.1", dst="10.0.0.53") / UDP(sport=5353, dport=53)
              / (b"q" * 40)),
        bytes(eth / IPv4(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=1, seq=1)
              / (b"p" * 56)),
        bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01")
              / ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.2", hwsrc="02:00:00:00:00:01")),
        bytes(eth / IPv6(src="fd00::1", dst="fd00::2") / TCP(sport=40001, dport=80, flags="S")),
        bytes(eth / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=546, dport=547)),
        bytes(eth / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6(type=128, id=3, seq=4)),
    ]
    with Writer(str(path), LinkType.ETHERNET) as writer:
        for index in range(count):
            writer.write(mix[index % len(mix)], 1_000_000_000 + index * 1000)


def _wait_listening(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout
    while b"listening on" not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"capture did not start: {seen.decode()!r}")
        try:
            seen += os.read(proc.stderr.fileno(), 4096)
        except BlockingIOError:
            time.sleep(0.02)
    os.set_blocking(proc.stderr.fileno(), True)


def _stats(text: str) -> tuple[int, int, int]:
    """(captured, received by filter, dropped by kernel) from the closing lines."""
    def number(label: str) -> int:
        found = re.search(rf"(\d+) packets? {label}", text)
        return int(found.group(1)) if found else -1

    return number("captured"), number("received by filter"), number("dropped by kernel")


def _tcpreplay(pair: NetnsPair, path: Path) -> float:
    done = pair.run(pair.ns_b, "tcpreplay", "--topspeed", "-i", pair.iface, str(path),
                    timeout=600)
    return _rated_pps(done.stdout.decode())


def _rated_pps(text: str) -> float:
    found = re.search(r"Rated: .*?, ([\d.]+) pps", text)
    if not found:
        raise RuntimeError(f"no rate in {text!r}")
    return float(found.group(1))


#: Only the replayed frames (the kernel's own IPv6 chatter on a fresh veth stays out).
REPLAYED = "ether src 02:00:00:00:00:01"


def _capture_run(pair: NetnsPair, command: list[str], replayed: Path) -> tuple[int, int, int,
                                                                            float]:
    proc = pair.popen(pair.ns_a, command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_listening(proc)
    rate = _tcpreplay(pair, replayed)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    captured, received, dropped = _stats(err.decode())
    return captured, received, dropped, rate


def _count_records(path: Path) -> int:
    from wirekit.pcap import Reader

    with Reader(str(path)) as reader:
        return sum(1 for _ in reader)


def zero_drops(pair: NetnsPair, work: Path, frames: Path, count: int) -> list[Comparison]:
    ours, theirs = work / "wirekit-rx.pcap", work / "tcpdump-rx.pcap"
    w_captured, _, w_dropped, w_rate = _capture_run(
        pair, [*WIREKIT, "capture", pair.iface, "-w", str(ours), "-B", RING_KIB, REPLAYED],
        frames)
    w_file = _count_records(ours)
    ours.unlink()
    t_captured, _, t_dropped, t_rate = _capture_run(
        pair, ["tcpdump", "-i", pair.iface, "-w", str(theirs), "-B", RING_KIB, REPLAYED],
        frames)
    t_file = _count_records(theirs)
    theirs.unlink()
    note = (f"{count:,} 60-byte frames by tcpreplay --topspeed ({w_rate:,.0f} / {t_rate:,.0f} "
            f"pps); in file: wirekit {w_file:,} (drops {w_dropped}), tcpdump {t_file:,} "
            f"(drops {t_dropped}); reported captured {w_captured:,} / {t_captured:,}")
    return [Comparison("capture -w, frames recorded (zero drops)", "packets", float(w_file),
                       "tcpdump -w", float(t_file), goal=1.0, note=note)]


def _best_seconds(command: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=900)
        best = min(best, time.perf_counter() - start)
    return best


def decode_rate(work: Path, count: int) -> list[Comparison]:
    mixed = work / "mixed.pcap"
    write_mixed(mixed, count)
    repeats = 1 if quick() else 3
    ours = count / _best_seconds([*WIREKIT, "read", str(mixed)], repeats)
    theirs = count / _best_seconds(["tcpdump", "-r", str(mixed), "-nn"], repeats)
    return [Comparison("decode to summary lines (> /dev/null)", "packets/s", ours,
                       "tcpdump -r -nn", theirs,
                       note=f"{count:,} mixed TCP/UDP/ICMP/ARP/IPv6 frames; whole process")]


def _wirekit_replay(pair: NetnsPair, path: Path) -> float:
    done = pair.run(pair.ns_b, *WIREKIT, "replay", str(path), pair.iface, "--topspeed",
                    timeout=900)
    return _rated_pps(done.stdout.decode())


def replay_rate(pair: NetnsPair, frames: Path, count: int) -> list[Comparison]:
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(1 if quick() else 3):
        ours.append(_wirekit_replay(pair, frames))
        theirs.append(_tcpreplay(pair, frames))
    note = (f"{count:,} 60-byte frames onto a veth, best of {len(ours)} alternating runs; "
            "all runs "
            f"wirekit {', '.join(f'{r:,.0f}' for r in ours)}; tcpreplay "
            f"{', '.join(f'{r:,.0f}' for r in theirs)}")
    return [Comparison("replay --topspeed", "packets/s", max(ours), "tcpreplay --topspeed",
                       max(theirs), goal=1.0, note=note)]


def run() -> list[Comparison]:
    if os.geteuid() != 0:
        raise RuntimeError("bench_link needs root (network namespaces)")
    count, decode_count = _sizes()
    with tempfile.TemporaryDirectory(prefix="wk-bench-link-") as tmp, netns_pair() as pair:
        work = Path(tmp)
        frames = work / "frames60.pcap"
        write_small_frames(frames, count)
        results = zero_drops(pair, work, frames, count)
        results += replay_rate(pair, frames, count)
        results += decode_rate(work, decode_count)
    return results


if __name__ == "__main__":
    for comparison in run():
        print(comparison.row())
