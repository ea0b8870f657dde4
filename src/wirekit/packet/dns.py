"""DNS messages (RFC 1035 section 4), over UDP port 53.

The 12-byte header is a fixed header like any other; the four sections (questions, answers,
authority and additional records) decode lazily, each time ``qd``, ``an``, ``ns`` or ``ar`` is
read.  Names follow compression pointers (RFC 1035 section 4.1.4) only backwards, the way BIND
and tcpdump accept them, so every walk ends; each decoded name is remembered by offset, so a
message costs time in proportion to its size however its pointers chain.  Tolerant decoding
never raises: a bad message keeps what decoded before the problem and reports it in
``status`` (``parse(..., strict=True)`` raises :class:`~wirekit.errors.DecodeError`).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from wirekit.packet.fields import AUTO, Bits, UInt16, VarField
from wirekit.packet.layer import Layer, NextLayer
from wirekit.packet.registry import UDP_PORTS
from wirekit.packet.status import FieldValueError, LayerStatus, Status

if TYPE_CHECKING:
    from wirekit.packet.packet import Packet

DNS_PORT = 53
#: RFC 1035 section 4.1.1.
HEADER_LEN = 12
#: RFC 1035 section 3.1: a name is at most 255 octets, a label at most 63.
MAX_NAME, MAX_LABEL = 255, 63
#: Pointers one name may follow (a 255-octet name has at most 127 labels to point at).
MAX_POINTERS = 127
TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_DNAME = 1, 2, 5, 12, 16, 28, 39
TYPE_OPT = 41
_NAME_TYPES = frozenset({TYPE_NS, TYPE_CNAME, TYPE_PTR, TYPE_DNAME})


class DNSQR(NamedTuple):
    """A question (RFC 1035 section 4.1.2); Scapy's field names."""

    qname: str = "."
    qtype: int = TYPE_A
    qclass: int = 1


class DNSRR(NamedTuple):
    """A resource record (RFC 1035 section 4.1.3).  ``rdata``: an address (A, AAAA), a name
    (NS, CNAME, PTR, DNAME), a list of byte strings (TXT), or the raw bytes of other types.
    An OPT record (RFC 6891 section 6.1.2) keeps the UDP payload size in ``rclass`` and the
    extended RCODE, version and flags in ``ttl``."""

    rrname: str = "."
    type: int = TYPE_A
    rclass: int = 1
    ttl: int = 0
    rdata: Any = b""


class _Bad(Exception):
    """The message does not decode; *cut*: it runs past the captured bytes."""

    def __init__(self, offset: int, reason: str, cut: bool) -> None:
        super().__init__(reason)
        self.offset, self.reason, self.cut = offset, reason, cut


# -- names (RFC 1035 sections 3.1 and 4.1.4) ------------------------------------------------

