"""``tcpdump -e``: the summary line with the link-level header printed first.

With ``-e`` tcpdump prints the link header (MAC addresses, EtherType or 802.3 length, VLAN
tags, the LLC header, the cooked header's direction and address, the BSD address family) and
then the network line *without* its protocol word: ``IP ``, ``IP6 `` and ``ARP, `` are only
printed when the link header is not (``ndo_eflag`` in print-ip.c, print-ip6.c, print-arp.c).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, cast

from wirekit.packet.arp import ARP
from wirekit.packet.cooked import SLL, SLL2, Loopback, LoopbackBE
from wirekit.packet.ether import MAX_8023_LENGTH, Dot1Q, Ether
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.ipv6 import IPv6
from wirekit.packet.layer import Layer, Padding
from wirekit.packet.linktype import LinkType
from wirekit.packet.llc import ETHERTYPE_OUIS, LLC, OUI_NAMES, SAP_MASK, SNAP, UI, is_unnumbered
from wirekit.packet.registry import ETHERTYPES, LLC_SAPS
from wirekit.packet.status import Status
from wirekit.packet.summary import (
    _BRIDGED_PIDS,
    _NOTHING_CAPTURED,
    _STP_SAP,
    IP_PRINTERS,
    SUMMARIES,
    _llc_control,
    _wire_left,
    summarize,
)

if TYPE_CHECKING:
    from wirekit.packet.packet import Packet

#: The protocol word of ARP, which tcpdump leaves out under -e (the IP printers leave out
#: theirs when asked).
_ARP_WORD = "ARP, "
#: print-null.c's names of BSD address families.
_FAMILIES = {2: "IPv4", 7: "OSI", 23: "IPX", 24: "IPv6", 28: "IPv6", 30: "IPv6"}
#: The header each BSD address family announces.
_FAMILY_CLASSES: dict[int, type[Layer]] = {2: IPv4, 24: IPv6, 28: IPv6, 30: IPv6}
#: tcpdump -e's EtherType names where they differ from the registry's (ethertype_values).
_ETHERTYPE_NAMES = {0x8035: "Reverse ARP"}
#: The EtherType of jumbo LLC frames (an LLC header follows, as after an 802.3 length).
JUMBO_LLC = 0x8870
ETHER_HEADER = 14
SNAP_SAP = 0xAA
#: The IP SAP (RFC 948).
IP_SAP = 0x06
#: print-sll.c's direction column (right-aligned in SLL, left-aligned in SLL2).
_DIRECTIONS = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}


def summarize_link_level(pkt: Packet) -> str:
    """The ``tcpdump -e -nn -S -t`` line for *pkt* (a parsed packet)."""
    layers = [layer for layer in pkt._decode_all() if type(layer) is not Padding]
    if not layers or any(layer.status.kind is Status.TRUNCATED for layer in layers[:1]):
        return summarize(pkt)  # a cut link header reads the same either way
    first = layers[0]
    total = pkt.wire_len
    if isinstance(first, Ether):
        return _ethernet(layers, total)
    if isinstance(first, SLL | SLL2):
        return _cooked(first, layers, total)
    if isinstance(first, Loopback | LoopbackBE):
        family = first.type or 0
        head = f"AF {_FAMILIES.get(family, 'Unknown')} ({family}), length {total}"
        return _joined(head, _network(layers, 1, _FAMILY_CLASSES.get(family)))
    if pkt.link is LinkType.RAW and isinstance(first, IPv4 | IPv6):
        return "ip: " + _network(layers, 0)
    return summarize(pkt)


def _joined(head: str, rest: str) -> str:
    return f"{head}: {rest}" if rest else head


def _network(layers: list[Layer], index: int, expected: type[Layer] | None = None) -> str:
    """The line from ``layers[index]`` on, without the protocol word; when the capture ended
    before it, tcpdump's mark for the *expected* header (`` [|ip]``), or nothing."""
    if index >= len(layers):
        return _NOTHING_CAPTURED.get(expected, "") if expected is not None else ""
    layer = layers[index]
    if isinstance(layer, LLC):
        return _llc(layers, index)
    ip_printer = IP_PRINTERS.get(type(layer))
    if ip_printer is not None:
        return ip_printer(layers, index, False)  # no "IP ", for tunnelled headers either
    printer = SUMMARIES.get(type(layer))
    if printer is None:
        return ""  # tcpdump hex-dumps what it does not decode, on the next lines
    line = printer(layers, index)
    return line.removeprefix(_ARP_WORD)


def _ethertype(kind: int) -> str:
    name = _ETHERTYPE_NAMES.get(kind) or ETHERTYPES.name_of(kind)
    return f"ethertype {name or 'Unknown'} (0x{kind:04x})"


def _expected(kind: int) -> type[Layer] | None:
    """The header an EtherType (or an 802.3 length: LLC) announces."""
    return LLC if kind <= MAX_8023_LENGTH or kind == JUMBO_LLC else ETHERTYPES.classes.get(kind)


