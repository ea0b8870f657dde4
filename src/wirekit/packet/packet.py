"""A packet: a chain of layers over one buffer (parsed) or a list of layers (built).

Parsing is lazy.  ``parse()`` stores the buffer and the class of the first layer; a layer is
created when a lookup walks to it (``pkt[TCP]`` decodes Ether, then IPv4, then TCP, and stops).
Edits of a parsed packet write into the packet's own copy of the buffer and keep every checksum
that covers the edited bytes right, incrementally (RFC 1624).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, TypeVar, overload

from wirekit.errors import DecodeError
from wirekit.packet import layer as _layer_module
from wirekit.packet import speedups
from wirekit.packet.display import hexdump, show_text, to_dict
from wirekit.packet.ether import Ether
from wirekit.packet.fields import Field
from wirekit.packet.flow import Flow, flow_key
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.layer import CLAIMED, Layer, Padding, Raw, _raw_of
from wirekit.packet.linktype import LinkType
from wirekit.packet.registry import ETHERTYPES, IP_PROTOCOLS, LINK_TYPES
from wirekit.packet.status import (
    STATUS_OK,
    ChecksumCheck,
    LayerNotFoundError,
    LayerStatus,
    Status,
)
from wirekit.packet.summary import summarize

#: At most this many layers are decoded; the rest stays Raw.  A 64 KiB packet of stacked
#: 4-byte VLAN tags or nested ICMP quotes could otherwise cost thousands of objects.
MAX_LAYERS = 64
_new = object.__new__
_OWNED, _SHARED, _EXPOSED = 1, 2, 4
L = TypeVar("L", bound=Layer)
_LINK_VALUES = frozenset(int(kind) for kind in LinkType)
_STRICT_KINDS = (Status.TRUNCATED, Status.MALFORMED, Status.BAD_CHECKSUM)


class Packet:
    """A decoded or composed packet.  See ``docs/packet.md`` for the whole API."""

    #: ``_wire`` (the length on the wire, when the capture cut the packet shorter) is set
    #: only when known: ``parse(..., wire_len=)``; read it through ``wire_len``.
    __slots__ = ("_buf", "_complete", "_first", "_layers", "_link", "_state", "_wire")

    _buf: Any
    _layers: list[Layer]
    _complete: bool
    _first: type[Layer]
    _link: LinkType | None
    _wire: int
    #: bit set of _OWNED (parsed: the buffer is our own bytearray), _SHARED (built: my layer
    #: objects may sit in another packet too, copy before handing one out) and _EXPOSED (built:
    #: a layer object was handed out, copy before sharing).
    _state: int

    # -- construction --------------------------------------------------------------------
    @classmethod
    def _parsed(cls, buf: Any, first: type[Layer], link: LinkType | None) -> Packet:
        self = _new(cls)
        self._buf = buf
        self._layers = []
        self._complete = False
        self._first = first
        self._link = link
        self._state = 0
        return self

    @classmethod
    def _from_layers(cls, layers: list[Layer], shared: bool = False) -> Packet:
        """A built packet over *layers*, which it claims (see ``_expose``).

        Layers shared with another packet are copied before any of them is handed out.
        """
        self = _new(cls)
        self._buf = None
        self._layers = layers
        self._complete = True
        self._first = type(layers[0]) if layers else Raw
        self._link = self._first.link_type
        self._state = _SHARED if shared else 0
        for layer in layers:
            layer._idx = CLAIMED
        return self

    @classmethod
    def _compose(cls, left: Any, right: Any) -> Packet:
        """``left / right``.  Fresh layers are taken as they are (no copy, as in dpkt); the
        layers of a composed packet are shared until either packet hands one out, and then
        copied, so two packets never alias each other (as in Scapy)."""
        left_layers, left_shared = _take(left)
        right_layers, right_shared = _take(right)
        return cls._from_layers(left_layers + right_layers, left_shared or right_shared)

    def _expose(self) -> None:
        """Before a layer object leaves the packet: stop sharing layers with other packets,
        and attach each layer (its ``payload``, ``underlayer`` and ``packet`` need it).

        Until then the layers of a built packet have no back-reference to it, so composing
        and serialising a packet makes no reference cycle: refcounting frees it at once,
        and the cyclic garbage collector never has to (a quarter of the build time).
        """
        state = self._state
        if state & _EXPOSED:
            return
        if state & _SHARED:
            self._layers = [layer.copy() for layer in self._layers]
        for index, layer in enumerate(self._layers):
            layer._pkt = self
            layer._idx = index
        self._state = (state & ~_SHARED) | _EXPOSED

    def __truediv__(self, other: Layer | Packet | bytes | bytearray | str) -> Packet:
        if self._buf is None and not self._state & _EXPOSED:
            if type(other) is bytes:
                other = _raw_of(other)
            if isinstance(other, Layer) and other._pkt is None and other._h is None \
                    and other._idx == 0:
                # An unexposed built packet and a fresh layer, the usual step of a
                # composition: share my layers, claim the new one (see _compose).
                self._state |= _SHARED
                pkt = _new(Packet)
                pkt._buf = None
                pkt._layers = [*self._layers, other]
                pkt._complete = True
                pkt._first = self._first
                pkt._link = self._link
                pkt._state = _SHARED
                other._idx = CLAIMED
                return pkt
        return Packet._compose(self, other)

    def copy(self) -> Packet:
        """An independent copy (a parsed packet keeps sharing its read-only buffer)."""
        if self._buf is not None:
            clone = Packet._parsed(bytes(self._buf) if self._state & _OWNED else self._buf,
                                   self._first, self._link)
            wire = getattr(self, "_wire", None)
            if wire is not None:
                clone._wire = wire
            return clone
        return Packet._from_layers([layer.copy() for layer in self._layers])

    def parsed_copy(self) -> Packet:
        """This packet's bytes parsed again (a built packet as the wire would show it)."""
        return parse(bytes(self), self._first)

    # -- lazy walk -------------------------------------------------------------------------
    def _grow(self) -> Layer | None:
        """Decode one more layer; ``None`` once the chain is complete."""
        layers = self._layers
        count = len(layers)
        quoted = False
        note = ""
        if count:
            previous = layers[-1]
            step = previous._next()
            if step is None:
                return self._finish_chain()
            cls, start, end, note = step
            if count >= MAX_LAYERS and cls is not Raw:
                cls, note = Raw, f"more than {MAX_LAYERS} layers"
            quoted = previous._quoted
            if previous.may_quote and previous._quotes_payload():
                quoted = True
        else:
            cls, start, end = self._first, 0, len(self._buf)
        # Layer._parse, inlined: one call less per layer on the hot path.  _hlen -1 (or -2
        # for a quoted layer) means "not decoded yet"; Layer._ensure sets the rest later.
        header = cls._struct
        if end - start >= header.size:
            layer = _new(cls)
            layer._pkt = self
            layer._idx = count
            layer._off = start
            layer._end = end
            layer._h = header.unpack_from(self._buf, start)
            layer._hlen = -2 if quoted else -1
        else:
            layer = cls._parse(self, count, start, end, quoted)
        if note:
            _mark_unsupported(layer, note)
        layers.append(layer)
        return layer

    def _finish_chain(self) -> Layer | None:
        """Append Padding for bytes past the declared lengths, then mark the chain complete."""
        self._complete = True
        layers = self._layers
        covered = layers[-1]._end
        first_padding: Layer | None = None
        ends = [layer._end for layer in reversed(layers[:-1])] + [len(self._buf)]
        for end in ends:
            if end > covered and len(layers) < MAX_LAYERS + 8:
                padding = Padding._parse(self, len(layers), covered, end, False)
                layers.append(padding)
                first_padding = first_padding or padding
                covered = end
        return first_padding

    def _decode_all(self) -> list[Layer]:
        while not self._complete:
            self._grow()
        return self._layers

    def _layer_at(self, index: int) -> Layer | None:
        layers = self._layers
        if index < len(layers):
            return layers[index] if index >= 0 else None
        while len(layers) <= index and not self._complete:
            self._grow()
        return layers[index] if 0 <= index < len(layers) else None

    def _find(self, cls: type[L], nb: int = 1) -> L | None:
        if self._buf is None:
            self._expose()
        count = 0
        for layer in self._layers:
            if type(layer) is cls:
                count += 1
                if count == nb:
                    return layer
        while not self._complete:
            grown = self._grow()
            if grown is not None and type(grown) is cls:
                count += 1
                if count == nb:
                    return grown
        return None

    # -- lookups -------------------------------------------------------------------------
    @overload
    def __getitem__(self, key: type[L]) -> L: ...
    @overload
    def __getitem__(self, key: slice[type[L], int | None, None]) -> L: ...
    @overload
    def __getitem__(self, key: int) -> Layer: ...
    def __getitem__(self, key: type[Layer] | int | slice) -> Layer:
        """``pkt[TCP]``, ``pkt[IPv4:2]`` (second IPv4), ``pkt[0]`` (first layer)."""
        if isinstance(key, type):  # _find, inlined: this is the hot path of every lookup
            if self._buf is None:
                self._expose()
            found = _first_of(self, key)
            if found is not None:
                return found
            raise LayerNotFoundError(f"no {key.name} layer in the packet ({self._names()})")
        if isinstance(key, slice):
            cls: Any = key.start
            nb: int = key.stop if key.stop is not None else 1
            nth: Layer | None = self._find(cls, nb) if isinstance(cls, type) else None
            if nth is None:
                raise LayerNotFoundError(f"no {getattr(cls, 'name', cls)} layer number {nb}")
            return nth
        layers = self._decode_all()
        self._expose()
        layers = self._layers
        try:
            return layers[key]
        except IndexError:
            raise LayerNotFoundError(f"no layer {key} (packet has {len(layers)})") from None

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and self._find(cls) is not None

    def getlayer(self, cls: type[L], nb: int = 1) -> L | None:
        """The *nb*-th layer of type *cls*, or ``None``."""
        return self._find(cls, nb)

    def haslayer(self, cls: type[Layer]) -> bool:
        return self._find(cls) is not None

    @property
    def layers(self) -> list[Layer]:
        """Every layer, bottom up (decodes the whole chain)."""
        self._decode_all()
        self._expose()
        return list(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @property
    def link(self) -> LinkType | None:
        """The link type the packet was parsed with (or that its first layer implies)."""
        return self._link

    @property
    def parsed(self) -> bool:
        """True while the packet is a view of a buffer (not yet re-serialised)."""
        return self._buf is not None

    @property
    def edited(self) -> bool:
        """True for a parsed packet that was changed since (its bytes are no longer the buffer
        it was parsed from); always True for a built one."""
        return self._buf is None or bool(self._state & _OWNED)

    def __len__(self) -> int:
        if self._buf is not None:
            return len(self._buf)
        return len(self._build_bytes())

    def __bool__(self) -> bool:
        return True  # an empty capture record is still a packet

    @property
    def wire_len(self) -> int:
        """The packet's length on the wire: what ``parse(..., wire_len=)`` was told (a capture
        record's ``orig_len``), else ``len(pkt)``.  Larger than ``len(pkt)`` when the capture's
        snapshot length cut the packet."""
        wire: int | None = getattr(self, "_wire", None)
        return len(self) if wire is None else wire

    def _names(self) -> str:
        return " / ".join(layer.name for layer in self._decode_all()) or "no layers"

    def __bytes__(self) -> bytes:
        if self._buf is not None:
            return bytes(self._buf)
        return self._build_bytes()

    def __repr__(self) -> str:
        return " / ".join(repr(layer) for layer in self._decode_all()) or "<empty packet>"

    # -- building -------------------------------------------------------------------------
    def _build_bytes(self) -> bytes:
        """Serialise a built packet (``_build_layers`` without the offsets)."""
        layers = self._layers
        if layers and type(layers[-1]) is Padding:
            return self._build_layers()[0]
        data = b""
        for index in range(len(layers) - 1, -1, -1):
            data = layers[index]._build(data, layers, index)
        return data

    def _build_layers(self) -> tuple[bytes, list[int]]:
        """Serialise a built packet; also return each layer's offset."""
        layers = self._layers
        body = len(layers)
        while body and type(layers[body - 1]) is Padding:
            body -= 1
        stack = layers[:body] if body != len(layers) else layers
        data = b""
        sizes = [0] * len(layers)
        for index in range(body - 1, -1, -1):
            data = layers[index]._build(data, stack, index)
            sizes[index] = len(data)
        offsets = [len(data) - size for size in sizes[:body]]
        position = len(data)
        for layer in layers[body:]:
            offsets.append(position)
            chunk = layer._build(b"", [layer], 0)
            data += chunk
            position += len(chunk)
        return data, offsets

    def _bytes_from(self, index: int) -> bytes:
        if self._buf is not None:
            layer = self._layer_at(index)
            return bytes(self._buf[layer._off if layer is not None else len(self._buf):])
        data, offsets = self._build_layers()
        return data[offsets[index]:]

    def _wire_packet(self) -> Packet:
        """This packet as parsed from its bytes, with the same layer classes (for display)."""
        if self._buf is not None:
            return self
        data, offsets = self._build_layers()
        wire = Packet._parsed(data, self._first, self._link)
        body_end = len(data) - sum(len(layer._f.get("load", b"")) for layer in self._layers
                                   if type(layer) is Padding)
        quoted = False
        for index, layer in enumerate(self._layers):
            end = len(data) if type(layer) is Padding else body_end
            if index + 1 < len(offsets) and type(self._layers[index + 1]) is Padding:
                end = max(end, offsets[index + 1])
            parsed = type(layer)._parse(wire, index, offsets[index], end, quoted)
            wire._layers.append(parsed)
            quoted = quoted or parsed._quotes_payload()
        wire._complete = True
        return wire

    # -- checks ---------------------------------------------------------------------------
    def verify_checksums(self) -> list[ChecksumCheck]:
        """The verdict on every checksum in the packet (built packets are built first)."""
        wire = self._wire_packet()
        return [check for layer in wire._decode_all()
                if (check := layer.verify_checksum()) is not None]

    def statuses(self) -> list[LayerStatus]:
        """The status of every layer, bottom up."""
        return [layer.status for layer in self._wire_packet()._decode_all()]

    @property
    def status(self) -> LayerStatus:
        """The first problem of any layer, or OK."""
        for status in self.statuses():
            if not status.ok and status.kind is not Status.UNSUPPORTED:
                return status
        for status in self.statuses():
            if not status.ok:
                return status
        return STATUS_OK

    def _raise_if_bad(self) -> None:
        """Strict mode: decode everything and raise on the first bad layer."""
        for layer in self._decode_all():
            status = layer.status
            if status.kind in _STRICT_KINDS:
                raise DecodeError(str(status), layer=status.layer or layer.name,
                                  offset=status.offset if status.offset is not None
                                  else layer._off)

    # -- display -------------------------------------------------------------------------
    def summary(self, *, link_level: bool = False) -> str:
        """One line as ``tcpdump -nn -S -t`` prints it (never raises); with *link_level*, as
        ``tcpdump -e`` prints it: the link header (MACs, EtherType, VLAN tags, LLC) first."""
        if link_level:
            from wirekit.packet.summary_link import summarize_link_level

            return summarize_link_level(self._wire_packet())
        return summarize(self._wire_packet())

    def show_text(self) -> str:
        """A multi-line breakdown, one block per layer (never raises)."""
        return show_text(self._wire_packet())

    def show(self) -> None:
        """Print ``show_text()``."""
        print(self.show_text())

    def hexdump(self) -> str:
        """Offset, hex and ASCII columns, 16 bytes a line."""
        return hexdump(bytes(self))

    def flow(self) -> Flow | None:
        """The IP 5-tuple and IP length (``Flow``), or ``None`` without an IP layer.

        Fast for the common shapes (no layer objects are made); see :mod:`wirekit.packet.flow`.
        """
        return flow_key(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: link, length, status, and every layer's fields."""
        return to_dict(self._wire_packet())

    # -- edits of a parsed packet ---------------------------------------------------------
    def _own(self) -> bytearray:
        if not self._state & _OWNED:
            self._buf = bytearray(self._buf)
            self._state |= _OWNED
        buf: bytearray = self._buf
        return buf

    def _edit_field(self, layer: Layer, field: Field[Any, Any], raw: Any) -> None:
        """Write a fixed field of a parsed layer in place; keep covering checksums right."""
        if raw is None:
            if field.name == layer.checksum_field:
                raw = layer._expected(field.name)
                if raw is None:
                    return
            elif field.auto:
                self._materialize()
                layer._set_field(field, None)
                return
            else:
                raw = field.raw_default
        header = layer._h
        if header is None or header[field.index] is None:
            return  # the field lies beyond the captured bytes
        item = header[field.index]
        if field.bits:
            item = (item & ~(field.mask << field.shift)) | ((raw & field.mask) << field.shift)
        else:
            item = raw
        codes = {1: "B", 2: "H", 4: "I", 8: "Q"}
        code = codes[field.size] if field.bits or field.fmt in "BHIQ" else field.fmt
        data = struct.pack(layer.byte_order + code, item)
        self._write(layer._off + field.offset, data,
                    skip=layer if field.name == layer.checksum_field else None)
        if field.name in layer._structural_fields():
            self._redecode_from(layer)

    def _write(self, pos: int, new: bytes, skip: Layer | None = None) -> None:
        buf = self._own()
        end = pos + len(new)
        old = bytes(buf[pos:end])
        if old == new:
            return
        buf[pos:end] = new
        for layer in self._decode_all():
            if layer is not skip:
                self._update_checksum(layer, pos, old, new)
        for layer in self._layers:
            if layer._off < end and pos < layer._off + layer._struct.size:
                layer._refresh()

    def _update_checksum(self, layer: Layer, pos: int, old: bytes, new: bytes) -> None:
        span = layer._checksum_span()
        if span is None:
            return
        at, start, stop = span
        if at < pos + len(new) and pos < at + 2:
            return  # the write is (or touches) this layer's own checksum field
        ranges = [(start, stop, start)] + [(s, s + n, s) for s, n in layer._pseudo_spans()]
        from wirekit.packet.checksum import update_checksum

        value = int.from_bytes(self._buf[at:at + 2], "big")
        before = value
        for lo, hi, origin in ranges:
            a, b = max(lo, pos), min(hi, pos + len(new))
            if a < b:
                value = update_checksum(value, old[a - pos:b - pos], new[a - pos:b - pos],
                                        odd=bool((a - origin) & 1))
        if value != before:
            value = layer._adjust_checksum(value)
            self._write(at, value.to_bytes(2, "big"), skip=layer)

    def _redecode_from(self, layer: Layer) -> None:
        """After a length or next-protocol edit, decode the layers above *layer* again."""
        index = layer._idx
        limit = self._layers[index - 1]._end if index else len(self._buf)
        del self._layers[index + 1:]
        self._complete = False
        layer._ensure()
        if layer._h is None or None in layer._h:
            return  # a cut header keeps its decode: nothing above it can start
        layer._status = None
        layer._decode(self._buf, limit)

    def _materialize(self) -> None:
        """Turn a parsed packet into a built one (before a variable-size change)."""
        if self._buf is None:
            return
        layers = self._decode_all()
        values = [layer._materialized_values() for layer in layers]
        for layer, fields in zip(layers, values, strict=True):
            layer._f = fields
            layer._h = None
            layer._status = None
            layer._quoted = False
        self._buf = None
        self._state = _EXPOSED


def _mark_unsupported(layer: Layer, note: str) -> None:
    """Record why the bytes at *layer* are not decoded (after its lazy decode has run)."""
    layer._ensure()
    layer._status = LayerStatus(Status.UNSUPPORTED, layer.name, layer._off, note)


def _take(item: Any) -> tuple[list[Layer], bool]:
    """The layers *item* contributes to a composition, and whether they are shared."""
    if isinstance(item, Layer):
        if item._pkt is None and item._h is None and item._idx == 0:
            return [item], False
        return [item.copy()], False
    if isinstance(item, Packet):
        if item._buf is None and not item._state & _EXPOSED:
            item._state |= _SHARED
            return list(item._layers), True
        return [layer.copy() for layer in item._decode_all()], False
    if isinstance(item, bytes | bytearray | memoryview | str):
        return [Raw(load=item)], False
    raise TypeError(f"cannot compose a packet with {type(item).__name__}")


def parse(data: Any, link: LinkType | int | str | type[Layer] = LinkType.ETHERNET, *,
          strict: bool = False, wire_len: int | None = None) -> Packet:
    """Decode *data* (bytes, bytearray, memoryview) lazily, starting at the *link* layer.

    *link* is a :class:`LinkType` (or its number or name, ``"sll2"``) or a layer class.  With
    *strict*, every layer is decoded now and the first truncated, malformed or badly
    checksummed one raises
    :class:`~wirekit.errors.DecodeError` (``layer`` and ``offset`` tell where).  *wire_len* is
    the length the packet had on the wire (a capture record's ``orig_len``): with it, a packet
    the snapshot length cut is summarised as tcpdump does, not as a lying IP length.
    """
    if type(link) is LinkType and not strict:  # the common case, inlined
        first = _LINK_CLASSES.get(link)
        if first is not None:
            pkt = _new(Packet)
            pkt._buf = data
            pkt._layers = []
            pkt._complete = False
            pkt._first = first
            pkt._link = link
            pkt._state = 0
            if wire_len is not None and wire_len > len(data):
                pkt._wire = wire_len
            return pkt
    note = ""
    start: type[Layer] | None
    if not isinstance(link, type):
        link = LinkType.coerce(link)  # a name or a number; anything else is a LinkTypeError
    if isinstance(link, type):
        start = link
        kind = link.link_type
    else:
        start = LINK_TYPES.resolve(int(link), data, 0)
        kind = LinkType(int(link)) if int(link) in _LINK_VALUES else None
        if start is None and int(link) in LINK_TYPES.resolvers:
            start, note = Raw, "the first bytes select no decoder" + (
                f" (IP version {data[0] >> 4})" if len(data) and kind is LinkType.RAW else "")
        elif start is None:
            start, note = Raw, f"link type {int(link)} is not decoded"
    pkt = Packet._parsed(data, start, kind)
    if wire_len is not None and wire_len > len(data):
        pkt._wire = wire_len
    if note:
        layer = pkt._grow()
        if layer is not None:
            _mark_unsupported(layer, note)
    if strict:
        pkt._raise_if_bad()
    return pkt


def _first_of(pkt: Packet, cls: type[L]) -> L | None:
    """The first layer of exactly *cls*, decoding on until one is found (``pkt[cls]``)."""
    for layer in pkt._layers:
        if type(layer) is cls:
            return layer
    while not pkt._complete:
        found = pkt._grow()
        if type(found) is cls:
            return found
    return None


_LINK_CLASSES = LINK_TYPES.classes
_layer_module._PACKET.append(Packet)
#: The Python walk, kept as the reference the C one is tested against.
_first_of_python, _payload_python, _grow_python = _first_of, Layer.payload, Packet._grow
parse_python = parse
if speedups.configure is not None:
    # The same walk in C (speedups.py): parse, pkt[cls] and layer.payload, the decode's hot
    # path.  The C parse hands every call but the common case to parse_python.
    speedups.configure(layer=Layer, packet=Packet, raw=Raw, mark_unsupported=_mark_unsupported,
                       python_grow=_grow_python, max_layers=MAX_LAYERS, ether=Ether,
                       ethertypes=ETHERTYPES.classes, ipv4=IPv4, protocols=IP_PROTOCOLS.classes,
                       python_parse=parse_python, ethernet=LinkType.ETHERNET,
                       link_classes=_LINK_CLASSES)
    parse = speedups.parse
    _first_of = speedups.find
    Layer.payload = property(speedups.payload, doc=Layer.payload.__doc__)  # type: ignore[assignment]
