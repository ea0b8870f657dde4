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
import sys
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
    LLC,
    SLL,
    SLL2,
    SNAP,
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
    IPv6Option,
    LinkType,
    Loopback,
    NDOption,
    Packet,
    parse,
)
from wirekit.pcap import Writer

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
        # ARP that tcpdump prints in other forms (print-arp.c): IEEE 802 hardware, IPv6
        # protocol addresses (types and lengths only), RARP (RFC 903), an unknown NACK.
        E() / arp(op=1, hwtype=6),
        E() / ARP(ptype=0x86DD, hwsrc=M1, psrc="2001:db8::1", pdst="2001:db8::2"),
        E(type=0x8035) / arp(op=3, hwdst=M2), E(type=0x8035) / arp(op=4, hwdst=M2),
        E() / arp(op=10),
        E() / I(ihl=4) / UDP(sport=1234, dport=5000),
        E() / I(len=10) / UDP(sport=1234, dport=5000),
        E() / I(len=100) / UDP(sport=1234, dport=5000),
        E() / I(version=5) / TCP(sport=1234, dport=9999),
        # ip_print checks the version before anything else; tcpdump is not built to take a
        # total length of 0 for TCP segmentation offload; ICMPv6 needs IPv6 (print-ip-demux.c).
        E() / I(version=6) / UDP(sport=1234, dport=5000),
        E() / I(len=0) / UDP(sport=1234, dport=5000) / b"abc",
        E() / I(proto=58) / ICMPv6(type=128, id=1, seq=2),
        E() / I(options=[IPv4Option(7, b"\x04" + bytes(4))]) / ICMP(type=8, id=1, seq=2),
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
    # A port unreachable quoting something other than TCP or UDP: tcpdump stops at the port.
    cases.append(E() / error / ICMPv6(type=1, code=4) / Q6() / ICMPv6(type=128))
    cases.append(E() / error / ICMPv6(type=1, code=4) / Q6() / IPv6ExtHdrHopByHop()
                 / UDP(sport=1, dport=33434))
    # MLD (RFC 2710, RFC 3810) and the ICMPv6 types tcpdump only names.
    group = bytes.fromhex("ff020000000000000000000000000016")
    cases += [nd("fe80::1", "ff02::1", type=130) / group,
              nd("fe80::1", "ff02::1", type=130) / (group + b"\x02\x7d\x00\x01" + bytes(16)),
              nd("fe80::1", "ff02::16", type=131) / group,
              nd("fe80::1", "ff02::2", type=132) / group,
              nd("fe80::1", "ff02::16", type=143),
              *(nd("fe80::1", "fe80::2", type=kind) / bytes(8) for kind in (141, 144, 200))]
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
        # A walk through every extension header tcpdump decodes, a routing header with its
        # reserved word set or of an unknown type, IPv6 in IPv6, a payload length of 0
        # without a jumbo payload option (RFC 2675), a malformed router alert (RFC 2711).
        E() / I6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
        / IPv6ExtHdrRouting(addresses=["2001:db8::5", "2001:db8::6"]) / IPv6ExtHdrFragment(m=1)
        / TCP(sport=1234, dport=9999, flags="S") / b"xyz",
        E() / I6() / IPv6ExtHdrRouting(reserved=5, addresses=["2001:db8::5"])
        / UDP(sport=1234, dport=5000),
        E() / I6() / IPv6ExtHdrRouting(type=5, addresses=["2001:db8::5"]) / UDP(),
        E() / I6() / IPv6ExtHdrHopByHop() / Q6() / UDP(sport=1234, dport=5000),
        E() / I6(plen=0) / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000),
        E() / I6() / IPv6ExtHdrHopByHop(options=[IPv6Option(5, b"\x00")])
        / UDP(sport=1234, dport=5000),
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


def tcpdump_lines(tmp_path: Path, frames: list[bytes], snaplen: int = 262144,
                  extra: tuple[str, ...] = ()) -> list[str]:
    """tcpdump's lines for *frames*, each cut to *snaplen* bytes in the file."""
    tcpdump = require_tool("tcpdump")
    path = tmp_path / f"frames{snaplen}.pcap"
    write_pcap(path, frames, snaplen=snaplen)
    result = subprocess.run([tcpdump, "-nn", "-S", "-t", *extra, "-r", str(path)],
                            capture_output=True, text=True, check=True, timeout=60)
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


