"""Layers bind through registries: a new protocol takes about twenty lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from wirekit.packet import (
    AUTO,
    ETHERTYPES,
    IP_PROTOCOLS,
    LLC,
    LLC_SAPS,
    UDP,
    UDP_PORTS,
    Ether,
    IPv4,
    Layer,
    Raw,
    Registry,
    UInt8,
    UInt16,
    UInt32,
    parse,
)


class VXLAN(Layer):
    """VXLAN header (RFC 7348 section 5): flags, reserved, VNI, reserved; Ethernet follows."""

    __slots__ = ()
    name = "VXLAN"
    flags = UInt8(0x08, hex=True)
    reserved1 = UInt8(0)
    reserved2 = UInt16(0)
    vni = UInt32(0)  # 24-bit VNI and 8 reserved bits, as one word here for brevity

    def _next(self) -> Any:
        self._ensure()
        start = self._off + 8
        return (Ether, start, self._end, "") if start < self._end else None


class Probe(Layer):
    """A made-up protocol with an automatic length, to show auto_values."""

    __slots__ = ()
    name = "Probe"
    version = UInt8(1)
    kind = UInt8(0)
    length = UInt16(AUTO)

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        return {"length": 4 + len(payload)}


@pytest.fixture
def bound() -> Iterator[None]:
    UDP_PORTS.register(4789, VXLAN)
    IP_PROTOCOLS.register(253, Probe)
    yield
    UDP_PORTS.unregister(4789)
    IP_PROTOCOLS.unregister(253)


def test_a_bound_protocol_builds_and_parses(bound: None) -> None:
    frame = Ether() / IPv4() / UDP(sport=5000) / VXLAN(vni=42 << 8) \
        / Ether(dst="02:00:00:00:00:09") / IPv4(dst="10.9.9.9", proto=254) / b"inner"
    wire = bytes(frame)
    assert wire[36:38] == (4789).to_bytes(2, "big")  # UDP's destination port from the registry
    pkt = parse(wire)
    assert [layer.name for layer in pkt.layers] == ["Ether", "IPv4", "UDP", "VXLAN", "Ether",
                                                    "IPv4", "Raw"]
    assert pkt[VXLAN].vni >> 8 == 42 and pkt[IPv4:2].dst == "10.9.9.9"


def test_automatic_fields_of_a_new_protocol(bound: None) -> None:
    wire = bytes(IPv4() / Probe(kind=3) / b"abcdef")
    assert wire[9] == 253 and wire[20:24] == bytes([1, 3, 0, 10])
    assert parse(wire, IPv4)[Probe].length == 10


def test_unbinding_falls_back_to_raw() -> None:
    wire = bytes(IPv4(proto=253) / b"\x01\x03\x00\x04")
    assert isinstance(parse(wire, IPv4)[IPv4].payload, Raw)


def test_registry_lookups() -> None:
    registry = Registry("test")
    registry.register(1, VXLAN, name="vx")
    registry.register(2, VXLAN, build=False)
    assert registry.key_of(VXLAN) == 1 and registry.name_of(1) == "vx"
    assert registry.resolve(2, b"", 0) is VXLAN and "test" in repr(registry)
    registry.unregister(1)
    assert registry.key_of(VXLAN) == 2  # the remaining binding takes over
    registry.register(3, lambda buffer, offset: Probe if buffer[offset] == 1 else None)
    assert registry.resolve(3, b"\x01", 0) is Probe and registry.resolve(3, b"\x02", 0) is None
    assert ETHERTYPES.key_of(IPv4) == 0x0800 and IP_PROTOCOLS.name_of(6) == "tcp"


class BPDU(Layer):
    """The first four octets of an IEEE 802.1D BPDU, enough to show an LLC SAP binding."""

    __slots__ = ()
    name = "BPDU"
    protocol = UInt16(0)
    version = UInt8(0)
    bpdutype = UInt8(0)


def test_a_protocol_binds_to_an_llc_sap() -> None:
    """LLC_SAPS binds a UI frame whose DSAP and SSAP are both the key; building fills both."""
    LLC_SAPS.register(0x42, BPDU)
    try:
        wire = bytes(Ether() / LLC() / BPDU(version=2, bpdutype=2))
        assert wire[12:18] == bytes.fromhex("0007" "42" "42" "03" "00")
        pkt = parse(wire)
        assert pkt[BPDU].version == 2 and pkt[LLC].payload is pkt[BPDU]
        other = parse(bytes(Ether() / LLC(dsap=0x42, ssap=0x42, ctrl=0x13) / bytes(4)))
        assert BPDU not in other  # a UI frame only (with the poll bit it is not one)
    finally:
        LLC_SAPS.unregister(0x42)
    assert BPDU not in parse(wire)


def test_the_new_names_are_exported() -> None:
    import wirekit.packet as w

    assert {"LLC", "SNAP", "LLC_SAPS", "UInt24"} <= set(w.__all__)
