"""Offline filtering selects exactly what tcpdump selects, over a matrix of filter expressions.

The capture file holds one frame per microsecond of capture time, so each frame is named by its
timestamp in tcpdump's ``-tt`` output; for every expression the set wirekit selects
(``FilterProgram.matches`` over ``wirekit.pcap.Reader`` records, and ``wirekit read FILE
FILTER``) must equal the set ``tcpdump -r FILE FILTER`` prints.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from tests.support.env import require_tool
from wirekit.link.bpf import compile_filter
from wirekit.packet.linktype import LinkType

A, B, C = "10.0.0.1", "10.0.0.2", "192.168.7.9"
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def _frames() -> list[Packet]:
    eth = Ether(src=MAC_A, dst=MAC_B)
    back = Ether(src=MAC_B, dst=MAC_A)
    return [
        eth / IP(src=A, dst=B) / TCP(sport=40000, dport=80, flags="S", seq=1),
        back / IP(src=B, dst=A) / TCP(sport=80, dport=40000, flags="SA", seq=9, ack=2),
        eth / IP(src=A, dst=B) / TCP(sport=40000, dport=80, flags="A", seq=2, ack=10),
        eth / IP(src=A, dst=B) / TCP(sport=40000, dport=80, flags="PA") / Raw(b"GET / HTTP/1.0"),
        back / IP(src=B, dst=A) / TCP(sport=80, dport=40000, flags="FA"),
        eth / IP(src=A, dst=B) / TCP(sport=40001, dport=443, flags="R"),
        eth / IP(src=A, dst=C) / TCP(sport=5000, dport=22, flags="S"),
        eth / IP(src=A, dst=B, ttl=1) / UDP(sport=5353, dport=53) / Raw(b"q" * 30),
        back / IP(src=B, dst=A) / UDP(sport=53, dport=5353) / Raw(b"a" * 200),
        eth / IP(src=A, dst=B) / UDP(sport=7000, dport=8005) / Raw(b"x" * 1000),
        eth / IP(src=A, dst="224.0.0.251") / UDP(sport=5353, dport=5353),
        eth / IP(src=A, dst="10.0.0.255") / UDP(sport=137, dport=137),
        eth / IP(src=A, dst=B) / ICMP(type=8, id=1, seq=1),
        back / IP(src=B, dst=A) / ICMP(type=0, id=1, seq=1),
        back / IP(src=B, dst=A) / ICMP(type=3, code=3) / IP(src=A, dst=B) / UDP(dport=9),
        eth / IP(src=A, dst=B, options=[IPOption_RR()]) / ICMP(),
        eth / IP(src=A, dst=B, flags="MF", frag=0) / UDP(sport=1, dport=2) / Raw(b"f" * 64),
        eth / IP(src=A, dst=B, frag=9) / Raw(b"g" * 16),
        Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, psrc=A, pdst=B, hwsrc=MAC_A),
        back / ARP(op=2, psrc=B, pdst=A, hwsrc=MAC_B, hwdst=MAC_A),
        eth / IPv6(src="fd00::1", dst="fd00::2") / TCP(sport=40002, dport=80, flags="S"),
        back / IPv6(src="fd00::2", dst="fd00::1") / TCP(sport=80, dport=40002, flags="SA"),
        eth / IPv6(src="fd00::1", dst="fd00::2") / UDP(sport=546, dport=547),
        eth / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6EchoRequest(id=7, seq=1),
        Ether(src=MAC_A, dst="33:33:ff:00:00:02") / IPv6(src="fe80::1", dst="ff02::1:ff00:2")
        / ICMPv6ND_NS(tgt="fd00::2"),
        eth / IPv6(src="2001:db8::5", dst="fd00::2") / IPv6ExtHdrFragment(m=1) / UDP(dport=9),
        eth / Dot1Q(vlan=100) / IP(src=A, dst=B) / UDP(sport=1000, dport=53),
        eth / Dot1Q(vlan=200) / IP(src=A, dst=C) / TCP(sport=1, dport=80, flags="S"),
        eth / Dot1Q(vlan=100) / Dot1Q(vlan=7) / IP(src=A, dst=B) / ICMP(),
        eth / Dot1Q(vlan=300) / IPv6(src="fd00::1", dst="fd00::2") / UDP(dport=53),
        Ether(src=MAC_A, dst=MAC_B, type=0x88CC) / Raw(b"\x02\x07" + b"l" * 40),
        eth / IP(src="172.16.5.4", dst="172.16.9.1", tos=0x10) / TCP(sport=2049, dport=2049),
    ]


FILTERS = [
    "", "tcp", "udp", "icmp", "arp", "ip", "ip6", "icmp6", "not ip and not ip6",
    f"host {A}", f"src host {B}", f"dst host {C}", "host fd00::2", "ether host " + MAC_B,
    "ether dst ff:ff:ff:ff:ff:ff", "ether broadcast", "ether multicast", "ip multicast",
    "net 10.0.0.0/24", "net 192.168.0.0/16", "src net 172.16.0.0 mask 255.255.0.0",
    "net fd00::/64", "port 80", "dst port 53", "src port 5353", "tcp port 443",
    "udp portrange 8000-8010", "portrange 1-1024", "ip proto 17", "proto \\tcp",
    "ip6 proto 6", "ip6 protochain 17",
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
    "tcp[tcpflags] & tcp-rst != 0", "tcp[tcpflags] & tcp-fin != 0",
    "tcp[tcpflags] & tcp-push != 0", "vlan", "vlan 100", "vlan 100 and vlan 7", "vlan and ip6",
    "vlan 200 and tcp", "less 60", "greater 500", "len >= 100 and len <= 300",
    "ip[8] == 1", "ip[6:2] & 0x3fff != 0", "ip[0] & 0xf > 5", "udp[8:2] == 0x7171",
    "tcp[13] == 2", "icmp[icmptype] == icmp-echoreply", "icmp[icmptype] == icmp-unreach",
    "ip6[6] == 58", "ether[12:2] == 0x88cc", "arp[7] == 2",
    "tcp and not port 80", "udp or icmp", "(tcp or udp) and host 10.0.0.2 and not ip6",
    "not (port 53 or port 5353)", "ip[1] & 0xfc == 0x10", "ether proto 0x88cc",
]


@pytest.fixture(scope="module")
def capture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filters") / "mixed.pcap"
    frames = _frames()
    for index, frame in enumerate(frames):
        frame.time = 1_700_000_000 + index / 1_000_000
    wrpcap(str(path), frames)
    return path


def _tcpdump_selects(path: Path, expression: str) -> set[int]:
    tcpdump = require_tool("tcpdump")
    args = [tcpdump, "-r", str(path), "-nn", "-tt"]
    if expression:
        args.append(expression)
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return {round((float(line.split()[0]) - 1_700_000_000) * 1e6)
            for line in done.stdout.splitlines() if line and line[0].isdigit()}


def _wirekit_selects(path: Path, expression: str) -> set[int]:
    from wirekit.pcap import Reader

    program = compile_filter(expression, LinkType.ETHERNET)
    with Reader(str(path)) as reader:
        return {index for index, record in enumerate(reader)
                if program.matches(record.data, record.orig_len)}


def test_matrix_is_big_enough() -> None:
    assert len(FILTERS) >= 40
    assert len(set(FILTERS)) == len(FILTERS)


@pytest.mark.parametrize("expression", FILTERS)
def test_offline_filter_matches_tcpdump(capture_file: Path, expression: str) -> None:
    expected = _tcpdump_selects(capture_file, expression)
    assert _wirekit_selects(capture_file, expression) == expected
    if expression:  # a filter that selects nothing or everything would prove little
        assert len(expected) < len(_frames()) or expression in ("", "not ip and not ip6")


def test_read_command_filters_like_tcpdump(capture_file: Path) -> None:
    """``wirekit read FILE FILTER`` prints exactly the packets tcpdump prints."""
    for expression in ("tcp port 80", "vlan 100", "icmp or arp", "ip6 and udp"):
        done = subprocess.run([sys.executable, "-m", "wirekit", "read", str(capture_file),
                               *expression.split()], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        assert len(lines) == len(_tcpdump_selects(capture_file, expression)), expression


def test_read_command_rejects_a_bad_filter(capture_file: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wirekit", "read", str(capture_file), "tcp",
                           "prot", "80"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 6
    assert "syntax error" in done.stderr
    assert "Traceback" not in done.stderr
