"""Building: defaults, automatic fields, explicit (even wrong) values, composition."""

from __future__ import annotations

import gc
import ipaddress

import pytest

from tests.unit.packet.packet_specs import values
from wirekit.packet import (
    ARP,
    ICMP,
    IP,
    LLC,
    SLL,
    SLL2,
    SNAP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    FieldValueError,
    ICMPv6,
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    LinkType,
    Loopback,
    LoopbackBE,
    NDOption,
    Packet,
    Raw,
    TCPFlags,
    parse,
)
from wirekit.packet.checksum import internet_checksum


def test_the_api_example_builds_a_correct_syn() -> None:
    pkt = Ether() / IPv4(dst="10.0.0.2") / TCP(dport=80, flags="S") / b"hi"
    wire = bytes(pkt)
    assert len(wire) == len(pkt) == 14 + 20 + 20 + 2
    assert wire[12:14] == b"\x08\x00"  # EtherType IPv4, automatic
    assert wire[14] == 0x45  # version 4, IHL 5, automatic
    assert int.from_bytes(wire[16:18], "big") == 42  # total length, automatic
    assert wire[23] == 6  # protocol TCP, automatic
    assert internet_checksum(wire[14:34]) == 0  # header checksum, automatic
    assert wire[46] >> 4 == 5  # data offset
    assert wire[47] == 0x02  # SYN
    assert all(check.ok for check in parse(wire).verify_checksums())


def test_defaults_follow_scapy() -> None:
    tcp, udp, ip = TCP(), UDP(), IPv4()
    assert (tcp.sport, tcp.dport, tcp.seq, tcp.window, str(tcp.flags)) == (20, 80, 0, 8192, "S")
    assert (udp.sport, udp.dport) == (53, 53)
    assert (ip.ttl, ip.id, ip.src, ip.dst, ip.version) == (64, 1, "127.0.0.1", "127.0.0.1", 4)
    assert (IPv6().hlim, IPv6().src) == (64, "::1")
    assert Ether().dst == "ff:ff:ff:ff:ff:ff"
    assert (ICMP().type, ICMPv6().type) == (8, 128)
    assert values(ip, "len", "chksum") == (None, None)  # automatic until built
    assert values(tcp, "dataofs", "chksum") == (None, None)


def test_ip_is_ipv4() -> None:
    assert IP is IPv4


def test_unknown_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="nope"):
        TCP(nope=1)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: IPv4(dst="10.0.0.256"), "not an IPv4 address"),
    (lambda: IPv6(dst="::g"), "not an IPv6 address"),
    (lambda: Ether(dst="aa:bb"), "not a MAC address"),
    (lambda: TCP(sport=70000), "does not fit in 16 bits"),
    (lambda: TCP(flags="SX"), "unknown TCP flag"),
    (lambda: IPv4(flags="XF"), "unknown IPv4 flag"),
    (lambda: TCP(options=[("MSS", 1460)] * 11), "more than 40"),
    (lambda: Raw(load=3), "bytes or str"),
])
def test_bad_values_raise_field_value_error(build: object, message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        build()  # type: ignore[operator]


def test_field_value_error_is_a_value_error_and_usage_error() -> None:
    from wirekit.errors import UsageError

    assert issubclass(FieldValueError, ValueError) and issubclass(FieldValueError, UsageError)


def test_addresses_accept_strings_bytes_ints_and_ipaddress() -> None:
    assert IPv4(src=b"\x0a\0\0\x01").src == "10.0.0.1"
    assert IPv4(src=ipaddress.IPv4Address("10.0.0.2")).src == "10.0.0.2"
    assert IPv4(src=0x0A000003).src == "10.0.0.3"
    assert IPv6(src=ipaddress.IPv6Address("2001:db8::1")).src == "2001:db8::1"
    assert Ether(src=b"\x02" * 6).src == "02:02:02:02:02:02"
    assert Ether(src="02-00-00-00-00-05").src == "02:00:00:00:00:05"


def test_tcp_flags_accept_letters_in_any_order_and_ints() -> None:
    assert TCP(flags="AS").flags == TCP(flags="SA").flags == 0x12
    assert str(TCP(flags=0x18).flags) == "PA"
    flags = TCP(flags="FPU").flags
    assert isinstance(flags, TCPFlags) and flags.F and flags.P and flags.U and not flags.S
    assert flags.tcpdump() == "FPU" and TCPFlags(0).tcpdump() == "none"
    assert TCPFlags(0x12).has("SA") and not TCPFlags(0x02).has("SA")


def test_explicit_wrong_values_are_kept() -> None:
    wire = bytes(IPv4(len=1000, chksum=0xBEEF, ihl=7, proto=99) / UDP(len=3, chksum=0) / b"abcd")
    assert int.from_bytes(wire[2:4], "big") == 1000
    assert wire[10:12] == b"\xbe\xef" and wire[0] == 0x47 and wire[9] == 99
    assert wire[24:26] == b"\x00\x03" and wire[26:28] == b"\x00\x00"


def test_udp_checksum_zero_is_sent_as_ffff() -> None:
    # Find a payload whose UDP checksum computes to 0: RFC 768 says send 0xFFFF.
    for value in range(65536):
        pkt = IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) \
            / value.to_bytes(2, "big")
        wire = bytes(pkt)
        if wire[26:28] == b"\xff\xff":
            check = parse(wire, IPv4)[UDP].verify_checksum()
            assert check is not None and check.ok
            return
    pytest.fail("no payload gave a zero UDP checksum")


