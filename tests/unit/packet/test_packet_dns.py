"""The DNS layer: header fields, sections, names and compression, bad input."""

from __future__ import annotations

import random
import struct

import pytest

from wirekit.errors import DecodeError
from wirekit.packet import DNS, DNSQR, DNSRR, UDP, Ether, IPv4, Raw, Status, parse
from wirekit.packet.dns import decode_sections, encode_name
from wirekit.packet.summary_dns import dns_text

NAME = b"\x07example\x03com\x00"


def header(ident: int = 7, flags: int = 0x0100, counts: tuple[int, ...] = (1, 0, 0, 0)) -> bytes:
    return struct.pack("!6H", ident, flags, *counts)


def frame(message: bytes, sport: int = 40000) -> bytes:
    return bytes(Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=sport, dport=53)
                 / message)


def test_header_defaults_follow_scapy() -> None:
    wire = bytes(DNS())
    assert wire == header(0, 0x0100, (0, 0, 0, 0))  # rd=1, the counts automatic (0)


def test_header_fields_of_a_parsed_message() -> None:
    flags = 0x8000 | 5 << 11 | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 0x0040 | 0x0020 | 0x0010 | 3
    dns = parse(frame(header(0xBEEF, flags, (0, 0, 0, 0))))[DNS]
    assert (dns.id, dns.qr, dns.opcode, dns.aa, dns.tc, dns.rd, dns.ra, dns.z, dns.ad, dns.cd,
            dns.rcode) == (0xBEEF, 1, 5, 1, 1, 1, 1, 1, 1, 1, 3)
    assert (dns.qdcount, dns.ancount, dns.nscount, dns.arcount) == (0, 0, 0, 0)
    assert dns.status.ok


def test_udp_port_53_decodes_as_dns_either_way() -> None:
    assert DNS in parse(frame(header(), sport=53))
    reply = UDP(sport=53, dport=40000) / header(counts=(0,) * 4)
    assert DNS in parse(bytes(Ether() / IPv4() / reply))
    assert DNS not in parse(bytes(Ether() / IPv4() / UDP(sport=1, dport=2) / header()))


def test_sections_and_compression() -> None:
    message = (header(flags=0x8180, counts=(1, 2, 0, 0)) + NAME + b"\x00\x01\x00\x01"
               + b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03www\xc0\x0c"
               + b"\xc0\x29" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([9, 9, 9, 9]))
    dns = parse(frame(message))[DNS]
    assert dns.qd == [DNSQR("example.com.", 1, 1)]
    assert dns.an == [DNSRR("example.com.", 5, 1, 60, "www.example.com."),
                      DNSRR("www.example.com.", 1, 1, 60, "9.9.9.9")]
    assert dns.status.ok and Raw not in parse(frame(message))


def test_a_looping_pointer_is_malformed_not_endless() -> None:
    looping = header() + b"\xc0\x0c\x00\x01\x00\x01"
    dns = parse(frame(looping))[DNS]
    assert dns.qd == [] and dns.status.kind is Status.MALFORMED
    assert "does not point back" in dns.status.reason
    with pytest.raises(DecodeError):
        parse(frame(looping), strict=True)
    # Two names pointing at each other, and a pointer to itself in an answer.
    pair = header(counts=(2, 0, 0, 0)) + b"\xc0\x12\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01"
    assert parse(frame(pair))[DNS].status.kind is Status.MALFORMED


def test_a_long_chain_of_backward_pointers_is_linear() -> None:
    body = bytearray(b"\x01a\x00")
    for index in range(1, 300):
        at = 12 + 3 + (index - 1) * 4 if index > 1 else 12
        body += b"\x01b" + bytes([0xC0 | (at >> 8), at & 0xFF])
    counts = (1, 0, 0, 0)
    found = decode_sections(header(counts=counts) + bytes(body), counts)
    assert (found.problem is None and found.qd == []) or found.qd[0].qname == "a."


def test_a_chain_of_pointers_to_pointers_is_bounded() -> None:
    """2000 pointers in an unknown record's RDATA, each to the one before; a second record's
    name points at the last: no RecursionError, a bounded walk, a malformed status."""
    base = 12 + 11  # after the header and the first record's root name and fixed fields
    chain, previous = bytearray(), 12  # the first pointer points at the root name
    for index in range(2000):
        chain += bytes([0xC0 | (previous >> 8), previous & 0xFF])
        previous = base + 2 * index
    first = b"\x00" + struct.pack("!HHIH", 65, 1, 0, len(chain)) + bytes(chain)
    second = bytes([0xC0 | (previous >> 8), previous & 0xFF]) + struct.pack("!HHIH", 1, 1, 0, 0)
    message = header(counts=(0, 2, 0, 0)) + first + second
    found = decode_sections(message, (0, 2, 0, 0))
    assert found.problem is not None and "pointers" in found.problem.reason
    assert len(found.an) == 1
    assert "pointers" in parse(frame(message))[DNS].status.reason


