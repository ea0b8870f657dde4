"""IPv4 (RFC 791) with options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from wirekit.packet.checksum import internet_checksum
from wirekit.packet.fields import AUTO, Bits, FlagBits, IPv4Field, UInt8, UInt16, VarField
from wirekit.packet.layer import NEXT_FALLBACK, Layer, NextLayer, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.registry import (
    ADDRESS_FAMILIES,
    ETHERTYPES,
    IP_PROTOCOLS,
    LINK_TYPES,
    LLC_SAPS,
)
from wirekit.packet.status import ChecksumCheck, FieldValueError, LayerStatus, Status

_OPTION_NAMES = {
    0: "EOL", 1: "NOP", 7: "RR", 68: "TS", 130: "SEC", 131: "LSRR", 133: "ESEC", 136: "SID",
    137: "SSRR", 148: "RA", 82: "TR", 25: "QS",
}
_OPTION_NUMBERS = {name: number for number, name in _OPTION_NAMES.items()}


class IPv4Flags(int):
    """The three IPv4 flag bits; ``str()`` is Scapy's form (``"DF"``, ``"MF+DF"``)."""

    __slots__ = ()
    _NAMES = ((1, "MF"), (2, "DF"), (4, "evil"))

    @classmethod
    def parse(cls, text: str) -> int:
        value = 0
        for part in text.replace("+", " ").replace(",", " ").split():
            names = {name: bit for bit, name in cls._NAMES}
            if part not in names:
                raise FieldValueError(f"unknown IPv4 flag {part!r} (use MF, DF, evil)")
            value |= names[part]
        return value

    def __str__(self) -> str:
        return "+".join(name for bit, name in self._NAMES if self & bit)

    def __repr__(self) -> str:
        return f"<IPv4Flags {int(self)} ({self})>"

    @property
    def DF(self) -> bool:
        return bool(self & 2)

    @property
    def MF(self) -> bool:
        return bool(self & 1)


@dataclass(frozen=True, slots=True)
class IPv4Option:
    """One IPv4 option (RFC 791 section 3.1): its type octet and its data (after type/length)."""

    type: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return _OPTION_NAMES.get(self.type, f"opt-{self.type}")

    @property
    def copied(self) -> bool:
        """The copied flag: the option is repeated in every fragment."""
        return bool(self.type & 0x80)

    def encode(self) -> bytes:
        if self.type in (0, 1):
            return bytes([self.type])
        return bytes([self.type, len(self.data) + 2]) + self.data

    @classmethod
    def router_alert(cls) -> IPv4Option:
        """Router Alert (RFC 2113), as IGMP and RSVP use it."""
        return cls(148, b"\0\0")


def decode_ipv4_options(data: bytes) -> list[IPv4Option]:
    """The options in *data*; a malformed tail is kept as one option with the raw bytes."""
    options: list[IPv4Option] = []
    position = 0
    while position < len(data):
        kind = data[position]
        if kind in (0, 1):
            options.append(IPv4Option(kind))
            position += 1
            if kind == 0:
                break
            continue
        length = data[position + 1] if position + 1 < len(data) else 0
        if length < 2 or position + length > len(data):
            options.append(IPv4Option(kind, bytes(data[position + 1:])))
            break
        options.append(IPv4Option(kind, bytes(data[position + 2:position + length])))
        position += length
    return options


#: Loose and strict source route (RFC 791 section 3.1); either may appear once.
_SOURCE_ROUTES = (131, 137)
#: A source route with one address: type, length, pointer and four bytes.
_MIN_ROUTE_LENGTH = 7


def final_hop_offset(options: bytes) -> int | None:
    """Where in *options* the final destination of the source route sits, or ``None``.

    With a loose or strict source route the IP destination is the next hop and the route's last
    address is where the datagram finally goes; the TCP and UDP pseudo-headers carry that one
    (RFC 1122 section 4.2.2.5 via RFC 793's "destination"; Linux, tcpdump's ``ip_finddst`` and
    Scapy's ``in4_pseudoheader`` agree).  A malformed list, no route or more than one (not
    allowed by RFC 791) gives ``None``: the IP destination, as Scapy falls back to.
    """
    found: int | None = None
    routes = 0
    position = 0
    while position < len(options):
        kind = options[position]
        if kind == 0:
            break
        if kind == 1:
            position += 1
            continue
        length = options[position + 1] if position + 1 < len(options) else 0
        if length < 2 or position + length > len(options):
            break
        if kind in _SOURCE_ROUTES:
            routes += 1
            if length >= _MIN_ROUTE_LENGTH:
                found = position + length - 4
        position += length
    return found if routes == 1 else None


def encode_ipv4_options(options: list[IPv4Option] | bytes) -> bytes:
    """Option bytes padded with zeros (EOL) to a multiple of 4."""
    data = options if isinstance(options, bytes) else b"".join(o.encode() for o in options)
    return data + b"\0" * (-len(data) % 4)


OptionsInput: TypeAlias = "list[IPv4Option | tuple[Any, Any] | str] | bytes"


