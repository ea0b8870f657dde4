"""The base class of every protocol layer: header compilation, storage, decoding and building.

A layer is either *parsed* — it lives inside a :class:`~wirekit.packet.packet.Packet` and its
header tuple ``_h`` was unpacked from the packet's buffer with one ``struct`` call — or *built*,
with the explicitly set wire values in the dict ``_f``.  Subclasses declare their fields (see
:mod:`wirekit.packet.fields`) and override a few hooks:

- ``_decode(buf, end)``: set ``_hlen`` (header length), ``_end`` (end of the layer's extent) and,
  when something is wrong, ``_status``.  Runs once, right after the header was unpacked.
- ``_next()``: where the next layer starts and which class decodes it (default: the registry
  ``next_registry`` looked up with the field ``next_field``).
- ``auto_values(var, payload, layers, index)``: the values of automatic fields at build time.
- ``_checksum(header, payload, layers, index)``: the checksum to store, for layers that have one.
- ``_decode_variable(name)`` / ``_encode_variable()``: options and other variable parts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Self

from wirekit.packet.fields import Field, VarField
from wirekit.packet.header import compile_header
from wirekit.packet.registry import Registry
from wirekit.packet.status import STATUS_OK, ChecksumCheck, FieldValueError, LayerStatus, Status

if TYPE_CHECKING:
    from wirekit.packet.linktype import LinkType
    from wirekit.packet.packet import Packet

_new = object.__new__

NextLayer = tuple["type[Layer]", int, int, str]
_PACKET: list[type[Packet]] = []  # filled by wirekit.packet.packet (breaks the import cycle)
#: Key in a built layer's values: the next-protocol number it was parsed with, used when the
#: layer above is not bound to any number (a copied IPv4 layer over Raw keeps its protocol).
NEXT_FALLBACK = "#next"
#: ``_idx`` of a built layer that a composition took (``_pkt`` stays ``None`` until the packet
#: hands the layer out, see ``Packet._expose``).  A fresh layer has ``_idx`` 0 and no packet.
CLAIMED = -1


def _packet_type() -> type[Packet]:
    return _PACKET[0]


class Layer:
    """One protocol header (and, through its packet, everything above it)."""

    __slots__ = ("_end", "_f", "_h", "_hlen", "_idx", "_off", "_pkt", "_quoted", "_status")

    _pkt: Packet | None
    _idx: int
    _off: int
    _hlen: int
    _end: int
    _h: tuple[Any, ...] | None
    _f: dict[str, Any]
    _status: LayerStatus | None
    _quoted: bool

    name: ClassVar[str] = "Layer"
    #: struct byte order of the fixed header ("!" network order; "<" for BSD NULL).
    byte_order: ClassVar[str] = "!"
    #: the registry and field that say what comes next, and the value when nothing is bound.
    next_registry: ClassVar[Registry | None] = None
    next_field: ClassVar[str] = ""
    next_fallback: ClassVar[int] = 0
    checksum_field: ClassVar[str] = ""
    #: True for layers whose payload may be a quoted datagram (ICMP, ICMPv6 errors).
    may_quote: ClassVar[bool] = False
    #: the pcap link type of a packet whose first layer is this one.
    link_type: ClassVar[LinkType | None] = None
    #: fields whose change moves the layers above (lengths); ``next_field`` is one implicitly.
    structural: ClassVar[frozenset[str]] = frozenset()

    # Compiled by __init_subclass__:
    fields_desc: ClassVar[tuple[Field[Any, Any], ...]] = ()
    _struct: ClassVar[struct.Struct] = struct.Struct("!")
    _items: ClassVar[tuple[tuple[Field[Any, Any], ...], ...]] = ()
    _spans: ClassVar[tuple[tuple[int, int], ...]] = ()
    _fixed: ClassVar[tuple[Field[Any, Any], ...]] = ()
    _variable: ClassVar[tuple[Field[Any, Any], ...]] = ()
    _by_name: ClassVar[dict[str, Field[Any, Any]]] = {}
    _next_index: ClassVar[int] = -1
    _checksum_offset: ClassVar[int] = -1
    _defaults: ClassVar[dict[str, Any]] = {}
    _list_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = [value for value in vars(cls).values() if isinstance(value, Field)]
        if declared:
            compile_header(cls, declared, _LAYER_PROPERTIES)

    # -- construction --------------------------------------------------------------------
    def __init__(self, **fields: Any) -> None:
        # A built layer needs four slots; _off, _hlen, _end, _status and _quoted belong to
        # parsed layers and are never read while _h is None.
        self._pkt = None
        self._idx = 0
        self._h = None
        values: dict[str, Any] = {}
        self._f = values
        by_name = self._by_name
        for key, value in fields.items():
            field = by_name.get(key)
            if field is None:
                self._set_derived(key, value)
            elif type(value) is int and 0 <= value < field.limit:
                values[key] = value  # the common case, without a call to to_raw
            elif type(value) is str and field.memo is not None:
                raw = field.memo.get(value)  # addresses and flag letters repeat
                values[key] = raw if raw is not None else field.remember(value)
            elif value is not None:
                values[key] = field.to_raw(value)

    def _set_derived(self, key: str, value: Any) -> None:
        """A keyword that is not a wire field: a derived property such as ICMP's ``gw``."""
        if key.startswith("_") or not isinstance(getattr(type(self), key, None), property):
            raise TypeError(f"{self.name} has no field {key!r}")
        setattr(self, key, value)

    @classmethod
    def _parse(cls, pkt: Packet, idx: int, off: int, end: int, quoted: bool) -> Self:
        """Unpack the header at *off* of *pkt*'s buffer; the layer may extend up to *end*.

        Only the fixed header is unpacked here.  Lengths and status (``_decode``) wait until
        something needs them: ``_hlen`` is -1 until then.
        """
        self = _new(cls)
        self._pkt = pkt
        self._idx = idx
        self._off = off
        self._end = end
        header = cls._struct
        if end - off >= header.size:
            self._h = header.unpack_from(pkt._buf, off)
            self._hlen = -2 if quoted else -1
        else:
            self._h = cls._partial_header(pkt._buf, off, end)
            self._hlen = max(0, end - off)
            self._quoted = quoted
            self._status = None
            if not quoted:
                self._status = LayerStatus(Status.TRUNCATED, cls.name, end,
                                           f"header needs {header.size} bytes, "
                                           f"{max(0, end - off)} present")
        return self

    def _ensure(self) -> None:
        """Run ``_decode`` once (lengths, extent, status) if it has not run yet.

        Until then ``_hlen`` is -1 (or -2 for a layer inside a quoted datagram) and ``_status``
        and ``_quoted`` are not set: a layer nobody walks past costs six attribute stores.
        """
        hlen = self._hlen
        if hlen < 0 and self._pkt is not None:
            self._quoted = hlen == -2
            self._status = None
            self._decode(self._pkt._buf, self._end)

    @classmethod
    def _partial_header(cls, buf: Any, off: int, end: int) -> tuple[Any, ...]:
        """Unpack a cut header: fields that lie beyond *end* read as ``None``."""
        present = max(0, end - off)
        data = bytes(buf[off:off + present]).ljust(cls._struct.size, b"\0")
        values = list(cls._struct.unpack(data))
        for position, (start, size) in enumerate(cls._spans):
            if start + size > present:
                values[position] = None
        return tuple(values)

    # -- decoding hooks --------------------------------------------------------------------
    def _decode(self, buf: Any, end: int) -> None:
        """Set ``_hlen``, ``_end`` and (on a problem) ``_status`` from the unpacked header."""
        self._hlen = self._struct.size
        self._end = end

    def _next(self) -> NextLayer | None:
        """The class, start, end and 'unsupported' note of the next layer, or ``None``."""
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + self._hlen, self._end
        if start >= end:
            return None
        status = self._status
        if status is not None and status.kind is not Status.TRUNCATED:
            return Raw, start, end, ""  # a snaplen cut still lets the next header decode
        registry = self.next_registry
        if registry is None:
            return Raw, start, end, ""
        key = self._next_key()
        cls = registry.classes.get(key)
        if cls is None and registry.resolvers and self._pkt is not None:
            cls = registry.resolve(key, self._pkt._buf, start)
        if cls is None:
            return Raw, start, end, f"{registry.name} {key:#x} is not decoded"
        return cls, start, end, ""

    def _next_key(self) -> int:
        header = self._h
        if self._next_index >= 0 and header is not None:
            return int(header[self._next_index])
        return int(getattr(self, self.next_field))

    def _quotes_payload(self) -> bool:
        """True when the payload is a quoted datagram (ICMP errors)."""
        return False

    def _decode_variable(self, name: str) -> Any:
        raise AttributeError(name)

    def _raw_variable(self, name: str) -> Any:
        """The wire form of a variable field of a parsed layer (for materialising)."""
        return self._decode_variable(name)

    def _expected(self, name: str) -> Any:
        """What building would compute for the automatic field *name* of this parsed layer."""
        if name == self.next_field and self._pkt is not None:
            upper = self._pkt._layer_at(self._idx + 1)
            registry = self.next_registry
            if upper is not None and registry is not None:
                return registry.key_of(type(upper))
        return None

    # -- in-place edits (see Packet._write) --------------------------------------------------
    def _structural_fields(self) -> frozenset[str]:
        return self.structural | {self.next_field} if self.next_field else self.structural

    def _refresh(self) -> None:
        """Unpack the header again after the packet's buffer changed under it."""
        pkt = self._pkt
        if pkt is None or pkt._buf is None:
            return
        limit = self._off + max(self._hlen, self._struct.size)
        if len(pkt._buf) >= self._off + self._struct.size:
            self._h = self._struct.unpack_from(pkt._buf, self._off)
        else:
            self._h = self._partial_header(pkt._buf, self._off, min(limit, len(pkt._buf)))

    def _checksum_span(self) -> tuple[int, int, int] | None:
        """(checksum field offset, covered start, covered end) in the buffer, or ``None``."""
        return None

    def _pseudo_spans(self) -> list[tuple[int, int]]:
        """Buffer ranges (offset, length) that enter this layer's checksum via a pseudo-header."""
        return []

    def _adjust_checksum(self, value: int) -> int:
        """A last word on a computed checksum (UDP sends 0 as 0xFFFF)."""
        return value

    # -- field storage -------------------------------------------------------------------
    def _raw(self, field: Field[Any, Any]) -> Any:
        """The wire value of a fixed field (None when unset, auto or cut off)."""
        header = self._h
        if header is None:
            return self._f.get(field.name, field.raw_default)
        value = header[field.index]
        if field.bits and value is not None:
            return (value >> field.shift) & field.mask
        return value

    def _set_field(self, field: Field[Any, Any], raw: Any) -> None:
        if self._h is None:
            if raw is None:
                self._f.pop(field.name, None)
            else:
                self._f[field.name] = raw
            return
        if self._pkt is not None:
            self._pkt._edit_field(self, field, raw)

    def _set_variable(self, name: str, raw: Any) -> None:
        if self._h is not None and self._pkt is not None:
            self._pkt._materialize()
        if raw is None:
            self._f.pop(name, None)
        else:
            self._f[name] = raw

    def _materialized_values(self) -> dict[str, Any]:
        """The built-layer values of a parsed layer: correct auto fields become automatic."""
        self._ensure()
        values: dict[str, Any] = {}
        for field in self._fixed:
            raw = self._raw(field)
            if raw is None or (field.auto and self._expected(field.name) == raw):
                if raw is not None and field.name == self.next_field:
                    values[NEXT_FALLBACK] = raw  # if the layer above changes to an unbound one
                continue
            values[field.name] = raw
        for field in self._variable:
            raw = self._raw_variable(field.name)
            if raw is not None:
                values[field.name] = raw
        return values

    # -- building --------------------------------------------------------------------------
    def _encode_variable(self) -> bytes:
        """The bytes of the variable part that follows the fixed header (options...)."""
        return b""

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        """Values of automatic fields; subclasses add lengths and call ``super()``."""
        if not self.next_field:
            return {}
        return {self.next_field: self._auto_next(layers, index)}

    def _auto_next(self, layers: list[Layer], index: int) -> int:
        """The number that announces the layer above (``next_fallback`` when none is bound)."""
        registry = self.next_registry
        if index + 1 < len(layers) and registry is not None:
            key = registry.key_of(type(layers[index + 1]))
            if key is not None:
                return key
        return int(self._f.get(NEXT_FALLBACK, self.next_fallback))

    def _checksum(self, header: bytes, payload: bytes, layers: list[Layer],
                  index: int) -> int | None:
        return None

    def _pack(self, auto: dict[str, Any]) -> bytes:
        """Pack the fixed header: explicit values over automatic ones over defaults.

        Replaced in every compiled subclass by generated code (see ``_compile_packer``).
        """
        return b""

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        """This layer's bytes followed by *payload*, auto fields and checksum filled in."""
        var = self._encode_variable() if self._variable else b""
        header = self._pack(self.auto_values(var, payload, layers, index))
        if var:
            header += var
        name = self.checksum_field
        if name and name not in self._f:
            value = self._checksum(header, payload, layers, index)
            if value is not None:
                at = self._checksum_offset
                header = b"".join((header[:at], value.to_bytes(2, "big"), header[at + 2:]))
        return header + payload

    # -- public API ---------------------------------------------------------------------------
    @property
    def packet(self) -> Packet | None:
        """The packet this layer belongs to, if any."""
        return self._pkt

    @property
    def payload(self) -> Layer | None:
        """The next layer up, or ``None``."""
        pkt = self._pkt
        if pkt is None:
            return None
        layers = pkt._layers
        index = self._idx + 1
        if index < len(layers):
            return layers[index]
        if index == len(layers) and not pkt._complete:
            return pkt._grow()
        return pkt._layer_at(index)

    @property
    def underlayer(self) -> Layer | None:
        """The layer below, or ``None``."""
        if self._pkt is None or self._idx == 0:
            return None
        return self._pkt._layer_at(self._idx - 1)

    @property
    def parsed(self) -> bool:
        """True while the layer reads its fields from a packet buffer."""
        return self._h is not None

    @property
    def quoted(self) -> bool:
        """True for a layer inside the datagram an ICMP or ICMPv6 error quotes."""
        if self._h is None or self._pkt is None:
            return False
        self._ensure()
        return self._quoted

    @property
    def offset(self) -> int | None:
        """Byte offset of this layer in its parsed packet (``None`` for a built layer)."""
        return self._off if self._h is not None else None

    @property
    def header_len(self) -> int | None:
        """Length of this header with its options (``None`` for a built layer)."""
        if self._h is None:
            return None
        self._ensure()
        return self._hlen

    @property
    def status(self) -> LayerStatus:
        """Decoding status; a parsed layer with a checksum reports ``bad-checksum`` too."""
        if self._h is None:
            return STATUS_OK
        self._ensure()
        if self._status is not None:
            return self._status
        if self._h is not None and self.checksum_field:
            check = self.verify_checksum()
            if check is not None and check.ok is False:
                return LayerStatus(Status.BAD_CHECKSUM, self.name, check.offset,
                                   f"{self.checksum_field} 0x{check.stored:04x}, "
                                   f"expected 0x{check.expected or 0:04x}")
        return STATUS_OK

    def verify_checksum(self) -> ChecksumCheck | None:
        """Check this layer's checksum (``None`` if it has none).  Built layers are built first."""
        if not self.checksum_field:
            return None
        if self._h is None:
            return self._in_wire_form().verify_checksum()
        self._ensure()
        return self._verify()

    def _verify(self) -> ChecksumCheck | None:
        return None

    def fields(self) -> dict[str, Any]:
        """Every field as a user value, in wire order."""
        return {field.name: getattr(self, field.name) for field in self.fields_desc}

    def hidden_fields(self) -> frozenset[str]:
        """Wire fields that ``show()`` and ``to_dict()`` leave out for this message: fields
        that mean nothing for its type (ICMP's ``id``/``seq`` in a redirect)."""
        return frozenset()

    def views(self) -> dict[str, Any]:
        """What the message means where the wire fields do not say it (a redirect's ``gw``,
        an RA's flags): shown after the fields."""
        return {}

    def copy(self) -> Self:
        """A built copy, not attached to any packet."""
        clone = _new(type(self))
        clone._pkt = None
        clone._idx = 0
        clone._h = None
        if self._h is None:
            values = self._f.copy()
            for name in self._list_fields:
                if isinstance(values.get(name), list):
                    values[name] = list(values[name])
            clone._f = values
        else:
            clone._f = self._materialized_values()
        return clone

    def _in_wire_form(self) -> Layer:
        """This layer as parsed from the bytes its packet builds to (for display of built ones)."""
        if self._h is not None:
            return self
        pkt = self._pkt if self._pkt is not None else _packet_type()._from_layers([self.copy()])
        return pkt._wire_packet()._layer_at(self._idx if self._pkt is not None else 0) or self

    def _as_packet(self) -> Packet:
        return self._pkt if self._pkt is not None else _packet_type()._from_layers([self.copy()])

    def __bytes__(self) -> bytes:
        """This layer and everything above it, built in the context of the layers below."""
        if self._pkt is None:
            return self._build(b"", [self], 0)
        return self._pkt._bytes_from(self._idx)

    def __len__(self) -> int:
        return len(bytes(self))

    def __bool__(self) -> bool:
        return True  # a layer is there even when it is empty (``if pkt.getlayer(Raw):``)

    def __truediv__(self, other: Layer | Packet | bytes | bytearray | str) -> Packet:
        packet_type = _PACKET[0]
        if self._pkt is None and self._h is None and self._idx == 0:
            if type(other) is bytes:
                other = _raw_of(other)
            if isinstance(other, Layer) and other._pkt is None and other._h is None \
                    and other._idx == 0:
                # Two fresh layers, the usual start of a composition: Packet._from_layers,
                # inlined.  No back-reference yet: a layer -> packet -> layer cycle would
                # leave every built packet to the cyclic garbage collector.
                pkt = _new(packet_type)
                pkt._buf = None
                pkt._layers = [self, other]
                pkt._complete = True
                pkt._first = type(self)
                pkt._link = self.link_type
                pkt._state = 0
                self._idx = other._idx = CLAIMED
                return pkt
        return packet_type._compose(self, other)

    def __rtruediv__(self, other: bytes | bytearray) -> Packet:
        return _packet_type()._compose(Raw(load=bytes(other)), self)

    def __iter__(self) -> Iterator[Layer]:
        """Iterate over this layer and the layers above it."""
        layer: Layer | None = self
        while layer is not None:
            yield layer
            layer = layer.payload

    def summary(self) -> str:
        """The tcpdump-style line of the packet this layer belongs to."""
        return self._as_packet().summary()

    def show_text(self) -> str:
        """The multi-line breakdown of this layer's packet."""
        return self._as_packet().show_text()

    def show(self) -> None:
        print(self.show_text())

    def hexdump(self) -> str:
        return self._as_packet().hexdump()

    def to_dict(self) -> dict[str, Any]:
        return self._as_packet().to_dict()

    def brief(self) -> str:
        """A few words about this layer alone (used by ``repr``)."""
        parts = []
        for field in self.fields_desc:
            if self._h is None and field.name not in self._f:
                continue
            raw = self._raw(field) if field.fixed else getattr(self, field.name)
            if raw is not None:
                value = field.to_user(raw) if field.fixed else raw
                parts.append(f"{field.name}={value!r}" if isinstance(value, str)
                             else f"{field.name}={value}")
        return " ".join(parts)

    def __repr__(self) -> str:
        brief = self.brief()
        return f"<{self.name}{' ' + brief if brief else ''}>"


