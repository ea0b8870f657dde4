"""Packets: build a few with wirekit.packet, write a pcapng, read it back with `wirekit read`.

The frames are the seed's TCP SYN (now with a real source MAC and correct checksums), its
answer, a UDP datagram, an ICMP echo, an IPv6 neighbour solicitation, an ARP request and a
VLAN-tagged frame.  Reading back goes through the CLI, as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wirekit.packet import (
    ARP,
    ICMP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6,
    IPv4,
    IPv6,
    LinkType,
    Packet,
    parse,
)
from wirekit.pcap import Writer

WIREKIT = [sys.executable, "-m", "wirekit"]
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def build_packets() -> list[Packet]:
    """The seed's SYN and its exchange, plus one packet of every other family."""
    a, b = "10.0.0.1", "10.0.0.2"
    return [
        Ether(src=MAC_A, dst=MAC_B) / IPv4(src=a, dst=b, id=12345)
        / TCP(sport=40000, dport=80, flags="S", seq=12345, options=[("MSS", 1460)])
        / b"Hello, World!",
        Ether(src=MAC_B, dst=MAC_A) / IPv4(src=b, dst=a)
        / TCP(sport=80, dport=40000, flags="SA", seq=777, ack=12359),
        Ether(src=MAC_A, dst=MAC_B) / IPv4(src=a, dst=b) / UDP(sport=5353, dport=53) / b"query",
        Ether(src=MAC_A, dst=MAC_B) / IPv4(src=a, dst=b) / ICMP(type=8, id=7, seq=1) / b"ping",
        Ether(src=MAC_A, dst="33:33:ff:00:00:02") / IPv6(src="fd00::1", dst="ff02::1:ff00:2")
        / ICMPv6(type=135, tgt="fd00::2"),
        Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=a, pdst=b, hwsrc=MAC_A),
        Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=100) / IPv4(src=a, dst=b)
        / UDP(sport=4000, dport=4001) / b"tagged",
    ]


def _run(*args: str) -> None:
    print(f"$ wirekit {' '.join(args)}", flush=True)
    done = subprocess.run([*WIREKIT, *args], capture_output=True, text=True, timeout=60,
                          check=True)
    print(done.stdout, end="", flush=True)


def run(workdir: Path) -> None:
    path = workdir / "packets.pcapng"
    packets = build_packets()
    with Writer(str(path), LinkType.ETHERNET, interface_name="demo0",
                comment="built by demo/step_10_packets.py") as writer:
        for index, packet in enumerate(packets):
            writer.write(bytes(packet), 1_700_000_000_000_000_000 + index * 1_000_000)
    print(f"wrote {len(packets)} packets to {path}")
    for packet in packets:
        reports = parse(bytes(packet)).verify_checksums()
        if not all(report.ok for report in reports):
            raise RuntimeError(f"bad checksum in {packet.summary()}: {reports}")
    _run("read", str(path), "-tttt")
    _run("read", str(path), "-c", "1", "-v")
    rewritten = workdir / "rewritten.pcapng"
    _run("rewrite", str(path), str(rewritten), "-S", "10.0.0.0/8:172.16.0.0/12", "--ttl", "-1")
    _run("read", str(rewritten), "-t", "-c", "3")