class _Names:
    """Decodes the names of one message, remembering each by offset."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.seen: dict[int, tuple[str, int]] = {}  # offset -> (name, wire octets)

    def read(self, at: int, hops: int = 0) -> tuple[str, int]:
        """The name at *at* and where the field after it starts; *hops*: pointers followed
        to get here (bounded, as each costs a frame of recursion)."""
        labels: list[str] = []
        start, data, size = at, self.data, 0
        while True:
            if at >= len(data):
                raise _Bad(at, "a name runs past the end of the message", True)
            length = data[at]
            if length == 0:
                return self._finish(start, labels, ".", size + 1), at + 1
            if length & 0xC0 == 0xC0:
                if at + 1 >= len(data):
                    raise _Bad(at, "a compression pointer is cut", True)
                target = ((length << 8) | data[at + 1]) & 0x3FFF
                if target >= start:  # only backwards: no loop can form
                    raise _Bad(at, f"compression pointer to {target} does not point back", False)
                if target not in self.seen:
                    if hops >= MAX_POINTERS:
                        raise _Bad(at, f"more than {MAX_POINTERS} compression pointers", False)
                    self.read(target, hops + 1)
                suffix, octets = self.seen[target]
                return self._finish(start, labels, suffix, size + octets), at + 2
            if length & 0xC0:
                raise _Bad(at, f"label type 0x{length & 0xC0:02x} is not supported", False)
            if at + 1 + length > len(data):
                raise _Bad(at, "a label runs past the end of the message", True)
            labels.append(_label_text(data[at + 1:at + 1 + length]))
            size += 1 + length
            at += 1 + length

    def _finish(self, start: int, labels: list[str], suffix: str, octets: int) -> str:
        """The name from its own labels and the name that ends it (the root or a pointer's);
        *octets*: its length in uncompressed wire form."""
        if octets > MAX_NAME:
            raise _Bad(start, f"a name is longer than {MAX_NAME} octets", False)
        name = "".join(label + "." for label in labels)
        name = (name + suffix if suffix != "." else name) or "."
        self.seen[start] = (name, octets)
        return name


def _label_text(raw: bytes) -> str:
    """A label as text: printable ASCII as is, dots and other bytes escaped (RFC 4343 style)."""
    out = []
    for byte in raw:
        if byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def encode_name(name: str) -> bytes:
    """A name in wire form, uncompressed (RFC 1035 section 3.1); ``\\.`` and ``\\DDD``
    escapes are understood."""
    if name in ("", "."):
        return b"\0"
    out = bytearray()
    for label in _split_labels(name.rstrip(".") if not name.endswith("\\.") else name):
        if not label or len(label) > MAX_LABEL:
            raise FieldValueError(f"name {name!r}: labels are 1 to {MAX_LABEL} octets")
        out += bytes([len(label)]) + label
    out += b"\0"
    if len(out) > MAX_NAME:
        raise FieldValueError(f"name {name!r} is longer than {MAX_NAME} octets")
    return bytes(out)


def _split_labels(name: str) -> list[bytes]:
    labels, current, index = [], bytearray(), 0
    while index < len(name):
        char = name[index]
        if char == "\\" and index + 3 < len(name) and name[index + 1:index + 4].isdigit():
            current.append(int(name[index + 1:index + 4]) & 0xFF)
            index += 4
            continue
        if char == "\\" and index + 1 < len(name):
            current += name[index + 1].encode("utf-8")
            index += 2
            continue
        if char == ".":
            labels.append(bytes(current))
            current = bytearray()
        else:
            current += char.encode("utf-8")
        index += 1
    labels.append(bytes(current))
    return labels


# -- sections (RFC 1035 sections 4.1.2 and 4.1.3) -------------------------------------------

class Sections(NamedTuple):
    """What decoded of a message, and the first problem (``None`` when all of it decoded)."""

    qd: list[DNSQR]
    an: list[DNSRR]
    ns: list[DNSRR]
    ar: list[DNSRR]
    problem: _Bad | None
    end: int


def decode_sections(data: bytes, counts: tuple[int, int, int, int]) -> Sections:
    """The sections of the message *data* (header included) as its counts announce them."""
    names = _Names(data)
    qd: list[DNSQR] = []
    records: tuple[list[DNSRR], list[DNSRR], list[DNSRR]] = ([], [], [])
    at = HEADER_LEN
    try:
        for _ in range(counts[0]):
            name, at = names.read(at)
            _need(data, at, 4, "a question")
            qd.append(DNSQR(name, _u16(data, at), _u16(data, at + 2)))
            at += 4
        for section, count in zip(records, counts[1:], strict=True):
            for _ in range(count):
                record, at = _record(names, at)
                section.append(record)
    except _Bad as problem:
        return Sections(qd, *records, problem, at)
    return Sections(qd, *records, None, at)


def _record(names: _Names, at: int) -> tuple[DNSRR, int]:
    data = names.data
    name, at = names.read(at)
    _need(data, at, 10, "a resource record")
    kind, klass = _u16(data, at), _u16(data, at + 2)
    ttl, size = int.from_bytes(data[at + 4:at + 8], "big"), _u16(data, at + 8)
    at += 10
    _need(data, at, size, "RDATA")
    return DNSRR(name, kind, klass, ttl, _rdata(names, kind, at, size)), at + size


def _rdata(names: _Names, kind: int, at: int, size: int) -> Any:
    raw = names.data[at:at + size]
    if kind == TYPE_A and size == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if kind == TYPE_AAAA and size == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    if kind in _NAME_TYPES:
        name, end = names.read(at)
        if end > at + size:
            raise _Bad(at, "a name runs past its RDATA", False)
        return name
    if kind == TYPE_TXT:
        strings, index = [], 0
        while index < size:  # RFC 1035 section 3.3.14: <character-string>s
            length = raw[index]
            if index + 1 + length > size:
                raise _Bad(at + index, "a TXT string runs past its RDATA", False)
            strings.append(raw[index + 1:index + 1 + length])
            index += 1 + length
        return strings
    return raw


def _need(data: bytes, at: int, size: int, what: str) -> None:
    if at + size > len(data):
        raise _Bad(at, f"{what} needs {size} bytes, {max(0, len(data) - at)} present", True)


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "big")


def encode_rdata(record: DNSRR) -> bytes:
    """The RDATA of a record built from Python values."""
    value, kind = record.rdata, record.type
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if kind == TYPE_A and isinstance(value, str):
        return socket.inet_pton(socket.AF_INET, value)
    if kind == TYPE_AAAA and isinstance(value, str):
        return socket.inet_pton(socket.AF_INET6, value)
    if kind in _NAME_TYPES and isinstance(value, str):
        return encode_name(value)
    if kind == TYPE_TXT:
        strings = [value] if isinstance(value, str | bytes) else list(value)
        out = b""
        for text in strings:
            data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            if len(data) > 255:
                raise FieldValueError("a TXT string is at most 255 octets")
            out += bytes([len(data)]) + data
        return out
    raise FieldValueError(f"rdata {value!r} does not fit a type {kind} record")


class SectionField(VarField[list[Any], list[Any]]):
    """A section: a list of :class:`DNSQR` (``qd``) or :class:`DNSRR` (the others)."""

    def to_raw(self, value: Any) -> list[Any]:
        items = [value] if isinstance(value, DNSQR | DNSRR) else list(value)
        kind = DNSQR if self.name == "qd" else DNSRR
        for item in items:
            if not isinstance(item, kind):
                raise FieldValueError(f"{self.name} holds {kind.__name__} values, not {item!r}")
        return items

    def json(self, raw: Any) -> Any:
        return [{key: _json_value(value) for key, value in item._asdict().items()}
                for item in raw or []]


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


class DNS(Layer):
    """DNS message header (RFC 1035 section 4.1.1; AD and CD from RFC 4035 section 3.2)::

                                        1  1  1  1  1  1
          0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
        +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
        |                      ID                       |
        +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
        |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
        +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
        |         QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT     |
        +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+

    Field names and defaults as in Scapy (``rd`` 1).  Automatic: the four counts, from the
    sections ``qd``, ``an``, ``ns`` and ``ar`` (built uncompressed).
    """

    __slots__ = ()
    name = "DNS"

    id = UInt16(0)
    qr = Bits(1, 0)
    opcode = Bits(4, 0)
    aa = Bits(1, 0)
    tc = Bits(1, 0)
    rd = Bits(1, 1)
    ra = Bits(1, 0)
    z = Bits(1, 0)
    ad = Bits(1, 0)
    cd = Bits(1, 0)
    rcode = Bits(4, 0)
    qdcount = UInt16(AUTO)
    ancount = UInt16(AUTO)
    nscount = UInt16(AUTO)
    arcount = UInt16(AUTO)
    qd = SectionField([])
    an = SectionField([])
    ns = SectionField([])
    ar = SectionField([])

    @classmethod
    def _parse(cls, pkt: Packet, idx: int, off: int, end: int, quoted: bool) -> Self:
        """A header shorter than 12 bytes is cut by the capture (truncated) or short on the
        wire too (malformed: a UDP payload on port 53 that is no DNS message)."""
        self = super()._parse(pkt, idx, off, end, quoted)
        status = self._h is not None and self._hlen >= 0 and self._status
        if status and pkt.wire_len <= len(pkt._buf):
            self._status = LayerStatus(Status.MALFORMED, cls.name, end,
                                       f"a message needs {HEADER_LEN} bytes, "
                                       f"{max(0, end - off)} present")
        return self

    def _sections(self) -> Sections | None:
        pkt, header = self._pkt, self._h
        if pkt is None or header is None or None in header:
            return None
        data = bytes(pkt._buf[self._off:self._end])
        return decode_sections(data, (header[2], header[3], header[4], header[5]))

    def _decode(self, buf: Any, end: int) -> None:
        self._end = end
        self._hlen = end - self._off  # the sections belong to the message
        found = self._sections()
        if found is None or found.problem is None or self._quoted:
            return
        problem = found.problem
        pkt = self._pkt
        cut = problem.cut and pkt is not None and pkt.wire_len > len(pkt._buf)
        self._status = LayerStatus(Status.TRUNCATED if cut else Status.MALFORMED, self.name,
                                   self._off + problem.offset, problem.reason)

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        return None

    def _decode_variable(self, name: str) -> Any:
        found = self._sections()
        if found is None:
            return []
        return list(getattr(found, name))

    def _encode_variable(self) -> bytes:
        out = bytearray()
        for question in self._f.get("qd", []):
            out += encode_name(question.qname) + question.qtype.to_bytes(2, "big") \
                + question.qclass.to_bytes(2, "big")
        for section in ("an", "ns", "ar"):
            for record in self._f.get(section, []):
                rdata = encode_rdata(record)
                out += encode_name(record.rrname) + record.type.to_bytes(2, "big") \
                    + record.rclass.to_bytes(2, "big") + record.ttl.to_bytes(4, "big") \
                    + len(rdata).to_bytes(2, "big") + rdata
        return bytes(out)

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        return {f"{section}count": len(self._f.get(section, []))
                for section in ("qd", "an", "ns", "ar")}

    def _expected(self, name: str) -> Any:
        if name.endswith("count") and name[:2] in ("qd", "an", "ns", "ar"):
            found = self._sections()
            if found is not None and found.problem is None:
                return len(getattr(found, name[:2]))
        return super()._expected(name)


UDP_PORTS.register(DNS_PORT, DNS, name="domain")
