"""What TCP, UDP and ICMPv6 share: the pseudo-header borrowed from the IP layer below, and the
verification of a checksum that covers it (RFC 793 3.1, RFC 768, RFC 8200 8.1)."""

from __future__ import annotations

import struct

from wirekit.packet.checksum import checksum_with_pseudo, pseudo_header_ipv4, pseudo_header_ipv6
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.ipv6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHeader, final_destination_span
from wirekit.packet.layer import Layer
from wirekit.packet.status import ChecksumCheck

LOOPBACK4 = b"\x7f\0\0\x01"  # IPv4's default address


PSEUDO4_PACK = struct.Struct("!4s4sxBH").pack


def ipv4_pseudo_header(layers: list[Layer], index: int, proto: int, length: int) -> bytes | None:
    """The pseudo-header when layers[index - 1] is IPv4 (the hot path), else ``None``."""
    if not index:
        return None
    below = layers[index - 1]
    if type(below) is not IPv4:
        return None
    header = below._h
    if header is not None and header[0] == 0x45:  # no options, so no source route
        return PSEUDO4_PACK(header[8], header[9], proto, length & 0xFFFF)
    src, dst = below.pseudo_addresses()
    if src is None or dst is None:
        return None
    return PSEUDO4_PACK(src, dst, proto, length & 0xFFFF)


def network_below(layers: list[Layer], index: int) -> IPv4 | IPv6 | None:
    """The IPv4 or IPv6 layer that carries layers[index] (skipping IPv6 extension headers)."""
    for position in range(index - 1, -1, -1):
        layer = layers[position]
        if isinstance(layer, IPv4 | IPv6):
            return layer
        if not isinstance(layer, IPv6ExtHeader):
            return None
    return None


def pseudo_header(layers: list[Layer], index: int, proto: int, length: int) -> bytes | None:
    """The pseudo-header for the upper-layer packet layers[index] of *length* bytes."""
    if index and type(layers[index - 1]) is IPv4:  # the common case first
        src, dst = layers[index - 1].pseudo_addresses()  # type: ignore[attr-defined]
        return pseudo_header_ipv4(src, dst, proto, length)
    network = network_below(layers, index)
    if network is None:
        return None
    src, dst = network.pseudo_addresses()
    if src is None or dst is None:
        return None
    if isinstance(network, IPv4):
        return pseudo_header_ipv4(src, dst, proto, length)
    routed = final_destination_span(layers, index)
    if routed is not None:
        final = routed[0].final_destination()  # type: ignore[attr-defined]
        dst = final[0] if final is not None else dst
    return pseudo_header_ipv6(src, dst, proto, length)


def pseudo_spans(layer: Layer) -> list[tuple[int, int]]:
    """Buffer ranges of a parsed packet that enter *layer*'s pseudo-header."""
    pkt = layer._pkt
    if pkt is None:
        return []
    network = network_below(pkt._layers, layer._idx)
    if network is None:
        return []
    spans = network.address_spans()
    if isinstance(network, IPv6):
        routed = final_destination_span(pkt._layers, layer._idx)
        if routed is not None:
            header, at = routed
            spans[1] = (header._off + header._struct.size + at, 16)
    return spans


def declared_end(layer: Layer) -> int:
    """The end of the upper-layer packet as the IP length says (past a snaplen cut)."""
    pkt = layer._pkt
    if pkt is None:
        return layer._end
    network = network_below(pkt._layers, layer._idx)
    header = network._h if network is not None else None
    if network is None or header is None:
        return layer._end
    if isinstance(network, IPv4):
        return network._off + header[2] if header[2] else layer._end
    return network._off + 40 + header[1] if header[1] else layer._end


def checksum_span(layer: Layer, at: int) -> tuple[int, int, int] | None:
    """(checksum offset, covered start, covered end) of a parsed TCP/UDP/ICMPv6 layer."""
    pkt = layer._pkt
    if pkt is None or pkt._buf is None or layer._off + at + 2 > len(pkt._buf):
        return None
    return layer._off + at, layer._off, declared_end(layer)


def verify_transport(layer: Layer, at: int, proto: int) -> ChecksumCheck:
    """Verify the checksum (at offset *at*) of a parsed TCP, UDP or ICMPv6 layer."""
    pkt = layer._pkt
    stored_at = layer._off + at
    buf = pkt._buf if pkt is not None else None
    stored = int.from_bytes(buf[stored_at:stored_at + 2], "big") \
        if buf is not None and stored_at + 2 <= len(buf) else 0

    def unknown(note: str) -> ChecksumCheck:
        return ChecksumCheck(layer.name, layer._idx, stored_at, stored, None, None, note)

    if pkt is None or buf is None or layer._h is None:
        return unknown("not parsed")
    if layer._quoted:
        return unknown("quoted datagram, not checked")
    end = declared_end(layer)
    if end > len(buf) or end - layer._off < at + 2:
        return unknown("segment not complete in the capture")
    network = network_below(pkt._layers, layer._idx)
    if isinstance(network, IPv4) and network.is_fragment:
        return unknown("IP fragment; reassemble to check")
    if any(isinstance(lower, IPv6ExtHdrFragment) for lower in pkt._layers[:layer._idx]):
        return unknown("IPv6 fragment; reassemble to check")
    segment = bytes(buf[layer._off:end])
    segment = segment[:at] + b"\0\0" + segment[at + 2:]
    pseudo = pseudo_header(pkt._layers, layer._idx, proto, len(segment))
    if pseudo is None:
        return unknown("no IP layer below")
    expected = layer._adjust_checksum(checksum_with_pseudo(pseudo, segment))
    return ChecksumCheck(layer.name, layer._idx, stored_at, stored, expected, stored == expected)
