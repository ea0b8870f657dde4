"""Ethernet II, IEEE 802.3 length frames (LLC behind them), and IEEE 802.1Q / 802.1ad VLAN
tags (stackable)."""

from __future__ import annotations

from typing import Any

from wirekit.packet.fields import AUTO, Bits, MACField, UInt16
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.llc import LLC
from wirekit.packet.registry import ETHERTYPES, LINK_TYPES
from wirekit.packet.status import FieldValueError

#: EtherType values at or below this are IEEE 802.3 length fields (IEEE 802.3 clause 3.2.6).
MAX_8023_LENGTH = 1500
TPID_8021Q = 0x8100
TPID_8021AD = 0x88A8


class Ether(Layer):
    """Ethernet II header (RFC 894)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                  destination MAC (6 octets)                   |
        +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                               |                               |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+     source MAC (6 octets)     +
        |                                                               |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |           EtherType           |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    ``type`` is automatic: the EtherType of the layer above (0x9000 when nothing is bound, as in
    Scapy).  An Ether followed by two stacked ``Dot1Q`` tags gets the 802.1ad S-tag TPID 0x88a8.
    A value of 1500 or less is an IEEE 802.3 length (clause 3.2.6): an ``LLC`` header follows,
    and bytes past the length are padding.  Over an ``LLC`` layer the automatic ``type`` is that
    length (Scapy has a separate ``Dot3`` class for this; an explicit ``type`` is kept).
    """

    __slots__ = ()
    name = "Ether"
    next_registry = ETHERTYPES
    next_field = "type"
    next_fallback = 0x9000
    link_type = LinkType.ETHERNET

    dst = MACField("ff:ff:ff:ff:ff:ff")
    src = MACField("00:00:00:00:00:00")
    type = UInt16(AUTO, hex=True, names=ETHERTYPES.names)

    def _decode(self, buf: Any, end: int) -> None:
        self._hlen = 14
        self._end = end
        header = self._h
        if header is not None and header[2] <= MAX_8023_LENGTH:
            self._end = min(end, self._off + 14 + header[2])

    def _next(self) -> NextLayer | None:
        header = self._h
        if header is None:
            return None
        hlen = self._hlen
        if hlen < 0:
            if header[2] > MAX_8023_LENGTH:
                self._quoted = hlen == -2  # _ensure and _decode, inlined for the common case
                self._status = None
                self._hlen = 14
            else:
                self._ensure()
        start, end = self._off + 14, self._end
        if start >= end:
            return None
        kind = header[2]
        if kind > MAX_8023_LENGTH:
            cls = _ETHERTYPE_CLASSES.get(kind)
            if cls is not None:
                return cls, start, end, ""
            return super()._next()
        return _after_length(self, start, end)

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        values = super().auto_values(var, payload, layers, index)
        if _stacked_tags(layers, index):
            values["type"] = TPID_8021AD
        elif _llc_above(layers, index):
            values["type"] = ieee8023_length(payload)
        return values

    def _expected(self, name: str) -> Any:
        if name == "type" and _length_before_llc(self):
            return self._end - self._off - 14
        return super()._expected(name)

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        """Layer._build specialised (the build benchmark's hot path; same result)."""
        if "type" in self._f or index + 1 >= len(layers):
            return self._pack(self.auto_values(b"", payload, layers, index)) + payload
        kind = _KEY_OF(type(layers[index + 1]))
        if kind is None or (kind == TPID_8021Q and _stacked_tags(layers, index)):
            return self._pack(self.auto_values(b"", payload, layers, index)) + payload
        return self._pack({"type": kind}) + payload


class Dot1Q(Layer):
    """An IEEE 802.1Q VLAN tag (TCI and the inner EtherType); stack them for 802.1ad QinQ::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        | PCP |D|        VLAN ID        |      inner EtherType          |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    The TPID (0x8100, or 0x88a8 for an 802.1ad service tag) is the EtherType of the layer below.
    As in an Ether, an inner type of 1500 or less is an IEEE 802.3 length and an ``LLC`` follows.
    """

    __slots__ = ()
    name = "Dot1Q"
    next_registry = ETHERTYPES
    next_field = "type"
    next_fallback = 0

    prio = Bits(3, 0)
    dei = Bits(1, 0)
    vlan = Bits(12, 1)
    type = UInt16(AUTO, hex=True, names=ETHERTYPES.names)

    def _decode(self, buf: Any, end: int) -> None:
        self._hlen = 4
        self._end = end
        header = self._h
        if header is not None and header[1] <= MAX_8023_LENGTH:
            self._end = min(end, self._off + 4 + header[1])

    def _next(self) -> NextLayer | None:
        header = self._h
        if header is None or header[1] is None or header[1] > MAX_8023_LENGTH:
            return super()._next()
        self._ensure()
        start, end = self._off + 4, self._end
        return _after_length(self, start, end) if start < end else None

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        values = super().auto_values(var, payload, layers, index)
        if _llc_above(layers, index):
            values["type"] = ieee8023_length(payload)
        return values

    def _expected(self, name: str) -> Any:
        if name == "type" and _length_before_llc(self):
            return self._end - self._off - 4
        return super()._expected(name)


_ETHERTYPE_CLASSES = ETHERTYPES.classes  # the registry's own dict, read on the hot path
_KEY_OF = ETHERTYPES._keys.get


def _after_length(layer: Layer, start: int, end: int) -> NextLayer:
    """What follows an IEEE 802.3 length: an 802.2 LLC header, except in Novell's "raw 802.3"
    frames, whose IPX header starts where the SAPs would be, with the checksum 0xffff."""
    buf = layer._pkt._buf if layer._pkt is not None else b""
    if end - start >= 2 and buf[start] == 0xFF and buf[start + 1] == 0xFF:
        return Raw, start, end, "Novell raw IEEE 802.3 (IPX) is not decoded"
    return LLC, start, end, ""


def _llc_above(layers: list[Layer], index: int) -> bool:
    return index + 1 < len(layers) and type(layers[index + 1]) is LLC \
        and "type" not in layers[index]._f


def _length_before_llc(layer: Layer) -> bool:
    """True for a parsed Ether or Dot1Q whose type is an 802.3 length with an LLC above it."""
    pkt, header = layer._pkt, layer._h
    if pkt is None or header is None or header[-1] is None or header[-1] > MAX_8023_LENGTH:
        return False
    layer._ensure()
    return type(pkt._layer_at(layer._idx + 1)) is LLC


def ieee8023_length(payload: bytes) -> int:
    """The IEEE 802.3 length field for *payload* (LLC header and data, padding excluded)."""
    if len(payload) > MAX_8023_LENGTH:
        raise FieldValueError(f"an IEEE 802.3 length frame carries at most {MAX_8023_LENGTH} "
                              f"bytes, not {len(payload)} (set type=0x8870 for jumbo LLC)")
    return len(payload)


def _stacked_tags(layers: list[Layer], index: int) -> bool:
    """True when layers[index] carries two VLAN tags: its tag is then the 802.1ad S-tag."""
    return (index + 2 < len(layers) and type(layers[index + 1]) is Dot1Q
            and type(layers[index + 2]) is Dot1Q and "type" not in layers[index]._f)


ETHERTYPES.register(TPID_8021Q, Dot1Q)
ETHERTYPES.register(TPID_8021AD, Dot1Q, build=False)
ETHERTYPES.register(0x9100, Dot1Q, build=False)  # pre-standard QinQ
LINK_TYPES.register(LinkType.ETHERNET, Ether)
