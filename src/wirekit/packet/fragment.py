"""IPv4 and IPv6 fragmentation and reassembly, as plain functions.

- ``fragment_ipv4(packet, mtu)`` (RFC 791 section 3.2): payload split on 8-byte boundaries;
  options whose copied flag is set go into every fragment, the others only into the first.
- ``fragment_ipv6(packet, mtu)`` (RFC 8200 section 4.5): the per-fragment headers (IPv6, then
  hop-by-hop, destination options before a routing header, routing) stay in front of a new
  Fragment header; the rest is split.
- ``reassemble_ipv4(fragments)`` / ``reassemble_ipv6(fragments)``: the hole-descriptor algorithm
  of RFC 815, with an explicit overlap policy: ``"last"`` (RFC 791: a later fragment's data
  overwrites), ``"first"`` (keep what arrived first, as BSD stacks did) or ``"reject"``
  (RFC 5722: an overlap discards the datagram; an exact duplicate does not count).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from wirekit.errors import DecodeError
from wirekit.packet.ipv4 import IPv4, IPv4Option, decode_ipv4_options
from wirekit.packet.ipv6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    IPv6ExtHeader,
)
from wirekit.packet.layer import Layer, Raw
from wirekit.packet.packet import Packet, parse
from wirekit.packet.status import FieldValueError

Overlap = Literal["first", "last", "reject"]
L = TypeVar("L", bound=Layer)
#: The largest IP datagram (RFC 791 total length, RFC 8200 payload length without jumbograms).
MAX_DATAGRAM = 65535


# -- fragmentation ---------------------------------------------------------------------------

def fragment_ipv4(packet: Packet, mtu: int = 1500, *, ignore_df: bool = False) -> list[Packet]:
    """Split the first IPv4 datagram of *packet* into fragments of at most *mtu* bytes of IP.

    The layers below IPv4 (Ethernet, VLAN tags...) are repeated on every fragment.  A datagram
    that already fits is returned as the only element.  With DF set, fragmenting raises
    ``FieldValueError`` unless *ignore_df* (a router would drop it and send ICMP "need to frag").
    """
    wire = parse(bytes(packet), packet._first)
    ip = wire.getlayer(IPv4)
    if ip is None:
        raise FieldValueError("fragment_ipv4 needs a packet with an IPv4 layer")
    ip._ensure()
    header_len, total = ip._hlen, ip._end - ip._off
    if total <= mtu:
        return [wire]
    if ip.flags & 2 and not ignore_df:
        raise FieldValueError("the datagram has DF set; pass ignore_df=True to fragment it")
    data = bytes(wire._buf[ip._off + header_len:ip._off + total])
    options = ip.options
    copied = [option for option in options if option.copied]
    lower = wire.layers[:ip._idx]
    fragments = []
    position = 0
    while position < len(data):
        opts = options if position == 0 else copied
        room = (mtu - 20 - _options_len(opts)) // 8 * 8
        if room <= 0:
            raise FieldValueError(f"mtu {mtu} leaves no room for data after the IPv4 header")
        chunk = data[position:position + room]
        more = position + len(chunk) < len(data) or bool(ip.flags & 1)
        piece = _ipv4_piece(ip, opts, (ip.frag or 0) + position // 8, more)
        fragments.append(_compose([layer.copy() for layer in lower] + [piece, Raw(load=chunk)]))
        position += len(chunk)
    return fragments


def _options_len(options: list[IPv4Option]) -> int:
    size = sum(len(option.encode()) for option in options)
    return size + (-size % 4)


def _ipv4_piece(ip: IPv4, options: list[IPv4Option], offset: int, more: bool) -> IPv4:
    piece = ip.copy()
    for name in ("len", "ihl", "chksum"):
        delattr(piece, name)
    piece.proto = ip.proto
    piece.options = list(options)
    piece.frag = offset
    piece.flags = (int(ip.flags) & ~1) | (1 if more else 0)
    return piece


def _compose(layers: list[Layer]) -> Packet:
    """The packet the layers build, parsed again: a fragment reads as it will on the wire."""
    built = Packet._from_layers(layers)
    return parse(bytes(built), built._first)


def fragment_ipv6(packet: Packet, mtu: int = 1280, *, ident: int | None = None) -> list[Packet]:
    """Split the first IPv6 packet of *packet* into fragments of at most *mtu* bytes of IPv6.

    *ident* is the Fragment header's identification (default: a CRC-32 of the packet, so the
    same packet always fragments the same way; pass your own for unpredictable values).
    """
    wire = parse(bytes(packet), packet._first)
    ip = wire.getlayer(IPv6)
    if ip is None:
        raise FieldValueError("fragment_ipv6 needs a packet with an IPv6 layer")
    layers = wire.layers
    index = ip._idx
    split = _per_fragment_end(layers, index)
    ip._ensure()
    start = layers[split]._off if split < len(layers) else ip._end
    data = bytes(wire._buf[start:ip._end])
    per_fragment = start - ip._off
    if per_fragment + len(data) <= mtu:
        return [wire]
    next_header = _next_header_at(layers, split - 1)
    room = (mtu - per_fragment - 8) // 8 * 8
    if room <= 0:
        raise FieldValueError(f"mtu {mtu} leaves no room for data after the per-fragment headers")
    ident = zlib.crc32(bytes(wire)) if ident is None else ident
    fragments = []
    for position in range(0, len(data), room):
        chunk = data[position:position + room]
        head = [layer.copy() for layer in layers[:split]]
        for layer in head[index:]:
            delattr(layer, "nh")
        delattr(head[index], "plen")
        fragment_header = IPv6ExtHdrFragment(nh=next_header, offset=position // 8,
                                             m=int(position + room < len(data)), id=ident)
        fragments.append(_compose([*head, fragment_header, Raw(load=chunk)]))
    return fragments


def _per_fragment_end(layers: list[Layer], index: int) -> int:
    """Index of the first layer after the per-fragment headers (RFC 8200 section 4.5)."""
    end = index + 1
    position = index + 1
    while position < len(layers) and isinstance(layers[position], IPv6ExtHeader):
        layer = layers[position]
        if (isinstance(layer, IPv6ExtHdrHopByHop) and not isinstance(layer, IPv6ExtHdrDestOpt)) \
                or isinstance(layer, IPv6ExtHdrRouting):
            end = position + 1
        elif not isinstance(layer, IPv6ExtHdrDestOpt):
            break
        position += 1
    return end


def _next_header_at(layers: list[Layer], index: int) -> int:
    layer = layers[index]
    header = layer._h
    if header is None:
        return 59
    return int(header[2] if isinstance(layer, IPv6) else header[0])


# -- reassembly ------------------------------------------------------------------------------

@dataclass
class _Holes:
    """RFC 815's hole descriptor list over byte positions, plus the reassembly buffer."""

    policy: Overlap
    holes: list[tuple[int, int]] = field(default_factory=lambda: [(0, MAX_DATAGRAM)])
    data: bytearray = field(default_factory=bytearray)
    end: int | None = None

    def add(self, first: int, chunk: bytes, last_fragment: bool) -> None:
        last = first + len(chunk) - 1
        if last >= MAX_DATAGRAM:
            raise DecodeError(f"fragment ends at byte {last}, beyond the {MAX_DATAGRAM}-byte "
                              f"maximum", layer="fragment", offset=first)
        if last_fragment:
            self._set_end(last + 1, first)
        if self.end is not None and last >= self.end:
            raise DecodeError(f"fragment at {first} runs past the datagram end {self.end}",
                              layer="fragment", offset=first)
        if len(self.data) <= last:
            self.data.extend(b"\0" * (last + 1 - len(self.data)))
        inside = [(max(lo, first), min(hi, last)) for lo, hi in self.holes
                  if lo <= last and hi >= first]
        covered = sum(hi - lo + 1 for lo, hi in inside)
        if covered < len(chunk):
            self._overlap(first, chunk, inside)
        else:
            self.data[first:last + 1] = chunk
        self._punch(first, last)

    def _overlap(self, first: int, chunk: bytes, inside: list[tuple[int, int]]) -> None:
        last = first + len(chunk) - 1
        if self.policy == "reject":
            if not inside and self.data[first:last + 1] == chunk:
                return  # an exact duplicate of data we hold (RFC 8200 4.5 allows dropping it)
            raise DecodeError(f"fragment at byte {first} overlaps data already received "
                              f"(RFC 5722: the datagram is discarded)",
                              layer="fragment", offset=first)
        if self.policy == "last":
            self.data[first:last + 1] = chunk
            return
        for lo, hi in inside:  # "first": fill only what is still missing
            self.data[lo:hi + 1] = chunk[lo - first:hi - first + 1]

    def _set_end(self, end: int, first: int) -> None:
        if self.end is not None and self.end != end:
            raise DecodeError(f"two last fragments end at {self.end} and {end}",
                              layer="fragment", offset=first)
        self.end = end
        self.holes = [(lo, min(hi, end - 1)) for lo, hi in self.holes if lo < end]

    def _punch(self, first: int, last: int) -> None:
        """RFC 815 steps 1-6: replace each hole the fragment touches by what it leaves."""
        remaining = []
        for lo, hi in self.holes:
            if hi < first or lo > last:
                remaining.append((lo, hi))
                continue
            if lo < first:
                remaining.append((lo, first - 1))
            if hi > last:
                remaining.append((last + 1, hi))
        self.holes = remaining

    def complete(self) -> bytes:
        if self.end is None or self.holes:
            missing = ", ".join(f"{lo}-{hi}" for lo, hi in self.holes[:5])
            raise DecodeError(f"datagram incomplete: missing bytes {missing or 'after the end'}",
                              layer="fragment", offset=self.holes[0][0] if self.holes else 0)
        return bytes(self.data[:self.end])