def test_options_and_header_lengths() -> None:
    ip = IPv4(options=[IPv4Option.router_alert()]) / TCP(options=[("MSS", 1460), ("NOP", None),
                                                                  ("WScale", 7)])
    wire = bytes(ip)
    assert wire[0] == 0x46 and wire[20:24] == b"\x94\x04\x00\x00"
    assert wire[24 + 12] >> 4 == 7  # 20 + 8 bytes of options
    parsed = parse(wire, IPv4)
    assert parsed[TCP].options == [("MSS", 1460), ("NOP", None), ("WScale", 7)]  # 8: no pad
    assert [option.name for option in parsed[IPv4].options] == ["RA"]


def test_next_protocol_fields_follow_the_layer_above() -> None:
    assert bytes(Ether() / ARP())[12:14] == b"\x08\x06"
    assert bytes(Ether() / IPv6())[12:14] == b"\x86\xdd"
    assert bytes(IPv6() / IPv6ExtHdrHopByHop() / UDP())[6] == 0
    assert bytes(IPv6() / IPv6ExtHdrHopByHop() / UDP())[40] == 17
    assert bytes(IPv6() / IPv6ExtHdrFragment() / TCP())[40] == 6
    assert bytes(IPv6())[6] == 59  # no next header
    assert bytes(Ether() / Dot1Q(vlan=7) / IPv4())[12:18] == bytes.fromhex("8100 0007 0800")
    assert bytes(Ether())[12:14] == b"\x90\x00"  # nothing bound: Scapy's default


def test_stacked_vlans_get_the_8021ad_outer_tag() -> None:
    wire = bytes(Ether() / Dot1Q(vlan=100) / Dot1Q(vlan=200) / IPv4())
    assert wire[12:14] == b"\x88\xa8" and wire[16:18] == b"\x81\x00" and wire[20:22] == b"\x08\x00"
    parsed = parse(wire)
    assert [layer.vlan for layer in parsed.layers if isinstance(layer, Dot1Q)] == [100, 200]


def test_llc_over_ether_gets_the_8023_length_and_snap_the_ethertype() -> None:
    """IEEE 802.3 clause 3.2.6: the length counts the LLC header and its data, not the
    padding; the SAPs say SNAP (0xaa), the control field UI (0x03), the SNAP code IPv4."""
    wire = bytes(Ether() / LLC() / SNAP() / IPv4() / UDP() / b"x")
    assert int.from_bytes(wire[12:14], "big") == len(wire) - 14 == 3 + 5 + 20 + 8 + 1
    assert wire[14:22] == bytes.fromhex("aaaa03" "000000" "0800")
    assert bytes(Ether() / LLC() / IPv4())[14:17] == b"\x06\x06\x03"  # RFC 948: the IP SAP
    assert bytes(Ether() / LLC(dsap=0x42, ssap=0x42) / b"bpdu")[12:17] == b"\x00\x07BB\x03"
    assert bytes(Ether() / LLC())[12:17] == b"\x00\x03\x00\x00\x03"  # nothing bound: SAP 0
    tagged = bytes(Ether() / Dot1Q(vlan=5) / LLC() / SNAP() / ARP())
    assert tagged[12:14] == b"\x81\x00" and int.from_bytes(tagged[16:18], "big") == 8 + 28


