"""IPv6 (RFC 8200) and the extension headers a decoder walks: hop-by-hop, routing, fragment,
destination options.  Each extension header is a layer of its own, as in Scapy."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from wirekit.packet.fields import (
    AUTO,
    Bits,
    IPv6Field,
    UInt8,
    UInt16,
    UInt32,
    VarField,
    ipv6_to_bytes,
)
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.registry import ADDRESS_FAMILIES, ETHERTYPES, IP_PROTOCOLS, LINK_TYPES
from wirekit.packet.status import FieldValueError, LayerStatus, Status

NO_NEXT_HEADER = 59
#: RFC 8200 section 4.5: the per-fragment headers precede the Fragment header.
EXTENSION_PROTOCOLS = frozenset({0, 43, 44, 60})


class IPv6(Layer):
    """IPv6 header (RFC 8200 section 3)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |Version| Traffic Class |           Flow Label                  |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |         Payload Length        |  Next Header  |   Hop Limit   |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                   Source Address (128 bits)                   |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                Destination Address (128 bits)                 |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Automatic: ``plen`` and ``nh`` (59, "no next header", when nothing follows).
    """

    __slots__ = ()
    name = "IPv6"
    next_registry = IP_PROTOCOLS
    next_field = "nh"
    next_fallback = NO_NEXT_HEADER
    link_type = LinkType.RAW
    structural = frozenset({"plen"})

    version = Bits(4, 6)
    tc = Bits(8, 0)
    fl = Bits(20, 0)
    plen = UInt16(AUTO)
    nh = UInt8(AUTO, names=IP_PROTOCOLS.names)
    hlim = UInt8(64)
    src = IPv6Field("::1")
    dst = IPv6Field("::1")

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        off = self._off
        self._hlen = 40
        if header is not None and header[0] >> 28 == 6 and off + 40 + header[1] <= end \
                and (header[1] or header[2]):  # common case
            self._end = off + 40 + header[1]
            return
        self._end = end
        if header is None:
            return
        plen = header[1]
        if header[0] >> 28 != 6:
            self._status = LayerStatus(Status.MALFORMED, self.name, off,
                                       f"version {header[0] >> 28} is not 6")
        elif plen == 0 and header[2] == 0:
            pass  # a jumbogram (RFC 2675) announces its length in hop-by-hop; take the rest
        elif off + 40 + plen > end:
            if not self._quoted:
                self._status = LayerStatus(Status.TRUNCATED, self.name, end,
                                           f"payload length {plen} exceeds the "
                                           f"{max(0, end - off - 40)} bytes present")
        else:
            self._end = off + 40 + plen

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        values = super().auto_values(var, payload, layers, index)
        values["plen"] = len(payload) & 0xFFFF
        return values

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "plen":
            return self._end - self._off - 40 if self._status is None else None
        return super()._expected(name)

    def address_spans(self) -> list[tuple[int, int]]:
        return [(self._off + 8, 16), (self._off + 24, 16)]

    def pseudo_addresses(self) -> tuple[bytes | None, bytes | None]:
        return self._raw(self._by_name["src"]), self._raw(self._by_name["dst"])



@dataclass(frozen=True, slots=True)
class IPv6Option:
    """One option of a hop-by-hop or destination options header (RFC 8200 section 4.2)."""

    type: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return {0: "Pad1", 1: "PadN", 5: "RouterAlert", 0xC2: "Jumbo", 4: "TunnelLimit",
                0xC9: "HAO"}.get(self.type, f"opt-{self.type}")

    def encode(self) -> bytes:
        if self.type == 0:
            return b"\0"
        return bytes([self.type, len(self.data)]) + self.data


def decode_ipv6_options(data: bytes) -> list[IPv6Option]:
    options: list[IPv6Option] = []
    position = 0
    while position < len(data):
        kind = data[position]
        if kind == 0:
            options.append(IPv6Option(0))
            position += 1
            continue
        length = data[position + 1] if position + 1 < len(data) else -1
        if length < 0 or position + 2 + length > len(data):
            options.append(IPv6Option(kind, bytes(data[position + 1:])))
            break
        options.append(IPv6Option(kind, bytes(data[position + 2:position + 2 + length])))
        position += 2 + length
    return options


def _pad_options(data: bytes) -> bytes:
    """Pad (2-byte header +) options to a multiple of 8 with Pad1 or PadN (RFC 8200 4.2)."""
    missing = -(2 + len(data)) % 8
    if missing == 1:
        return data + b"\0"
    if missing:
        return data + bytes([1, missing - 2]) + b"\0" * (missing - 2)
    return data


class IPv6OptionsField(VarField[list[IPv6Option], "list[IPv6Option | tuple[int, bytes]] | bytes"]):
    """Hop-by-hop / destination options; padding to 8 bytes is added when building."""

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        options = []
        for item in value:
            if isinstance(item, IPv6Option):
                options.append(item)
            elif isinstance(item, tuple) and len(item) == 2:
                options.append(IPv6Option(int(item[0]), bytes(item[1])))
            else:
                raise FieldValueError(f"not an IPv6 option: {item!r}")
        return options

    def make_getter(self) -> Any:
        def get_options(layer: Layer) -> list[IPv6Option]:
            if layer._h is None:
                value = layer._f.get("options", [])
                return decode_ipv6_options(value) if isinstance(value, bytes) else list(value)
            return decode_ipv6_options(layer._raw_variable("options"))

        return get_options


class IPv6ExtHeader(Layer):
    """Common part of the extension headers: next header and (most) a length in 8-byte units."""

    __slots__ = ()
    next_registry = IP_PROTOCOLS
    next_field = "nh"
    next_fallback = NO_NEXT_HEADER
    structural = frozenset({"len"})

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        self._end = end
        hlen = (header[1] + 1) * 8 if header is not None else 8
        self._hlen = hlen
        if self._off + hlen > end:
            self._hlen = end - self._off
            self._status = LayerStatus(Status.TRUNCATED, self.name, end,
                                       f"header length {hlen} exceeds the "
                                       f"{end - self._off} bytes present")

    def _body(self) -> bytes:
        pkt = self._pkt
        if pkt is None or self._h is None:
            return b""
        self._ensure()
        return bytes(pkt._buf[self._off + self._struct.size:self._off + self._hlen])

    def _raw_variable(self, name: str) -> Any:
        return self._body()

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        values = super().auto_values(var, payload, layers, index)
        values["len"] = (self._struct.size + len(var)) // 8 - 1
        return values

    def _expected(self, name: str) -> Any:
        if name == "len":
            return self._hlen // 8 - 1 if self._status is None else None
        return super()._expected(name)


class IPv6ExtHdrHopByHop(IPv6ExtHeader):
    """Hop-by-hop options header (RFC 8200 section 4.3): nh, len, options.

    It must come right after the IPv6 header; anywhere else the layer is malformed.
    """

    __slots__ = ()
    name = "IPv6ExtHdrHopByHop"
    nh = UInt8(AUTO, names=IP_PROTOCOLS.names)
    len = UInt8(AUTO)
    options = IPv6OptionsField([])

    def _decode(self, buf: Any, end: int) -> None:
        super()._decode(buf, end)
        pkt = self._pkt
        if type(self) is not IPv6ExtHdrHopByHop or pkt is None or self._status is not None:
            return
        below = pkt._layers[self._idx - 1] if self._idx else None
        if not isinstance(below, IPv6):
            again = any(type(layer) is IPv6ExtHdrHopByHop for layer in pkt._layers[:self._idx])
            self._status = LayerStatus(
                Status.MALFORMED, self.name, self._off,
                "a second hop-by-hop options header" if again else
                "hop-by-hop options must come right after the IPv6 header (RFC 8200 4.3)")

    def _encode_variable(self) -> bytes:
        value = self._f.get("options", [])
        data = value if isinstance(value, bytes) else b"".join(o.encode() for o in value)
        return _pad_options(data)


class IPv6ExtHdrDestOpt(IPv6ExtHdrHopByHop):
    """Destination options header (RFC 8200 section 4.6): nh, len, options."""

    __slots__ = ()
    name = "IPv6ExtHdrDestOpt"
    nh = UInt8(AUTO, names=IP_PROTOCOLS.names)
    len = UInt8(AUTO)
    options = IPv6OptionsField([])


class AddressListField(VarField[list[str], "list[str]"]):
    """The addresses of a routing header."""

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        return b"".join(ipv6_to_bytes(address, self.name) for address in value)

    def make_getter(self) -> Any:
        def get_addresses(layer: Layer) -> list[str]:
            value = layer._f.get("addresses", b"") if layer._h is None \
                else layer._raw_variable("addresses")
            usable = len(value) - len(value) % 16
            return [socket.inet_ntop(socket.AF_INET6, value[i:i + 16])
                    for i in range(0, usable, 16)]

        return get_addresses


class IPv6ExtHdrRouting(IPv6ExtHeader):
    """Routing header (RFC 8200 section 4.4; type 0 of RFC 2460, type 2 of RFC 6275, and the
    segment list of a type 4 SRH, RFC 8754): nh, len, type, segleft, reserved, addresses.

    ``segleft`` is automatic (the number of addresses; for an SRH the index of the first
    segment, n - 1, as RFC 8754 4.1 builds it).  For an SRH, ``reserved`` holds the
    last-entry, flags and tag octets (RFC 8754 section 2); unless set, it is built with
    last-entry = the index of the last segment, as the RFC requires, flags and tag 0.
    """

    __slots__ = ()
    name = "IPv6ExtHdrRouting"
    structural = frozenset({"len"})
    nh = UInt8(AUTO, names=IP_PROTOCOLS.names)
    len = UInt8(AUTO)
    type = UInt8(0)
    segleft = UInt8(AUTO)
    reserved = UInt32(0, hex=True)
    addresses = AddressListField([])

    def _encode_variable(self) -> bytes:
        return bytes(self._f.get("addresses", b""))

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        values = super().auto_values(var, payload, layers, index)
        segments = len(var) // 16
        values["segleft"] = segments
        if self._f.get("type") == 4 and segments:
            # RFC 8754 section 4.1: a source sets Segments Left and Last Entry to n - 1 and
            # puts Segment List[n - 1] in the destination address.
            values["segleft"] = segments - 1
            values["reserved"] = _srh_word(segments)
        return values

    def _expected(self, name: str) -> Any:
        segments = len(self._body()) // 16
        srh = self.type == 4 and segments > 0
        if name == "segleft":
            return segments - 1 if srh else segments
        if name == "reserved" and srh:
            return _srh_word(segments)
        return super()._expected(name)

    def final_destination(self) -> tuple[bytes, int] | None:
        """The address the packet finally goes to, and its offset in the body (RFC 8200 8.1)."""
        segleft = self._raw(self._by_name["segleft"])
        body = self._body() if self._h is not None else bytes(self._f.get("addresses", b""))
        if segleft is None:
            segleft = len(body) // 16
        if not segleft or len(body) < 16:
            return None
        # Types 0 and 2 list the hops in order; an SRH lists segments last first (RFC 8754).
        at = 0 if self.type == 4 else (len(body) // 16 - 1) * 16
        return body[at:at + 16], at


def _srh_word(segments: int) -> int:
    """An SRH's last-entry/flags/tag word: last entry = index of the last segment."""
    return (segments - 1) << 24


