"""Packet codec against dpkt and Scapy, same run, same capture.

Tasks (the goals of issue 2):

- decode Ethernet/IPv4/L4 and extract the 5-tuple and the IP length of every packet of a
  capture built here (two thirds TCP with Linux's timestamp option, one third UDP, IMIX-like
  sizes): >= 3x dpkt.  wirekit is measured twice: through layer objects
  (``pkt[IPv4]``, ``.payload``, fields) and through ``Packet.flow()``.  All three libraries
  produce the same tuple, addresses as text (dpkt's raw addresses go through
  ``socket.inet_ntoa``, which is what a dpkt user prints).
- build Ether/IPv4/TCP with lengths and checksums computed: >= 2x dpkt.
- the Internet checksum of 1460 bytes: >= 3x dpkt's ``in_cksum``.

The machines this runs on are shared, so each side is timed with the CPU time of this thread
(``time.thread_time``: time other processes take is not counted), in interleaved rounds,
best round kept.  Quote the ratios.
"""

from __future__ import annotations

import random
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wirekit.packet as w
from benchlib import Comparison, quick
from wirekit.packet.checksum import internet_checksum

#: Payload sizes of the capture, IMIX-like: many small, some medium, many full-size.
SIZES = (0, 0, 0, 0, 0, 0, 0, 536, 536, 536, 536, 1448, 1448, 1448, 1448, 1448)


def capture(count: int) -> list[bytes]:
    """*count* Ethernet frames: TCP (Linux-like timestamp options) and UDP, mixed sizes."""
    rnd = random.Random(7)
    frames = []
    for index in range(count):
        size = SIZES[index % len(SIZES)]
        ip = w.IPv4(src=f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                    dst=f"192.168.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                    id=rnd.randrange(65536), flags="DF")
        if index % 3:
            l4: w.Layer = w.TCP(sport=rnd.randrange(1024, 65536), dport=443,
                                seq=rnd.randrange(2**32), ack=rnd.randrange(2**32), flags="A",
                                window=501, options=[("NOP", None), ("NOP", None),
                                                     ("Timestamp", (rnd.randrange(2**32),
                                                                    rnd.randrange(2**32)))])
        else:
            l4 = w.UDP(sport=rnd.randrange(1024, 65536), dport=53)
        frame = w.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / l4
        frames.append(bytes(frame / bytes(size) if size else frame))
    return frames


# -- decode + extract --------------------------------------------------------------------------

def wirekit_layers(frames: list[bytes]) -> list[tuple[Any, ...]]:
    out = []
    parse, ipv4 = w.parse, w.IPv4
    for frame in frames:
        pkt = parse(frame)
        ip = pkt[ipv4]
        l4 = ip.payload
        out.append((ip.src, ip.dst, ip.proto, l4.sport, l4.dport, ip.len))  # type: ignore[union-attr]
    return out


def wirekit_flow(frames: list[bytes]) -> list[tuple[Any, ...]]:
    parse = w.parse
    return [tuple(parse(frame).flow()) for frame in frames]  # type: ignore[arg-type]


def dpkt_decode(frames: list[bytes]) -> list[tuple[Any, ...]]:
    import dpkt

    out = []
    ethernet, ntoa = dpkt.ethernet.Ethernet, socket.inet_ntoa
    for frame in frames:
        ip = ethernet(frame).data
        l4 = ip.data
        out.append((ntoa(ip.src), ntoa(ip.dst), ip.p, l4.sport, l4.dport, ip.len))
    return out


def scapy_decode(frames: list[bytes]) -> list[tuple[Any, ...]]:
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether

    out = []
    for frame in frames:
        ip = Ether(frame)[IP]
        l4 = ip.payload
        out.append((ip.src, ip.dst, ip.proto, l4.sport, l4.dport, ip.len))
    return out


# -- build -----------------------------------------------------------------------------------

def wirekit_build(count: int) -> bytes:
    last = b""
    ether, ipv4, tcp = w.Ether, w.IPv4, w.TCP
    for index in range(count):
        last = bytes(ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                     / ipv4(src="10.0.0.1", dst="10.0.0.2")
                     / tcp(sport=1234, dport=80, seq=index, flags="S") / b"hi")
    return last


def dpkt_build(count: int) -> bytes:
    import dpkt

    last = b""
    src, dst = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")
    mac1, mac2 = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
    for index in range(count):
        segment = dpkt.tcp.TCP(sport=1234, dport=80, seq=index, flags=dpkt.tcp.TH_SYN, win=8192,
                               data=b"hi")
        packet = dpkt.ip.IP(src=src, dst=dst, p=6, id=1, data=segment)
        last = bytes(dpkt.ethernet.Ethernet(src=mac1, dst=mac2, type=0x0800, data=packet))
    return last


def scapy_build(count: int) -> bytes:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether

    last = b""
    for index in range(count):
        last = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                     / IP(src="10.0.0.1", dst="10.0.0.2")
                     / TCP(sport=1234, dport=80, seq=index, flags="S") / b"hi")
    return last