def test_an_explicit_ether_type_over_llc_is_kept() -> None:
    assert bytes(Ether(type=100) / LLC() / b"abc")[12:14] == b"\x00\x64"  # a lying length
    assert bytes(Ether(type=0x8870) / LLC() / b"abc")[12:14] == b"\x88\x70"  # jumbo LLC
    with pytest.raises(FieldValueError, match="at most 1500"):
        bytes(Ether() / LLC() / bytes(1498))


def test_llc_control_field_is_one_octet_for_u_frames_and_two_for_i_and_s_frames() -> None:
    """IEEE 802.2 clause 5.2: the low bits 11 make a U frame; I and S frames carry N(R) in a
    second octet (written after the first, as tcpdump reads it)."""
    assert bytes(LLC(dsap=1, ssap=2, ctrl=0xAF)) == b"\x01\x02\xaf"
    assert bytes(LLC(dsap=1, ssap=2, ctrl=0x0200)) == b"\x01\x02\x00\x02"
    assert bytes(LLC(ctrl=0x0105))[2:] == b"\x05\x01"
    with pytest.raises(FieldValueError, match="one octet"):
        LLC(ctrl=0x1FF)
    with pytest.raises(FieldValueError):
        LLC(ctrl=0x10000)
    with pytest.raises(FieldValueError):
        SNAP(OUI=1 << 24)
    assert SNAP(OUI=0x00000C).OUI == 12 and SNAP(OUI=b"\x00\x00\xf8").OUI == 0xF8


def test_cooked_and_loopback_links() -> None:
    assert bytes(SLL(pkttype=4) / IPv4())[14:16] == b"\x08\x00"
    assert bytes(SLL2(ifindex=3) / IPv6())[:2] == b"\x86\xdd"
    assert bytes(Loopback() / IPv4())[:4] == b"\x02\x00\x00\x00"  # host (little-endian) order
    assert bytes(LoopbackBE() / IPv6())[:4] == b"\x00\x00\x00\x18"
    assert parse(bytes(Loopback() / IPv6() / UDP()), LinkType.NULL)[UDP].dport == 53
    big_endian_null = b"\x00\x00\x00\x02" + bytes(IPv4() / UDP())
    assert parse(big_endian_null, LinkType.NULL)[Loopback].type == 2


def test_icmp_views_of_the_second_word() -> None:
    redirect = ICMP(type=5, code=1, gw="10.0.0.7")
    assert (redirect.id, redirect.seq, redirect.gw) == (0x0A00, 0x0007, "10.0.0.7")
    frag = ICMP(type=3, code=4, nexthopmtu=1400)
    assert frag.nexthopmtu == 1400 and frag.unused == 0
    assert ICMP(type=12, ptr=20).ptr == 20
    assert ICMPv6(type=2, mtu=1280).mtu == 1280
    na = ICMPv6(type=136, R=1, S=0, O=1)
    assert (na.R, na.S, na.O) == (1, 0, 1) and na.id == 0xA000
    ra = ICMPv6(type=134, chlim=64, M=1, O=1, prf=1, routerlifetime=1800)
    assert (ra.chlim, ra.M, ra.O, ra.prf, ra.routerlifetime, ra.R) == (64, 1, 1, 1, 1800, None)
    with pytest.raises(FieldValueError):
        ICMPv6(type=128, O=1)


def test_icmpv6_cksum_is_scapys_alias() -> None:
    layer = ICMPv6(cksum=0x1234)
    assert layer.chksum == layer.cksum == 0x1234


def test_nd_options_build_and_decode() -> None:
    ra = IPv6() / ICMPv6(type=134, options=[NDOption.prefix_info("2001:db8::", 48),
                                            NDOption.mtu_option(1500),
                                            NDOption.source_lladdr("02:00:00:00:00:01")])
    options = parse(bytes(ra), IPv6)[ICMPv6].options
    assert [option.name for option in options] == ["prefix-info", "mtu", "source-lladdr"]
    assert options[0].prefix == ("2001:db8::", 48)
    assert options[1].mtu == 1500 and options[2].lladdr == "02:00:00:00:00:01"