def reassemble_ipv4(fragments: Iterable[Packet], *, overlap: Overlap = "last") -> Packet:
    """Rebuild one IPv4 datagram from its fragments (any order; link layers of the first).

    Raises ``DecodeError`` for missing pieces, fragments of different datagrams, a datagram
    over 65535 bytes, or (with ``overlap="reject"``) overlapping data.
    """
    holes = _Holes(overlap)
    first_fragment: tuple[Packet, IPv4] | None = None
    key = None
    for given in fragments:
        packet = _parsed(given)
        ip = _layer(packet, IPv4)
        ip._ensure()
        this = (ip.src, ip.dst, ip.proto, ip.id)
        if key is not None and this != key:
            raise DecodeError(f"fragment of another datagram ({this} after {key})",
                              layer="IPv4", offset=ip._off)
        key = this
        offset = (ip.frag or 0) * 8
        chunk = bytes(packet._buf[ip._off + ip._hlen:ip._end])
        holes.add(offset, chunk, not ip.flags & 1)
        if offset == 0:
            first_fragment = (packet, ip)
    data = holes.complete()
    if first_fragment is None:
        raise DecodeError("no first fragment", layer="IPv4", offset=0)
    packet, ip = first_fragment
    if ip._hlen + len(data) > MAX_DATAGRAM:
        raise DecodeError(f"reassembled datagram of {ip._hlen + len(data)} bytes exceeds "
                          f"{MAX_DATAGRAM}", layer="IPv4", offset=ip._off + 2)
    whole = _ipv4_piece(ip, decode_ipv4_options(ip._raw_variable("options")), 0, False)
    layers = [layer.copy() for layer in packet.layers[:ip._idx]] + [whole, Raw(load=data)]
    return _compose(layers)


