"""DNS lines against tcpdump -nn: a corpus built with Scapy's DNS classes and by hand."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from tests.integration.packet.test_packet_tcpdump import assert_same_cut_lines, assert_same_lines
from tests.support.env import require_tool

scapy_all = pytest.importorskip("scapy.all")
DNS, DNSQR, DNSRR = scapy_all.DNS, scapy_all.DNSQR, scapy_all.DNSRR
DNSRROPT, EDNS0TLV = scapy_all.DNSRROPT, scapy_all.EDNS0TLV
Ether, IP, IPv6, UDP, TCP = (scapy_all.Ether, scapy_all.IP, scapy_all.IPv6, scapy_all.UDP,
                             scapy_all.TCP)
DNSRRSOA, DNSRRMX, DNSRRSRV = scapy_all.DNSRRSOA, scapy_all.DNSRRMX, scapy_all.DNSRRSRV


def udp(message: bytes | object, sport: int = 40000, dport: int = 53, v6: bool = False) -> bytes:
    net = IPv6(src="2001:db8::1", dst="2001:db8::2") if v6 else IP(src="10.0.0.1",
                                                                     dst="10.0.0.2")
    return bytes(Ether() / net / UDP(sport=sport, dport=dport) / message)


def tcp(message: bytes, prefix: int | None = None) -> bytes:
    """DNS over TCP (RFC 1035 section 4.2.2): the message behind its two-byte length."""
    length = len(message) if prefix is None else prefix
    return bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
                 / TCP(sport=40000, dport=53, flags="PA", seq=1, ack=1)
                 / (struct.pack("!H", length) + message))


def header(ident: int = 7, flags: int = 0, counts: tuple[int, int, int, int] = (1, 0, 0, 0)) \
        -> bytes:
    return struct.pack("!6H", ident, flags, *counts)


QUERIES = [
    DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.com", qtype="A")),
    DNS(id=9, rd=1, qd=DNSQR(qname="example.com", qtype="MX"), ar=DNSRROPT(rclass=4096)),
    DNS(id=1, rd=0, cd=1, qd=DNSQR(qname="a.b.c.example.org.", qtype="AAAA")),
    DNS(id=2, qd=DNSQR(qname=".", qtype="NS", qclass="CH")),
    DNS(id=3, qd=DNSQR(qname="x", qtype=65, qclass=9)),
    DNS(id=4, qd=DNSQR(qname="x", qtype=65535, qclass=255)),
    DNS(id=5, opcode=4, aa=1, qd=DNSQR(qname="zone.example", qtype="SOA")),
    DNS(id=6, opcode=5, qd=DNSQR(qname="zone.example", qtype="SOA"),
        ns=DNSRR(rrname="h.zone.example", type="A", rdata="1.2.3.4")),
    DNS(id=8, opcode=1, qd=[], an=DNSRR(rrname="x", rdata="1.2.3.4")),
    DNS(id=10, opcode=2, z=1, ra=1, rcode=3, qd=DNSQR(qname="x")),
    DNS(id=11, qd=[DNSQR(qname="one.example"), DNSQR(qname="two.example", qtype="PTR")]),
    DNS(id=12, ad=1, tc=1, qd=DNSQR(qname="héllo\x01.example", qtype="TXT")),
]
RESPONSES = [
    DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com"),
        an=DNSRR(rrname="example.com", rdata="93.184.216.34")),
    DNS(id=7, qr=1, aa=1, rcode=3, qd=[]),
    DNS(id=8, qr=1, qd=[DNSQR(qname="a"), DNSQR(qname="b"), DNSQR(qname="c")],
        an=DNSRR(rrname="a", rdata="1.2.3.4")),
    DNS(id=13, qr=1, ra=1, qd=DNSQR(qname="www.example.com"),
        an=DNSRR(rrname="www.example.com", type="CNAME", rdata="example.com")
        / DNSRR(rrname="example.com", type="AAAA", rdata="2001:db8::1")
        / DNSRR(rrname="example.com", type="AAAA", rdata="::ffff:1.2.3.4")),
    DNS(id=14, qr=1, ra=1, ad=1, qd=DNSQR(qname="example.com", qtype="MX"),
        an=DNSRRMX(rrname="example.com", preference=10, exchange="mail.example.com")),
    DNS(id=15, qr=1, qd=DNSQR(qname="_sip._tcp.example.com", qtype="SRV"),
        an=DNSRRSRV(rrname="_sip._tcp.example.com", priority=1, weight=2, port=5060,
                    target="sip.example.com")),
    DNS(id=16, qr=1, qd=DNSQR(qname="example.com", qtype="TXT"),
        an=DNSRR(rrname="example.com", type="TXT", rdata=["v=spf1 -all", "", "a\"b"])),
    DNS(id=17, qr=1, qd=DNSQR(qname="example.com", qtype="SOA"),
        ns=DNSRRSOA(rrname="example.com", mname="ns.example.com", rname="h.example.com")),
    DNS(id=18, qr=1, qd=DNSQR(qname="example.com", qtype="SOA"),
        an=DNSRRSOA(rrname="example.com", mname="ns.example.com", rname="h.example.com")),
    DNS(id=19, qr=1, qd=DNSQR(qname="4.3.2.1.in-addr.arpa", qtype="PTR"),
        an=DNSRR(rrname="4.3.2.1.in-addr.arpa", type="PTR", rdata="host.example")),
    DNS(id=20, qr=1, qd=DNSQR(qname="example.com", qtype="NS"),
        an=DNSRR(rrname="example.com", type="NS", rdata="ns1.example.com")
        / DNSRR(rrname="example.com", type="NS", rdata="ns2.example.com"),
        ar=DNSRR(rrname="ns1.example.com", rdata="10.0.0.53") / DNSRROPT(rclass=1232)),
    DNS(id=21, qr=1, rcode=1, ar=DNSRROPT(rclass=512, extrcode=1), qd=[]),
    DNS(id=22, qr=1, rcode=2, ar=DNSRROPT(rclass=512, extrcode=0x40), qd=[]),
    DNS(id=23, qr=1, qd=DNSQR(qname="x"), an=DNSRR(rrname="x", type=65, rdata=b"\x00\x01")),
    DNS(id=24, qr=1, qd=DNSQR(qname="x", qclass="CH"),
        an=DNSRR(rrname="x", type="TXT", rclass="CH", rdata="bind")),
    DNS(id=25, qr=1, qd=DNSQR(qname="x"), an=DNSRR(rrname="x", rclass=77, rdata="1.1.1.1")),
    DNS(id=26, qr=1, opcode=5, rcode=9, qd=DNSQR(qname="x")),
    DNS(id=27, qr=1, an=DNSRROPT(rclass=4096, z=0x8000, rdata=[
        EDNS0TLV(optcode=3, optdata=b"ns1"), EDNS0TLV(optcode=10, optdata=bytes(range(8))),
        EDNS0TLV(optcode=12, optdata=bytes(5)), EDNS0TLV(optcode=99, optdata=b"\xab")]),
        qd=[]),
]


def handmade() -> list[bytes]:
    """Malformed, looping, cut and odd messages, built byte by byte."""
    name = b"\x07example\x03com\x00"
    question = name + b"\x00\x01\x00\x01"
    loop = header(counts=(1, 0, 0, 0)) + b"\xc0\x0c\x00\x01\x00\x01"
    forward = header(counts=(1, 0, 0, 0)) + b"\xc0\x20\x00\x01\x00\x01" + bytes(20)
    answer = name + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([1, 2, 3, 4])
    compressed = (header(flags=0x8180, counts=(1, 2, 0, 0)) + question
                  + b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03www\xc0\x0c"
                  + b"\xc0\x25" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([9, 9, 9, 9]))
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"
    return [
        loop, forward,
        header(flags=0x8000, counts=(0, 1, 0, 0)) + b"\xc0\x0c" + answer[13:],
        compressed,
        header(counts=(1, 0, 0, 0)) + long_name + b"\x00\x01\x00\x01",
        header(counts=(1, 0, 0, 0)) + b"\x41\x10\xab\xcd\x00\x00\x01\x00\x01",
        header(counts=(1, 0, 0, 0)) + b"\x45abc\x00\x00\x01\x00\x01",
        header(counts=(1, 0, 0, 0)) + b"\x85abc\x00\x00\x01\x00\x01",
        header(counts=(1, 0, 0, 0)) + b"\x05ab",
        header(counts=(2, 0, 0, 0)) + question,
        header(counts=(3, 0, 0, 0)) + question + question,
        header(flags=0x8000, counts=(1, 3, 0, 0)) + question + answer,
        header(flags=0x8000, counts=(1, 1, 0, 0)) + question + answer[:-2],
        header(flags=0x8000, counts=(1, 1, 0, 0)) + question + answer[:-6],
        header(flags=0x8000, counts=(1, 2, 0, 0)) + question + answer + answer[:5],
        header(flags=0x8000, counts=(1, 1, 0, 0)) + question + name
        + struct.pack("!HHIH", 16, 1, 0, 4) + b"\x05ab",
        header(flags=0x8000, counts=(0, 1, 0, 0)) + name + struct.pack("!HHIH", 38, 1, 0, 18)
        + b"\x40" + bytes(8) + b"\x01\x02\x03\x04\x05\x06\x07\x08" + b"\x00",
        header(flags=0x8000, counts=(0, 1, 0, 0)) + name + struct.pack("!HHIH", 256, 1, 0, 9)
        + b"\x00\x01\x00\x02http:",
        header(flags=0x8000, counts=(0, 1, 0, 0)) + name + struct.pack("!HHIH", 104, 1, 0, 3)
        + b"a\x00\xff",
        header(flags=0xFFFF, counts=(0, 0, 0, 0)),
        header(flags=0x7FFF, counts=(0, 0, 0, 0)),
        header(flags=0x0800, counts=(0, 5, 0, 0)),
        header(counts=(65535, 65535, 65535, 65535)),
        bytes(536), bytes(11), b"", bytes(12),
    ]


def corpus() -> list[bytes]:
    frames = [udp(message) for message in QUERIES + RESPONSES]
    frames += [udp(bytes(QUERIES[0]), v6=True), udp(bytes(RESPONSES[0]), sport=53, dport=40000)]
    frames += [udp(bytes(QUERIES[1]), sport=53, dport=5353)]
    frames += [udp(message) for message in handmade()]
    for opcode in range(16):
        frames.append(udp(header(flags=opcode << 11, counts=(0, 0, 0, 0))))
        frames.append(udp(header(flags=0x8000 | opcode << 11 | opcode, counts=(0, 0, 0, 0))))
    for rcode in range(16):
        frames.append(udp(header(flags=0x8080 | rcode, counts=(0, 0, 0, 0))))
    for extended in (1, 2, 3, 4, 255):
        frames.append(udp(bytes(DNS(id=1, qr=1, rcode=extended & 15, qd=[],
                                    ar=DNSRROPT(extrcode=extended)))))
    return frames


def test_dns_over_udp_matches_tcpdump(tmp_path: Path) -> None:
    require_tool("tcpdump")
    assert_same_lines(tmp_path, corpus())


def test_type_and_class_names_match_tcpdump(tmp_path: Path) -> None:
    """Questions of many type numbers and class numbers: tcpdump's names or its fallbacks."""
    require_tool("tcpdump")
    numbers = [*range(300), *range(300, 65536, 97), 32768, 32769, 65535]
    question = header(counts=(1, 0, 0, 0)) + b"\x01x\x00"
    frames = [udp(question + struct.pack("!HH", number, 1)) for number in numbers]
    frames += [udp(question + struct.pack("!HH", 1, number)) for number in numbers]
    assert_same_lines(tmp_path, frames)