class IPv6ExtHdrFragment(IPv6ExtHeader):
    """Fragment header (RFC 8200 section 4.5)::

        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                         Identification                        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    ``offset`` counts 8-byte units.  A fragment with a nonzero offset carries no upper header.
    """

    __slots__ = ()
    name = "IPv6ExtHdrFragment"
    structural = frozenset({"offset"})
    nh = UInt8(AUTO, names=IP_PROTOCOLS.names)
    res1 = UInt8(0)
    offset = Bits(13, 0)
    res2 = Bits(2, 0)
    m = Bits(1, 0)
    id = UInt32(0)

    def _decode(self, buf: Any, end: int) -> None:
        self._hlen, self._end = 8, end

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        header = self._h
        if header is not None and header[2] is not None and header[2] >> 3:
            start = self._off + 8
            if start >= self._end:
                return None

            return Raw, start, self._end, ""
        return super()._next()

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        return Layer.auto_values(self, var, payload, layers, index)

    def _expected(self, name: str) -> Any:
        return Layer._expected(self, name)


def final_destination_span(layers: list[Layer], index: int) -> tuple[Layer, int] | None:
    """For the layer at *index*, the routing header whose address replaces the IPv6 destination
    in the pseudo-header, and that address's offset in its body; ``None`` when there is none."""
    for position in range(index - 1, -1, -1):
        layer = layers[position]
        if isinstance(layer, IPv6ExtHdrRouting):
            found = layer.final_destination()
            if found is not None:
                return layer, found[1]
        elif not isinstance(layer, IPv6ExtHeader):
            return None
    return None


ETHERTYPES.register(0x86DD, IPv6)
IP_PROTOCOLS.register(41, IPv6)
IP_PROTOCOLS.register(0, IPv6ExtHdrHopByHop)
IP_PROTOCOLS.register(43, IPv6ExtHdrRouting)
IP_PROTOCOLS.register(44, IPv6ExtHdrFragment)
IP_PROTOCOLS.register(60, IPv6ExtHdrDestOpt)
LINK_TYPES.register(LinkType.IPV6, IPv6)
# AF_INET6: 10 on Linux, 24 on NetBSD and OpenBSD, 28 on FreeBSD, 30 on macOS; building uses 24,
# the value of OpenBSD (LINKTYPE_LOOP) and of NetBSD that every decoder knows.
for _family in (10, 24, 28, 30):
    ADDRESS_FAMILIES.register(_family, IPv6, build=_family == 24)

__all__ = [
    "IPv6",
    "IPv6ExtHdrDestOpt",
    "IPv6ExtHdrFragment",
    "IPv6ExtHdrHopByHop",
    "IPv6ExtHdrRouting",
    "IPv6ExtHeader",
    "IPv6Option",
]