def reassemble_ipv6(fragments: Iterable[Packet], *, overlap: Overlap = "reject") -> Packet:
    """Rebuild one IPv6 packet from its fragments (RFC 8200 section 4.5; RFC 5722 by default)."""
    holes = _Holes(overlap)
    first_fragment: tuple[Packet, IPv6ExtHdrFragment] | None = None
    key = None
    packets = [_parsed(given) for given in fragments]
    if len(packets) == 1 and IPv6ExtHdrFragment not in packets[0]:
        return packets[0]  # a packet that was never fragmented is already whole
    for packet in packets:
        ip = _layer(packet, IPv6)
        header = _layer(packet, IPv6ExtHdrFragment)
        header._ensure()
        this = (ip.src, ip.dst, header.id)
        if key is not None and this != key:
            raise DecodeError(f"fragment of another packet ({this} after {key})",
                              layer="IPv6ExtHdrFragment", offset=header._off)
        key = this
        offset = (header.offset or 0) * 8
        ip._ensure()
        chunk = bytes(packet._buf[header._off + 8:ip._end])
        holes.add(offset, chunk, not header.m)
        if offset == 0:
            first_fragment = (packet, header)
    data = holes.complete()
    if first_fragment is None:
        raise DecodeError("no first fragment", layer="IPv6ExtHdrFragment", offset=0)
    packet, header = first_fragment
    head = [layer.copy() for layer in packet.layers[:header._idx]]
    ip_index = _layer(packet, IPv6)._idx
    delattr(head[ip_index], "plen")
    previous = head[-1]
    previous.nh = header.nh  # type: ignore[attr-defined]
    return _compose([*head, Raw(load=data)])


def _parsed(packet: Packet) -> Packet:
    return packet if packet._buf is not None else parse(bytes(packet), packet._first)


def _layer(packet: Packet, cls: type[L]) -> L:
    layer = packet.getlayer(cls)
    if layer is None:
        raise DecodeError(f"not a fragment: no {cls.name} layer", layer=cls.name, offset=0)
    return layer


__all__ = ["fragment_ipv4", "fragment_ipv6", "reassemble_ipv4", "reassemble_ipv6"]