def test_dns_over_tcp_matches_tcpdump(tmp_path: Path) -> None:
    require_tool("tcpdump")
    message = bytes(RESPONSES[2])
    frames = [tcp(bytes(QUERIES[0])), tcp(message), tcp(message, prefix=3), tcp(b""),
              tcp(bytes(5)), tcp(bytes(QUERIES[1])[:20], prefix=20)]
    frames.append(bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2")
                        / TCP(sport=53, dport=40000, flags="PA") / b"\x00"))
    assert_same_lines(tmp_path, frames)


def test_dns_cut_by_the_snaplen_matches_tcpdump(tmp_path: Path) -> None:
    require_tool("tcpdump")
    frames = [udp(message) for message in RESPONSES[:6] + QUERIES[:3]]
    for snaplen in (44, 50, 54, 60, 64, 70, 80, 90, 100, 120):
        assert_same_cut_lines(tmp_path, frames, snaplen)


def test_random_dns_bytes_match_tcpdump(tmp_path: Path) -> None:
    """Mutated messages: flipped bytes in real queries and responses."""
    require_tool("tcpdump")
    rng = random.Random(53)
    seeds = [bytes(message) for message in QUERIES + RESPONSES] + handmade()[:5]
    frames = []
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.choice((0, 0xC0, 0x0C, 0xFF, 0x41,
                                                             rng.randrange(256)))
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data) + 1)]
        frames.append(udp(bytes(data)))
    assert_same_lines(tmp_path, frames)
