"""summary() against the installed tcpdump: the same bytes, the same line.

``tcpdump -nn -S -t`` (numeric, absolute sequence numbers, no timestamp) reads a pcap of
packets wirekit built; every line must equal ``parse(frame).summary()``.  The curated list
covers each message kind, the ICMP/ICMPv6 code tables, extension headers, and the broken
shapes tcpdump names (truncated-ip, bad-hlen, bad-len, bad hdr length, bad length); random
packets from the shared hypothesis specs follow, with ports above 49152 (tcpdump decodes some
lower ports as applications).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.packet.packet_pcapfile import write_pcap
from tests.support.env import require_tool
from tests.unit.packet.packet_specs import Spec, any_packet, to_wirekit
from wirekit.packet import (
    ARP,
    ICMP,
    SLL,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6,
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    LinkType,
    Loopback,
    NDOption,
    Packet,
    parse,
)

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def E(**fields: object) -> Ether:
    return Ether(src=M1, dst=M2, **fields)


def I(**fields: object) -> IPv4:  # noqa: E743
    return IPv4(src="10.0.0.1", dst="10.0.0.2", **fields)


def I6(**fields: object) -> IPv6:
    return IPv6(src="2001:db8::1", dst="2001:db8::2", **fields)


def Q4(**fields: object) -> IPv4:
    return IPv4(src="10.0.0.1", dst="10.0.0.3", **fields)


def Q6() -> IPv6:
    return IPv6(src="2001:db8::1", dst="2001:db8::3")


SYN_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
               ("WScale", 7)]


def tcp_cases() -> list[Packet]:
    def tcp(**fields: object) -> TCP:
        return TCP(sport=1234, dport=9999, **fields)

    return [
        E() / I() / tcp(flags="S", seq=1, window=65535),
        E() / I() / tcp(flags="SA", seq=1, ack=5, window=512, options=SYN_OPTIONS),
        E() / I() / tcp(flags="PA", seq=100, ack=5, window=512,
                        options=[("NOP", None), ("NOP", None), ("SAck", (1, 2, 3, 4))])
        / b"hello",
        E() / I() / tcp(flags="FPUREC", seq=100, ack=5, urgptr=3,
                        options=[(99, b"ab"), ("EOL", None)]),
        E() / I() / tcp(flags="R", seq=100),
        E() / I() / tcp(flags=0, seq=100),
        E() / I() / tcp(flags="N", seq=100),
        E() / I() / tcp(flags="A", seq=4294967290, ack=3) / (b"x" * 10),
        E() / I() / tcp(flags="A", options=[(99, b"")]),
        E() / I() / UDP(sport=1234, dport=5000) / b"hello",
        E() / I() / tcp(dataofs=3),
        E() / I() / tcp(dataofs=15),
        E() / I() / UDP(sport=1234, dport=5000, len=100),
        E() / I() / UDP(sport=1234, dport=5000, len=4),
    ]


def icmp_cases() -> list[Packet]:
    cases = [E() / I() / ICMP(type=8, id=1, seq=2) / (b"x" * 56),
             E() / I() / ICMP(type=0, id=1, seq=2) / (b"x" * 56)]
    for code in [*range(16), 20]:
        inner = Q4(proto=47) if code == 2 else Q4() / UDP(sport=1111, dport=33434)
        cases.append(E() / I() / ICMP(type=3, code=code) / inner)
    cases += [E() / I() / ICMP(type=3, code=4, nexthopmtu=1400) / Q4() / UDP(),
              E() / I() / ICMP(type=3, code=3) / Q4() / TCP(sport=1111, dport=9998)]
    for code in range(5):
        cases.append(E() / I() / ICMP(type=5, code=code, gw="10.0.0.7") / Q4() / UDP())
    for code in range(3):
        cases.append(E() / I() / ICMP(type=11, code=code) / Q4() / UDP(sport=1, dport=2))
        cases.append(E() / I() / ICMP(type=12, code=code, ptr=5) / Q4() / UDP(sport=1, dport=2))
    for kind in (4, 10, 13, 15, 16, 17, 42, 200):
        cases.append(E() / I() / ICMP(type=kind, id=3, seq=4) / (b"\0" * 12))
    return cases


def arp_and_ipv4_cases() -> list[Packet]:
    def arp(**fields: object) -> ARP:
        return ARP(hwsrc=M1, psrc="10.0.0.1", pdst="10.0.0.2", **fields)

    return [
        E() / arp(op=1), E() / ARP(op=2, hwsrc=M2, psrc="10.0.0.2", hwdst=M1, pdst="10.0.0.1"),
        E() / arp(op=1, hwdst="02:00:00:00:00:03"), E() / arp(op=1, hwdst="ff:ff:ff:ff:ff:ff"),
        E() / arp(op=1) / (b"\0" * 18), E() / arp(op=3), E() / arp(op=4, hwdst=M2),
        E() / arp(op=8, hwdst=M2), E() / arp(op=9), E() / arp(op=77),
        E() / I(flags="MF", id=77) / UDP(sport=1234, dport=5000) / (b"x" * 100),
        E() / I(frag=14, proto=17, id=77) / (b"x" * 100),
        E() / I(proto=250) / (b"x" * 10),
        E() / I(options=[IPv4Option(7, b"\x04" + bytes(4))]) / TCP(sport=1, dport=2),
        E() / Dot1Q(vlan=100) / I() / UDP(sport=1234, dport=5000),
        E(type=0x88A8) / Dot1Q(vlan=100) / Dot1Q(vlan=200) / I() / UDP(sport=1234, dport=5000),
        E() / Dot1Q(vlan=100) / Dot1Q(vlan=200) / I() / UDP(sport=1234, dport=5000),
        E(type=0x88B5) / b"abcdefgh",
        E() / I(ihl=4) / UDP(sport=1234, dport=5000),
        E() / I(len=10) / UDP(sport=1234, dport=5000),
        E() / I(len=100) / UDP(sport=1234, dport=5000),
        E() / I(version=5) / TCP(sport=1234, dport=9999),
    ]


def ipv6_cases() -> list[Packet]:
    def nd(source: str, destination: str, **fields: object) -> Packet:
        return E() / IPv6(src=source, dst=destination) / ICMPv6(**fields)

    cases = [
        E() / I6() / TCP(sport=1234, dport=9999, flags="S", seq=1, window=65535),
        E() / I6() / UDP(sport=1234, dport=5000) / b"hey",
        E() / I6() / ICMPv6(type=128, id=1, seq=2) / b"abc",
        E() / I6() / ICMPv6(type=129, id=1, seq=2) / b"abc",
        nd("fe80::1", "ff02::1:ff00:2", type=135, tgt="fe80::2",
           options=[NDOption.source_lladdr(M1)]),
        nd("fe80::2", "fe80::1", type=136, tgt="fe80::2", S=1, O=1,
           options=[NDOption.target_lladdr(M2)]),
        nd("fe80::1", "ff02::2", type=133, options=[NDOption.source_lladdr(M1)]),
        nd("fe80::1", "ff02::1", type=134, chlim=64, routerlifetime=1800,
           options=[NDOption.prefix_info("2001:db8::"), NDOption.mtu_option(1500),
                    NDOption.source_lladdr(M1)]),
        nd("fe80::1", "fe80::2", type=137, tgt="fe80::9", dst="2001:db8::7"),
        E() / I6(nh=59), E() / I6(nh=253) / b"abcdefgh",
        E() / I6(plen=100) / UDP(sport=1234, dport=5000),
    ]
    error = IPv6(src="2001:db8::9", dst="2001:db8::1")
    for code in range(9):
        cases.append(E() / error / ICMPv6(type=1, code=code) / Q6() / UDP(sport=1, dport=33434))
    cases += [E() / error / ICMPv6(type=1, code=4) / Q6() / TCP(sport=1, dport=9998),
              E() / error / ICMPv6(type=2, mtu=1400) / Q6() / UDP(sport=1, dport=33434)]
    for code in range(3):
        cases.append(E() / error / ICMPv6(type=3, code=code) / Q6() / UDP(sport=1, dport=2))
    for code in range(4):
        cases.append(E() / error / ICMPv6(type=4, code=code, ptr=40) / Q6() / UDP())
    return cases


def extension_cases() -> list[Packet]:
    return [
        E() / I6() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000) / b"x",
        E() / I6() / IPv6ExtHdrDestOpt() / TCP(sport=1234, dport=9999),
        E() / I6() / IPv6ExtHdrRouting(addresses=["2001:db8::5"]) / TCP(sport=1234, dport=9999),
        E() / I6() / IPv6ExtHdrRouting(type=2, addresses=["2001:db8::5"]) / TCP(dport=9999),
        E() / I6() / IPv6ExtHdrFragment(m=1, id=5) / UDP(sport=1234, dport=5000) / (b"x" * 16),
        E() / I6() / IPv6ExtHdrFragment(offset=3, nh=17, id=5) / (b"x" * 16),
        E() / I6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=3, nh=17) / (b"x" * 16),
        E() / I6() / IPv6ExtHdrHopByHop() / ICMPv6(type=128, id=1, seq=1),
        E() / I6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000),
        E() / I6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000),
        E() / I6() / IPv6ExtHdrDestOpt(),
    ]


def curated() -> list[bytes]:
    """Every message kind and code table, extension headers, and the broken shapes."""
    packets = tcp_cases() + icmp_cases() + arp_and_ipv4_cases() + ipv6_cases() + \
        extension_cases()
    frames = [bytes(packet) for packet in packets]
    syn = bytes(E() / I() / TCP(sport=1234, dport=9999))
    cut = [syn[:40], syn[:20], bytes(E() / I() / UDP(sport=1234, dport=5000) / b"abc")[:38],
           bytes(E() / I6() / TCP(sport=1, dport=2))[:60]]
    return frames + cut


def tcpdump_lines(tmp_path: Path, frames: list[bytes], snaplen: int = 262144) -> list[str]:
    """tcpdump's lines for *frames*, each cut to *snaplen* bytes in the file."""
    tcpdump = require_tool("tcpdump")
    path = tmp_path / f"frames{snaplen}.pcap"
    write_pcap(path, frames, snaplen=snaplen)
    result = subprocess.run([tcpdump, "-nn", "-S", "-t", "-r", str(path)], capture_output=True,
                            text=True, check=True, timeout=60)
    # Continuation lines (hex dumps of what tcpdump cannot decode) start with a tab.
    lines = [line.rstrip() for line in result.stdout.splitlines() if not line.startswith("\t")]
    return [line[:-1] if line.endswith(":") else line for line in lines]