def _ethernet(layers: list[Layer], total: int) -> str:
    ether = cast(Ether, layers[0])
    kind = ether.type or 0
    ends = f"{ether.src} > {ether.dst}"
    if kind <= MAX_8023_LENGTH:
        head = f"{ends}, 802.3, length {min(kind, total - ETHER_HEADER)}"
        return _joined(head, _network(layers, 1, LLC))
    if kind == JUMBO_LLC:  # print-ether.c hands jumbo LLC frames to llc_print at once
        return f"{ends}, {_network(layers, 1, LLC)}"
    if _expected(kind) is Dot1Q and not _whole_tag(layers, 1):
        return f"{ends},  [|vlan]"  # the EtherType is printed only with the tag it announces
    head = f"{ends}, {_ethertype(kind)}, length {total}"
    return _joined(head, _tags(layers, 1, _expected(kind)))


def _whole_tag(layers: list[Layer], index: int) -> bool:
    """True when ``layers[index]`` is a VLAN tag with all four of its bytes captured."""
    if index >= len(layers) or not isinstance(layers[index], Dot1Q):
        return False
    return layers[index].status.kind is not Status.TRUNCATED


def _tags(layers: list[Layer], index: int, expected: type[Layer] | None) -> str:
    """VLAN tags (print-ether.c): ``vlan 5, p 3[, DEI], ethertype IPv4 (0x0800), `` each,
    and the line above them; an inner 802.3 length prints "802.3" glued to the LLC header."""
    text = ""
    while index < len(layers) and isinstance(layers[index], Dot1Q):
        tag = cast(Dot1Q, layers[index])
        kind = tag.type or 0
        dei = ", DEI" if tag.dei else ""
        text += f"vlan {tag.vlan}, p {tag.prio}{dei}, "
        index += 1
        if kind <= MAX_8023_LENGTH:
            return text + "802.3" + _network(layers, index, LLC)
        expected = _expected(kind)
        if expected is Dot1Q and not _whole_tag(layers, index):
            return text + " [|vlan]"
        text += f"{_ethertype(kind)}, "
    return text + _network(layers, index, expected)


def _cooked(first: SLL | SLL2, layers: list[Layer], total: int) -> str:
    """print-sll.c: SLL2 prints the interface, direction and index, SLL only the direction,
    then the link-layer address and the protocol."""
    direction = _DIRECTIONS.get(first.pkttype or 0, "?")
    length = first.lladdrlen or 0
    address = ":".join(f"{octet:02x}" for octet in (first.src or b"")[:min(length, 8)])
    kind = first.proto or 0
    if isinstance(first, SLL2):
        try:
            name = socket.if_indextoname(first.ifindex or 0)
        except (OSError, OverflowError):
            name = "?"
        head = (f"{name:<5} {direction:<3} ifindex {first.ifindex} {address} "
                f"{_ethertype(kind)}, length {total}")
    else:
        head = f"{direction:>3} {address} {_ethertype(kind)}, length {total}"
    return _joined(head, _network(layers, 1, _expected(kind)))


def _llc(layers: list[Layer], index: int) -> str:
    """llc_print with -e: the header spelled out, then the SNAP header or the frame kind."""
    llc = cast(LLC, layers[index])
    header, control = llc._h, llc.ctrl
    if llc.status.kind is Status.TRUNCATED or header is None or None in header \
            or control is None:
        return " [|llc]"
    dsap, ssap = header[0] & SAP_MASK, header[1] & SAP_MASK
    ctrl = f"0x{control:02x}" if is_unnumbered(control) else f"0x{control:04x}"
    text = (f"LLC, dsap {LLC_SAPS.name_of(dsap) or 'Unknown'} (0x{dsap:02x}) "
            f"{'Group' if header[0] & 1 else 'Individual'}, "
            f"ssap {LLC_SAPS.name_of(ssap) or 'Unknown'} (0x{ssap:02x}) "
            f"{'Response' if header[1] & 1 else 'Command'}, ctrl {ctrl}: ")
    data = _wire_left(layers, index) - llc._hlen
    upper = layers[index + 1] if index + 1 < len(layers) else None
    if dsap == ssap and control == UI:
        if dsap == SNAP_SAP:
            return text + _snap(layers, index + 1, data)
        if isinstance(upper, IPv4 | IPv6 | ARP) or (upper is None and dsap == IP_SAP):
            return text + _network(layers, index + 1, IPv4)
        if dsap == _STP_SAP:
            return f"{text}STP, length {data}"  # the BPDU is not decoded (see summary._llc)
    return text + _llc_control(llc, header[1], control, data)


def _snap(layers: list[Layer], index: int, length: int) -> str:
    snap = layers[index] if index < len(layers) else None
    if not isinstance(snap, SNAP) or snap.status.kind is Status.TRUNCATED or length < 5:
        return " [|snap]"
    oui, code = snap.OUI or 0, snap.code or 0
    if oui == 0:
        kind = _ethertype(code)
    else:
        names = ETHERTYPES.names if oui in (*ETHERTYPE_OUIS, 0x080007) else \
            _BRIDGED_PIDS if oui == 0x0080C2 else {}
        kind = f"pid {names.get(code, 'Unknown')} (0x{code:04x})"
    head = f"oui {OUI_NAMES.get(oui, 'Unknown')} (0x{oui:06x}), {kind}, length {length - 5}"
    expected = ETHERTYPES.classes.get(code) if oui in ETHERTYPE_OUIS else None
    if expected not in (IPv4, IPv6, ARP):
        expected = None  # snap_print hands on only what ethertype_print decodes
    return _joined(head, _network(layers, index + 1, expected))
