"""ARP (RFC 826), for any hardware and protocol address lengths."""

from __future__ import annotations

import socket
from typing import Any

from wirekit.packet.fields import AUTO, UInt8, UInt16, VarField, ipv4_to_bytes, ipv6_to_bytes
from wirekit.packet.layer import Layer, NextLayer
from wirekit.packet.registry import ETHERTYPES
from wirekit.packet.status import FieldValueError, LayerStatus, Status

ARP_OPERATIONS = {1: "who-has", 2: "is-at", 3: "RARP-req", 4: "RARP-rep", 8: "Dyn-RARP-req",
                  9: "Dyn-RARP-rep", 10: "Dyn-RARP-err", 11: "InARP-req", 12: "InARP-rep"}
_ORDER = ("hwsrc", "psrc", "hwdst", "pdst")


def _address_text(data: bytes, protocol: bool) -> str:
    """4 bytes as a dotted quad, 16 as IPv6, anything else as colon-separated hex."""
    if protocol and len(data) == 4:
        return socket.inet_ntoa(data)
    if protocol and len(data) == 16:
        return socket.inet_ntop(socket.AF_INET6, data)
    return data.hex(":")


class ARPAddressField(VarField[str, "str | bytes"]):
    """One of ARP's four variable-length addresses."""

    def __init__(self, default: str, *, protocol: bool) -> None:
        super().__init__(default)
        self.protocol = protocol

    def to_raw(self, value: Any) -> bytes:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if not isinstance(value, str):
            raise FieldValueError(f"{self.name} must be an address string or bytes")
        if self.protocol and "." in value:
            return ipv4_to_bytes(value, self.name)
        if self.protocol and ":" in value and len(value.replace(":", "")) != 12:
            return ipv6_to_bytes(value, self.name)
        try:
            return bytes.fromhex(value.replace(":", "").replace("-", ""))
        except ValueError:
            raise FieldValueError(f"{self.name}: {value!r} is not an address") from None

    def make_getter(self) -> Any:
        name, protocol, default = self.name, self.protocol, self.to_raw(self.default)

        def get_address(layer: Layer) -> str:
            raw = layer._f.get(name, default) if layer._h is None \
                else layer._decode_variable(name)
            return _address_text(raw, protocol)

        return get_address

    def text(self, raw: Any) -> str:
        return _address_text(bytes(raw), self.protocol)


class ARP(Layer):
    """ARP packet (RFC 826)::

         0                   1                   2                   3
         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |         Hardware type         |         Protocol type         |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        |    HW len     |  Proto len    |           Operation           |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
        | sender HW address, sender protocol address, target HW address,|
        | target protocol address (HW len and Proto len bytes each)     |
        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

    Automatic: ``hwlen`` and ``plen`` (from the addresses given).  ``op`` 1 is a request
    ("who-has"), 2 a reply ("is-at").
    """

    __slots__ = ()
    name = "ARP"
    structural = frozenset({"hwlen", "plen"})

    hwtype = UInt16(1)
    ptype = UInt16(0x0800, hex=True, names=ETHERTYPES.names)
    hwlen = UInt8(AUTO)
    plen = UInt8(AUTO)
    op = UInt16(1, names=ARP_OPERATIONS)
    hwsrc = ARPAddressField("00:00:00:00:00:00", protocol=False)
    psrc = ARPAddressField("0.0.0.0", protocol=True)
    hwdst = ARPAddressField("00:00:00:00:00:00", protocol=False)
    pdst = ARPAddressField("0.0.0.0", protocol=True)

    def _decode(self, buf: Any, end: int) -> None:
        header = self._h
        off = self._off
        self._hlen, self._end = 8, end
        if header is None:
            return
        total = 8 + 2 * (header[2] + header[3])
        if off + total > end:
            self._hlen = end - off
            if not self._quoted:
                self._status = LayerStatus(Status.TRUNCATED, self.name, end,
                                           f"addresses need {total} bytes, {end - off} present")
            return
        self._hlen = self._end = total
        self._end = off + total

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        return None  # ARP carries nothing; bytes after it are padding

    def _address_spans(self) -> dict[str, tuple[int, int]]:
        """Buffer (start, end) of each address, from hwlen and plen."""
        header = self._h
        hwlen, plen = (header[2] or 0, header[3] or 0) if header is not None else (0, 0)
        position = self._off + 8
        spans = {}
        for name in _ORDER:
            size = plen if name.startswith("p") else hwlen
            spans[name] = (position, position + size)
            position += size
        return spans

    def _decode_variable(self, name: str) -> Any:
        pkt = self._pkt
        if pkt is None or pkt._buf is None:
            return b""
        start, stop = self._address_spans()[name]
        return bytes(pkt._buf[start:min(stop, len(pkt._buf))])

    def _encode_variable(self) -> bytes:
        return b"".join(self._address(name) for name in _ORDER)

    def _address(self, name: str) -> bytes:
        field = self._by_name[name]
        value = self._f.get(name)
        return bytes(value) if value is not None else field.to_raw(field.default)

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        return {"hwlen": len(self._address("hwsrc")), "plen": len(self._address("psrc"))}

    def _expected(self, name: str) -> Any:
        self._ensure()
        header = self._h
        if header is None:
            return None
        return header[2] if name == "hwlen" else header[3]


ETHERTYPES.register(0x0806, ARP)
# RARP (RFC 903) is ARP's format with operations 3 and 4; tcpdump prints it as ARP.
ETHERTYPES.register(0x8035, ARP, build=False)