# -- timing ----------------------------------------------------------------------------------

def rates(count: int, jobs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Items per CPU-second of each job: interleaved rounds, the best round of each."""
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(rounds):
        for name, job in jobs.items():
            started = time.thread_time()
            job()
            best[name] = min(best[name], time.thread_time() - started)
    return {name: count / max(seconds, 1e-9) for name, seconds in best.items()}


def run() -> list[Comparison]:
    small = quick()
    frames = capture(90 if small else 6000)
    rounds = 1 if small else 7
    reference = dpkt_decode(frames)
    if not wirekit_layers(frames) == wirekit_flow(frames) == reference == scapy_decode(frames):
        raise AssertionError("the libraries extracted different 5-tuples")
    scapy_frames = frames[:max(30, len(frames) // 20)]  # Scapy is ~20x slower: a slice
    decode = rates(len(frames), {
        "layers": lambda: wirekit_layers(frames), "flow": lambda: wirekit_flow(frames),
        "dpkt": lambda: dpkt_decode(frames)}, rounds)
    scapy = rates(len(scapy_frames), {"layers": lambda: wirekit_layers(scapy_frames),
                                      "scapy": lambda: scapy_decode(scapy_frames)}, rounds)
    builds = 60 if small else 5000
    if wirekit_build(1) != dpkt_build(1) or wirekit_build(1) != scapy_build(1):
        raise AssertionError("the libraries built different bytes")
    build = rates(builds, {"wirekit": lambda: wirekit_build(builds),
                           "dpkt": lambda: dpkt_build(builds)}, rounds)
    build_scapy = rates(builds // 10, {"wirekit": lambda: wirekit_build(builds // 10),
                                       "scapy": lambda: scapy_build(builds // 10)}, rounds)
    return [
        Comparison("decode Ether/IPv4/L4, 5-tuple + IP length (layer objects)", "pkt/s",
                   decode["layers"], "dpkt", decode["dpkt"], goal=3.0,
                   note=f"{len(frames)} mixed TCP/UDP frames; pkt[IPv4], .payload, fields"),
        Comparison("decode Ether/IPv4/L4, 5-tuple + IP length (Packet.flow())", "pkt/s",
                   decode["flow"], "dpkt", decode["dpkt"], goal=3.0,
                   note="same frames and tuple; no layer objects for common shapes"),
        Comparison("decode Ether/IPv4/L4, 5-tuple + IP length (layer objects)", "pkt/s",
                   scapy["layers"], "Scapy", scapy["scapy"],
                   note=f"{len(scapy_frames)} of the frames"),
        Comparison("build Ether/IPv4/TCP with lengths and checksums", "pkt/s",
                   build["wirekit"], "dpkt", build["dpkt"], goal=2.0,
                   note="byte-identical output checked"),
        Comparison("build Ether/IPv4/TCP with lengths and checksums", "pkt/s",
                   build_scapy["wirekit"], "Scapy", build_scapy["scapy"]),
        _checksum(small, rounds),
    ]


def _checksum(small: bool, rounds: int) -> Comparison:
    import dpkt

    data = random.Random(3).randbytes(1460)
    if internet_checksum(data) != dpkt.in_cksum(data):
        raise AssertionError("checksums differ")
    count = 300 if small else 100_000

    def ours() -> None:
        for _ in range(count):
            internet_checksum(data)

    def theirs() -> None:
        for _ in range(count):
            dpkt.in_cksum(data)

    result = rates(count, {"wirekit": ours, "dpkt": theirs}, rounds)
    return Comparison("Internet checksum (RFC 1071) of 1460 bytes", "sums/s", result["wirekit"],
                      "dpkt in_cksum", result["dpkt"], goal=3.0)


if __name__ == "__main__":
    for row in run():
        print(f"{row.name} vs {row.peer_name}: {row.wirekit:,.0f} vs {row.peer:,.0f} "
              f"{row.unit} = {row.ratio:.2f}x" + (f" (goal {row.goal:g}x)" if row.goal else ""))
