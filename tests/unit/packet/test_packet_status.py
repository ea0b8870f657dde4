"""Honest decoding: per-layer status with offsets; tolerant by default, strict on request."""

from __future__ import annotations

import pytest

from tests.unit.packet.packet_specs import checked, values
from wirekit.errors import DecodeError
from wirekit.packet import (
    ICMP,
    TCP,
    UDP,
    Ether,
    ICMPv6,
    IPv4,
    IPv6,
    LayerStatus,
    Raw,
    Status,
    parse,
)

GOOD = bytes(Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / b"data")


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def test_a_good_packet_is_ok_everywhere() -> None:
    pkt = parse(GOOD, strict=True)
    assert pkt.status.ok and all(status.ok for status in pkt.statuses())
    assert str(pkt.status) == "ok"


def test_snaplen_cut_is_truncated_at_the_first_missing_byte() -> None:
    pkt = parse(GOOD[:40])
    status = pkt[IPv4].status
    assert status.kind is Status.TRUNCATED and status.offset == 40 and status.layer == "IPv4"
    assert pkt[UDP].sport == 1  # the cut does not stop the next header from decoding
    assert pkt[UDP].status.kind is Status.TRUNCATED
    assert pkt.status.kind is Status.TRUNCATED
    with pytest.raises(DecodeError) as caught:
        parse(GOOD[:40], strict=True)
    assert caught.value.layer == "IPv4" and caught.value.offset == 40


def test_a_cut_header_reads_missing_fields_as_none() -> None:
    pkt = parse(GOOD[:14 + 20 + 3])
    udp = pkt[UDP]
    assert values(udp, "sport", "dport", "chksum") == (1, None, None)
    assert udp.status.reason == "header needs 8 bytes, 3 present"


@pytest.mark.parametrize(("mutate", "layer", "offset", "text"), [
    (lambda b: b[:14] + b"\x44" + b[15:], "IPv4", 14, "IHL 4"),
    (lambda b: b[:14] + b"\x65" + b[15:], "IPv4", 14, "version 6"),
    (lambda b: b[:16] + b"\x00\x0a" + b[18:], "IPv4", 16, "shorter than"),
    (lambda b: b[:38] + b"\x00\x04" + b[40:], "UDP", 38, "below the 8-byte header"),
])
def test_malformed_fields_name_the_layer_and_offset(mutate: object, layer: str, offset: int,
                                                    text: str) -> None:
    data = mutate(GOOD)  # type: ignore[operator]
    pkt = parse(data)
    bad = next(status for status in pkt.statuses() if not status.ok)
    assert (bad.kind, bad.layer, bad.offset) == (Status.MALFORMED, layer, offset)
    assert text in bad.reason
    with pytest.raises(DecodeError) as caught:
        parse(data, strict=True)
    assert caught.value.layer == layer and caught.value.offset == offset


def test_lying_lengths() -> None:
    too_long = parse(GOOD[:16] + b"\x05\xdc" + GOOD[18:])  # IPv4 total length 1500
    assert too_long[IPv4].status.kind is Status.TRUNCATED
    assert "1500" in too_long[IPv4].status.reason
    udp_lies = parse(GOOD[:38] + b"\x01\x00" + GOOD[40:])
    assert udp_lies[UDP].status.kind is Status.TRUNCATED
    tcp = bytes(Ether() / IPv4() / TCP(dataofs=15))
    assert parse(tcp)[TCP].status.kind is Status.TRUNCATED
    short = bytes(Ether() / IPv4() / TCP(dataofs=2))
    assert parse(short)[TCP].status.kind is Status.MALFORMED
    assert parse(bytes(Ether() / IPv6(plen=500) / UDP()))[IPv6].status.kind is Status.TRUNCATED


