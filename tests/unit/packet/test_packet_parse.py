"""Parsing: lookups, laziness, zero copy, byte-for-byte round trips, every link type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.packet.packet_specs import Spec, any_packet, to_wirekit
from wirekit.errors import DecodeError
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
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Layer,
    LayerNotFoundError,
    LinkType,
    Loopback,
    LoopbackBE,
    Padding,
    Raw,
    Status,
    parse,
)

FRAME = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
              / IPv4(src="10.0.0.1", dst="10.0.0.2", ttl=9)
              / TCP(sport=1234, dport=80, seq=7, flags="PA") / b"payload")


def test_lookups() -> None:
    pkt = parse(FRAME)
    assert pkt[TCP].dport == 80 and TCP in pkt and UDP not in pkt
    assert pkt.getlayer(UDP) is None and pkt.haslayer(IPv4)
    assert pkt[0] is pkt[Ether] and pkt[-1] is pkt[Raw] and pkt[IPv4:1] is pkt[IPv4]
    assert [layer.name for layer in pkt.layers] == ["Ether", "IPv4", "TCP", "Raw"]
    assert [layer.name for layer in pkt] == ["Ether", "IPv4", "TCP", "Raw"]
    assert pkt[Raw].load == b"payload" and bytes(pkt[Raw].view()) == b"payload"


@pytest.mark.parametrize("key", [UDP, 9, slice(IPv4, 2)])
def test_a_missing_layer_is_both_key_error_and_index_error(key: Any) -> None:
    pkt = parse(FRAME)
    with pytest.raises(LayerNotFoundError):
        pkt[key]
    with pytest.raises(KeyError):
        pkt[key]
    with pytest.raises(IndexError):
        pkt[key]


def test_parsing_is_lazy() -> None:
    pkt = parse(FRAME)
    assert pkt._layers == []  # nothing decoded yet
    pkt[IPv4]
    assert [type(layer) for layer in pkt._layers] == [Ether, IPv4]
    ip = pkt[IPv4]
    assert ip._hlen < 0  # its lengths are not even looked at until something needs them
    assert ip.ttl == 9 and ip._hlen < 0
    assert ip.payload is pkt[TCP]
    assert len(pkt._layers) == 3  # the payload is still not a layer object


def test_parsing_is_zero_copy() -> None:
    buffer = bytearray(FRAME)
    pkt = parse(memoryview(buffer))
    view = pkt[Raw].view()
    buffer[-1] = ord("!")
    assert bytes(view)[-1:] == b"!"  # the layer reads the caller's memory, not a copy


def test_unmodified_packet_round_trips_exactly() -> None:
    pkt = parse(FRAME)
    assert len(pkt.layers) == 4
    assert bytes(pkt) is FRAME and len(pkt) == len(FRAME)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_packet)
def test_any_built_packet_parses_back_identically(spec: Spec) -> None:
    built = to_wirekit(spec)
    wire = bytes(built)
    parsed = parse(wire)
    assert bytes(parsed) == wire
    assert [type(layer) for layer in parsed.layers][:len(spec)] == \
        [type(layer) for layer in built.layers][:len(spec)] or spec[-1][0] == "ND"
    assert all(check.ok is not False for check in parsed.verify_checksums())
    assert parsed.status.ok


def test_three_ways_whole_bytewise_and_trailing() -> None:
    # Whole, then every prefix (a byte at a time, as a capture cut at any snaplen), then with
    # trailing bytes: the layers found are a prefix of the whole packet's, nothing raises.
    whole = [layer.name for layer in parse(FRAME).layers]
    for cut in range(len(FRAME) + 1):
        pkt = parse(FRAME[:cut])
        names = [layer.name for layer in pkt.layers]
        assert names == whole[:len(names)] or names[-1] in ("Raw", "Padding")
        pkt.summary()
        pkt.show_text()
    trailing = parse(FRAME + b"\0" * 6)
    assert [layer.name for layer in trailing.layers] == [*whole, "Padding"]
    assert trailing[Raw].load == b"payload" and trailing[Padding].load == b"\0" * 6


def test_ethernet_padding_is_not_payload() -> None:
    frame = bytes(Ether() / IPv4() / UDP()) + b"\0" * 18  # padded to 60 bytes
    pkt = parse(frame)
    assert pkt[UDP].payload is pkt[Padding] and pkt[Padding].load == b"\0" * 18
    assert pkt.status.ok and bytes(pkt) == frame


@pytest.mark.parametrize(("link", "first", "wire"), [
    (LinkType.ETHERNET, Ether, bytes(Ether() / IPv4() / UDP())),
    (LinkType.RAW, IPv4, bytes(IPv4() / UDP())),
    (LinkType.RAW, IPv6, bytes(IPv6() / UDP())),
    (LinkType.IPV4, IPv4, bytes(IPv4() / UDP())),
    (LinkType.IPV6, IPv6, bytes(IPv6() / UDP())),
    (LinkType.LINUX_SLL, SLL, bytes(SLL() / IPv4() / UDP())),
    (LinkType.LINUX_SLL2, SLL2, bytes(SLL2() / IPv6() / UDP())),
    (LinkType.NULL, Loopback, bytes(Loopback() / IPv4() / UDP())),
    (LinkType.LOOP, LoopbackBE, bytes(LoopbackBE() / IPv6() / UDP())),
])
def test_every_link_type(link: LinkType, first: type[Layer], wire: bytes) -> None:
    pkt = parse(wire, link)
    assert type(pkt[0]) is first and pkt[UDP].sport == 53 and pkt.link is link
    assert parse(wire, int(link))[UDP].dport == 53  # a plain int works too


def test_a_layer_class_as_the_start() -> None:
    assert parse(bytes(UDP(sport=9) / b"x"), UDP)[UDP].sport == 9


def test_unknown_link_type_and_ethertype_are_unsupported_raw() -> None:
    unknown_link = parse(b"\x01\x02\x03", 147)
    assert isinstance(unknown_link[0], Raw)
    assert unknown_link[0].status.kind is Status.UNSUPPORTED
    pkt = parse(bytes(Ether(type=0x88B5) / b"abcd"))
    assert pkt[Raw].status.kind is Status.UNSUPPORTED and "0x88b5" in pkt[Raw].status.reason
    assert pkt.status.kind is Status.UNSUPPORTED
    raw_ip = parse(b"\x50" + bytes(19), LinkType.RAW)
    assert isinstance(raw_ip[0], Raw)


def test_ieee_8023_frames_decode_llc_and_keep_the_bpdu_raw() -> None:
    """IEEE 802.3 clause 3.2.6: a type of 1500 or less is a length; an 802.2 LLC header
    follows, and bytes past the length are padding.  STP BPDUs are not decoded."""
    frame = bytes.fromhex("0180c2000000020000000001" "0026" "424203") + bytes(35) + bytes(8)
    pkt = parse(frame)
    assert [layer.name for layer in pkt.layers] == ["Ether", "LLC", "Raw", "Padding"]
    assert (pkt[LLC].dsap, pkt[LLC].ssap, pkt[LLC].ctrl, pkt[LLC].header_len) == (0x42, 0x42, 3, 3)
    assert pkt[Raw].status.kind is Status.UNSUPPORTED and len(pkt[Raw].load) == 35
    assert "0x42" in pkt[Raw].status.reason and len(pkt[Padding].load) == 8
    assert bytes(pkt) == frame


def test_snap_binds_its_payload_through_the_ethertype_registry() -> None:
    """RFC 1042: OUI 0 makes the SNAP protocol ID an EtherType; bytes past the 802.3 length
    are padding, and they stay out of the IPv4 layer."""
    ip = IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
    frame = bytes(Ether() / LLC() / SNAP() / ip) + bytes(16)
    pkt = parse(frame)
    assert [layer.name for layer in pkt.layers] == \
        ["Ether", "LLC", "SNAP", "IPv4", "UDP", "Padding"]
    assert (pkt[SNAP].OUI, pkt[SNAP].code, pkt[UDP].dport) == (0, 0x0800, 2)
    assert pkt.status.ok and pkt.flow() is not None and bytes(pkt) == frame
    bridged = parse(bytes(Ether() / LLC() / SNAP(OUI=0x0000F8) / ip.copy()))
    assert IPv4 in bridged  # IEEE 802.1H bridge tunnel: an EtherType too
    cisco = parse(bytes(Ether() / LLC() / SNAP(OUI=0x00000C, code=0x2000) / b"cdp"))
    assert cisco[Raw].status.kind is Status.UNSUPPORTED and "0x00000c" in cisco[Raw].status.reason


def test_llc_frames_of_every_format() -> None:
    """U frames have a 3-byte header, I and S frames 4; the payload of a UI frame between
    bound SAPs is decoded, of anything else kept raw and marked."""
    i_frame = parse(bytes(Ether() / LLC(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"hello"))
    assert (i_frame[LLC].ctrl, i_frame[LLC].header_len, i_frame[Raw].load) == \
        (0x0200, 4, b"hello")
    assert i_frame[Raw].status.kind is Status.UNSUPPORTED
    rfc948 = parse(bytes(Ether() / LLC() / IPv4(src="10.0.0.1") / UDP()))
    assert (rfc948[LLC].dsap, rfc948[IPv4].src) == (6, "10.0.0.1")
    jumbo = parse(bytes(Ether(type=0x8870) / LLC() / SNAP() / IPv4()))
    assert LLC in jumbo and IPv4 in jumbo
    tagged = parse(bytes(Ether() / Dot1Q(vlan=3) / LLC() / SNAP() / IPv6()) + bytes(8))
    assert tagged.status.ok and IPv6 in tagged and Padding in tagged
    novell = parse(bytes(Ether(type=30) / (b"\xff\xff" + bytes(28))))
    assert novell[Raw].status.kind is Status.UNSUPPORTED and "IPX" in novell[Raw].status.reason


def test_an_llc_header_cut_short_is_truncated() -> None:
    """An I frame needs 4 bytes; a length of 3 (or a capture of 3) leaves its control field
    cut: truncated, and in strict mode a DecodeError."""
    frame = bytes(Ether(type=3) / LLC(dsap=0x12, ssap=0x34, ctrl=0x0200))
    pkt = parse(frame)
    assert pkt[LLC].status.kind is Status.TRUNCATED and pkt[LLC].ctrl is None
    with pytest.raises(DecodeError) as caught:
        parse(frame, strict=True)
    assert caught.value.layer == "LLC"
    assert parse(bytes(Ether() / LLC())[:16])[LLC].status.kind is Status.TRUNCATED


def test_rarp_decodes_as_arp() -> None:
    pkt = parse(bytes(Ether(type=0x8035) / ARP(op=3, hwdst="02:00:00:00:00:02")))
    assert pkt[ARP].op == 3 and pkt[ARP].hwdst == "02:00:00:00:00:02"


def test_icmp_error_quotes_are_decoded_and_marked() -> None:
    wire = bytes(Ether() / IPv4(src="10.0.0.9", dst="10.0.0.1") / ICMP(type=3, code=3)
                 / IPv4(src="10.0.0.1", dst="10.0.0.3") / UDP(sport=5, dport=33434))
    wire = wire[:14 + 20 + 8 + 28]
    pkt = parse(wire)
    inner = pkt[IPv4:2]
    assert inner.quoted and not pkt[IPv4].quoted and inner.dst == "10.0.0.3"
    assert pkt[UDP].dport == 33434
    assert pkt.status.ok  # a quote is partial by nature: not "truncated"


def test_icmpv6_error_quotes_ipv6() -> None:
    wire = bytes(IPv6() / ICMPv6(type=1, code=4) / IPv6(dst="2001:db8::3") / UDP(dport=7))
    pkt = parse(wire, IPv6)
    assert pkt[IPv6:2].dst == "2001:db8::3" and pkt[IPv6:2].quoted and pkt[UDP].dport == 7


def test_ipv6_extension_headers_are_walked() -> None:
    wire = bytes(IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::9"])
                 / IPv6ExtHdrFragment(id=3) / TCP())
    pkt = parse(wire, IPv6)
    assert [layer.name for layer in pkt.layers] == [
        "IPv6", "IPv6ExtHdrHopByHop", "IPv6ExtHdrRouting", "IPv6ExtHdrFragment", "TCP"]
    assert pkt[IPv6ExtHdrRouting].addresses == ["2001:db8::9"]
    assert pkt[IPv6ExtHdrRouting].segleft == 1 and pkt[IPv6ExtHdrFragment].id == 3


def test_a_later_ipv6_fragment_is_raw() -> None:
    wire = bytes(IPv6() / IPv6ExtHdrFragment(offset=10, nh=6) / (b"x" * 24))
    assert isinstance(parse(wire, IPv6)[IPv6ExtHdrFragment].payload, Raw)


def test_later_ipv4_fragment_is_raw_first_is_decoded() -> None:
    later = parse(bytes(IPv4(frag=3, proto=17) / (b"x" * 16)), IPv4)
    assert isinstance(later[IPv4].payload, Raw) and later[IPv4].is_fragment
    first = parse(bytes(IPv4(flags="MF") / UDP() / (b"x" * 16)), IPv4)
    assert first[UDP].sport == 53 and first[IPv4].flags.MF


def test_vlan_and_arp() -> None:
    pkt = parse(bytes(Ether() / Dot1Q(prio=5, dei=1, vlan=300) / ARP(pdst="10.0.0.7")))
    assert (pkt[Dot1Q].prio, pkt[Dot1Q].dei, pkt[Dot1Q].vlan) == (5, 1, 300)
    assert pkt[ARP].pdst == "10.0.0.7" and pkt[ARP].hwlen == 6


def test_fields_and_repr() -> None:
    pkt = parse(FRAME)
    fields = pkt[TCP].fields()
    assert fields["seq"] == 7 and str(fields["flags"]) == "PA" and fields["options"] == []
    assert "TCP" in repr(pkt) and "sport=1234" in repr(pkt[TCP])
    assert pkt[TCP].offset == 34 and pkt[TCP].header_len == 20 and pkt[TCP].parsed


def test_too_many_layers_stop_as_raw() -> None:
    stack = Ether() / Dot1Q()
    for _ in range(80):
        stack = stack / Dot1Q()
    pkt = parse(bytes(stack / IPv4()))
    assert len(pkt.layers) <= 80 and pkt.layers[-1].status.kind is Status.UNSUPPORTED