def assert_same_cut_lines(tmp_path: Path, frames: list[bytes], snaplen: int) -> None:
    """The frames as a capture with *snaplen* keeps them: the same lines as tcpdump's."""
    ours = [parse(frame[:snaplen], wire_len=len(frame)).summary() for frame in frames]
    assert ours == tcpdump_lines(tmp_path, frames, snaplen), snaplen


def assert_same_lines(tmp_path: Path, frames: list[bytes]) -> None:
    theirs = tcpdump_lines(tmp_path, frames)
    assert len(theirs) == len(frames)
    differences = [(parse(frame).summary(), line) for frame, line in zip(frames, theirs,
                                                                          strict=True)
                   if parse(frame).summary() != line]
    assert differences == [], differences[:3]


def test_curated_packets_match_tcpdump(tmp_path: Path) -> None:
    frames = curated()
    assert len(frames) > 100
    assert_same_lines(tmp_path, frames)


def _high_ports(spec: Spec) -> Spec:
    moved = []
    for kind, fields in spec:
        if kind in ("TCP", "UDP"):
            moved.append((kind, {**fields, "sport": 50000 + fields["sport"] % 15000,
                                 "dport": 50000 + fields["dport"] % 15000}))
        else:
            moved.append((kind, fields))
    return moved


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(st.lists(any_packet.map(_high_ports), min_size=60, max_size=60))
def test_random_packets_match_tcpdump(specs: list[Spec]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        assert_same_lines(Path(directory), [bytes(to_wirekit(spec)) for spec in specs])


LINK_EDGES: list[tuple[LinkType, list[bytes]]] = [
    (LinkType.ETHERNET, [b"", b"\x02" * 10, b"\x02" * 14, bytes(Ether() / Dot1Q())[:16]]),
    (LinkType.RAW, [b"", b"\x45", b"\x50" + bytes(19), b"\x60" + bytes(5),
                    bytes(IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=50000, dport=50001))]),
    (LinkType.NULL, [b"", b"\x02\x00", bytes(Loopback() / IPv6() / UDP(sport=50000, dport=50001))]),
    (LinkType.LINUX_SLL, [b"\x00" * 5, bytes(SLL() / IPv4() / TCP(sport=50000, dport=50001))]),
    (LinkType.LINUX_SLL2, [b"\x00" * 5] + [
        # tcpdump's "ifname direction" columns: index 1 is lo on any host, 99999 is nothing.
        bytes(SLL2(pkttype=kind, ifindex=index) / IPv4(src="10.0.0.1", dst="10.0.0.2")
              / UDP(sport=50000, dport=50001))
        for kind, index in ((0, 1), (4, 1), (1, 99999), (2, 1), (3, 1))]),
]