_LAYER_PROPERTIES = frozenset(name for name, value in vars(Layer).items()
                               if isinstance(value, property))


class LoadField(VarField[bytes, "bytes | bytearray | memoryview | str"]):
    """Payload bytes; a ``str`` is encoded as UTF-8."""

    def to_raw(self, value: Any) -> bytes:
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        raise FieldValueError(f"{self.name} must be bytes or str, not {type(value).__name__}")

    def text(self, raw: Any) -> str:
        data = bytes(raw or b"")
        more = f"... ({len(data)} bytes)" if len(data) > 48 else ""
        return repr(data[:48]) + more


class Raw(Layer):
    """Bytes that no decoder claims: an application payload, or an unsupported protocol."""

    __slots__ = ()
    name = "Raw"
    load = LoadField(b"")

    def _decode(self, buf: Any, end: int) -> None:
        self._hlen = max(0, end - self._off)
        self._end = end

    def _next(self) -> NextLayer | None:
        return None

    def _decode_variable(self, name: str) -> Any:
        if self._pkt is None or self._pkt._buf is None:
            return b""
        self._ensure()
        return bytes(self._pkt._buf[self._off:self._end])

    def view(self) -> memoryview:
        """The payload without copying (a parsed layer's slice of the packet buffer)."""
        if self._h is not None and self._pkt is not None and self._pkt._buf is not None:
            self._ensure()
            return memoryview(self._pkt._buf)[self._off:self._end]
        return memoryview(self.load)

    def _encode_variable(self) -> bytes:
        return bytes(self._f.get("load", b""))

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        load: bytes = self._f.get("load", b"")
        return load + payload if payload else load

    def brief(self) -> str:
        data = self.load
        return f"load={data[:16]!r}{'...' if len(data) > 16 else ''} ({len(data)} bytes)"


def _raw_of(data: bytes) -> Raw:
    """``Raw(load=data)`` for exact ``bytes``, without keyword handling (composition's path)."""
    layer = _new(Raw)
    layer._pkt = None
    layer._idx = 0
    layer._h = None
    layer._f = {"load": data}
    return layer


class Padding(Raw):
    """Bytes after the end the length fields announce (Ethernet's minimum-frame padding)."""

    __slots__ = ()
    name = "Padding"
