"""Field conversions and validation, option codecs, and layer classes declared by users."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.packet.packet_specs import Spec, any_packet, to_wirekit, values
from wirekit.packet import (
    ARP,
    ICMP,
    SNAP,
    TCP,
    UDP,
    Ether,
    FieldValueError,
    ICMPv6,
    IPv4,
    IPv4Flags,
    IPv4Option,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6Option,
    Layer,
    NDOption,
    Raw,
    TCPFlags,
    UInt16,
    UInt24,
    parse,
)
from wirekit.packet.ipv4 import decode_ipv4_options, encode_ipv4_options
from wirekit.packet.tcp import decode_tcp_options, encode_tcp_options


@pytest.mark.parametrize(("options", "message"), [
    (["MSS"], r"\(name, value\) pair"),
    ([("Bogus", 1)], "unknown TCP option"),
    ([(300, b"")], "unknown TCP option"),
    ([("MSS", "x")], "bad value"),
    ([("SAck", (1, 2, "three"))], "bad value"),
    ([(99, 5)], "bad value"),
])
def test_bad_tcp_options(options: list[Any], message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        TCP(options=options)


def test_tcp_option_codec_round_trips_and_keeps_the_unknown() -> None:
    options = [("MSS", 1460), ("NOP", None), ("WScale", 3), ("SAckOK", b""),
               ("SAck", (1, 2)), ("Timestamp", (5, 6)), (99, b"xy"), (200, b"")]
    encoded = encode_tcp_options(options)
    assert len(encoded) % 4 == 0 and decode_tcp_options(encoded)[:len(options)] == options
    assert decode_tcp_options(b"\x02\x03\x05") == [(2, b"\x05")]  # MSS of length 3: raw
    assert decode_tcp_options(b"\x05\x01") == [(5, b"\x01")]  # impossible length: kept raw
    assert decode_tcp_options(b"\x00\x02\x04\x05\xb4") == [("EOL", None)]  # EOL ends the list
    raw = parse(bytes(IPv4() / TCP(options=b"\x01\x01\x04\x02")), IPv4)[TCP]
    assert raw.options == [("NOP", None), ("NOP", None), ("SAckOK", b"")]


def test_tcp_options_scapy_names_newer_kinds() -> None:
    """MD5 (RFC 2385), UTO (RFC 5482), AO (RFC 5925) and TFO (RFC 7413) under Scapy's names
    and forms; an unexpected size keeps the option raw."""
    options = [("MD5", bytes(range(16))), ("UTO", 0x8005), ("TFO", (1, 2)), ("AO", b"\x01\x02mac")]
    assert decode_tcp_options(encode_tcp_options(options))[:4] == options
    assert decode_tcp_options(b"\x22\x06\x01\x02\x03\x04") == [(34, b"\x01\x02\x03\x04")]
    assert decode_tcp_options(b"\x13\x04ab") == [(19, b"ab")]
    assert decode_tcp_options(b"\x1d\x03a") == [(29, b"a")]


def test_uint24_is_an_oui() -> None:
    field = SNAP._by_name["OUI"]
    assert field.to_raw(0x0080C2) == b"\x00\x80\xc2" and field.to_user(b"\x00\x80\xc2") == 0x80C2
    assert field.text(b"\x00\x00\x0c") == "0x00000c (Cisco)" and field.json(b"\x00\x00\x0c") == 12
    for bad in (-1, 1 << 24, True, "x", b"\x00\x00"):
        with pytest.raises(FieldValueError):
            field.to_raw(bad)
    assert isinstance(field, UInt24)


def test_ipv4_options() -> None:
    data = encode_ipv4_options([IPv4Option(1), IPv4Option(7, b"\x04" + bytes(4)),
                                IPv4Option.router_alert()])
    assert data == b"\x01\x07\x07\x04" + bytes(4) + b"\x94\x04\x00\x00"  # 12: no padding
    assert [o.name for o in decode_ipv4_options(data)] == ["NOP", "RR", "RA"]
    assert encode_ipv4_options([IPv4Option(1)]) == b"\x01\0\0\0"  # padded with EOL
    assert decode_ipv4_options(b"\x44\x01") == [IPv4Option(0x44, b"\x01")]  # bad length: raw
    assert IPv4Option.router_alert().copied and not IPv4Option(7).copied
    built = IPv4(options=["NOP", ("RA", b"\0\0"), (130, b"sec")])
    assert [o.type for o in built.options] == [1, 148, 130]
    with pytest.raises(FieldValueError, match="40 bytes"):
        IPv4(options=[IPv4Option(7, bytes(30))] * 2)
    with pytest.raises(FieldValueError, match="not an IPv4 option"):
        IPv4(options=[3.5])


def test_ipv6_options_pad_to_eight_bytes() -> None:
    hbh = IPv6ExtHdrDestOpt(options=[IPv6Option(0xC2, b"\0\0\x10\0"), (5, b"\0\0")])
    wire = bytes(IPv6() / hbh)
    length = (wire[41] + 1) * 8
    assert length % 8 == 0 and length == 16
    options = parse(wire, IPv6)[IPv6ExtHdrDestOpt].options
    assert [o.name for o in options][:2] == ["Jumbo", "RouterAlert"]
    with pytest.raises(FieldValueError):
        IPv6ExtHdrDestOpt(options=["x"])


def test_flag_values() -> None:
    assert str(IPv4Flags(3)) == "MF+DF" and IPv4Flags(2).DF and not IPv4Flags(2).MF
    assert IPv4(flags="MF+DF").flags == 3 and IPv4(flags="DF evil").flags == 6
    assert repr(TCPFlags(0x12)) == "<TCPFlags 0x012 (SA)>" and "DF" in repr(IPv4Flags(2))
    assert TCPFlags.parse("sa") == 0x12  # letters are case-insensitive


def test_integers_accept_int_like_values() -> None:
    assert TCP(sport="80").sport == 80
    with pytest.raises(FieldValueError, match="integer"):
        TCP(sport="eighty")
    with pytest.raises(FieldValueError, match="fit"):
        TCP(seq=-1)


def test_arp_address_forms() -> None:
    arp = ARP(hwsrc=b"\x02" * 6, psrc=b"\x0a\0\0\x01", hwdst="aa-bb-cc-dd-ee-ff",
              pdst="10.0.0.2")
    assert (arp.hwsrc, arp.psrc, arp.hwdst) == ("02:02:02:02:02:02", "10.0.0.1",
                                                 "aa:bb:cc:dd:ee:ff")
    odd = ARP(hwtype=6, hwsrc="0102030405060708", hwdst="00" * 8)  # 8-byte hardware addresses
    parsed = parse(bytes(Ether() / odd))[ARP]
    assert parsed.hwlen == 8 and parsed.hwsrc == "01:02:03:04:05:06:07:08"
    with pytest.raises(FieldValueError):
        ARP(psrc="not an address")
    with pytest.raises(FieldValueError):
        ARP(psrc=5)


def test_nd_option_helpers() -> None:
    option = NDOption.prefix_info("2001:db8:1::", 48, onlink=False, valid=60, preferred=30)
    assert option.prefix == ("2001:db8:1::", 48) and option.data[1] == 0x40
    assert NDOption(9, b"").lladdr is None and NDOption(9, b"").mtu is None
    assert NDOption(9, b"").prefix is None and NDOption(9).name == "opt-9"
    with pytest.raises(FieldValueError):
        ICMPv6(type=135, options=["not an option"])
    ra = parse(bytes(IPv6() / ICMPv6(type=134, reachabletime=5, retranstimer=6)), IPv6)[ICMPv6]
    assert (ra.reachabletime, ra.retranstimer, ra.tgt) == (5, 6, None)


class Marker(Layer):
    """A layer with no fixed header: building and parsing still work."""

    __slots__ = ()
    name = "Marker"


class Counter(Layer):
    """Two fields and a derived property, declared the way a user would."""

    __slots__ = ()
    name = "Counter"
    high = UInt16(0)
    low = UInt16(0)

    @property
    def value(self) -> int:
        return (self.high or 0) << 16 | (self.low or 0)

    @value.setter
    def value(self, number: int) -> None:
        self.high, self.low = number >> 16, number & 0xFFFF


def test_user_layer_classes() -> None:
    assert bytes(Marker()) == b"" and repr(Marker()) == "<Marker>"
    with pytest.raises(TypeError):
        Marker(anything=1)
    counter = Counter(value=0x10002)
    assert (counter.high, counter.low) == (1, 2) and bytes(counter) == b"\0\x01\0\x02"
    assert parse(b"\0\x01\0\x02", Counter)[Counter].value == 0x10002
    with pytest.raises(TypeError, match=r"Counter\.__init__"):
        Counter(nope=1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_packet)
def test_materialising_any_parsed_packet_rebuilds_it_exactly(spec: Spec) -> None:
    """A structural edit re-serialises: unchanged content must come out byte for byte."""
    wire = bytes(to_wirekit(spec))
    pkt = parse(wire)
    pkt._materialize()
    assert not pkt.parsed and bytes(pkt) == wire


def test_copies_of_parsed_layers_are_built_and_editable() -> None:
    pkt = parse(bytes(Ether() / IPv4(ttl=5) / UDP(dport=9) / b"x"))
    udp = pkt[UDP].copy()
    assert not udp.parsed and values(udp, "dport", "chksum") == (9, None)  # was right: auto
    udp.dport = 10
    assert pkt[UDP].dport == 9
    again = IPv4(dst="10.0.0.1") / udp / Raw(load=b"y")
    assert parse(bytes(again), IPv4)[UDP].dport == 10


def test_icmp_parameter_problem_pointer_round_trip() -> None:
    pkt = parse(bytes(IPv4() / ICMP(type=12, ptr=9) / IPv4() / UDP()), IPv4)
    assert pkt[ICMP].ptr == 9 and pkt[ICMP].unused == 9 << 8
