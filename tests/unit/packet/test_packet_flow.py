"""Packet.flow(): the fast path must answer exactly what the layer objects answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    LinkType,
    parse,
)
from wirekit.packet.flow import Flow, flow_key, flow_key_slow


def test_flow_of_the_common_shapes() -> None:
    tcp = Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=5, dport=6) / b"x"
    assert parse(bytes(tcp)).flow() == Flow("10.0.0.1", "10.0.0.2", 6, 5, 6, 41)
    udp6 = Ether() / Dot1Q() / IPv6(src="::1", dst="::2") / UDP(sport=7, dport=8) / b"ab"
    assert parse(bytes(udp6)).flow() == Flow("::1", "::2", 17, 7, 8, 50)
    raw = IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)
    assert parse(bytes(raw), LinkType.RAW).flow() == Flow("10.0.0.1", "10.0.0.2", 17, 1, 2, 28)


def test_flow_through_the_reference_path() -> None:
    icmp = parse(bytes(Ether() / IPv4() / ICMP()))
    assert icmp.flow() == Flow("127.0.0.1", "127.0.0.1", 1, None, None, 28)
    ext = parse(bytes(Ether() / IPv6() / IPv6ExtHdrHopByHop() / TCP(sport=3, dport=4)))
    assert ext.flow() == Flow("::1", "::1", 6, 3, 4, 68)
    options = parse(bytes(Ether() / IPv4(options=[IPv4Option.router_alert()]) / UDP()))
    assert options.flow() == Flow("127.0.0.1", "127.0.0.1", 17, 53, 53, 32)
    later = parse(bytes(Ether() / IPv6() / IPv6ExtHdrFragment(offset=2, nh=6) / b"12345678"))
    assert later.flow() == Flow("::1", "::1", 6, None, None, 56)
    assert parse(bytes(Ether() / ARP())).flow() is None
    built = Ether() / IPv4() / TCP()
    assert built.flow() == Flow("127.0.0.1", "127.0.0.1", 6, 20, 80, 40)


def _mutations(data: bytes, draw: Callable[..., Any]) -> bytes:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return data[:draw(st.integers(0, len(data)))]
    if choice == 1 and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_packet, st.sampled_from([None, SLL, SLL2]), st.data())
def test_fast_path_equals_reference(spec: Spec, cooked: object, data: st.DataObject) -> None:
    packet = to_wirekit(spec)
    link = LinkType.ETHERNET
    if cooked is not None:  # the same network layers behind a Linux cooked header
        layers = packet.layers[1:]
        while layers and isinstance(layers[0], Dot1Q):
            layers = layers[1:]
        if not layers:
            return
        rebuilt = cooked() / layers[0]  # type: ignore[operator]
        for layer in layers[1:]:
            rebuilt = rebuilt / layer
        packet, link = rebuilt, (LinkType.LINUX_SLL if cooked is SLL else LinkType.LINUX_SLL2)
    wire = _mutations(bytes(packet), data.draw)
    assert flow_key(parse(wire, link)) == flow_key_slow(parse(wire, link))
