"""UDP (RFC 768)."""

from __future__ import annotations

from typing import Any

from wirekit.packet.checksum import internet_checksum
from wirekit.packet.fields import AUTO, UInt16
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.registry import IP_PROTOCOLS, UDP_PORTS
from wirekit.packet.status import ChecksumCheck, LayerStatus, Status
from wirekit.packet.transport import (
    checksum_span,
    ipv4_pseudo_header,
    network_below,
    pseudo_header,
    pseudo_spans,
    verify_transport,
)

UDP_PROTOCOL = 17


class UDP(Layer):
    """UDP header (RFC 768)::

         0      7 8     15 16    23 24    31
        +--------+--------+--------+--------+
        |     Source      |   Destination   |
        |      Port       |      Port       |
        +--------+--------+--------+--------+
        |     Length      |    Checksum     |
        +--------+--------+--------+--------+

    Automatic: ``len`` and ``chksum``.  A computed checksum of 0 is sent as 0xFFFF; a stored 0
    over IPv4 means "no checksum" (RFC 768) and is left alone by edits.
    """

    __slots__ = ()
    name = "UDP"
    checksum_field = "chksum"
    structural = frozenset({"len"})

    sport = UInt16(53)
    dport = UInt16(53)
    len = UInt16(AUTO)
    chksum = UInt16(AUTO, hex=True)

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        off = self._off
        self._hlen = 8
        if header is not None and header[2] >= 8 and off + header[2] <= end:  # common case
            self._end = off + header[2]
            return
        self._end = end
        if header is None:
            return
        length = header[2]
        if length < 8:
            self._status = LayerStatus(Status.MALFORMED, self.name, off + 4,
                                       f"length {length} is below the 8-byte header")
        elif off + length > end:
            if not self._quoted:
                self._status = LayerStatus(Status.TRUNCATED, self.name, end,
                                           f"length {length} exceeds the {end - off} "
                                           f"bytes present")
        else:
            self._end = off + length

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + 8, self._end
        if start >= end:
            return None


        header = self._h
        status = self._status
        if UDP_PORTS.classes and header is not None and (status is None
                                                          or status.kind is Status.TRUNCATED):
            cls = UDP_PORTS.classes.get(header[1]) or UDP_PORTS.classes.get(header[0])
            if cls is not None:
                return cls, start, end, ""
        return Raw, start, end, ""

    def _build(self, payload: bytes, layers: list[Layer], index: int) -> bytes:
        """Layer._build specialised (the build hot path; same result)."""
        auto = {"len": (8 + len(payload)) & 0xFFFF}
        if index + 1 < len(layers) and UDP_PORTS._keys:  # a bound protocol above: its port
            port = UDP_PORTS.key_of(type(layers[index + 1]))
            if port is not None:
                auto["dport"] = port
        header = self._pack(auto)
        if "chksum" not in self._f:
            length = 8 + len(payload)
            pseudo = ipv4_pseudo_header(layers, index, UDP_PROTOCOL, length) \
                or pseudo_header(layers, index, UDP_PROTOCOL, length)
            if pseudo is not None:
                checksum = internet_checksum(b"".join((pseudo, header, payload))) or 0xFFFF
                header = header[:6] + checksum.to_bytes(2, "big")
        return header + payload

    def _adjust_checksum(self, value: int) -> int:
        return value or 0xFFFF

    def _verify(self) -> ChecksumCheck | None:
        check = verify_transport(self, 6, UDP_PROTOCOL)
        if check.stored == 0 and check.expected is not None:
            network = network_below(self._pkt._layers, self._idx) if self._pkt else None
            if network is not None and network.name == "IPv4":
                return ChecksumCheck(self.name, self._idx, check.offset, 0, None, None,
                                     "no checksum (0) over IPv4")
            return ChecksumCheck(self.name, self._idx, check.offset, 0, check.expected, False,
                                 "a zero UDP checksum is not allowed over IPv6 (RFC 8200 8.1)")
        return check

    def _expected(self, name: str) -> Any:
        self._ensure()
        if name == "chksum":
            check = self._verify()
            return check.expected if check is not None else None
        if name == "len":
            return self._end - self._off if self._status is None else None
        return super()._expected(name)

    def _checksum_span(self) -> tuple[int, int, int] | None:
        span = checksum_span(self, 6)
        if span is None or self._h is None or self._h[3] == 0:
            return None  # no checksum to keep up to date
        return span

    def _pseudo_spans(self) -> list[tuple[int, int]]:
        return pseudo_spans(self)


IP_PROTOCOLS.register(UDP_PROTOCOL, UDP)
