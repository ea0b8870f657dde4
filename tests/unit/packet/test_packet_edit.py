"""Editing parsed packets: in-place writes, RFC 1624 checksum updates, structural changes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.packet.packet_specs import Spec, any_packet, checked, to_wirekit
from wirekit.packet import (
    ICMP,
    LLC,
    SNAP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6,
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrRouting,
    Padding,
    Raw,
    Status,
    parse,
)
from wirekit.packet.checksum import internet_checksum

FRAME = bytes(Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2) / b"abc")

#: (kind of spec layer, field, strategy of new values) for fixed fields a user commonly edits.
EDITS: dict[str, list[tuple[str, st.SearchStrategy[Any]]]] = {
    "Ether": [("src", st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":")))],
    "Dot1Q": [("vlan", st.integers(0, 4095)), ("prio", st.integers(0, 7))],
    "IPv4": [("ttl", st.integers(0, 255)), ("tos", st.integers(0, 255)),
             ("id", st.integers(0, 65535)),
             ("src", st.binary(min_size=4, max_size=4).map(lambda b: ".".join(map(str, b)))),
             ("dst", st.binary(min_size=4, max_size=4).map(lambda b: ".".join(map(str, b))))],
    "IPv6": [("hlim", st.integers(0, 255)), ("fl", st.integers(0, 0xFFFFF)),
             ("src", st.binary(min_size=16, max_size=16)),
             ("dst", st.binary(min_size=16, max_size=16))],
    "TCP": [("sport", st.integers(0, 65535)), ("dport", st.integers(0, 65535)),
            ("seq", st.integers(0, 2**32 - 1)), ("ack", st.integers(0, 2**32 - 1)),
            ("window", st.integers(0, 65535)), ("flags", st.integers(0, 255))],
    "UDP": [("sport", st.integers(0, 65535)), ("dport", st.integers(0, 65535))],
    "ICMP": [("seq", st.integers(0, 65535)), ("code", st.integers(0, 255))],
    "ICMPv6": [("seq", st.integers(0, 65535))],
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_packet, st.data())
def test_an_edit_equals_a_rebuild_with_the_new_value(spec: Spec, data: st.DataObject) -> None:
    """RFC 1624 incremental updates give the checksums a full recomputation gives."""
    editable = [(index, kind) for index, (kind, _) in enumerate(spec) if kind in EDITS]
    index, kind = data.draw(st.sampled_from(editable))
    name, values = data.draw(st.sampled_from(EDITS[kind]))
    value = data.draw(values)
    parsed = parse(bytes(to_wirekit(spec)))
    setattr(parsed.layers[index], name, value)
    edited = [(k, dict(f)) for k, f in spec]
    if name == "seq":
        edited[index][1].pop("nexthopmtu", None)  # an alias of ICMP's seq
    edited[index][1][name] = value
    assert bytes(parsed) == bytes(to_wirekit(edited))
    assert all(check.ok is not False for check in parsed.verify_checksums())


def test_ttl_edit_updates_the_header_checksum_in_place() -> None:
    pkt = parse(FRAME)
    old_tcp_checksum = pkt[TCP].chksum
    pkt[IPv4].ttl = 1
    wire = bytes(pkt)
    assert wire[22] == 1 and internet_checksum(wire[14:34]) == 0
    assert pkt[TCP].chksum == old_tcp_checksum  # TTL is not in the pseudo-header
    assert pkt[IPv4].ttl == 1 and pkt.parsed


def test_the_callers_buffer_is_never_modified() -> None:
    buffer = bytearray(FRAME)
    pkt = parse(buffer)
    pkt[IPv4].dst = "192.0.2.1"
    assert bytes(buffer) == FRAME and bytes(pkt) != FRAME


def test_address_edit_updates_the_transport_checksum_through_the_pseudo_header() -> None:
    pkt = parse(FRAME)
    pkt[IPv4].src = "192.0.2.7"
    assert [check.ok for check in pkt.verify_checksums()] == [True, True]
    six = parse(bytes(Ether() / IPv6() / UDP() / b"x"))
    six[IPv6].dst = "2001:db8::5"
    assert [check.ok for check in six.verify_checksums()] == [True]


def test_routing_header_final_destination_is_in_the_pseudo_header() -> None:
    wire = bytes(IPv6(dst="2001:db8::1") / IPv6ExtHdrRouting(addresses=["2001:db8::99"])
                 / UDP() / b"x")
    pkt = parse(wire, IPv6)
    assert checked(pkt[UDP])
    checksum = pkt[UDP].chksum
    pkt[IPv6].dst = "2001:db8::2"  # not the final destination: the UDP checksum stays
    assert pkt[UDP].chksum == checksum and checked(pkt[UDP])


def test_ipv4_source_route_final_destination_is_in_the_pseudo_header() -> None:
    # RFC 791 3.1 LSRR: the IP destination is the next hop; TCP's pseudo-header carries the
    # route's last address (as Linux, tcpdump and Scapy compute it).
    route = IPv4Option(131, bytes([4]) + bytes([192, 0, 2, 1]) + bytes([198, 51, 100, 9]))
    wire = bytes(IPv4(src="10.0.0.1", dst="10.0.0.2", options=[route]) / TCP() / b"x")
    pkt = parse(wire, IPv4)
    assert pkt[IPv4].final_destination() == (bytes([198, 51, 100, 9]), 27)
    segment = wire[pkt[TCP].offset or 0:]
    pseudo = bytes([10, 0, 0, 1, 198, 51, 100, 9, 0, 6, 0, len(segment)])
    assert internet_checksum(pseudo + segment) == 0  # the stored checksum covers the route's end
    checksum = pkt[TCP].chksum
    pkt[IPv4].dst = "10.0.0.3"  # the next hop changes, the final destination does not
    assert pkt[TCP].chksum == checksum
    assert all(check.ok for check in pkt.verify_checksums())


def test_two_source_routes_fall_back_to_the_ip_destination() -> None:
    loose = IPv4Option(131, bytes([4, 192, 0, 2, 1]))
    strict = IPv4Option(137, bytes([4, 192, 0, 2, 2]))
    ip = IPv4(src="10.0.0.1", dst="10.0.0.2", options=[loose, strict])
    assert ip.final_destination() is None
    assert ip.pseudo_addresses() == (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))


def test_quoted_datagram_edit_updates_the_icmp_checksum() -> None:
    wire = bytes(Ether() / IPv4() / ICMP(type=11) / IPv4(dst="10.0.0.3") / UDP(dport=9))
    pkt = parse(wire)
    pkt[IPv4:2].ttl = 7
    pkt[UDP].dport = 10
    assert checked(pkt[ICMP])
    assert internet_checksum(bytes(pkt)[42:62]) == 0  # the quoted header's own checksum


def test_snaplen_cut_packets_can_be_edited() -> None:
    cut = parse(FRAME[:54])  # headers only: the payload was not captured
    cut[IPv4].src = "192.0.2.9"
    cut[TCP].dport = 443
    whole = parse(FRAME)
    whole[IPv4].src = "192.0.2.9"
    whole[TCP].dport = 443
    assert bytes(cut) == bytes(whole)[:54]  # same checksums as the full packet gets


def test_a_wrong_checksum_stays_wrong_by_the_same_amount() -> None:
    broken = bytearray(FRAME)
    broken[24] ^= 0x01
    pkt = parse(bytes(broken))
    before = pkt[IPv4].verify_checksum()
    pkt[IPv4].ttl = 3
    after = pkt[IPv4].verify_checksum()
    assert before is not None and after is not None and not before.ok and not after.ok
    assert before.expected is not None and after.expected is not None
    assert (before.stored - before.expected) % 0xFFFF == (after.stored - after.expected) % 0xFFFF


def test_udp_zero_checksum_stays_zero() -> None:
    pkt = parse(bytes(Ether() / IPv4() / UDP(chksum=0) / b"x"))
    pkt[IPv4].src = "10.9.9.9"
    pkt[UDP].sport = 99
    assert pkt[UDP].chksum == 0


def test_setting_a_checksum_to_none_recomputes_it() -> None:
    broken = bytearray(FRAME)
    broken[50] ^= 0xFF
    pkt = parse(bytes(broken))
    assert pkt[TCP].status.kind is Status.BAD_CHECKSUM
    pkt[TCP].chksum = None
    assert pkt[TCP].status.ok and bytes(pkt) == FRAME


def test_an_explicit_checksum_is_written_as_given() -> None:
    pkt = parse(FRAME)
    pkt[TCP].chksum = 0x1234
    assert pkt[TCP].chksum == 0x1234 and checked(pkt[IPv4])


def test_length_and_protocol_edits_redecode_the_layers_above() -> None:
    pkt = parse(FRAME)
    pkt[TCP]
    pkt[IPv4].proto = 17
    assert UDP in pkt and TCP not in pkt
    lying = parse(FRAME)
    lying[TCP]
    lying[IPv4].len = 30  # the TCP header no longer fits in what IPv4 announces
    assert lying[TCP].status.kind is Status.TRUNCATED and lying[TCP].dport == 2
    assert lying[TCP].ack is None  # bytes 8-11 of the TCP header are now outside IPv4
    assert lying[Padding].load == FRAME[44:]


def test_a_variable_size_change_rebuilds_with_correct_lengths_and_checksums() -> None:
    pkt = parse(FRAME)
    pkt[TCP].options = [("MSS", 1400)]
    pkt[IPv4].options = [IPv4Option.router_alert()]
    wire = bytes(pkt)
    reparsed = parse(wire)
    assert reparsed[TCP].options == [("MSS", 1400)] and reparsed[TCP].dataofs == 6
    assert reparsed[IPv4].ihl == 6 and reparsed[IPv4].len == len(wire) - 14
    assert all(check.ok for check in reparsed.verify_checksums())
    assert reparsed[Raw].load == b"abc"


def test_a_rebuild_keeps_wrong_values_wrong() -> None:
    broken = bytearray(FRAME)
    broken[24] ^= 0xFF  # IPv4 header checksum wrong on purpose
    pkt = parse(bytes(broken))
    pkt[Raw].load = b"longer payload"
    reparsed = parse(bytes(pkt))
    assert checked(reparsed[IPv4]) is False
    assert checked(reparsed[TCP])  # was right, so it was recomputed
    assert reparsed[IPv4].len == 20 + 20 + 14


def test_edits_on_cut_fields_are_ignored() -> None:
    pkt = parse(FRAME[:14 + 20 + 2])
    pkt[TCP].dport = 5  # beyond the capture: nothing to write
    assert pkt[TCP].dport is None and bytes(pkt) == FRAME[:36]


@pytest.mark.parametrize(("layer", "field", "value"), [
    (Ether, "dst", "02:00:00:00:00:09"), (Dot1Q, "vlan", 9),
])
def test_link_edits(layer: type, field: str, value: Any) -> None:
    pkt = parse(bytes(Ether() / Dot1Q(vlan=3) / IPv4() / UDP()))
    setattr(pkt[layer], field, value)
    assert getattr(parse(bytes(pkt))[layer], field) == value


def test_icmpv6_edit() -> None:
    pkt = parse(bytes(Ether() / IPv6() / ICMPv6(type=128, seq=1)))
    pkt[ICMPv6].seq = 2
    pkt[IPv6].src = "fe80::1"
    check = pkt[ICMPv6].verify_checksum()
    assert check is not None and check.ok


def test_a_resized_llc_frame_gets_a_new_8023_length() -> None:
    """A parsed 802.3 length that was right is automatic again when the packet is rebuilt;
    the padding stays padding."""
    # Not UDP's default port 53: its payload would decode as DNS, not Raw.
    built = bytes(Ether() / LLC() / SNAP() / IPv4(src="10.0.0.1") / UDP(sport=50000, dport=50001)
                  / b"abc")
    pkt = parse(built + bytes(60 - len(built)))
    pkt[Raw].load = b"a longer payload"
    wire = bytes(pkt)
    assert int.from_bytes(wire[12:14], "big") == 3 + 5 + 20 + 8 + 16
    again = parse(wire)
    assert again[Raw].load == b"a longer payload" and Padding in again and again.status.ok


def test_editing_an_llc_sap_decodes_the_payload_again() -> None:
    pkt = parse(bytes(Ether() / LLC() / SNAP() / IPv4()))
    pkt[LLC].dsap = 0x42
    assert SNAP not in pkt and pkt[Raw].status.kind is Status.UNSUPPORTED
    lying = parse(bytes(Ether(type=100) / LLC(dsap=0x12, ssap=0x34) / b"abc"))
    lying[Raw].load = b"abcd"
    assert bytes(lying)[12:14] == b"\x00\x64"  # a wrong length stays as it was