def test_link_types_and_cut_link_headers_match_tcpdump(tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    for link, frames in LINK_EDGES:
        path = tmp_path / f"{link.name}.pcap"
        write_pcap(path, frames, link)
        output = subprocess.run([tcpdump, "-nn", "-S", "-t", "-r", str(path)],
                                capture_output=True, text=True, check=True, timeout=60).stdout
        lines = [line.rstrip() for line in output.splitlines() if not line.startswith("\t")]
        assert [parse(frame, link).summary() for frame in frames] == lines, link


def test_snaplen_cut_packets_match_tcpdump(tmp_path: Path) -> None:
    """A capture's snapshot length cuts packets short; with the record's original length the
    summary is tcpdump's (no "truncated-ip", which is for an IP length that lies)."""
    require_tool("tcpdump")
    frames = [
        bytes(E() / I() / TCP(sport=50000, dport=50001, flags="PA", seq=7, ack=9) / bytes(500)),
        bytes(E() / I() / UDP(sport=50000, dport=50001) / bytes(300)),
        bytes(E() / I6() / UDP(sport=50000, dport=50001) / bytes(400)),
        bytes(E() / I() / ICMP(type=8, id=3, seq=4) / bytes(200)),
        bytes(E() / I6() / TCP(sport=50000, dport=50001, flags="S", seq=1) / bytes(100)),
    ]
    for snaplen in (64, 100, 1000):
        assert_same_cut_lines(tmp_path, frames, snaplen)


def test_tcp_options_cut_by_the_capture_match_tcpdump(tmp_path: Path) -> None:
    """Every cut point inside a SYN's options: tcpdump prints the whole options, the name of
    the cut one, and ``[|tcp]``."""
    require_tool("tcpdump")
    for options in (SYN_OPTIONS, [("SAck", (1, 2, 3, 4))], [(99, b"abcd")]):
        frame = bytes(E() / I() / TCP(sport=50000, dport=50001, flags="S", seq=1,
                                     options=options))
        for snaplen in range(54, len(frame)):
            assert_same_cut_lines(tmp_path, [frame], snaplen)


def test_segment_routing_header_matches_tcpdump(tmp_path: Path) -> None:
    require_tool("tcpdump")
    srh = IPv6ExtHdrRouting(type=4, addresses=["2001:db8::9", "2001:db8::8"])
    assert_same_lines(tmp_path, [bytes(E() / I6() / srh / UDP(sport=50000, dport=50001))])


def test_tunnels_match_tcpdump(tmp_path: Path) -> None:
    """IP-in-IP, 6in4, 4in6 and 6in6: tcpdump prints the inner packet after the outer
    addresses."""
    require_tool("tcpdump")
    inner4 = IPv4(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=50000, dport=50001)
    inner6 = IPv6(src="2001:db8::3", dst="2001:db8::4") / TCP(sport=50000, dport=50001)
    frames = [bytes(E() / I() / inner4), bytes(E() / I() / inner6),
              bytes(E() / I6() / inner4), bytes(E() / I6() / inner6)]
    assert_same_lines(tmp_path, frames)


def test_icmp_errors_whose_quote_is_cut_match_tcpdump(tmp_path: Path) -> None:
    """An unreachable or a redirect cut inside its quoted datagram: tcpdump prints what it
    can read, or ``[|icmp]`` when the quoted address (or port) it needs is missing."""
    require_tool("tcpdump")
    quoted = IPv4(src="10.0.0.2", dst="10.0.0.9") / UDP(sport=50000, dport=50001)
    frames = [bytes(E() / I() / ICMP(type=kind, code=code) / quoted)
              for kind, code in ((3, 1), (3, 3), (3, 4), (5, 1), (11, 0), (12, 0), (4, 0))]
    for snaplen in range(38, 71):
        assert_same_cut_lines(tmp_path, frames, snaplen)
