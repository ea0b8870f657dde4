"""IEEE 802.2 LLC, and the SNAP header (RFC 1042) behind it: what follows an IEEE 802.3 length.

An Ethernet frame whose type/length field is 1500 or less carries a length, not an EtherType
(IEEE 802.3 clause 3.2.6); its data starts with an 802.2 LLC header.  Connectionless traffic
(LLC type 1) uses UI frames; a UI frame between SNAP SAPs (0xaa) carries a SNAP header whose
protocol ID is an EtherType when the OUI is 0 (RFC 1042), so IPv4, ARP and IPv6 ride on it.
"""

from __future__ import annotations

from typing import Any

from wirekit.packet.fields import AUTO, UInt8, UInt16, UInt24, VarField
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.registry import ETHERTYPES, LLC_SAPS
from wirekit.packet.status import FieldValueError, LayerStatus, Status

#: The low bit of a DSAP says individual/group, of an SSAP command/response (IEEE 802.2, the
#: address fields): it is not part of the service access point.
SAP_MASK = 0xFE
#: The control field of an Unnumbered Information frame (IEEE 802.2 clause 5.4.1.1.1), the data
#: frame of connectionless LLC.
UI = 0x03
SNAP_SAP = 0xAA
#: OUIs whose SNAP protocol ID is an EtherType: RFC 1042 (0) and the IEEE 802.1H bridge
#: tunnel (0000f8), which tcpdump decodes the same way.
ETHERTYPE_OUIS = frozenset({0x000000, 0x0000F8})
#: tcpdump's names of organisations (oui.c oui_values), for ``show()`` and the summary.
OUI_NAMES = {
    0x000000: "Ethernet", 0x00000C: "Cisco", 0x00005E: "IANA", 0x000081: "Nortel Networks SONMP",
    0x0000F8: "Cisco bridged", 0x0019A7: "ITU-T", 0x0080C2: "Ethernet bridged",
    0x00A03E: "ATM Forum", 0x00E02F: "DOCSIS Spanning Tree", 0x080007: "Appletalk",
    0x009069: "Juniper", 0x080009: "Hewlett-Packard", 0x00120F: "IEEE 802.3 Private",
    0x0012BB: "ANSI/TIA", 0x001B21: "DCBX", 0x002320: "Nicira Networks",
    0x5C16C7: "Big Switch Networks", 0xB0D2F5: "Vello Systems", 0x002481: "HP",
    0x0004EA: "HP-Labs", 0x748771: "Infoblox Inc", 0xA42305: "Open Networking Lab",
    0x00049F: "Freescale", 0x0015AD: "Netronome", 0x001018: "Broadcom", 0x00E004: "PMC-Sierra",
    0xD0F0DB: "Ericsson",
}


def is_unnumbered(control: int) -> bool:
    """True for a U-format control field (low bits 11), which is one octet; I and S frames
    have two (IEEE 802.2 clause 5.2, control field formats)."""
    return control & 3 == 3


def control_octets(control: int) -> bytes:
    """The control field on the wire: one octet for U frames, else two, the first octet (N(S)
    or the S-frame function) first, as tcpdump reads it (little-endian)."""
    return bytes([control]) if is_unnumbered(control) else control.to_bytes(2, "little")


