"""ICMP for IPv4 (RFC 792): echo, errors quoting the offending datagram, and the rest kept raw."""

from __future__ import annotations

import socket
from typing import Any

from wirekit.packet.checksum import internet_checksum
from wirekit.packet.fields import AUTO, UInt8, UInt16, ipv4_to_bytes
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.registry import ICMP_QUOTES, IP_PROTOCOLS
from wirekit.packet.status import ChecksumCheck
from wirekit.packet.transport import declared_end, network_below

ICMP_PROTOCOL = 1
# IANA "ICMP Type Numbers".
ICMP_TYPES = {0: "echo-reply", 3: "dest-unreach", 4: "source-quench", 5: "redirect",
              8: "echo-request", 9: "router-advertisement", 10: "router-solicitation",
              11: "time-exceeded", 12: "parameter-problem", 13: "timestamp-request",
              14: "timestamp-reply", 15: "information-request", 16: "information-reply",
              17: "address-mask-request", 18: "address-mask-reply", 30: "traceroute",
              42: "extended-echo-request", 43: "extended-echo-reply"}
UNREACHABLE_CODES = {0: "net-unreachable", 1: "host-unreachable", 2: "protocol-unreachable",
                     3: "port-unreachable", 4: "fragmentation-needed",
                     5: "source-route-failed", 6: "net-unknown", 7: "host-unknown",
                     8: "source-host-isolated", 9: "net-prohibited", 10: "host-prohibited",
                     11: "tos-net-unreachable", 12: "tos-host-unreachable",
                     13: "communication-prohibited", 14: "host-precedence-violation",
                     15: "precedence-cutoff"}
#: The error messages whose payload is the offending datagram (RFC 792, RFC 1812 4.3.2.3).
QUOTING_TYPES = (3, 4, 5, 11, 12)
#: The messages whose second word is an identifier and a sequence number (RFC 792, RFC 950,
#: RFC 8335); in the others it is a gateway, an MTU, a pointer or unused.
ID_SEQ_TYPES = frozenset({0, 8, 13, 14, 15, 16, 17, 18, 42, 43})


class ICMP(Layer):
    """ICMP header (RFC 792)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |     Type      |     Code      |          Checksum             |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |           Identifier          |        Sequence Number        |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    The second word is ``id`` and ``seq`` (echo, timestamp, information, address mask); other
    types read it through ``gw`` (redirect), ``nexthopmtu`` and ``unused`` (unreachable,
    RFC 1191), or ``ptr`` (parameter problem).  An error message (types 3, 4, 5, 11, 12)
    carries the offending datagram, decoded as the layers that follow (``pkt[IPv4:2]``).
    Automatic: ``chksum``.
    """

    __slots__ = ()
    name = "ICMP"
    checksum_field = "chksum"
    may_quote = True
    structural = frozenset({"type"})

    type = UInt8(8, names=ICMP_TYPES)
    code = UInt8(0)
    chksum = UInt16(AUTO, hex=True)
    id = UInt16(0)
    seq = UInt16(0)

    def _quotes_payload(self) -> bool:
        header = self._h
        return header is not None and header[0] in ICMP_QUOTES.classes

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + 8, self._end
        if start >= end:
            return None
        header = self._h
        cls = ICMP_QUOTES.classes.get(header[0]) if header is not None else None
        return (cls or Raw), start, end, ""

    def _checksum(self, header: bytes, payload: bytes, layers: list[Layer],
                  index: int) -> int | None:
        return internet_checksum(header + payload)

    def _verify(self) -> ChecksumCheck | None:
        pkt = self._pkt
        at = self._off + 2
        buf = pkt._buf if pkt is not None else b""
        stored = int.from_bytes(buf[at:at + 2], "big") if at + 2 <= len(buf) else 0
        end = declared_end(self)
        if self._quoted or end > len(buf) or at + 2 > end:
            note = "quoted datagram, not checked" if self._quoted else "message not complete"
            return ChecksumCheck(self.name, self._idx, at, stored, None, None, note)
        network = network_below(pkt._layers, self._idx) if pkt is not None else None
        if network is not None and getattr(network, "is_fragment", False):
            return ChecksumCheck(self.name, self._idx, at, stored, None, None,
                                 "IP fragment; reassemble to check")
        message = bytes(buf[self._off:end])
        expected = internet_checksum(message[:2] + b"\0\0" + message[4:])
        return ChecksumCheck(self.name, self._idx, at, stored, expected, stored == expected)

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "chksum":
            check = self._verify()
            return check.expected if check is not None else None
        return super()._expected(name)

    def _checksum_span(self) -> tuple[int, int, int] | None:
        pkt = self._pkt
        if pkt is None or pkt._buf is None or self._off + 4 > len(pkt._buf):
            return None
        return self._off + 2, self._off, declared_end(self)

    # -- views of the second word ----------------------------------------------------------
    @property
    def gw(self) -> str:
        """Gateway address of a redirect (type 5): the second word."""
        return socket.inet_ntoa(((self.id or 0) << 16 | (self.seq or 0)).to_bytes(4, "big"))

    @gw.setter
    def gw(self, value: str | bytes) -> None:
        word = int.from_bytes(ipv4_to_bytes(value, "gw"), "big")
        self.id, self.seq = word >> 16, word & 0xFFFF

    @property
    def nexthopmtu(self) -> int:
        """Next-hop MTU of "fragmentation needed" (type 3 code 4, RFC 1191): low 16 bits."""
        return self.seq or 0

    @nexthopmtu.setter
    def nexthopmtu(self, value: int) -> None:
        self.seq = value

    def hidden_fields(self) -> frozenset[str]:
        kind = self.type
        return frozenset() if kind is None or kind in ID_SEQ_TYPES else _SECOND_WORD

    def views(self) -> dict[str, Any]:
        """The second word as the type reads it (RFC 792; RFC 1191 for the next-hop MTU)."""
        kind = self.type
        if kind is None or kind in ID_SEQ_TYPES or self.seq is None:
            return {}
        if kind == 5:
            return {"gw": self.gw}
        if kind == 3 and self.code == 4:
            return {"unused": self.unused, "nexthopmtu": self.nexthopmtu}
        if kind == 12:
            return {"ptr": self.ptr}
        return {"unused": (self.id or 0) << 16 | self.seq}

    @property
    def unused(self) -> int:
        """The unused high 16 bits of an unreachable message."""
        return self.id or 0

    @unused.setter
    def unused(self, value: int) -> None:
        self.id = value

    @property
    def ptr(self) -> int:
        """The octet pointer of a parameter problem (type 12)."""
        return (self.id or 0) >> 8

    @ptr.setter
    def ptr(self, value: int) -> None:
        self.id = ((value & 0xFF) << 8) | ((self.id or 0) & 0xFF)



_SECOND_WORD = frozenset({"id", "seq"})
IP_PROTOCOLS.register(ICMP_PROTOCOL, ICMP)


def _bind_quotes() -> None:
    from wirekit.packet.ipv4 import IPv4

    for kind in QUOTING_TYPES:
        ICMP_QUOTES.register(kind, IPv4, build=False)


_bind_quotes()
