"""TCP (RFC 9293) with its options: EOL, NOP, MSS, window scale, SACK-permitted, SACK,
timestamps (RFC 7323, RFC 2018), and under Scapy's names the MD5 signature (RFC 2385), user
timeout (RFC 5482), TCP-AO (RFC 5925) and Fast Open (RFC 7413); other options, and these when
their size is not the one Scapy decodes, are kept raw as ``(kind, bytes)``."""

from __future__ import annotations

import struct
from typing import Any

from wirekit.packet.fields import AUTO, Bits, FlagBits, UInt16, UInt32, VarField
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.registry import IP_PROTOCOLS, TCP_PORTS
from wirekit.packet.status import ChecksumCheck, FieldValueError, LayerStatus, Status
from wirekit.packet.transport import (
    LOOPBACK4,
    PSEUDO4_PACK,
    checksum_span,
    pseudo_header,
    pseudo_spans,
    verify_transport,
)

TCP_PROTOCOL = 6
#: A TCP header is at most 60 bytes: 40 of them options (RFC 9293 section 3.1).
MAX_OPTIONS = 40

TCPOption = tuple[str | int, Any]


class TCPFlags(int):
    """TCP flag bits.  ``str()`` gives Scapy's letters in bit order (``"SA"``); ``tcpdump()``
    gives tcpdump's bracket form (``"S."``).  Accepts letters in any order when set."""

    __slots__ = ()
    LETTERS = "FSRPAUECN"  # bit 0 (FIN) .. bit 8 (NS / AccECN "AE")
    _TCPDUMP = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"),
                (0x40, "E"), (0x80, "W"))  # tcpdump 4.99 prints no letter for AE (0x100)

    @classmethod
    def parse(cls, text: str) -> int:
        value = 0
        for letter in text.upper():
            position = cls.LETTERS.find(letter)
            if position < 0:
                raise FieldValueError(f"unknown TCP flag {letter!r} (use {cls.LETTERS})")
            value |= 1 << position
        return value

    def __str__(self) -> str:
        return "".join(letter for bit, letter in enumerate(self.LETTERS) if self >> bit & 1)

    def __repr__(self) -> str:
        return f"<TCPFlags {int(self):#05x} ({self})>"

    def tcpdump(self) -> str:
        """The letters tcpdump prints inside ``Flags [...]`` ("none" for no flag)."""
        return "".join(letter for bit, letter in self._TCPDUMP if self & bit) or "none"

    def has(self, letters: str) -> bool:
        """True when every flag in *letters* is set (``flags.has("SA")``)."""
        wanted = self.parse(letters)
        return self & wanted == wanted

    F = property(lambda self: bool(self & 0x01))
    S = property(lambda self: bool(self & 0x02))
    R = property(lambda self: bool(self & 0x04))
    P = property(lambda self: bool(self & 0x08))
    A = property(lambda self: bool(self & 0x10))
    U = property(lambda self: bool(self & 0x20))
    E = property(lambda self: bool(self & 0x40))
    C = property(lambda self: bool(self & 0x80))
    N = property(lambda self: bool(self & 0x100))


_NAMES = {"EOL": 0, "NOP": 1, "MSS": 2, "WScale": 3, "SAckOK": 4, "SAck": 5, "Timestamp": 8,
          "MD5": 19, "UTO": 28, "AO": 29, "TFO": 34}
_U16 = struct.Struct("!H")
_U32x2 = struct.Struct("!II")


def _decode_known(kind: int, value: bytes) -> TCPOption | None:
    size = len(value)
    if kind == 2 and size == 2:
        return ("MSS", _U16.unpack(value)[0])
    if kind == 3 and size == 1:
        return ("WScale", value[0])
    if kind == 4 and size == 0:
        return ("SAckOK", b"")
    if kind == 5 and size % 8 == 0:
        return ("SAck", struct.unpack(f"!{size // 4}I", value))
    if kind == 8 and size == 8:
        return ("Timestamp", _U32x2.unpack(value))
    return _decode_newer(kind, value)