def test_names_are_bounded() -> None:
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"
    dns = parse(frame(header() + long_name + b"\x00\x01\x00\x01"))[DNS]
    assert dns.status.kind is Status.MALFORMED and "255" in dns.status.reason
    with pytest.raises(ValueError):
        encode_name("a" * 64 + ".com")
    with pytest.raises(ValueError):
        encode_name(".".join(["a" * 63] * 5))
    assert encode_name("a\\.b.c") == b"\x03a.b\x01c\x00"


def test_bad_input_never_raises_in_tolerant_mode() -> None:
    rng = random.Random(5)
    seeds = [header() + NAME + b"\x00\x01\x00\x01",
             bytes(DNS(qr=1, qd=[DNSQR("x.example")],
                       an=[DNSRR("x.example", 16, 1, 5, ["a", "b"])]))]
    for _ in range(2000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = data[:rng.randrange(len(data) + 1)]
        pkt = parse(frame(bytes(data)))
        pkt.summary()
        pkt.show_text()
        pkt.to_dict()
        for layer in pkt.layers:
            if isinstance(layer, DNS):
                _ = (layer.qd, layer.an, layer.ns, layer.ar, layer.status)


def test_strict_mode_raises_for_malformed_and_cut_messages() -> None:
    good = frame(header() + NAME + b"\x00\x01\x00\x01")
    assert parse(good, strict=True)[DNS].qd[0].qname == "example.com."
    with pytest.raises(DecodeError):
        parse(frame(header() + b"\x85abcde\x00\x00\x01\x00\x01"), strict=True)  # label 0x80
    with pytest.raises(DecodeError):
        parse(frame(header(counts=(2, 0, 0, 0)) + NAME + b"\x00\x01\x00\x01"), strict=True)
    cut = parse(good[:-3], wire_len=len(good))[DNS]
    assert cut.status.kind is Status.TRUNCATED
    assert parse(good[:50], wire_len=len(good))[DNS].status.kind is Status.TRUNCATED
    short = parse(frame(b"abcd"))[DNS]  # four bytes on the wire: no DNS message
    assert short.status.kind is Status.MALFORMED and "12 bytes" in short.status.reason


def test_building_round_trips_through_scapy() -> None:
    scapy = pytest.importorskip("scapy.all")
    built = bytes(Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=40000)
                  / DNS(id=0x1234, qr=1, aa=1, ra=1, rcode=3, qd=[DNSQR("example.com", 28)],
                        an=[DNSRR("example.com", 28, 1, 300, "2001:db8::1"),
                            DNSRR("example.com", 5, 1, 0, "alias.example"),
                            DNSRR("t.example", 16, 1, 0, ["hello", b"x"])],
                        ar=[DNSRR(".", 41, 1232, 0, b"")]))
    theirs = scapy.Ether(built)[scapy.DNS]
    assert (theirs.id, theirs.qr, theirs.aa, theirs.ra, theirs.rcode, theirs.rd) == \
        (0x1234, 1, 1, 1, 3, 1)
    assert (theirs.qdcount, theirs.ancount, theirs.nscount, theirs.arcount) == (1, 3, 0, 1)
    assert theirs.qd[0].qname == b"example.com." and theirs.qd[0].qtype == 28
    assert theirs.an[0].rdata == "2001:db8::1" and theirs.an[1].rdata == b"alias.example."
    assert theirs.an[2].rdata == [b"hello", b"x"] and theirs.ar[0].rclass == 1232
    assert built[36:38] == b"\x00\x35"  # UDP's destination port: DNS is bound to 53
    again = parse(built)[DNS]
    assert again.an[0] == DNSRR("example.com.", 28, 1, 300, "2001:db8::1") and again.status.ok


def test_summary_text_matches_tcpdumps_forms() -> None:
    assert dns_text(b"", 0) == "domain [length 0 < 12] (invalid)"
    assert dns_text(bytes(536), 536) == "0 [0q] (536)"
    assert dns_text(header(0x1234) + NAME + b"\x00\x01\x00\x01", 29) == \
        "4660+ A? example.com. (29)"
    assert dns_text(header(7, 0x8403) + NAME + b"\x00\x01\x00\x01", 29) == \
        "7 NXDomain*- 0/0/0 (29)"
    assert dns_text(header()[:8], 29) == " [|domain]"
    assert dns_text(b"\x00\x05" + bytes(3), 5, over_tcp=True) == \
        " [prefix length(5) != length(3)] (invalid)"