def test_arp_lengths_are_automatic_and_addresses_flexible() -> None:
    arp = ARP(op=2, hwsrc="02:00:00:00:00:01", psrc="10.0.0.1", pdst="10.0.0.2")
    wire = bytes(arp)
    assert wire[4:6] == b"\x06\x04" and len(wire) == 28
    six = ARP(ptype=0x86DD, psrc="2001:db8::1", pdst="2001:db8::2")
    parsed = parse(bytes(Ether() / six))[ARP]
    assert parsed.plen == 16 and parsed.psrc == "2001:db8::1"


def test_bytes_of_a_layer_are_that_layer_and_above() -> None:
    pkt = Ether() / IPv4() / UDP() / b"xy"
    assert bytes(pkt[UDP]) == bytes(pkt)[34:]
    assert bytes(pkt[IPv4]) == bytes(pkt)[14:]
    assert bytes(UDP() / b"xy")[4:6] == b"\x00\x0a"  # alone: length still computed
    assert len(pkt[UDP]) == 10


def test_composition_does_not_alias_packets() -> None:
    base = Ether() / IPv4(dst="10.0.0.9")
    first = base / TCP(dport=1)
    second = base / UDP(dport=2)
    first[IPv4].ttl = 5
    assert base[IPv4].ttl == 64 and second[IPv4].ttl == 64 and first[IPv4].ttl == 5
    assert first[IPv4].payload is first[TCP] and second[IPv4].payload is second[UDP]
    base[IPv4].dst = "10.0.0.10"
    assert first[IPv4].dst == second[IPv4].dst == "10.0.0.9"
    assert bytes(second)[30:34] == bytes([10, 0, 0, 9])


def test_a_layer_from_one_packet_is_copied_into_another() -> None:
    one = Ether() / IPv4() / TCP()
    two = one[IPv4] / UDP()
    two[IPv4].ttl = 1
    assert one[IPv4].ttl == 64 and isinstance(two, Packet)


def test_one_fresh_layer_in_two_packets_is_copied_into_the_second() -> None:
    tcp = TCP(dport=7)
    one = IPv4() / tcp
    two = IPv6() / tcp
    one[TCP].dport = 8
    assert two[TCP].dport == 7 and one[TCP].dport == 8
    assert one[TCP].underlayer is one[IPv4] and two[TCP].underlayer is two[IPv6]


def test_building_and_serialising_leaves_no_reference_cycle() -> None:
    # Built layers get their back-reference only when the packet hands them out: composing
    # and serialising must leave nothing for the cyclic garbage collector.
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        for index in range(50):
            bytes(Ether() / IPv4(dst="10.0.0.2") / TCP(seq=index) / b"hi")
            len(UDP() / b"x")
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_composition_with_bytes_on_either_side() -> None:
    assert bytes(UDP() / b"ab")[-2:] == b"ab"
    assert bytes(b"ab" / UDP())[:2] == b"ab"
    assert bytes(UDP() / "text")[-4:] == b"text"


def test_navigation_of_a_built_packet() -> None:
    pkt = Ether() / IPv4() / TCP() / b"data"
    tcp = pkt[TCP]
    assert tcp.underlayer is pkt[IPv4] and isinstance(tcp.payload, Raw)
    assert [layer.name for layer in pkt[IPv4]] == ["IPv4", "TCP", "Raw"]
    assert tcp.offset is None and tcp.header_len is None and not tcp.parsed


def test_deleting_a_field_makes_it_automatic_again() -> None:
    layer = IPv4(ttl=3, chksum=5)
    del layer.chksum
    layer.ttl = None
    assert values(layer, "chksum", "ttl") == (None, 64)


def test_copy_is_independent() -> None:
    tcp = TCP(options=[("MSS", 1)])
    clone = tcp.copy()
    clone.options = [("MSS", 2)]
    assert tcp.options == [("MSS", 1)] and clone.options == [("MSS", 2)]
