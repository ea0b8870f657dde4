"""IPv4/IPv6 fragmentation and reassembly (RFC 791, RFC 815, RFC 8200 4.5, RFC 5722)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.errors import DecodeError
from wirekit.packet import (
    TCP,
    UDP,
    Ether,
    FieldValueError,
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Packet,
    Raw,
    parse,
)
from wirekit.packet.fragment import (
    fragment_ipv4,
    fragment_ipv6,
    reassemble_ipv4,
    reassemble_ipv6,
)


def _v4(size: int, **ip: object) -> Packet:
    return Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2", id=4242, **ip) / UDP(sport=1, dport=2) \
        / bytes(i % 251 for i in range(size))


def _v6(size: int) -> Packet:
    return Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() \
        / IPv6ExtHdrRouting(addresses=["2001:db8::9"]) / IPv6ExtHdrDestOpt() \
        / UDP(sport=1, dport=2) / bytes(i % 251 for i in range(size))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4000), st.integers(68, 1500), st.randoms(use_true_random=False))
def test_ipv4_round_trip(size: int, mtu: int, shuffle: random.Random) -> None:
    original = _v4(size)
    fragments = fragment_ipv4(original, mtu)
    for fragment in fragments:
        ip = fragment[IPv4]
        assert ip.len <= mtu and all(check.ok is not False for check in fragment.verify_checksums())
    assert all(f[IPv4].frag * 8 % 8 == 0 for f in fragments)
    shuffle.shuffle(fragments)
    assert bytes(reassemble_ipv4(fragments)) == bytes(original)


def test_ipv4_fragment_layout() -> None:
    fragments = fragment_ipv4(_v4(1200, options=[IPv4Option.router_alert(),
                                                 IPv4Option(7, b"\x04" + bytes(8))]), 576)
    assert [f[IPv4].frag for f in fragments] == [0, 67, 136]
    assert [int(f[IPv4].flags) for f in fragments] == [1, 1, 0]
    # The copied option (router alert) is in every fragment; record route only in the first.
    assert [[o.name for o in f[IPv4].options] for f in fragments] == \
        [["RA", "RR", "EOL"], ["RA"], ["RA"]]
    assert fragments[0][UDP].dport == 2 and isinstance(fragments[1][IPv4].payload, Raw)


def test_small_packets_and_df() -> None:
    small = _v4(10)
    assert bytes(fragment_ipv4(small, 1500)[0]) == bytes(small)
    with pytest.raises(FieldValueError, match="DF"):
        fragment_ipv4(_v4(3000, flags="DF"), 1500)
    assert len(fragment_ipv4(_v4(3000, flags="DF"), 1500, ignore_df=True)) == 3
    with pytest.raises(FieldValueError, match="IPv4"):
        fragment_ipv4(Ether() / IPv6(), 1280)
    with pytest.raises(FieldValueError, match="no room"):
        fragment_ipv4(_v4(100), 24)


def test_refragmenting_a_fragment_keeps_offsets_and_mf() -> None:
    first = fragment_ipv4(_v4(3000), 1500)[0]
    pieces = fragment_ipv4(first, 500)
    assert all(p[IPv4].flags.MF for p in pieces)
    assert pieces[1][IPv4].frag == 60  # (500 - 20) // 8 units


@pytest.mark.parametrize(("policy", "expected"), [("first", b"A"), ("last", b"B")])
def test_ipv4_overlap_policies(policy: str, expected: bytes) -> None:
    base = IPv4(src="10.0.0.1", dst="10.0.0.2", id=1, proto=253)  # payload stays Raw
    first = base.copy()
    first.flags = 1
    second = base.copy()
    second.frag = 1
    pieces = [first / (b"A" * 16), second / (b"B" * 16)]  # overlap at bytes 8..15
    data = reassemble_ipv4(pieces, overlap=policy)[Raw].load  # type: ignore[arg-type]
    assert data[8:16] == expected * 8 and len(data) == 24


def test_reject_policy_tolerates_exact_duplicates_only() -> None:
    fragments = fragment_ipv4(_v4(2000), 1000)
    assert bytes(reassemble_ipv4([*fragments, fragments[1]], overlap="reject")) == \
        bytes(_v4(2000))
    first = fragments[0][IPv4].copy()
    shifted = first / (b"Z" * 16)
    shifted[IPv4].frag = 2
    with pytest.raises(DecodeError, match="RFC 5722"):
        reassemble_ipv4([*fragments, shifted], overlap="reject")


def test_reassembly_errors() -> None:
    fragments = fragment_ipv4(_v4(3000), 1000)
    with pytest.raises(DecodeError, match="incomplete"):
        reassemble_ipv4(fragments[:-1])
    with pytest.raises(DecodeError, match="incomplete"):
        reassemble_ipv4(fragments[1:])
    other = fragment_ipv4(_v4(3000, tos=0) / b"", 1000)
    other[1][IPv4].id = 7
    with pytest.raises(DecodeError, match="another datagram"):
        reassemble_ipv4([fragments[0], other[1]])
    huge = IPv4(proto=17, frag=8189) / (b"x" * 100)  # ends past 65535: a ping of death
    with pytest.raises(DecodeError, match="65535"):
        reassemble_ipv4([huge])
    with pytest.raises(DecodeError, match="no IPv4"):
        reassemble_ipv4([Ether() / IPv6()])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 5000), st.integers(1280, 2000), st.randoms(use_true_random=False))
def test_ipv6_round_trip(size: int, mtu: int, shuffle: random.Random) -> None:
    original = _v6(size)
    fragments = fragment_ipv6(original, mtu, ident=77)
    for fragment in fragments:
        assert len(bytes(fragment[IPv6])) <= mtu
    shuffle.shuffle(fragments)
    assert bytes(reassemble_ipv6(fragments)) == bytes(original)


def test_ipv6_per_fragment_headers_stay_in_front() -> None:
    fragments = fragment_ipv6(_v6(3000), 1280, ident=9)
    names = [layer.name for layer in fragments[0].layers]
    assert names[:5] == ["Ether", "IPv6", "IPv6ExtHdrHopByHop", "IPv6ExtHdrRouting",
                         "IPv6ExtHdrFragment"]
    assert names[5:7] == ["IPv6ExtHdrDestOpt", "UDP"]  # fragmentable part, first fragment
    assert all(f[IPv6ExtHdrFragment].id == 9 for f in fragments)
    assert [f[IPv6ExtHdrFragment].m for f in fragments] == [1, 1, 0]
    assert fragment_ipv6(_v6(3000), 1280)[0][IPv6ExtHdrFragment].id == \
        fragment_ipv6(_v6(3000), 1280)[0][IPv6ExtHdrFragment].id  # deterministic default


def test_ipv6_overlap_is_rejected_by_default() -> None:
    fragments = fragment_ipv6(_v6(3000), 1280, ident=5)
    rogue = Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() \
        / IPv6ExtHdrRouting(addresses=["2001:db8::9"]) \
        / IPv6ExtHdrFragment(nh=60, offset=5, m=1, id=5) / (b"q" * 64)
    with pytest.raises(DecodeError, match="overlaps"):
        reassemble_ipv6([fragments[0], parse(bytes(rogue)), *fragments[1:]])
    assert bytes(reassemble_ipv6([*fragments, parse(bytes(rogue))], overlap="first")) == \
        bytes(_v6(3000))


def test_small_ipv6_packet_is_not_fragmented() -> None:
    small = Ether() / IPv6() / TCP()
    assert bytes(fragment_ipv6(small)[0]) == bytes(small)
    with pytest.raises(FieldValueError, match="IPv6"):
        fragment_ipv6(Ether() / IPv4(), 1280)
