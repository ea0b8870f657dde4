#!/usr/bin/env python3
"""Fuzz the packet codec: mutated packets through parse, summary, show and the rest.

Every input goes through the tolerant decoder (all layers, status, summary, show_text,
to_dict, hexdump, verify_checksums, flow), which must never raise, and through the strict
decoder, which may raise only ``DecodeError``.  Each input is timed with the thread's CPU
clock (other processes on a shared machine do not count) and with the wall clock.  On a
virtual machine even the thread's CPU clock has rare spikes of tens of milliseconds
(preemption the guest cannot see); an input over the limit is therefore run three more times
and counts as slow only if its fastest run is still over the limit.  Time spent in Python's
cyclic garbage collector is measured apart (it belongs to the process, not to a packet).

Mutations of a corpus of valid packets (every layer and link type wirekit decodes):
truncation at any byte, 1-8 bit flips, length fields that lie (IPv4 total length and IHL,
IPv6 payload length, UDP length, TCP data offset, extension header lengths, ARP address
lengths, option lengths), inserted and deleted bytes, random bytes, and a random link type.

    python scripts/fuzz_codec.py --count 1000000 --workers 2     # the long run
    python scripts/fuzz_codec.py --count 20000 --seed 7          # a quick look
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import wirekit.packet as w
from wirekit.errors import DecodeError
from wirekit.packet.ipv6 import IPv6ExtHeader

#: No input may take longer than this (the codec's promise for tolerant decoding).
LIMIT_SECONDS = 0.010


def corpus() -> list[tuple[bytes, w.LinkType]]:
    """Valid packets of every kind, with the link type each starts with."""
    mac1, mac2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
    ip4 = w.IPv4(src="10.0.0.1", dst="10.0.0.2")
    ip6 = w.IPv6(src="2001:db8::1", dst="2001:db8::2")
    tcp = w.TCP(sport=1234, dport=80, flags="SA", options=[
        ("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 2)), ("NOP", None), ("WScale", 7)])
    ethernet = [
        w.Ether(src=mac1, dst=mac2) / ip4.copy() / tcp.copy() / b"GET / HTTP/1.1\r\n",
        w.Ether() / w.Dot1Q(vlan=5) / w.Dot1Q(vlan=6) / ip4.copy() / w.UDP(dport=53) / (b"q" * 20),
        w.Ether() / w.IPv4(options=[w.IPv4Option.router_alert()]) / w.ICMP(id=1, seq=2) / b"p",
        w.Ether() / ip4.copy() / w.ICMP(type=3, code=3) / ip4.copy() / w.UDP() / b"quoted",
        w.Ether() / ip4.copy() / w.ICMP(type=5, gw="10.0.0.9") / ip4.copy() / tcp.copy(),
        w.Ether() / w.ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.2"),
        w.Ether() / ip6.copy() / w.IPv6ExtHdrHopByHop() / w.IPv6ExtHdrRouting(
            addresses=["2001:db8::9"]) / w.IPv6ExtHdrDestOpt() / tcp.copy() / b"data",
        w.Ether() / ip6.copy() / w.IPv6ExtHdrFragment(m=1, id=9) / w.UDP() / (b"frag" * 4),
        w.Ether() / ip6.copy() / w.ICMPv6(type=134, chlim=64, routerlifetime=1800, options=[
            w.NDOption.prefix_info("2001:db8::"), w.NDOption.mtu_option(1500),
            w.NDOption.source_lladdr(mac1)]),
        w.Ether() / ip6.copy() / w.ICMPv6(type=135, tgt="fe80::1",
                                          options=[w.NDOption.source_lladdr(mac1)]),
        w.Ether() / ip6.copy() / w.ICMPv6(type=1, code=4) / ip6.copy() / w.UDP() / b"x",
        w.Ether() / ip6.copy() / w.ICMPv6(type=128, id=3, seq=4) / b"ping",
        # IEEE 802.3 length frames: LLC (U and I formats), SNAP carrying IPv4, STP's SAP
        w.Ether() / w.LLC() / w.SNAP() / ip4.copy() / w.UDP() / b"snap",
        w.Ether() / w.LLC(dsap=0x42, ssap=0x42) / bytes(35),
        w.Ether() / w.Dot1Q(vlan=3) / w.LLC(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"i-frame",
        # TCP options tcpdump names: MD5, user timeout, MPTCP (capable, DSS), TFO, TCP-AO
        w.Ether() / ip4.copy() / w.TCP(flags="S", options=[
            ("MD5", bytes(16)), ("UTO", 300), (34, b"")]) / b"x",
        w.Ether() / ip4.copy() / w.TCP(flags="A", options=[
            (30, b"\x01\x81" + bytes(range(1, 17)) + b"\x00\x10")]) / b"y",
        w.Ether() / ip4.copy() / w.TCP(flags="PA", options=[
            (30, b"\x20\x1d\x00\x00\x00\x07" + bytes(8) + b"\x00\x00\x00\x09\x00\x10\xab\xcd"),
            ("AO", b"\x01\x02" + bytes(4))]) / b"z",
    ]
    items = [(bytes(packet), w.LinkType.ETHERNET) for packet in ethernet]
    items += [(message, w.LinkType.ETHERNET) for message in dns_messages(ip4, ip6)]
    items += [
        (bytes(w.SLL(pkttype=4) / ip4.copy() / tcp.copy()), w.LinkType.LINUX_SLL),
        (bytes(w.SLL2(ifindex=2) / ip6.copy() / w.UDP()), w.LinkType.LINUX_SLL2),
        (bytes(w.Loopback() / ip4.copy() / w.UDP()), w.LinkType.NULL),
        (bytes(w.LoopbackBE() / ip6.copy() / tcp.copy()), w.LinkType.LOOP),
        (bytes(ip4.copy() / tcp.copy() / b"raw"), w.LinkType.RAW),
        (bytes(ip6.copy() / w.UDP() / b"raw6"), w.LinkType.IPV6),
    ]
    return items


def dns_messages(ip4: w.IPv4, ip6: w.IPv6) -> list[bytes]:
    """DNS over UDP (built) and hand-made ones: compression pointers, OPT, TXT, over TCP."""
    question = w.DNSQR("www.example.com", 1, 1)
    built = [
        w.Ether() / ip4.copy() / w.UDP(sport=40000) / w.DNS(id=7, qd=[question]),
        w.Ether() / ip6.copy() / w.UDP(sport=53, dport=40000) / w.DNS(
            id=7, qr=1, ra=1, qd=[question], an=[
                w.DNSRR("www.example.com", 5, 1, 60, "example.com"),
                w.DNSRR("example.com", 28, 1, 60, "2001:db8::5"),
                w.DNSRR("example.com", 16, 1, 60, ["v=spf1", "-all"])],
            ar=[w.DNSRR(".", 41, 1232, 0x8000, b"\x00\x0a\x00\x08" + bytes(8))]),
    ]
    head = bytes.fromhex("1234 8180 0001 0002 0000 0000")
    compressed = (head + b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
                  + b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x02\xc0\x10"
                  + b"\xc0\x10\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x5d\xb8\xd8\x22")
    looping = bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"\xc0\x0c\x00\x01\x00\x01"
    udp = w.Ether() / ip4.copy() / w.UDP(sport=53, dport=40000)
    over_tcp = w.Ether() / ip4.copy() / w.TCP(sport=40000, dport=53, flags="PA")
    return [bytes(packet) for packet in built] + [
        bytes(udp.copy() / compressed), bytes(udp.copy() / looping),
        bytes(over_tcp / (len(compressed).to_bytes(2, "big") + compressed))]


#: Byte offsets of length fields worth lying about, found by parsing each corpus packet.
def length_fields(data: bytes, link: w.LinkType) -> list[tuple[int, int]]:
    """(offset, size) of the length-like fields in *data*."""
    found: list[tuple[int, int]] = []
    for layer in w.parse(data, link).layers:
        off = layer._off
        if isinstance(layer, w.IPv4):
            found += [(off, 1), (off + 2, 2)]
            found += [(off + 20 + i, 1) for i in range(1, min(layer._hlen - 20, 6), 2)]
        elif isinstance(layer, w.IPv6 | w.UDP):
            found += [(off + 4, 2)]
        elif isinstance(layer, w.TCP):
            found += [(off + 12, 1)] + [(off + 20 + i, 1) for i in (1, 5, 9)]
        elif isinstance(layer, IPv6ExtHeader | w.ARP):
            found += [(off + 1, 1), (off + 4, 1), (off + 5, 1)]
        elif isinstance(layer, w.DNS):  # the four counts and the first name's length
            found += [(off + 4 + i, 2) for i in (0, 2, 4, 6)] + [(off + 12, 1)]
        elif isinstance(layer, w.ICMPv6):
            found += [(off + 8 + i, 1) for i in (1, 17, 25, 33)]
    return [(at, size) for at, size in found if at + size <= len(data)]


@dataclass
class Mutator:
    """Deterministic mutations of a corpus from one seed."""

    seed: int
    items: list[tuple[bytes, w.LinkType]] = field(default_factory=corpus)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.lengths = [length_fields(data, link) for data, link in self.items]
        self.links = list(w.LinkType)

    def next(self) -> tuple[bytes, w.LinkType, str]:
        index = self.random.randrange(len(self.items))
        original, link = self.items[index]
        kind, mutate = self.random.choice(self._mutations)
        data = mutate(self, bytearray(original), index)
        if self.random.random() < 0.03:
            link = self.random.choice(self.links)
        return bytes(data), link, kind

    def _truncate(self, data: bytearray, index: int) -> bytearray:
        return data[:self.random.randrange(len(data) + 1)]

    def _flip(self, data: bytearray, index: int) -> bytearray:
        for _ in range(self.random.randint(1, 8)):
            if data:
                data[self.random.randrange(len(data))] ^= 1 << self.random.randrange(8)
        return data

    def _lie(self, data: bytearray, index: int) -> bytearray:
        fields = self.lengths[index]
        if not fields:
            return self._flip(data, index)
        at, size = self.random.choice(fields)
        top = (1 << (8 * size)) - 1
        current = int.from_bytes(data[at:at + size], "big")
        value = self.random.choice([0, 1, 2, 4, 7, 8, top, top - 1, current + 1,
                                    max(0, current - 1), current * 2 & top,
                                    self.random.randint(0, top)])
        data[at:at + size] = (value & top).to_bytes(size, "big")
        return data

    def _splice(self, data: bytearray, index: int) -> bytearray:
        at = self.random.randrange(len(data) + 1)
        if self.random.random() < 0.5:
            return data[:at] + bytes(self.random.randrange(256)
                                     for _ in range(self.random.randint(1, 16))) + data[at:]
        return data[:at] + data[at + self.random.randint(1, 16):]

    def _garbage(self, data: bytearray, index: int) -> bytearray:
        return bytearray(self.random.randbytes(self.random.randrange(120)))

    def _combined(self, data: bytearray, index: int) -> bytearray:
        return self._truncate(self._lie(self._flip(data, index), index), index)

    _mutations: ClassVar[list[tuple[str, Callable[[Mutator, bytearray, int], bytearray]]]] = [
        ("truncate", _truncate), ("flip", _flip), ("flip", _flip), ("lie", _lie),
        ("lie", _lie), ("lie", _lie), ("splice", _splice), ("garbage", _garbage),
        ("combined", _combined),
    ]


def exercise(data: bytes, link: w.LinkType) -> None:
    """Everything a reader of a capture does with a packet, tolerant mode."""
    pkt = w.parse(data, link)
    pkt.layers  # noqa: B018 - decoding every layer is the exercise
    pkt.status  # noqa: B018
    pkt.statuses()
    pkt.summary()
    pkt.show_text()
    pkt.to_dict()
    pkt.hexdump()
    pkt.verify_checksums()
    pkt.flow()
    bytes(pkt)


def exercise_strict(data: bytes, link: w.LinkType) -> str:
    """Strict mode: success (then everything else works) or DecodeError, nothing else."""
    try:
        pkt = w.parse(data, link, strict=True)
    except DecodeError:
        return "decode-error"
    pkt.summary()
    pkt.show_text()
    return "ok"


@dataclass
class Report:
    inputs: int = 0
    failures: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    strict: Counter[str] = field(default_factory=Counter)
    max_cpu: float = 0.0
    max_wall: float = 0.0
    over_limit_cpu: int = 0
    over_limit_wall: int = 0
    over_limit_confirmed: int = 0
    max_confirmed: float = 0.0
    total_cpu: float = 0.0
    gc_seconds: float = 0.0
    gc_max_pause: float = 0.0

    def merge(self, other: Report) -> None:
        self.inputs += other.inputs
        self.failures += other.failures
        self.kinds.update(other.kinds)
        self.strict.update(other.strict)
        self.max_cpu = max(self.max_cpu, other.max_cpu)
        self.max_wall = max(self.max_wall, other.max_wall)
        self.over_limit_cpu += other.over_limit_cpu
        self.over_limit_wall += other.over_limit_wall
        self.over_limit_confirmed += other.over_limit_confirmed
        self.max_confirmed = max(self.max_confirmed, other.max_confirmed)
        self.total_cpu += other.total_cpu
        self.gc_seconds += other.gc_seconds
        self.gc_max_pause = max(self.gc_max_pause, other.gc_max_pause)


class GcClock:
    """CPU time spent in the cyclic garbage collector (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
            return
        pause = time.thread_time() - self._started
        self.total += pause
        self.longest = max(self.longest, pause)


def replay_cost(data: bytes, link: w.LinkType) -> float:
    """The fastest of three more runs of one input: its own cost, without the VM's spikes."""
    costs = []
    for _ in range(3):
        started = time.thread_time()
        exercise(data, link)
        exercise_strict(data, link)
        costs.append(time.thread_time() - started)
    return min(costs)


def run(count: int, seed: int) -> Report:
    """Fuzz *count* inputs from *seed*; never raises (failures are in the report)."""
    mutator = Mutator(seed)
    report = Report()
    clock = GcClock()
    gc.callbacks.append(clock)
    for data, link in mutator.items:  # warm up: first calls, not packets, pay for imports
        exercise(data, link)
        exercise_strict(data, link)
    for _ in range(count):
        data, link, kind = mutator.next()
        report.inputs += 1
        report.kinds[kind] += 1
        in_gc = clock.total
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            exercise(data, link)
            report.strict[exercise_strict(data, link)] += 1
        except Exception:
            if len(report.failures) < 20:
                report.failures.append(f"link={int(link)} data={data.hex()}\n"
                                       f"{traceback.format_exc()}")
            else:
                report.failures.append("")
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        cpu -= clock.total - in_gc  # a collection that ran now is the process's, not the packet's
        report.total_cpu += cpu
        report.max_cpu = max(report.max_cpu, cpu)
        report.max_wall = max(report.max_wall, wall)
        report.over_limit_cpu += cpu > LIMIT_SECONDS
        report.over_limit_wall += wall > LIMIT_SECONDS
        if cpu > LIMIT_SECONDS and not report.failures:
            confirmed = replay_cost(data, link)
            report.max_confirmed = max(report.max_confirmed, confirmed)
            report.over_limit_confirmed += confirmed > LIMIT_SECONDS
    gc.callbacks.remove(clock)
    report.gc_seconds, report.gc_max_pause = clock.total, clock.longest
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    shares = [args.count // args.workers + (i < args.count % args.workers)
              for i in range(args.workers)]
    report = Report()
    if args.workers == 1:
        report = run(args.count, args.seed)
    else:
        with multiprocessing.Pool(args.workers) as pool:
            for part in pool.starmap(run, [(share, args.seed + i) for i, share in
                                           enumerate(shares)]):
                report.merge(part)
    elapsed = time.perf_counter() - started
    summary = {
        "inputs": report.inputs, "seed": args.seed, "workers": args.workers,
        "elapsed_s": round(elapsed, 1), "exceptions": len(report.failures),
        "mutations": dict(report.kinds), "strict": dict(report.strict),
        "max_cpu_ms": round(report.max_cpu * 1000, 3),
        "max_wall_ms": round(report.max_wall * 1000, 3),
        "mean_cpu_us": round(report.total_cpu / max(1, report.inputs) * 1e6, 1),
        "over_10ms_cpu": report.over_limit_cpu, "over_10ms_wall": report.over_limit_wall,
        "over_10ms_confirmed": report.over_limit_confirmed,
        "max_replayed_ms": round(report.max_confirmed * 1000, 3),
        "gc_total_s": round(report.gc_seconds, 2),
        "gc_max_pause_ms": round(report.gc_max_pause * 1000, 3),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>16}: {value}")
    for failure in report.failures[:5]:
        print(failure, file=sys.stderr)
    return 1 if report.failures or report.over_limit_confirmed else 0


if __name__ == "__main__":
    sys.exit(main())
