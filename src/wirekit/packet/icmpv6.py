"""ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861): echo, errors quoting the offending
packet, router/neighbor solicitation and advertisement, redirect, and their options."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from wirekit.packet.checksum import checksum_with_pseudo, internet_checksum
from wirekit.packet.fields import AUTO, UInt8, UInt16, VarField, ipv6_to_bytes, mac_to_bytes
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.registry import ICMPV6_QUOTES, IP_PROTOCOLS
from wirekit.packet.status import ChecksumCheck, FieldValueError
from wirekit.packet.transport import checksum_span, pseudo_header, pseudo_spans, verify_transport

ICMPV6_PROTOCOL = 58
ICMPV6_TYPES = {1: "dest-unreach", 2: "packet-too-big", 3: "time-exceeded",
                4: "parameter-problem", 128: "echo-request", 129: "echo-reply",
                130: "mld-query", 131: "mld-report", 132: "mld-done", 133: "router-solicitation",
                134: "router-advertisement", 135: "neighbor-solicitation",
                136: "neighbor-advertisement", 137: "redirect", 143: "mldv2-report"}
#: Bytes of message body before the options, for the ND messages (RFC 4861 section 4).
ND_BODY = {133: 0, 134: 8, 135: 16, 136: 16, 137: 32}
ND_OPTION_NAMES = {1: "source-lladdr", 2: "target-lladdr", 3: "prefix-info",
                   4: "redirected-header", 5: "mtu", 25: "rdnss", 31: "dnssl"}
_PREFIX = struct.Struct("!BBIII16s")


@dataclass(frozen=True, slots=True)
class NDOption:
    """One Neighbor Discovery option (RFC 4861 section 4.6): type and data (after type and
    length; the length is implied, in units of 8 bytes with the 2-byte header)."""

    type: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return ND_OPTION_NAMES.get(self.type, f"opt-{self.type}")

    @property
    def lladdr(self) -> str | None:
        """The link-layer address of a source/target link-layer address option."""
        if self.type in (1, 2):
            return self.data[:6].hex(":") if len(self.data) >= 6 else self.data.hex(":")
        return None

    @property
    def mtu(self) -> int | None:
        return int.from_bytes(self.data[2:6], "big") if self.type == 5 and len(self.data) >= 6 \
            else None

    @property
    def prefix(self) -> tuple[str, int] | None:
        """(prefix, prefix length) of a prefix information option."""
        if self.type != 3 or len(self.data) < _PREFIX.size:
            return None
        length, _flags, _valid, _preferred, _reserved, prefix = _PREFIX.unpack_from(self.data)
        return socket.inet_ntop(socket.AF_INET6, prefix), length

    @property
    def details(self) -> dict[str, Any]:
        """The option's contents by name (link-layer address, prefix, MTU), for display."""
        if self.lladdr is not None:
            return {"lladdr": self.lladdr}
        if self.mtu is not None:
            return {"mtu": self.mtu}
        if self.prefix is not None:
            length, flags, valid, preferred, _reserved, _prefix = _PREFIX.unpack_from(self.data)
            return {"prefix": self.prefix[0], "prefixlen": length, "onlink": bool(flags & 0x80),
                    "autonomous": bool(flags & 0x40), "valid": valid, "preferred": preferred}
        return {}

    def __str__(self) -> str:
        """tcpdump -v's reading, shortened: ``source-lladdr 02:00:00:00:00:01``."""
        details = self.details
        if "prefix" in details:
            return (f"{self.name} {details['prefix']}/{details['prefixlen']} valid "
                    f"{details['valid']} preferred {details['preferred']}")
        if details:
            return f"{self.name} {next(iter(details.values()))}"
        return f"{self.name} {self.data.hex()}" if self.data else self.name

    def encode(self) -> bytes:
        size = 2 + len(self.data)
        padded = self.data + b"\0" * (-size % 8)
        return bytes([self.type, (size + 7) // 8]) + padded

    @classmethod
    def source_lladdr(cls, mac: str | bytes) -> NDOption:
        return cls(1, mac_to_bytes(mac, "lladdr"))

    @classmethod
    def target_lladdr(cls, mac: str | bytes) -> NDOption:
        return cls(2, mac_to_bytes(mac, "lladdr"))

    @classmethod
    def mtu_option(cls, mtu: int) -> NDOption:
        return cls(5, b"\0\0" + mtu.to_bytes(4, "big"))

    @classmethod
    def prefix_info(cls, prefix: str, prefixlen: int = 64, *, onlink: bool = True,
                    autonomous: bool = True, valid: int = 0xFFFFFFFF,
                    preferred: int = 0xFFFFFFFF) -> NDOption:
        flags = (0x80 if onlink else 0) | (0x40 if autonomous else 0)
        return cls(3, _PREFIX.pack(prefixlen, flags, valid, preferred, 0,
                                   ipv6_to_bytes(prefix, "prefix")))


def decode_nd_options(data: bytes) -> list[NDOption]:
    """The options in *data*; a zero length or one past the end ends the list with the rest."""
    options: list[NDOption] = []
    position = 0
    while position + 2 <= len(data):
        kind, units = data[position], data[position + 1]
        if units == 0 or position + units * 8 > len(data):
            options.append(NDOption(kind, bytes(data[position + 2:])))
            break
        options.append(NDOption(kind, bytes(data[position + 2:position + units * 8])))
        position += units * 8
    return options


class NDOptionsField(VarField[list[NDOption], "list[NDOption] | bytes"]):
    """Neighbor Discovery options: a list of :class:`NDOption`, or raw bytes."""

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        options = list(value)
        if not all(isinstance(option, NDOption) for option in options):
            raise FieldValueError("options must be NDOption values")
        return options

    def make_getter(self) -> Any:
        def get_options(layer: Layer) -> list[NDOption]:
            value = layer._f.get("options", []) if layer._h is None \
                else layer._decode_variable("options")
            return decode_nd_options(value) if isinstance(value, bytes) else list(value)

        return get_options


class BodyAddressField(VarField[str | None, "str | bytes"]):
    """An IPv6 address in the message body (``tgt`` of NS/NA/redirect, ``dst`` of redirect)."""

    def __init__(self, at: int) -> None:
        super().__init__(None)
        self.at = at

    def to_raw(self, value: Any) -> bytes:
        return ipv6_to_bytes(value, self.name)

    def make_getter(self) -> Any:
        name = self.name

        def get_address(layer: Layer) -> str | None:
            raw = layer._f.get(name) if layer._h is None else layer._decode_variable(name)
            if raw is None or len(raw) != 16:
                return None
            return socket.inet_ntop(socket.AF_INET6, raw)

        return get_address

    def text(self, raw: Any) -> str:
        return "None" if raw is None else socket.inet_ntop(socket.AF_INET6, raw)


class BodyIntField(VarField[int | None, int]):
    """A 32-bit integer in the body (``reachabletime``, ``retranstimer`` of an RA)."""

    def __init__(self, at: int) -> None:
        super().__init__(None)
        self.at = at

    def to_raw(self, value: Any) -> int:
        if not isinstance(value, int) or not 0 <= value < 1 << 32:
            raise FieldValueError(f"{self.name} must be a 32-bit unsigned integer")
        return value

    def make_getter(self) -> Any:
        name = self.name

        def get_number(layer: Layer) -> int | None:
            if layer._h is None:
                kind = layer._f.get("type", 128)
                return int(layer._f.get(name, 0)) if kind == 134 else None
            value = layer._decode_variable(name)
            return None if value is None else int(value)

        return get_number


def _word_bits(shift: int, width: int, types: tuple[int, ...], doc: str) -> property:
    """A view of bits of the second word (``id`` << 16 | ``seq``), meaningful for *types*."""
    mask = (1 << width) - 1

    def get(layer: ICMPv6) -> int | None:
        if layer.type not in types:
            return None
        return ((layer.id or 0) << 16 | (layer.seq or 0)) >> shift & mask

    def set_(layer: ICMPv6, value: int) -> None:
        word = (layer.id or 0) << 16 | (layer.seq or 0)
        word = (word & ~(mask << shift)) | ((int(value) & mask) << shift)
        layer.id, layer.seq = word >> 16, word & 0xFFFF

    return property(get, set_, doc=doc)


class ICMPv6(Layer):
    """ICMPv6 message (RFC 4443 section 2.1)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |     Type      |     Code      |          Checksum             |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |   Identifier / 32 bits that depend on the type  |  Sequence   |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                 Message body (type-dependent)                 |

    One class for every type, as the codec's API promises; the second word reads as ``id`` and
    ``seq`` (echo) or through views: ``mtu`` (packet too big), ``ptr`` (parameter problem),
    ``R``/``S``/``O`` (NA), ``chlim``/``M``/``O``/``H``/``prf``/``routerlifetime`` (RA).
    The body holds ``tgt`` (NS, NA, redirect), ``dst`` (redirect), ``reachabletime`` and
    ``retranstimer`` (RA), and ``options`` (RS, RA, NS, NA, redirect).  An error (types 1-4)
    carries the offending packet, decoded as the layers that follow.  Automatic: ``chksum``
    (also readable as Scapy's ``cksum``).
    """

    __slots__ = ()
    name = "ICMPv6"
    checksum_field = "chksum"
    may_quote = True
    structural = frozenset({"type"})

    type = UInt8(128, names=ICMPV6_TYPES)
    code = UInt8(0)
    chksum = UInt16(AUTO, hex=True)
    id = UInt16(0)
    seq = UInt16(0)
    tgt = BodyAddressField(0)
    dst = BodyAddressField(16)
    reachabletime = BodyIntField(0)
    retranstimer = BodyIntField(4)
    options = NDOptionsField([])

    mtu = _word_bits(0, 32, (2,), "MTU of a packet-too-big message.")
    ptr = _word_bits(0, 32, (4,), "Pointer of a parameter-problem message.")
    R = _word_bits(31, 1, (136,), "Router flag of a neighbor advertisement.")
    S = _word_bits(30, 1, (136,), "Solicited flag of a neighbor advertisement.")
    chlim = _word_bits(24, 8, (134,), "Cur hop limit of a router advertisement.")
    M = _word_bits(23, 1, (134,), "Managed flag of a router advertisement.")
    H = _word_bits(21, 1, (134,), "Home agent flag of a router advertisement.")
    prf = _word_bits(19, 2, (134,), "Router preference (RFC 4191) of an RA.")
    routerlifetime = _word_bits(0, 16, (134,), "Router lifetime of an RA, seconds.")

    @property
    def O(self) -> int | None:  # noqa: E743 - the flag's name in RFC 4861
        """Override flag (NA) or other-configuration flag (RA)."""
        shift = {136: 29, 134: 22}.get(self.type or 0)
        if shift is None:
            return None
        return ((self.id or 0) << 16 | (self.seq or 0)) >> shift & 1

    @O.setter
    def O(self, value: int) -> None:  # noqa: E743
        shift = {136: 29, 134: 22}.get(self.type or 0)
        if shift is None:
            raise FieldValueError("O is a flag of neighbor and router advertisements only")
        word = (self.id or 0) << 16 | (self.seq or 0)
        word = (word & ~(1 << shift)) | ((int(value) & 1) << shift)
        self.id, self.seq = word >> 16, word & 0xFFFF

    def hidden_fields(self) -> frozenset[str]:
        return _HIDDEN.get(self.type or 0, _HIDDEN_OTHER)

    def views(self) -> dict[str, Any]:
        """The second word as the type reads it (RFC 4443, RFC 4861, RFC 4191)."""
        kind = self.type
        if kind == 2:
            return {"mtu": self.mtu}
        if kind == 4:
            return {"ptr": self.ptr}
        if kind == 136:
            return {"R": self.R, "S": self.S, "O": self.O}
        if kind == 134:
            return {"chlim": self.chlim, "M": self.M, "O": self.O, "H": self.H,
                    "prf": self.prf, "routerlifetime": self.routerlifetime}
        if kind in (1, 3, 133, 135, 137) and self.seq is not None:
            return {"reserved": (self.id or 0) << 16 | self.seq}
        return {}

    @property
    def cksum(self) -> int | None:
        """Scapy's name for ``chksum``."""
        return self.chksum

    @cksum.setter
    def cksum(self, value: int | None) -> None:
        self.chksum = value

    # -- decoding --------------------------------------------------------------------------
    def _quotes_payload(self) -> bool:
        header = self._h
        return header is not None and header[0] in ICMPV6_QUOTES.classes

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        self._end = end
        kind = header[0] if header is not None else 0
        # ND messages end with their options: the whole message is this layer's header.
        self._hlen = end - self._off if kind in ND_BODY else 8

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + self._hlen, self._end
        if start >= end:
            return None
        header = self._h
        cls = ICMPV6_QUOTES.classes.get(header[0]) if header is not None else None
        return (cls or Raw), start, end, ""

    def _body(self) -> bytes:
        pkt = self._pkt
        if pkt is None or pkt._buf is None:
            return b""
        self._ensure()
        return bytes(pkt._buf[self._off + 8:self._end])

    def _decode_variable(self, name: str) -> Any:
        kind = self._h[0] if self._h is not None else 0
        body = self._body()
        if name == "options":
            return body[ND_BODY[kind]:] if kind in ND_BODY else b""
        if name == "tgt":
            return body[:16] if kind in (135, 136, 137) else None
        if name == "dst":
            return body[16:32] if kind == 137 else None
        at = 0 if name == "reachabletime" else 4
        return int.from_bytes(body[at:at + 4], "big") if kind == 134 and len(body) >= 8 \
            else None

    def _raw_variable(self, name: str) -> Any:
        return self._decode_variable(name)

    def _encode_variable(self) -> bytes:
        values = self._f
        kind = values.get("type", 128)
        if kind not in ND_BODY:
            return b""
        if kind == 134:
            body = struct.pack("!II", values.get("reachabletime", 0), values.get("retranstimer", 0))
        else:
            body = values.get("tgt", bytes(16)) if kind != 133 else b""
            if kind == 137:
                body += values.get("dst", bytes(16))
        options = values.get("options", [])
        encoded = options if isinstance(options, bytes) else b"".join(o.encode() for o in options)
        return body + encoded

    def _checksum(self, header: bytes, payload: bytes, layers: list[Layer],
                  index: int) -> int | None:
        message = header + payload
        pseudo = pseudo_header(layers, index, ICMPV6_PROTOCOL, len(message))
        if pseudo is None:  # no IPv6 below: checksum the message alone, as Scapy does
            return internet_checksum(message)
        return checksum_with_pseudo(pseudo, message)

    def _verify(self) -> ChecksumCheck | None:
        return verify_transport(self, 2, ICMPV6_PROTOCOL)

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "chksum":
            check = self._verify()
            return check.expected if check is not None else None
        return super()._expected(name)

    def _checksum_span(self) -> tuple[int, int, int] | None:
        return checksum_span(self, 2)

    def _pseudo_spans(self) -> list[tuple[int, int]]:
        return pseudo_spans(self)



IP_PROTOCOLS.register(ICMPV6_PROTOCOL, ICMPv6)


_WORD = frozenset({"id", "seq"})
_BODY = frozenset({"tgt", "dst", "reachabletime", "retranstimer", "options"})
#: Per type, the wire fields that mean nothing for it (see ``ICMPv6.hidden_fields``).
_HIDDEN: dict[int, frozenset[str]] = {
    128: _BODY, 129: _BODY,
    133: _WORD | {"tgt", "dst", "reachabletime", "retranstimer"},
    134: _WORD | {"tgt", "dst"},
    135: _WORD | {"dst", "reachabletime", "retranstimer"},
    136: _WORD | {"dst", "reachabletime", "retranstimer"},
    137: _WORD | {"reachabletime", "retranstimer"},
    **dict.fromkeys((1, 2, 3, 4), _WORD | _BODY),
}
_HIDDEN_OTHER = _BODY


def _bind_quotes() -> None:
    from wirekit.packet.ipv6 import IPv6

    for kind in (1, 2, 3, 4):
        ICMPV6_QUOTES.register(kind, IPv6, build=False)


_bind_quotes()