def _decode_newer(kind: int, value: bytes) -> TCPOption | None:
    """The options Scapy names after the classic ones, in Scapy's forms: the MD5 signature as
    16 bytes, the user timeout as the 16-bit field (G bit on top, RFC 5482 section 3), TCP-AO
    as its bytes (KeyID, RNextKeyID, MAC; RFC 5925 section 2.2), an 8-byte Fast Open cookie
    as two 32-bit numbers (Scapy's ``!II``)."""
    size = len(value)
    if kind == 19 and size == 16:
        return ("MD5", value)
    if kind == 28 and size == 2:
        return ("UTO", _U16.unpack(value)[0])
    if kind == 29 and size >= 2:
        return ("AO", value)
    if kind == 34 and size == 8:
        return ("TFO", _U32x2.unpack(value))
    return None


def decode_tcp_options(data: bytes) -> list[TCPOption]:
    """Options as Scapy lists them: ``[("MSS", 1460), ("NOP", None), (99, b"..."), ...]``.

    Decoding stops after EOL.  An option whose length is impossible ends the list as
    ``(kind, rest_of_bytes)``.
    """
    options: list[TCPOption] = []
    position = 0
    while position < len(data):
        kind = data[position]
        if kind == 0:
            options.append(("EOL", None))
            break
        if kind == 1:
            options.append(("NOP", None))
            position += 1
            continue
        length = data[position + 1] if position + 1 < len(data) else 0
        if length < 2 or position + length > len(data):
            options.append((kind, bytes(data[position + 1:])))
            break
        value = bytes(data[position + 2:position + length])
        options.append(_decode_known(kind, value) or (kind, value))
        position += length
    return options


def _encode_option(option: Any) -> bytes:
    if not isinstance(option, tuple) or len(option) != 2:
        raise FieldValueError(f"a TCP option is a (name, value) pair, not {option!r}")
    name, value = option
    kind = _NAMES.get(name, name) if isinstance(name, str) else name
    if not isinstance(kind, int) or not 0 <= kind <= 255:
        raise FieldValueError(f"unknown TCP option {name!r}")
    if kind in (0, 1):
        return bytes([kind])
    try:
        body = _encode_value(kind, value)
    except (struct.error, TypeError, ValueError) as exc:
        raise FieldValueError(f"bad value for TCP option {name!r}: {value!r}") from exc
    return bytes([kind, len(body) + 2]) + body