# -- IEEE 802.3 length frames: 802.2 LLC and SNAP -------------------------------------------

def _padded(packet: Packet | Ether) -> bytes:
    """The frame with Ethernet's padding to the 60-byte minimum (after the 802.3 length)."""
    frame = bytes(packet)
    return frame + bytes(max(0, 60 - len(frame)))


def _udp4() -> Packet:
    return I() / UDP(sport=50000, dport=50001) / b"hey"


def llc_frames() -> list[bytes]:
    """LLC type 1 and 2 frames between SAPs tcpdump has no printer for (it prints addresses,
    SAPs and the control field), SNAP (RFC 1042) with EtherTypes it decodes and others, RFC
    948 IP, jumbo LLC, LLC behind a VLAN tag, and 802.3 lengths that lie or leave no room."""
    def llc(**fields: object) -> Packet:
        return E() / LLC(**fields)

    packets: list[Packet | Ether] = [
        llc(dsap=0x12, ssap=0x34) / b"abcdefghij", llc(dsap=0x12, ssap=0x12) / b"abcdefghij",
        llc(dsap=0x13, ssap=0x35, ctrl=0x13) / b"abcdefghij",  # group, response, final
        llc(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"hello",  # I frame, N(S) 0, N(R) 1
        llc(ctrl=0x0301), llc(ctrl=0x0105), llc(ctrl=0x0009), llc(ctrl=0x000D),  # S frames
        llc(ctrl=0xAF) / b"\x81\x01\x02", llc(ctrl=0xBF, ssap=1) / b"\x81\x01",  # XID
        llc(ctrl=0xAF) / b"\x82\x01\x02", llc(ctrl=0xAF), llc(ctrl=0xE3) / b"test",
        llc(ctrl=0x63), llc(ctrl=0x73), llc(ctrl=0x47),
        llc(dsap=0x42, ssap=0x42, ctrl=0) / bytes(35),  # an I frame between the STP SAPs
        E() / LLC() / SNAP() / _udp4(),
        E() / LLC() / SNAP() / I6() / UDP(sport=50000, dport=50001),
        E() / LLC() / SNAP() / ARP(hwsrc=M1, psrc="10.0.0.1", pdst="10.0.0.2"),
        E() / LLC() / SNAP(OUI=0x0000F8) / _udp4(),  # IEEE 802.1H bridge tunnel
        E() / LLC() / SNAP(code=0x88B5) / b"xyz", E() / LLC() / SNAP(code=0x8100) / b"xyz",
        E() / LLC() / SNAP(OUI=0x123456, code=0x1234) / b"xyz",
        E() / LLC() / SNAP(OUI=0x0000F8, code=0x88B5) / b"xyz",
        E() / LLC() / SNAP(OUI=0x0080C2, code=0x0002) / b"xyz",
        E() / LLC() / SNAP(OUI=0x00000C, code=0x1234) / b"xyz",
        E() / LLC() / SNAP(OUI=0x080007, code=0x0800) / b"xyz",
        E() / LLC() / _udp4(),  # RFC 948: IP between the IP SAPs (6)
        E() / LLC(dsap=6, ssap=6),
        E(type=0x8870) / LLC(dsap=0x12, ssap=0x34) / b"abc",
        E() / Dot1Q(vlan=5) / LLC(dsap=0x12, ssap=0x34) / b"abc",
        E() / Dot1Q(vlan=5) / LLC() / SNAP() / _udp4(),
        E(type=30) / LLC() / SNAP() / _udp4(),  # the 802.3 length cuts the IPv4 datagram
        E(type=100) / LLC(dsap=0x12, ssap=0x34) / b"abc",  # a length past the frame
        E(type=2) / b"\xaa\xaa\x03", E(type=3) / b"\xaa\xaa\x00", E(type=6) / b"\xaa\xaa\x03",
        E(type=0), *(E() / LLC() / SNAP(code=code) for code in (0x0800, 0x86DD, 0x0806, 0x8870)),
    ]
    return [_padded(packet) for packet in packets] + [
        bytes(E() / LLC() / SNAP() / _udp4()) + b"trailer"]


def test_ieee_8023_llc_and_snap_frames_match_tcpdump(tmp_path: Path) -> None:
    """Not compared (tcpdump decodes what wirekit leaves raw; see docs/packet.md): STP BPDUs
    (the next test), IPX (raw 802.3 and SAP 0xe0), OSI (0xfe), and SNAP with the Cisco,
    AppleTalk or bridged OUIs tcpdump has printers for."""
    assert_same_lines(tmp_path, llc_frames())


STP_CONFIG = bytes.fromhex("0000" "00" "00" "00" "8000020000000001" "00000004"
                           "8000020000000002" "8001" "0100" "1400" "0200" "0f00")
STP_RSTP = bytes.fromhex("000002" "02" "3c" "8000020000000001" "00000004" "8000020000000002"
                         "8001" "0100" "1400" "0200" "0f00" "00")
STP_TCN = bytes.fromhex("0000" "00" "80")


def test_stp_bpdus_match_tcpdump_up_to_the_protocol(tmp_path: Path) -> None:
    """wirekit decodes the LLC header and knows the STP SAP (0x42) but leaves the BPDU raw;
    tcpdump decodes the BPDU (version, BPDU type, flags, bridge ID: print-stp.c).  The line
    names the protocol and the BPDU length: tcpdump's first word, and for configuration and
    RSTP BPDUs also tcpdump's last words, ", length N".  The middle is the gap."""
    bpdus = [STP_CONFIG, STP_RSTP, STP_TCN, STP_CONFIG]
    frames = [_padded(E() / LLC(dsap=0x42, ssap=0x42) / bpdu) for bpdu in bpdus[:3]]
    frames.append(_padded(E() / LLC(dsap=0x42, ssap=0x43) / STP_CONFIG))  # a response
    for frame, line, bpdu in zip(frames, tcpdump_lines(tmp_path, frames), bpdus, strict=True):
        ours = parse(frame).summary()
        assert ours == f"STP, length {len(bpdu)}"
        assert line.startswith("STP 802.1"), line
        assert len(bpdu) == 4 or line.endswith(f", length {len(bpdu)}"), line


def test_llc_and_snap_frames_cut_by_the_capture_match_tcpdump(tmp_path: Path) -> None:
    """Every cut point in the link, LLC, SNAP, IPv4 and UDP headers ([|vlan], [|llc],
    [|snap], [|ip], [|udp]); test_every_cut_of_the_curated_frames_reads_as_tcpdump sweeps
    every LLC frame."""
    require_tool("tcpdump")
    frames = [_padded(E() / LLC(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"hello"),
              _padded(E() / LLC(dsap=0x12, ssap=0x34) / b"abcdefghij"),
              _padded(E() / LLC(ctrl=0xAF) / b"\x81\x01\x02"),
              bytes(E() / LLC() / SNAP() / _udp4()),
              bytes(E() / Dot1Q(vlan=5) / LLC() / SNAP() / _udp4())]
    for snaplen in range(14, 58):
        assert_same_cut_lines(tmp_path, frames, snaplen)


# -- ARP cut by the capture ------------------------------------------------------------------

def test_arp_cut_by_the_capture_matches_tcpdump(tmp_path: Path) -> None:
    """tcpdump prints " [|arp]" until the last byte of the target protocol address is
    captured (no byte of ARP at all included), then the usual line, whose length is the one
    on the wire (padding included), not the captured one."""
    require_tool("tcpdump")

    def arp(op: int) -> ARP:
        return ARP(op=op, hwsrc=M1, psrc="10.0.0.1", hwdst=M2, pdst="10.0.0.2")

    frames = [bytes(E() / arp(1)), bytes(E() / arp(2)), _padded(E() / arp(1)),
              bytes(E() / Dot1Q(vlan=5) / arp(1)), _padded(E(type=0x8035) / arp(3)),
              _padded(E() / LLC() / SNAP() / arp(2))]
    for snaplen in range(14, 64):
        assert_same_cut_lines(tmp_path, frames, snaplen)


# -- TCP options tcpdump names ---------------------------------------------------------------

K1, K2 = bytes(range(1, 9)), bytes(range(9, 17))


def tcp_option_frames() -> list[bytes]:
    """MD5 (RFC 2385), user timeout (RFC 5482), TCP-AO (RFC 5925), Fast Open (RFC 7413) as
    kind 34 and as an RFC 6994 experiment, MPTCP (RFC 8684, RFC 6824) subtypes, the RFC 1072 /
    RFC 1644 echo and CC options and SCPS, each well formed and with lengths that lie."""
    cases: list[tuple[list[tuple[object, object]] | bytes, str]] = [
        ([("MD5", bytes(range(16)))], "S"), ([(19, bytes(range(15)))], "S"),
        ([(19, bytes(range(17)))], "S"),
        ([(34, b"")], "S"), ([("TFO", (1, 2))], "S"), ([(34, bytes(4))], "S"),
        ([(34, bytes(3))], "S"), ([(34, bytes(16))], "S"), ([(34, bytes(17))], "S"),
        ([("UTO", 300)], "S"), ([("UTO", 0x8005)], "S"), ([(28, b"\x00")], "S"),
        ([(28, b"\x00\x00\x00")], "S"),
        ([("AO", b"\x01\x02" + bytes(range(12)))], "S"), ([(29, b"\x01")], "S"),
        ([("AO", b"\x01\x02")], "S"), ([(29, b"")], "S"),
        ([(254, b"\xf9\x89")], "S"), ([(254, b"\xf9\x89" + K1)], "S"),
        ([(254, b"\xf9\x89" + bytes(5))], "S"), ([(254, b"\x12\x34abcd")], "S"),
        ([(254, b"\xf9")], "S"), ([(254, b"")], "S"),
        ([(253, b"\xf9\x89")], "S"), ([(253, b"\x12")], "S"),  # kind 253 stays raw
        (b"\x06\x06\x01\x02\x03\x04\x07\x06\x01\x02\x03\x04", "S"),
        (b"\x0b\x06\x01\x02\x03\x04\x0c\x06\x01\x02\x03\x04", "S"),
        (b"\x0d\x06\x01\x02\x03\x04\x14\x04\x01\x02", "S"),
        (b"\x02\x03\x05", "S"), (b"\x08\x0b" + bytes(9), "S"), (b"\x04\x03\x00", "S"),
        (b"\x05\x06" + bytes(4), "S"), (b"\x63\x01", "S"), (b"\x01\x63\x00", "S"),
    ]
    cases += [([(30, option)], flags) for option, flags in MPTCP_OPTIONS]
    return [bytes(E() / I() / TCP(sport=50000, dport=50001, seq=1, ack=2, flags=flags,
                                  options=options)) for options, flags in cases] + [
        bytes(E() / I() / TCP(sport=50000, dport=50001, flags="PA", options=[("MD5", K1 + K2)])
              / b"payload")]


#: MPTCP option data (after kind and length) and the TCP flags of the segment carrying it.
MPTCP_OPTIONS: list[tuple[bytes, str]] = [
    (b"\x00\x81" + K1, "S"), (b"\x01\x01" + K1, "S"), (b"\x01\x01", "S"),  # MP_CAPABLE
    (b"\x00\x81" + K1 + K2, "A"), (b"\x01\x81" + K1 + K2 + b"\x00\x10", "A"),
    (b"\x02\x81" + K1, "S"), (b"\x00\x81" + K1, "A"),  # unknown version; wrong segment
    (b"\x11\x05" + K1, "S"), (b"\x10\x05" + K1 + b"\x05\x06\x07\x08", "SA"),  # MP_JOIN
    (b"\x10\x00" + bytes(range(20)), "A"), (b"\x10\x05" + K1, "A"),
    (b"\x20\x01\x00\x00\x00\x07", "A"), (b"\x20\x03" + K1, "A"),  # DSS: data ACK
    (b"\x20\x1d\x00\x00\x00\x07" + K1 + b"\x00\x00\x00\x09\x00\x10\xab\xcd", "A"),
    (b"\x20\x04\x00\x00\x00\x07\x00\x00\x00\x09\x00\x10", "A"),  # mapping, no csum
    (b"\x20\x04\x00\x00\x00\x07", "A"), (b"\x20\x01", "A"), (b"\x20\x01", "S"),
    (b"\x34\x07\x0a\x00\x00\x09", "A"), (b"\x34\x07\x0a\x00\x00\x09\x1f\x90", "A"),
    (b"\x30\x07\x0a\x00\x00\x09" + K1, "A"),  # ADD_ADDR v1 with HMAC
    (b"\x31\x07\x0a\x00\x00\x09\x1f\x90" + K1, "A"),
    (b"\x36\x07" + bytes(15) + b"\x01", "A"), (b"\x30\x07" + bytes(15) + b"\x01" + K1, "A"),
    (b"\x32\x07" + bytes(15) + b"\x01\x1f\x90", "A"), (b"\x35\x07\x0a\x00\x00\x09", "A"),
    (b"\x30\x07\x0a\x00", "A"),
    (b"\x40\x01\x02\x03", "A"), (b"\x40", "A"), (b"\x51\x04", "A"), (b"\x50", "A"),
    (b"\x60\x00" + K1, "A"), (b"\x70\x00" + K1, "A"), (b"\x70\x00", "A"),  # FAIL, FASTCLOSE
    (b"\x80\x00" + K1, "A"), (b"\xf0\x00", "A"), (b"", "A"),  # MP_TCPRST, experimental
]


def test_tcp_options_tcpdump_names_match_tcpdump(tmp_path: Path) -> None:
    """Every MPTCP subtype tcpdump 4.99 knows, with the sizes and segments it accepts and
    some it rejects ("[bad opt]" ends its line); MP_TCPRST and experimental subtypes it names
    "unknown".  Options it does not name (kind 253, 99) stay raw, as before."""
    assert_same_lines(tmp_path, tcp_option_frames())


def test_tcp_options_read_the_same_in_tcpdumps_verbose_line(tmp_path: Path) -> None:
    """tcpdump -v prints the segment on a second line, with the checksum: the options and
    what follows them are the same."""
    tcpdump = require_tool("tcpdump")
    frames = tcp_option_frames()
    path = tmp_path / "options.pcap"
    write_pcap(path, frames)
    output = subprocess.run([tcpdump, "-nn", "-S", "-t", "-v", "-r", str(path)],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    verbose = [line.rstrip() for line in output.splitlines() if line.startswith("    ")]
    assert len(verbose) == len(frames)
    for frame, line in zip(frames, verbose, strict=True):
        ours = parse(frame).summary()
        assert line[line.index("options ["):] == ours[ours.index("options ["):]


def test_newer_tcp_options_cut_by_the_capture_match_tcpdump(tmp_path: Path) -> None:
    """Every cut point: the MD5 option says "snaplen too short" once the segment is not all
    captured; after an MPTCP option tcpdump names a later cut "[|mptcp]"; a header cut after
    an EOL gets tcpdump's "remaining caplen" note."""
    require_tool("tcpdump")

    def syn(options: list[tuple[object, object]], flags: str = "S", data: bytes = b"") -> bytes:
        return bytes(E() / I() / TCP(sport=50000, dport=50001, seq=1, ack=2, flags=flags,
                                     options=options) / data)

    frames = [syn([("NOP", None), ("MD5", bytes(range(16)))], data=bytes(20)),
              syn([("MD5", bytes(range(16)))], data=bytes(20)),
              syn([("MSS", 1460), ("TFO", (1, 2))]),
              syn([("MSS", 1460), (254, b"\xf9\x89" + K1)]),
              syn([("MSS", 1460), ("UTO", 300)]),
              syn([("MSS", 1460), ("AO", b"\x01\x02" + bytes(range(12)))]),
              syn([("MSS", 1460), (30, b"\x01\x81" + K1 + K2 + b"\x00\x10")], "A"),
              syn([(30, MPTCP_OPTIONS[13][0])], "A"),
              syn([("NOP", None), (254, b"\x12\x34abcd")])]
    for snaplen in range(54, max(map(len, frames))):
        assert_same_cut_lines(tmp_path, frames, snaplen)


def test_the_unit_tiers_expected_lines_are_tcpdumps(tmp_path: Path) -> None:
    """tests/unit/packet/test_packet_display.py keeps tcpdump's lines for some packets, so the
    unit tier runs without tcpdump; here they are checked against it."""
    from tests.unit.packet.test_packet_display import CASES, CUT_CASES

    frames = [bytes(packet) for packet, _ in CASES]
    assert tcpdump_lines(tmp_path, frames) == [line for _, line in CASES]
    for packet, snaplen, line in CUT_CASES:
        assert tcpdump_lines(tmp_path, [bytes(packet)], snaplen) == [line]


def test_transport_headers_cut_by_the_capture_read_as_tcpdumps(tmp_path: Path) -> None:
    """Every cut point from the end of the IP header to 20 bytes into TCP, UDP, ICMP and ICMPv6
    (ports cut, the UDP length cut, the ICMP identifier cut, nothing captured at all)."""
    frames = [bytes(E() / I() / UDP(sport=1234, dport=5000) / b"abcdef"),
              bytes(E() / I() / TCP(sport=1234, dport=9999, flags="S") / b"x"),
              bytes(E() / I() / ICMP(type=8, id=7, seq=1) / b"ping"),
              bytes(E() / I6() / UDP(sport=1, dport=2) / b"v6"),
              bytes(E() / I6() / TCP(sport=1, dport=2) / b"v6"),
              bytes(E() / I6() / ICMPv6(type=128) / b"v6")]
    for snaplen in range(34, 75):
        assert_same_cut_lines(tmp_path, frames, snaplen)


def comparable_frames() -> list[bytes]:
    """curated() and llc_frames() without the frames tcpdump decodes further than wirekit
    does: STP BPDUs and Cisco SNAP payloads (docs/packet.md)."""
    return curated() + [frame for frame in llc_frames()
                        if frame[14:16] != b"\x42\x42" and b"\x00\x00\x0c" not in frame[17:20]]


def test_link_level_lines_match_tcpdump_e(tmp_path: Path) -> None:
    """summary(link_level=True) is tcpdump -e: MACs, EtherType or 802.3 length, VLAN tags and
    the LLC header first, and the network line without its protocol word (of tunnelled IP
    headers too).  Cut frames: the next test."""
    frames = comparable_frames()
    frames += [bytes(E() / Dot1Q(vlan=5, prio=3, dei=1) / I() / UDP(sport=7, dport=8)),
               bytes(E() / Dot1Q(vlan=5) / Dot1Q(vlan=6) / I6() / TCP(sport=1, dport=2)),
               bytes(E() / I() / IPv6(src="::1", dst="::2") / UDP(sport=7, dport=8)),
               bytes(E() / I6() / IPv4(src="10.0.0.7", dst="10.0.0.8") / TCP(sport=7, dport=8))]
    theirs = tcpdump_lines(tmp_path, frames, extra=("-e",))
    ours = [parse(frame).summary(link_level=True) for frame in frames]
    differences = [(mine, line) for mine, line in zip(ours, theirs, strict=True) if mine != line]
    assert differences == [], differences[:3]


#: Cut points where the tcpdump -e lines are compared too: inside the Ethernet, LLC and SNAP
#: headers, the IPv4 header and its options, the IPv6 header, its extension headers and the
#: transport headers after them.
LINK_LEVEL_SNAPLENS = (14, 15, 17, 20, 22, 30, 34, 38, 40, 46, 54, 56, 58, 62, 70, 78, 94)


def test_every_cut_of_the_curated_frames_reads_as_tcpdump(tmp_path: Path) -> None:
    """The curated and LLC frames as a capture with each snapshot length from 14 (the
    Ethernet header) to 120 bytes keeps them, and whole: every line is tcpdump's, with the
    wording of its printers for what the capture cut short (version first, "IP5 (invalid)";
    "[remaining caplen(N) < header length(M)]" for cut IPv4 options; "HBH  [|udp]",
    "[|hbhopt]", "[|frag6]", "RT6 (len=2 [|rt6]" for IPv6 extension headers; ICMPv6 cut before
    the addresses it prints), and no "None".  tcpdump -e's lines at LINK_LEVEL_SNAPLENS."""
    require_tool("tcpdump")
    frames = comparable_frames()
    differences: list[tuple[int, str, str]] = []
    for snaplen in [*range(14, 121), 262144]:
        ours = [parse(frame[:snaplen], wire_len=len(frame)).summary() for frame in frames]
        assert not [line for line in ours if "None" in line], snaplen
        theirs = tcpdump_lines(tmp_path, frames, snaplen)
        differences += [(snaplen, mine, line)
                        for mine, line in zip(ours, theirs, strict=True) if mine != line]
    for snaplen in LINK_LEVEL_SNAPLENS:
        ours = [parse(frame[:snaplen], wire_len=len(frame)).summary(link_level=True)
                for frame in frames]
        theirs = tcpdump_lines(tmp_path, frames, snaplen, extra=("-e",))
        differences += [(snaplen, mine, line)
                        for mine, line in zip(ours, theirs, strict=True) if mine != line]
    assert differences == [], f"{len(differences)} differences: {differences[:3]}"


def test_cooked_and_loopback_link_level_lines_match_tcpdump_e(tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    cases = {
        LinkType.LINUX_SLL2: [SLL2(ifindex=1, pkttype=4) / I() / UDP(sport=1, dport=2),
                              SLL2(ifindex=1, pkttype=0) / ARP(psrc="10.0.0.1")],
        LinkType.LINUX_SLL: [SLL(pkttype=4) / I() / UDP(sport=1, dport=2),
                             SLL(pkttype=1) / I6() / TCP(sport=3, dport=4)],
        LinkType.NULL: [Loopback() / I() / UDP(sport=1, dport=2), Loopback() / I6()],
        LinkType.RAW: [I() / TCP(sport=1, dport=2, flags="S")],
    }
    for link, packets in cases.items():
        path = tmp_path / f"{link.name}.pcap"
        frames = [bytes(packet) for packet in packets]
        write_pcap(path, frames, link=link)
        done = subprocess.run([tcpdump, "-nn", "-S", "-t", "-e", "-r", str(path)],
                              capture_output=True, text=True, check=True, timeout=60)
        theirs = [line.rstrip().removesuffix(":") for line in done.stdout.splitlines()]
        assert [parse(frame, link).summary(link_level=True) for frame in frames] == theirs


def test_fragments_read_as_tcpdump(tmp_path: Path) -> None:
    """A first fragment's transport line gives the datagram's length, not a 'bad length'
    against the fragment (what `wirekit send --frag-size` and fragment_ipv4/6 produce)."""
    from wirekit.packet.fragment import fragment_ipv4, fragment_ipv6

    udp4 = IPv4(src="10.0.0.1", dst="10.0.0.2", id=7) / UDP(sport=50000, dport=50001)
    tcp4 = IPv4(src="10.0.0.1", dst="10.0.0.2", id=8) / TCP(sport=50000, dport=50001,
                                                               flags="PA")
    udp6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=50000, dport=50001)
    frames = [bytes(E() / part) for part in fragment_ipv4(udp4 / bytes(2992), 1000)]
    frames += [bytes(E() / part) for part in fragment_ipv4(tcp4 / bytes(2980), 1000)]
    frames += [bytes(E() / part) for part in fragment_ipv6(udp6 / bytes(2992), 1000)]
    assert len(frames) == 12
    assert_same_lines(tmp_path, frames)


def test_empty_records_read_as_tcpdump(tmp_path: Path) -> None:
    """A record with no captured byte: tcpdump's '[Invalid header: caplen==0...]' line, with no
    time in front (`wirekit read` prints it the same way)."""
    tcpdump = require_tool("tcpdump")
    path = tmp_path / "empty.pcap"
    with Writer(str(path)) as writer:
        writer.write(b"", 1_000_000_000, 0)
        writer.write(b"", 2_000_000_000, 60)
        writer.write(bytes(E() / I() / UDP(sport=50000, dport=50001)), 3_000_000_000)
    theirs = subprocess.run([tcpdump, "-nn", "-r", str(path)], capture_output=True, text=True,
                            check=True, timeout=60).stdout.splitlines()
    ours = subprocess.run([sys.executable, "-m", "wirekit", "read", str(path)],
                          capture_output=True, text=True, check=True, timeout=60)
    assert ours.stdout.splitlines() == theirs