def test_bad_checksums_per_layer() -> None:
    bad_ip = parse(_flip(GOOD, 24))
    assert bad_ip[IPv4].status.kind is Status.BAD_CHECKSUM and bad_ip[IPv4].status.offset == 24
    assert bad_ip[UDP].status.ok
    bad_udp = parse(_flip(GOOD, 40))
    checks = {check.layer: check for check in bad_udp.verify_checksums()}
    assert checks["IPv4"].ok and checks["UDP"].ok is False
    assert checks["UDP"].stored != checks["UDP"].expected
    with pytest.raises(DecodeError) as caught:
        parse(_flip(GOOD, 40), strict=True)
    assert caught.value.layer == "UDP" and caught.value.offset == 40
    bad_payload = parse(_flip(GOOD, len(GOOD) - 1))
    assert bad_payload[UDP].status.kind is Status.BAD_CHECKSUM


def test_unverifiable_checksums_say_why() -> None:
    cut = parse(GOOD[:-1])
    udp = cut[UDP].verify_checksum()
    assert udp is not None and udp.ok is None and "not complete" in udp.note
    fragment = parse(bytes(Ether() / IPv4(flags="MF") / UDP() / b"x"))
    assert checked(fragment[UDP]) is None
    zero = parse(bytes(Ether() / IPv4() / UDP(chksum=0)))
    check = zero[UDP].verify_checksum()
    assert check is not None and check.ok is None and "no checksum" in check.note
    v6_zero = parse(bytes(Ether() / IPv6() / UDP(chksum=0)))
    assert checked(v6_zero[UDP]) is False
    assert Raw().verify_checksum() is None


def test_checksums_of_icmp_and_icmpv6() -> None:
    icmp = bytes(Ether() / IPv4() / ICMP(id=1, seq=2) / b"ping")
    assert checked(parse(icmp)[ICMP])
    assert parse(_flip(icmp, len(icmp) - 1))[ICMP].status.kind is Status.BAD_CHECKSUM
    six = bytes(Ether() / IPv6() / ICMPv6(id=1) / b"ping")
    assert checked(parse(six)[ICMPv6])
    assert parse(_flip(six, 30))[ICMPv6].status.kind is Status.BAD_CHECKSUM  # src address


def test_built_layers_report_ok_and_verify_their_wire_form() -> None:
    built = Ether() / IPv4() / UDP()
    assert built[UDP].status.ok
    assert [check.ok for check in built.verify_checksums()] == [True, True]
    wrong = Ether() / IPv4(chksum=1) / UDP()
    assert checked(wrong[IPv4]) is False


def test_unsupported_is_not_an_error_in_strict_mode() -> None:
    pkt = parse(bytes(Ether() / IPv4(proto=132) / b"sctp"), strict=True)
    assert pkt[Raw].status.kind is Status.UNSUPPORTED and pkt.status.kind is Status.UNSUPPORTED


def test_layer_status_text() -> None:
    status = LayerStatus(Status.TRUNCATED, "UDP", 41, "length 300 exceeds the 12 bytes present")
    assert str(status) == "UDP: truncated at byte 41: length 300 exceeds the 12 bytes present"
    assert not status.ok and str(Status.BAD_CHECKSUM) == "bad-checksum"


def test_tolerant_mode_never_raises_on_garbage() -> None:
    for length in range(80):
        data = bytes((i * 37 + length) & 0xFF for i in range(length))
        pkt = parse(data)
        assert pkt.layers
        pkt.summary()
        pkt.show_text()
        pkt.to_dict()
        pkt.verify_checksums()


def test_misplaced_hop_by_hop_is_malformed() -> None:
    from wirekit.packet import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop

    late = parse(bytes(Ether() / IPv6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP()))
    status = late[IPv6ExtHdrHopByHop].status
    assert status.kind is Status.MALFORMED and "RFC 8200" in status.reason
    assert status.offset == 14 + 40 + 8 and UDP not in late
    twice = parse(bytes(Ether() / IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / UDP()))
    assert "second" in twice[IPv6ExtHdrHopByHop:2].status.reason
    assert parse(bytes(Ether() / IPv6() / IPv6ExtHdrHopByHop() / UDP())).status.ok