class IPv4OptionsField(VarField[list[IPv4Option], OptionsInput]):
    """IPv4 options: a list of :class:`IPv4Option` (or raw bytes when set so)."""

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        options = []
        for item in value:
            if isinstance(item, IPv4Option):
                options.append(item)
            elif isinstance(item, str) and item in _OPTION_NUMBERS:
                options.append(IPv4Option(_OPTION_NUMBERS[item]))
            elif isinstance(item, tuple) and len(item) == 2:
                kind = _OPTION_NUMBERS.get(item[0], item[0]) if isinstance(item[0], str) \
                    else item[0]
                options.append(IPv4Option(int(kind), bytes(item[1] or b"")))
            else:
                raise FieldValueError(f"not an IPv4 option: {item!r}")
        if len(encode_ipv4_options(options)) > 40:
            raise FieldValueError("IPv4 options exceed 40 bytes")
        return options

    def make_getter(self) -> Any:
        def get_options(layer: Layer) -> list[IPv4Option]:
            if layer._h is None:
                value = layer._f.get("options", [])
                return decode_ipv4_options(value) if isinstance(value, bytes) else list(value)
            return decode_ipv4_options(layer._raw_variable("options"))

        return get_options


class IPv4(Layer):
    """IPv4 header (RFC 791 section 3.1)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |Version|  IHL  |Type of Service|          Total Length         |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |         Identification        |Flags|      Fragment Offset    |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |  Time to Live |    Protocol   |         Header Checksum       |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                       Source Address                          |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                    Destination Address                        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                    Options                    |    Padding    |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Automatic: ``ihl``, ``len``, ``proto``, ``chksum``.  ``frag`` counts 8-byte units.
    """

    __slots__ = ()
    name = "IPv4"
    next_registry = IP_PROTOCOLS
    next_field = "proto"
    checksum_field = "chksum"
    link_type = LinkType.RAW
    structural = frozenset({"ihl", "len", "frag", "flags"})

    version = Bits(4, 4)
    ihl = Bits(4, AUTO)
    tos = UInt8(0, hex=True)
    len = UInt16(AUTO)
    id = UInt16(1)
    flags = FlagBits(3, 0, IPv4Flags)
    frag = Bits(13, 0)
    ttl = UInt8(64)
    proto = UInt8(AUTO, names=IP_PROTOCOLS.names)
    chksum = UInt16(AUTO, hex=True)
    src = IPv4Field("127.0.0.1")
    dst = IPv4Field("127.0.0.1")
    options = IPv4OptionsField([])

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        off = self._off
        if header is None:
            return
        if header[0] == 0x45 and header[2] >= 20 and off + header[2] <= end:  # common case
            self._hlen, self._end = 20, off + header[2]
            return
        hlen = (header[0] & 15) * 4
        total = header[2]
        self._hlen, self._end = max(hlen, 20), end
        if header[0] >> 4 != 4:
            self._fail(Status.MALFORMED, off, f"version {header[0] >> 4} is not 4")
        elif hlen < 20:
            self._fail(Status.MALFORMED, off, f"IHL {hlen // 4} ({hlen} bytes) is below 5")
        elif off + hlen > end:
            self._hlen = end - off
            self._fail(Status.TRUNCATED, end, f"options need {hlen} header bytes, "
                                              f"{end - off} present")
        elif total == 0:
            pass  # TCP segmentation offload leaves 0 here; the payload is the rest (as dpkt does)
        elif total < hlen:
            self._fail(Status.MALFORMED, off + 2, f"total length {total} is shorter than the "
                                                  f"{hlen}-byte header")
        elif off + total > end:
            if not self._quoted:
                self._fail(Status.TRUNCATED, end, f"total length {total} exceeds the "
                                                  f"{end - off} bytes present")
        else:
            self._end = off + total

    def _fail(self, kind: Status, offset: int, reason: str) -> None:
        self._status = LayerStatus(kind, self.name, offset, reason)

    def _next(self) -> NextLayer | None:
        header = self._h
        if header is None:
            return None
        hlen = self._hlen
        if hlen < 0:  # _ensure and _decode, inlined for the common case
            off = self._off
            if header[0] == 0x45 and header[2] >= 20 and off + header[2] <= self._end:
                self._quoted = hlen == -2
                self._status = None
                self._hlen, self._end = 20, off + header[2]
            else:
                self._ensure()
        start, end = self._off + self._hlen, self._end
        if start >= end:
            return None
        status = self._status
        if (status is not None and status.kind is not Status.TRUNCATED) or header is None \
                or header[4] & 0x1FFF:
            return Raw, start, end, ""  # malformed, or a later fragment: no upper header
        cls = _PROTOCOL_CLASSES.get(header[6])
        if cls is not None:
            return cls, start, end, ""
        if IP_PROTOCOLS.resolvers and self._pkt is not None:
            cls = IP_PROTOCOLS.resolve(header[6], self._pkt._buf, start)
        if cls is None:
            return Raw, start, end, f"IP protocol {header[6]} is not decoded"
        return cls, start, end, ""

    def _raw_variable(self, name: str) -> Any:
        if self._pkt is None or self._h is None:
            return b""
        self._ensure()
        return bytes(self._pkt._buf[self._off + 20:self._off + self._hlen])

    def _encode_variable(self) -> bytes:
        options = self._f.get("options")
        return encode_ipv4_options(options) if options else b""

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        """Layer._build specialised (the build benchmark's hot path; same result)."""
        values = self._f
        options = values.get("options")
        var = encode_ipv4_options(options) if options else b""
        size = 20 + len(var)
        proto = values.get("proto")
        if proto is None:
            proto = _KEY_OF(type(layers[index + 1])) if index + 1 < len(layers) else None
            if proto is None:
                proto = values.get(NEXT_FALLBACK, 0)
        header = self._pack({"ihl": size >> 2, "len": (size + len(payload)) & 0xFFFF,
                             "proto": proto})
        if var:
            header += var
        if "chksum" not in values:
            total = int.from_bytes(header, "big") % 0xFFFF or 0xFFFF  # RFC 1071, see checksum.py
            header = b"".join((header[:10], (~total & 0xFFFF).to_bytes(2, "big"), header[12:]))
        return header + payload

    # -- parsed-layer checks -------------------------------------------------------------
    def _header_bytes(self) -> bytes | None:
        pkt = self._pkt
        if pkt is None or self._h is None or self._hlen < 20:
            return None
        data = pkt._buf[self._off:self._off + self._hlen]
        return bytes(data) if len(data) == self._hlen else None

    def _verify(self) -> ChecksumCheck | None:
        header = self._header_bytes()
        stored = self._h[7] if self._h is not None else None
        if header is None or stored is None:
            return ChecksumCheck(self.name, self._idx, self._off + 10, stored or 0, None, None,
                                 "header not complete")
        if self._quoted:
            return ChecksumCheck(self.name, self._idx, self._off + 10, stored, None, None,
                                 "quoted datagram, not checked")
        expected = internet_checksum(header[:10] + b"\0\0" + header[12:])
        return ChecksumCheck(self.name, self._idx, self._off + 10, stored, expected,
                             stored == expected)

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "chksum":
            check = self._verify()
            return check.expected if check is not None else None
        if name == "ihl":
            return self._hlen // 4
        if name == "len":
            status = self._status
            return self._end - self._off if status is None else None
        return super()._expected(name)

    def _checksum_span(self) -> tuple[int, int, int] | None:
        self._ensure()
        if self._h is None or self._h[7] is None or self._hlen < 20:
            return None
        return self._off + 10, self._off, self._off + self._hlen

    # -- pseudo-header for TCP/UDP above ---------------------------------------------------
    def address_spans(self) -> list[tuple[int, int]]:
        """Buffer ranges of the addresses that enter an upper checksum's pseudo-header."""
        final = self.final_destination()
        at = final[1] if final is not None else 16
        return [(self._off + 12, 4), (self._off + at, 4)]

    def pseudo_addresses(self) -> tuple[bytes | None, bytes | None]:
        """Source and destination as 4 bytes each: with a source route, its final destination
        (see :func:`final_hop_offset`)."""
        header = self._h
        final = self.final_destination()
        if header is not None:
            return header[8], header[9] if final is None else final[0]
        values = self._f
        return values.get("src", _LOOPBACK), \
            values.get("dst", _LOOPBACK) if final is None else final[0]

    def final_destination(self) -> tuple[bytes, int] | None:
        """The last address of the source route and its offset in the header, or ``None``."""
        header = self._h
        if header is not None:
            if header[0] is None or header[0] & 15 <= 5:
                return None  # no options: the common case, without a look at the buffer
            options = self._raw_variable("options")
        else:
            value = self._f.get("options")
            if not value:
                return None
            options = encode_ipv4_options(value)
        at = final_hop_offset(options)
        return None if at is None else (bytes(options[at:at + 4]), 20 + at)

    @property
    def is_fragment(self) -> bool:
        """True for any fragment (MF set or a nonzero offset)."""
        return bool(self.flags & 1 or self.frag)



IP = IPv4
_KEY_OF = IP_PROTOCOLS._keys.get
_LOOPBACK = b"\x7f\0\0\x01"
_PROTOCOL_CLASSES = IP_PROTOCOLS.classes  # the registry's own dict, read on the hot path


def _ip_by_version(buffer: Any, offset: int) -> type[Layer] | None:
    """Raw IP link type: the version nibble picks IPv4 or IPv6."""
    if len(buffer) <= offset:
        return None
    version = buffer[offset] >> 4
    if version == 4:
        return IPv4
    if version == 6:
        from wirekit.packet.ipv6 import IPv6

        return IPv6
    return None


ETHERTYPES.register(0x0800, IPv4)
# RFC 948 style: IP in IEEE 802.2 UI frames between the IP SAPs (6), no SNAP header.
LLC_SAPS.register(0x06, IPv4)
IP_PROTOCOLS.register(4, IPv4)
LINK_TYPES.register(LinkType.RAW, _ip_by_version)
LINK_TYPES.register(LinkType.IPV4, IPv4)
ADDRESS_FAMILIES.register(2, IPv4)