def _encode_value(kind: int, value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if kind in (2, 28):
        return _U16.pack(value)
    if kind == 3:
        return bytes([value])
    if kind == 4:
        return b""
    if kind == 5:
        return struct.pack(f"!{len(value)}I", *value)
    if kind in (8, 34):
        return _U32x2.pack(*value)
    raise FieldValueError(f"TCP option {kind} needs a bytes value")


def encode_tcp_options(options: list[Any] | bytes) -> bytes:
    """Option bytes, padded with zeros to a multiple of 4 (as Scapy and Linux do)."""
    data = options if isinstance(options, bytes) else b"".join(map(_encode_option, options))
    data += b"\0" * (-len(data) % 4)
    if len(data) > MAX_OPTIONS:
        raise FieldValueError(f"TCP options take {len(data)} bytes, more than {MAX_OPTIONS}")
    return data


class TCPOptionsField(VarField[list[TCPOption], "list[tuple[Any, Any]] | bytes"]):
    """TCP options as ``(name, value)`` pairs (Scapy's names), or raw bytes."""

    def to_raw(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            encode_tcp_options(bytes(value))
            return bytes(value)
        options = list(value)
        encode_tcp_options(options)  # validate now, not at build time
        return options

    def make_getter(self) -> Any:
        def get_options(layer: Layer) -> list[TCPOption]:
            if layer._h is None:
                value = layer._f.get("options", [])
                return decode_tcp_options(value) if isinstance(value, bytes) else list(value)
            return decode_tcp_options(layer._raw_variable("options"))

        return get_options


class TCP(Layer):
    """TCP header (RFC 9293 section 3.1)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |          Source Port          |       Destination Port        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                        Sequence Number                        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                    Acknowledgment Number                      |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |  Data |     |N|C|E|U|A|P|R|S|F|                               |
        | Offset| Rsv |S|W|C|R|C|S|S|Y|I|            Window             |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |           Checksum            |         Urgent Pointer        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |                     Options (0-40 bytes)                      |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Automatic: ``dataofs`` and ``chksum`` (over the IPv4 or IPv6 pseudo-header).  Defaults follow
    Scapy: ports 20 -> 80, flags S, window 8192.
    """

    __slots__ = ()
    name = "TCP"
    checksum_field = "chksum"
    structural = frozenset({"dataofs"})

    sport = UInt16(20)
    dport = UInt16(80)
    seq = UInt32(0)
    ack = UInt32(0)
    dataofs = Bits(4, AUTO)
    reserved = Bits(3, 0)
    flags = FlagBits(9, 0x02, TCPFlags)
    window = UInt16(8192)
    chksum = UInt16(AUTO, hex=True)
    urgptr = UInt16(0)
    options = TCPOptionsField([])

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        off = self._off
        self._end = end
        hlen = (header[4] >> 12) * 4 if header is not None else 20
        if hlen >= 20 and off + hlen <= end:  # the common case, first
            self._hlen = hlen
            return
        self._hlen = max(20, hlen)
        if hlen < 20:
            self._status = LayerStatus(Status.MALFORMED, self.name, off + 12,
                                       f"data offset {hlen // 4} ({hlen} bytes) is below 5")
        elif off + hlen > end:
            self._hlen = end - off
            if not self._quoted:
                self._status = LayerStatus(Status.TRUNCATED, self.name, end,
                                           f"options need {hlen} header bytes, "
                                           f"{end - off} present")

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + self._hlen, self._end
        if start >= end:
            return None


        header = self._h
        status = self._status
        if TCP_PORTS.classes and header is not None and (status is None
                                                          or status.kind is Status.TRUNCATED):
            cls = TCP_PORTS.classes.get(header[1]) or TCP_PORTS.classes.get(header[0])
            if cls is not None:
                return cls, start, end, ""
        return Raw, start, end, ""

    def _raw_variable(self, name: str) -> Any:
        if self._pkt is None or self._h is None:
            return b""
        self._ensure()
        return bytes(self._pkt._buf[self._off + 20:self._off + self._hlen])

    def _encode_variable(self) -> bytes:
        options = self._f.get("options")
        return encode_tcp_options(options) if options else b""

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        """Layer._build specialised (the build benchmark's hot path; same result)."""
        values = self._f
        options = values.get("options")
        var = encode_tcp_options(options) if options else b""
        auto = {"dataofs": (20 + len(var)) >> 2}
        if index + 1 < len(layers) and TCP_PORTS._keys:  # a bound protocol above: its port
            port = TCP_PORTS.key_of(type(layers[index + 1]))
            if port is not None:
                auto["dport"] = port
        header = self._pack(auto)
        if var:
            header += var
        if "chksum" not in values:
            length = len(header) + len(payload)
            below = layers[index - 1] if index else None
            if type(below) is IPv4 and not below._f.get("options"):
                # ipv4_pseudo_header, inlined: built layers keep _f (no options: no route)
                above = below._f
                pseudo: bytes | None = PSEUDO4_PACK(above.get("src", LOOPBACK4),
                                                above.get("dst", LOOPBACK4), TCP_PROTOCOL,
                                                length & 0xFFFF)
            else:
                pseudo = pseudo_header(layers, index, TCP_PROTOCOL, length)
            if pseudo is not None:
                # internet_checksum, inlined (see checksum.py for why this is RFC 1071)
                total = int.from_bytes(b"".join((pseudo, header, payload)), "big")
                if length & 1:
                    total <<= 8
                total = total % 0xFFFF or 0xFFFF
                header = b"".join((header[:16], (~total & 0xFFFF).to_bytes(2, "big"),
                                   header[18:]))
        return header + payload

    # -- parsed-layer checks -------------------------------------------------------------
    def _verify(self) -> ChecksumCheck | None:
        return verify_transport(self, 16, TCP_PROTOCOL)

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "chksum":
            check = self._verify()
            return check.expected if check is not None else None
        if name == "dataofs":
            return self._hlen // 4
        return super()._expected(name)

    def _checksum_span(self) -> tuple[int, int, int] | None:
        return checksum_span(self, 16)

    def _pseudo_spans(self) -> list[tuple[int, int]]:
        return pseudo_spans(self)


IP_PROTOCOLS.register(TCP_PROTOCOL, TCP)