class ControlField(VarField[int | None, int]):
    """The LLC control field: 1 octet (U frames) or 2 (I and S frames), as one integer."""

    def to_raw(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise FieldValueError(f"ctrl must be an integer from 0 to 0xffff, not {value!r}")
        if is_unnumbered(value) and value > 0xFF:
            raise FieldValueError(f"ctrl=0x{value:x}: a U-format control field (low bits 11) "
                                  "is one octet")
        return value


class LLC(Layer):
    """IEEE 802.2 (ISO/IEC 8802-2) LLC header::

        +--------+--------+----------------------+
        |  DSAP  |  SSAP  | control (1 or 2 oct) |
        +--------+--------+----------------------+

    ``ctrl`` is one octet in U frames (low bits 11: UI 0x03, XID, TEST...) and two in I and S
    frames, read with the first octet low (``0x0200`` is N(S)=0, N(R)=1), as tcpdump does.
    Automatic: ``dsap`` and ``ssap``, the SAP the layer above is bound to (0xaa for SNAP, 6 for
    IPv4), 0 for anything else (Scapy's default).  ``ctrl`` defaults to UI (0x03), not to
    Scapy's 0: Scapy always writes one octet, and a first octet 0 makes an I frame, two octets.
    A UI frame whose DSAP and SSAP are the same bound SAP decodes its payload with that class.
    """

    __slots__ = ()
    name = "LLC"
    next_registry = LLC_SAPS
    next_field = "dsap"
    next_fallback = 0
    structural = frozenset({"ssap"})

    dsap = UInt8(AUTO, hex=True, names=LLC_SAPS.names)
    ssap = UInt8(AUTO, hex=True, names=LLC_SAPS.names)
    ctrl = ControlField(UI)

    def _decode(self, buf: Any, end: int) -> None:
        off = self._off
        self._end = end
        size = 3 if off + 2 < end and is_unnumbered(buf[off + 2]) else 4
        if off + size <= end:
            self._hlen = size
            return
        self._hlen = end - off
        if not self._quoted:
            reason = "the control field is missing" if off + 2 >= end else \
                "an I or S frame's control field needs 2 bytes, 1 present"
            self._status = LayerStatus(Status.TRUNCATED, self.name, end, reason)

    def _next(self) -> NextLayer | None:
        if self._hlen < 0:
            self._ensure()
        start, end = self._off + self._hlen, self._end
        header = self._h
        if start >= end or header is None:
            return None
        dsap, ssap = header[0] & SAP_MASK, header[1] & SAP_MASK
        control = self._decode_variable("ctrl")
        if dsap != ssap or control != UI:
            kind = "UI" if control == UI else "U" if is_unnumbered(control or 0) else "I or S"
            return Raw, start, end, (f"the payload of an LLC {kind} frame from SAP 0x{ssap:02x} "
                                     f"to 0x{dsap:02x} is not decoded")
        cls = LLC_SAPS.classes.get(dsap)
        if cls is None:
            return Raw, start, end, f"LLC SAP 0x{dsap:02x} is not decoded"
        return cls, start, end, ""

    def _decode_variable(self, name: str) -> Any:
        pkt = self._pkt
        if pkt is None or pkt._buf is None:
            return None
        self._ensure()
        at, end, buf = self._off + 2, self._end, pkt._buf
        if at >= end:
            return None
        if is_unnumbered(buf[at]):
            return buf[at]
        return buf[at] | buf[at + 1] << 8 if at + 1 < end else None

    def _encode_variable(self) -> bytes:
        return control_octets(self._f.get("ctrl", UI))

    def auto_values(self, var: bytes, payload: bytes, layers: list[Layer],
                    index: int) -> dict[str, Any]:
        sap = self._auto_next(layers, index)
        return {"dsap": sap, "ssap": sap}

    def _expected(self, name: str) -> Any:
        if name == "ssap":
            name = "dsap"  # both SAPs name the protocol above
        return super()._expected(name)


class SNAP(Layer):
    """SNAP header (IEEE Std 802, Overview and Architecture; RFC 1042)::

        +--------+--------+--------+--------+--------+
        |      OUI (3 octets)      | protocol ID (2) |
        +--------+--------+--------+--------+--------+

    Field names as in Scapy: ``OUI`` and ``code``.  With OUI 0 (RFC 1042) or 0000f8 (IEEE
    802.1H) ``code`` is an EtherType and the payload decodes through ``ETHERTYPES`` (IPv4 over
    SNAP).  Automatic: ``code``, the EtherType of the layer above.
    """

    __slots__ = ()
    name = "SNAP"
    next_registry = ETHERTYPES
    next_field = "code"
    next_fallback = 0

    OUI = UInt24(0, hex=True, names=OUI_NAMES)
    code = UInt16(AUTO, hex=True, names=ETHERTYPES.names)

    def _next(self) -> NextLayer | None:
        header = self._h
        oui = int.from_bytes(header[0], "big") if header is not None and header[0] else 0
        if oui in ETHERTYPE_OUIS:
            return super()._next()
        self._ensure()
        start, end = self._off + self._hlen, self._end
        if start >= end or header is None:
            return None
        return Raw, start, end, f"SNAP OUI 0x{oui:06x} protocol 0x{header[1]:04x} is not decoded"


LLC_SAPS.register(SNAP_SAP, SNAP)
# An Ethernet type 0x8870 (jumbo LLC, draft-ietf-isis-ext-eth-01) announces an LLC header too;
# building an LLC over Ether writes the IEEE 802.3 length instead.
ETHERTYPES.register(0x8870, LLC, build=False, name="Jumbo")
