"""One-line summaries in the format of ``tcpdump -nn -S -t`` (no link header, absolute TCP
sequence numbers, no timestamp), as printed by tcpdump 4.99 (print-ether.c, print-llc.c,
print-ip.c, print-ip6.c, print-tcp.c, print-mptcp.c, print-udp.c, print-icmp.c, print-icmp6.c,
print-arp.c).  TCP options are in :mod:`wirekit.packet.summary_tcp`.

Only the non-verbose line is reproduced.  A printer is registered per layer class in
``SUMMARIES``; a class without one is described by its name and fields.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from wirekit.packet.arp import ARP
from wirekit.packet.cooked import SLL, SLL2, Loopback, LoopbackBE
from wirekit.packet.ether import MAX_8023_LENGTH, Dot1Q, Ether
from wirekit.packet.icmp import ICMP
from wirekit.packet.icmpv6 import ICMPv6
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.ipv6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    IPv6ExtHeader,
)
from wirekit.packet.layer import Layer, Padding, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.llc import ETHERTYPE_OUIS, LLC, OUI_NAMES, SAP_MASK, SNAP, UI, is_unnumbered
from wirekit.packet.registry import ETHERTYPES, LLC_SAPS
from wirekit.packet.status import Status
from wirekit.packet.summary_tcp import tcp_options_text
from wirekit.packet.tcp import TCP, TCPFlags
from wirekit.packet.udp import UDP

if TYPE_CHECKING:
    from wirekit.packet.packet import Packet

Printer = Callable[[list[Layer], int], str]
LINK_LAYERS = (Ether, Dot1Q, SLL, SLL2, Loopback, LoopbackBE)


def summarize(pkt: Packet) -> str:
    """The tcpdump line for *pkt* (a parsed packet)."""
    if not len(pkt):
        return "[Invalid header: caplen==0, len==0]"
    layers = [layer for layer in pkt._decode_all() if type(layer) is not Padding]
    line = _line(pkt, layers)
    first = layers[0] if layers else None
    if isinstance(first, SLL2) and first.status.kind is not Status.TRUNCATED:
        return _sll2_prefix(first) + line
    return line


#: tcpdump's column for an SLL2 packet type (sll_pkttype_values).
_SLL_DIRECTIONS = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}


def _sll2_prefix(sll: SLL2) -> str:
    """tcpdump's ``ifname direction`` columns of a Linux cooked v2 packet.  Like tcpdump it
    names the interface index on this host (``?`` when there is none)."""
    try:
        name = socket.if_indextoname(sll.ifindex or 0)
    except (OSError, OverflowError):
        name = "?"
    direction = _SLL_DIRECTIONS.get(sll.pkttype or 0, "?")
    return f"{name:<5} {direction:<3} "


def _line(pkt: Packet, layers: list[Layer]) -> str:
    position = 0
    while position < len(layers) and isinstance(layers[position], LINK_LAYERS):
        if layers[position].status.kind is Status.TRUNCATED:
            return f" [|{_CUT.get(type(layers[position]), 'link')}]"
        position += 1
    if not layers:
        return "empty packet"
    if position == len(layers):
        return _link_only(layers, len(pkt))
    if position == 0 and type(layers[0]) is Raw and pkt.link is LinkType.RAW:
        return f"unknown ip {pkt._buf[0] >> 4}"
    layer = layers[position]
    printer = SUMMARIES.get(type(layer))
    if printer is not None:
        return printer(layers, position)
    if type(layer) is Raw and position:
        return _unknown_above_link(layers, position, len(pkt))
    return f"{layer.name} {layer.brief()}"


#: tcpdump's names for a cut link header (" [|ether]").
_CUT: dict[type[Layer], str] = {Ether: "ether", Dot1Q: "vlan", Loopback: "null",
                                LoopbackBE: "loop", SLL: "sll", SLL2: "sll2"}


#: What tcpdump prints when the header an EtherType (or an 802.3 length) announces has no
#: byte at all.
_NOTHING_CAPTURED: dict[type[Layer], str] = {IPv4: " [|ip]", IPv6: " [|ip6]", ARP: " [|arp]",
                                             LLC: " [|llc]", Dot1Q: " [|vlan]"}


def _link_only(layers: list[Layer], total: int) -> str:
    first, last = layers[0], layers[-1]
    kind = last.type if isinstance(last, Ether | Dot1Q) else None
    if kind is not None:
        cls = LLC if kind <= MAX_8023_LENGTH else ETHERTYPES.classes.get(kind)
        cut = _NOTHING_CAPTURED.get(cls) if cls is not None else None
        if cut is not None:
            return cut
    if isinstance(first, Ether):
        return f"{first.src} > {first.dst}, {_ethertype(first.type)}, length {total}"
    return f"{first.name}, length {total}"


def _ethertype(kind: int | None) -> str:
    if kind is None:
        return "ethertype unknown"
    if kind <= MAX_8023_LENGTH:
        return "802.3"
    name = ETHERTYPES.name_of(kind)
    return f"ethertype {name or 'Unknown'} (0x{kind:04x})"


def _unknown_above_link(layers: list[Layer], position: int, total: int) -> str:
    link = layers[position - 1]
    kind = getattr(link, "type", None) if not isinstance(link, SLL | SLL2) else link.proto
    first = layers[0]
    if kind is not None and kind <= MAX_8023_LENGTH and isinstance(link, Ether | Dot1Q):
        total = _wire_left(layers, position)  # tcpdump -e's 802.3 length (Novell raw IPX)
    if isinstance(first, Ether):
        return f"{first.src} > {first.dst}, {_ethertype(kind)}, length {total}"
    return f"{_ethertype(kind)}, length {total}"


def _wire_left(layers: list[Layer], index: int) -> int:
    """The length tcpdump hands the printer of ``layers[index]``: what the wire carried from
    there on, within any IEEE 802.3 length field below (print-ether.c cuts the length to it)."""
    layer = layers[index]
    pkt = layer._pkt
    left = (pkt.wire_len if pkt is not None else 0) - layer._off
    for below in layers[:index]:
        if isinstance(below, Ether | Dot1Q):
            kind = below.type
            if kind is not None and kind <= MAX_8023_LENGTH:
                left = min(left, below._off + below._hlen + kind - layer._off)
    return left


# -- IPv4 ----------------------------------------------------------------------------------

def _ipv4(layers: list[Layer], index: int) -> str:
    ip = cast(IPv4, layers[index])
    status = ip.status
    header = ip._h
    if header is None or header[0] is None or (status.kind is Status.TRUNCATED and \
            ip._hlen < 20 and "header needs" in status.reason):
        return "IP  [|ip]"
    version, ihl, total = header[0] >> 4, (header[0] & 15) * 4, header[2]
    if version != 4:
        return f"IP{version} (invalid)"
    if ihl < 20:
        return f"IP bad-hlen {ihl}"
    if total and total < ihl:
        return f"IP bad-len {total}"
    prefix = "IP "
    # tcpdump compares the IP length with the length on the wire, not with what the capture
    # kept: a snaplen cut is not a "truncated-ip".
    present = _wire_left(layers, index)
    if total > present:
        prefix += f"truncated-ip - {total - present} bytes missing! "
    payload = (total or present) - ihl
    src, dst = ip.src, ip.dst
    if header[4] & 0x1FFF:
        return f"{prefix}{src} > {dst}: ip-proto-{header[6]}"
    upper = layers[index + 1] if index + 1 < len(layers) else None
    if isinstance(upper, IPv4 | IPv6):
        return f"{prefix}{src} > {dst}: {_tunnelled(layers, index + 1)}"
    return prefix + _transport(upper, src, dst, payload, header[6])


def _tunnelled(layers: list[Layer], index: int) -> str:
    """The inner packet of IP-in-IP, 6in4, 4in6 or 6in6 (RFC 2003, RFC 4213, RFC 2473), as
    tcpdump prints it after the outer addresses."""
    return SUMMARIES[type(layers[index])](layers, index)


def _transport(upper: Layer | None, src: str, dst: str, payload: int, proto: int) -> str:
    """What follows the addresses: ports and a TCP/UDP line, or an ICMP line, or a number."""
    if isinstance(upper, TCP | UDP):
        # A field beyond the captured bytes reads None (typed int for the common case).
        sport: int | None = upper.sport
        dport: int | None = upper.dport
        if sport is None or dport is None:
            # tcpdump names the protocol cut before its ports: tcp_print prints the marker
            # right after "a > b: ", udp_print after one more space.
            return f"{src} > {dst}: " + ("[|tcp]" if isinstance(upper, TCP) else " [|udp]")
        body = _tcp(upper, payload) if isinstance(upper, TCP) else _udp(upper, payload)
        return f"{src}.{sport} > {dst}.{dport}:{body}"
    if isinstance(upper, ICMP):
        return f"{src} > {dst}: {_icmp(upper, payload)}"
    if isinstance(upper, ICMPv6):
        return f"{src} > {dst}: {_icmp6(upper, payload)}"
    if upper is None and proto == 59:
        return f"{src} > {dst}: no next header"
    if upper is None and proto in _CUT_BEFORE_TRANSPORT:
        # The capture ended with the IP header: tcpdump still hands the (empty) rest to the
        # protocol's printer, which says it is cut.
        return f"{src} > {dst}: {_CUT_BEFORE_TRANSPORT[proto]}"
    return f"{src} > {dst}:  ip-proto-{proto} {payload}"


#: What tcpdump prints for a TCP, UDP, ICMP or ICMPv6 payload of which nothing was captured.
_CUT_BEFORE_TRANSPORT = {6: "[|tcp]", 17: " [|udp]", 1: " [|icmp]", 58: " [|icmp6]"}


# -- TCP and UDP -----------------------------------------------------------------------------

def _tcp(tcp: TCP, payload: int) -> str:
    header = tcp._h
    if header is None or any(value is None for value in header):
        return "  [|tcp]"
    hlen = (header[4] >> 12) * 4
    flags = TCPFlags(header[4] & 0x1FF)
    if hlen < 20:
        return f"  tcp {payload - hlen} [bad hdr length {hlen} - too short, < 20]"
    if hlen > payload:
        return f" Flags [{flags.tcpdump()}] [bad hdr length {hlen} - too long, > {payload}]"
    data = payload - hlen
    seq, ack = header[2], header[3]
    parts = [f" Flags [{flags.tcpdump()}]"]
    if flags & 0x07 or data:  # SYN, FIN, RST or data: print the sequence number(s)
        parts.append(f"seq {seq}:{(seq + data) & 0xFFFFFFFF}" if data else f"seq {seq}")
    if flags & 0x10:
        parts.append(f"ack {ack}")
    parts.append(f"win {header[5]}")
    if flags & 0x20:
        parts.append(f"urg {header[7]}")
    protocol = "tcp"
    present = tcp._raw_variable("options")
    if hlen > 20:
        options = tcp_options_text(present, hlen - 20, header[4] & 0xFF,
                                   _signature_note(tcp, payload))
        if not options.complete:  # tcpdump ends the line inside the options
            return ", ".join(parts) + ", options [" + options.text
        parts.append("options [" + options.text)
        protocol = options.protocol
    parts.append(f"length {data}")
    if data and 20 + len(present) < hlen:
        # The options ended (EOL) before the capture did; tcpdump checks the whole header is
        # there before it looks at the data.
        parts[-1] += (f" [remaining caplen({20 + len(present)}) < header length({hlen})]"
                      f" [|{protocol}]")
    return ", ".join(parts)


def _signature_note(tcp: TCP, payload: int) -> str:
    """Why tcpdump cannot check an MD5 signature (RFC 2385): the segment is not all captured,
    or (as always here) no shared secret was given with -M."""
    if tcp._off + payload > tcp._end:
        return "snaplen too short, "
    return "shared secret not supplied with -M, "


def _udp(udp: UDP, payload: int) -> str:
    header = udp._h
    if header is None or header[2] is None:
        return "  [|udp]"
    length = header[2]
    if length < 8:
        return f" truncated-udplength {length}"
    if header[3] is None:  # udp_print checks the length, then wants all 8 bytes (RFC 768)
        return "  [|udp]"
    if length > payload:
        return f" UDP, bad length {length - 8} > {payload - 8}"
    return f" UDP, length {length - 8}"


# -- ICMP ----------------------------------------------------------------------------------

_ICMP_NAMES = {0: "echo reply", 4: "source quench", 8: "echo request",
               10: "router solicitation", 15: "information request",
               16: "information reply", 17: "address mask request"}
_UNREACHABLE = {0: "net {} unreachable", 1: "host {} unreachable",
                5: "{} unreachable - source route failed", 6: "net {} unreachable - unknown",
                7: "host {} unreachable - unknown", 8: "{} unreachable - source host isolated",
                9: "net {} unreachable - admin prohibited",
                10: "host {} unreachable - admin prohibited",
                11: "net {} unreachable - tos prohibited",
                12: "host {} unreachable - tos prohibited",
                13: "host {} unreachable - admin prohibited filter",
                14: "host {} unreachable - host precedence violation",
                15: "host {} unreachable - precedence cutoff"}
_REDIRECT = {0: "redirect {} to net {}", 1: "redirect {} to host {}",
             2: "redirect-tos {} to net {}", 3: "redirect-tos {} to host {}"}


def _quoted_ip(icmp: Layer) -> tuple[IPv4 | None, Layer | None]:
    inner = icmp.payload
    if not isinstance(inner, IPv4):
        return None, None
    return inner, inner.payload


#: ICMP messages whose identifier and sequence number tcpdump checks first (echo, timestamp).
_ICMP_WITH_ID = frozenset({0, 8, 13, 14})


def _icmp(icmp: ICMP, payload: int) -> str:
    kind, code = icmp.type, icmp.code
    if kind is None or code is None or (kind in _ICMP_WITH_ID and None in (icmp.id, icmp.seq)):
        return " [|icmp]"  # icmp_print checks what it prints: an echo's id and seq too
    if kind in (3, 5, 11) and _quote_cut(icmp, code == 3 and kind == 3):
        return " [|icmp]"
    if kind == 12 and icmp._pkt is not None and len(icmp._pkt._buf) - icmp._off < 5:
        return " [|icmp]"  # the pointer octet (RFC 792) is cut
    return f"ICMP {_icmp_text(icmp, kind or 0, code or 0)}, length {payload}"


def _quote_cut(icmp: ICMP, needs_port: bool) -> bool:
    """True when the capture ends before what tcpdump needs of an unreachable, a redirect or a
    time exceeded: the quoted destination address, and for a port unreachable the port."""
    inner, upper = _quoted_ip(icmp)
    if inner is None or inner.dst is None:
        return True
    return needs_port and (upper is None or getattr(upper, "dport", None) is None)


def _icmp_text(icmp: ICMP, kind: int, code: int) -> str:
    if kind in (0, 8):
        return f"echo {'request' if kind == 8 else 'reply'}, id {icmp.id}, seq {icmp.seq}"
    inner, upper = _quoted_ip(icmp)
    target = inner.dst if inner is not None else "?"
    if kind == 3:
        if code == 2:
            return f"{target} protocol {inner.proto if inner else '?'} unreachable"
        if code == 3:
            return _port_unreachable(inner, upper, target)
        if code == 4:
            mtu = icmp.nexthopmtu
            return f"{target} unreachable - need to frag" + (f" (mtu {mtu})" if mtu else "")
        return _UNREACHABLE.get(code, f"{{}} unreachable - #{code}").format(target)
    if kind == 5:
        return _REDIRECT.get(code, f"redirect-#{code} {{}} to {{}}").format(target, icmp.gw)
    if kind == 11:
        return {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
            code, f"time exceeded-#{code}")
    if kind == 12:
        return f"parameter problem - code {code}" if code else \
            f"parameter problem - octet {icmp.ptr}"
    if kind == 13:
        return f"time stamp query id {icmp.id} seq {icmp.seq}"
    return _ICMP_NAMES.get(kind, f"type-#{kind}")


def _port_unreachable(inner: IPv4 | None, upper: Layer | None, target: str) -> str:
    if inner is None or upper is None or getattr(upper, "dport", None) is None:
        return f"{target} port unreachable"
    proto = inner.proto
    if isinstance(upper, TCP | UDP):
        name = "tcp" if isinstance(upper, TCP) else "udp"
        return f"{target} {name} port {upper.dport} unreachable"
    return f"{target} protocol {proto} port {getattr(upper, 'dport', 0)} unreachable"


# -- IPv6 and ICMPv6 -------------------------------------------------------------------------

def _ipv6(layers: list[Layer], index: int) -> str:
    ip = cast(IPv6, layers[index])
    header = ip._h
    if header is None or header[0] is None or header[5] is None:
        return " [|ip6]"  # the 40-byte header is cut (the destination is its last field)
    if header[0] >> 28 != 6:
        return f"IP6 version error: {header[0] >> 28} != 6"
    prefix = "IP6 "
    present = _wire_left(layers, index) - 40
    if header[1] > present:
        prefix += f"truncated-ip6 - {header[1] - present} bytes missing!"
    payload = header[1]
    src, dst = ip.src, ip.dst
    position = index + 1
    if position >= len(layers) or not isinstance(layers[position], IPv6ExtHeader):
        upper = layers[position] if position < len(layers) else None
        if isinstance(upper, IPv4 | IPv6):
            return f"{prefix}{src} > {dst}: {_tunnelled(layers, position)}"
        return prefix + _transport(upper, src, dst, payload, header[2])
    tokens: list[str] = []
    while position < len(layers) and isinstance(layers[position], IPv6ExtHeader):
        ext = layers[position]
        if ext.status.kind is Status.MALFORMED and type(ext) is IPv6ExtHdrHopByHop:
            where = "was already found" if "second" in ext.status.reason \
                else "don't follow the IPv6 header"  # tcpdump's own words
            tokens.append(f"[The Hop-by-Hop Options header {where}] (invalid)")
            return f"{prefix}{src} > {dst}: {' '.join(tokens)}"
        payload -= ext._hlen if ext._hlen > 0 else 8
        tokens.append(_ext_token(ext, payload))
        if isinstance(ext, IPv6ExtHdrFragment) and ext.offset:
            return f"{prefix}{src} > {dst}: {' '.join(tokens)}"
        position += 1
    upper = layers[position] if position < len(layers) else None
    head = f"{prefix}{src} > {dst}: {' '.join(tokens)} "
    if isinstance(upper, TCP | UDP):
        body = _tcp(upper, payload) if isinstance(upper, TCP) else _udp(upper, payload)
        return f"{head}{upper.sport} > {upper.dport}:{body}"
    if isinstance(upper, ICMPv6):
        return head + _icmp6(upper, payload)
    last = layers[position - 1]
    nh = last._h[0] if last._h is not None else 59
    if nh == 59:
        return head + "no next header"
    return f"{head}ip-proto-{nh} {payload}"


def _ext_token(ext: Layer, payload: int) -> str:
    if isinstance(ext, IPv6ExtHdrHopByHop) and not isinstance(ext, IPv6ExtHdrDestOpt):
        return "HBH"
    if isinstance(ext, IPv6ExtHdrDestOpt):
        return "DSTOPT"
    if isinstance(ext, IPv6ExtHdrFragment):
        return f"frag ({(ext.offset or 0) * 8}|{payload})"
    if isinstance(ext, IPv6ExtHdrRouting):
        addresses = "".join(f", [{i}]{address}" for i, address in enumerate(ext.addresses))
        deprecated = " [Deprecated]" if ext.type == 0 else ""
        word = ext.reserved or 0
        srh = f", last-entry={word >> 24}, tag={word & 0xFFFF:x}" if ext.type == 4 else ""
        return (f"RT6 (len={ext.len}, type={ext.type}{deprecated}, segleft={ext.segleft}"
                f"{srh}{addresses})")
    return ext.name


_ICMP6_NAMES = {128: "echo request", 129: "echo reply", 133: "router solicitation",
                134: "router advertisement", 135: "neighbor solicitation",
                136: "neighbor advertisement", 137: "redirect", 130: "multicast listener query",
                131: "multicast listener report", 132: "multicast listener done",
                143: "multicast listener report v2"}
# tcpdump's own strings, including the leading space of code 1.
_UNREACH6 = {0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope",
             3: "unreachable address", 4: "unreachable port"}


def _icmp6(icmp: ICMPv6, payload: int) -> str:
    kind, code = icmp.type or 0, icmp.code or 0
    text = _ICMP6_NAMES.get(kind, f"unknown icmp6 type ({kind})")
    inner = icmp.payload if isinstance(icmp.payload, IPv6) else None
    target = inner.dst if inner is not None else "?"
    if kind in (128, 129):
        ident: int | None = icmp.id
        seq: int | None = icmp.seq
        if ident is None or seq is None:
            return f"ICMP6, {text} [|icmp6]"  # the type is known, the rest is cut
        return f"ICMP6, {text}, id {icmp.id}, seq {icmp.seq}, length {payload}"
    if kind == 1:
        reason = _UNREACH6.get(code)
        if reason is None:  # tcpdump hex-dumps the rest on the next lines
            return f"ICMP6, destination unreachable, unknown unreach code ({code})"
        if code == 2:
            source = inner.src if inner is not None else "?"
            return (f"ICMP6, destination unreachable, {reason} {target}, source address "
                    f"{source}, length {payload}")
        upper = inner.payload if inner is not None else None
        if code == 4 and isinstance(upper, TCP | UDP):
            name = "tcp" if isinstance(upper, TCP) else "udp"
            return (f"ICMP6, destination unreachable, {reason}, {target} {name} port "
                    f"{upper.dport}, length {payload}")
        return f"ICMP6, destination unreachable, {reason} {target}, length {payload}"
    if kind == 2:
        return f"ICMP6, packet too big, mtu {icmp.mtu}, length {payload}"
    if kind == 3:
        detail = {0: f" for {target}", 1: " (reassembly)"}.get(code, f", unknown code ({code})")
        return f"ICMP6, time exceeded in-transit{detail}, length {payload}"
    if kind == 4:
        which = {0: "erroneous", 1: "next header", 2: "option",
                 3: "incomplete header chain"}.get(code)
        detail = f"{which} - octet {icmp.ptr}" if which else f"code-#{code}"
        return f"ICMP6, parameter problem, {detail}, length {payload}"
    if kind == 135:
        return f"ICMP6, {text}, who has {icmp.tgt}, length {payload}"
    if kind == 136:
        return f"ICMP6, {text}, tgt is {icmp.tgt}, length {payload}"
    if kind == 137:
        return f"ICMP6, {text}, {icmp.dst} to {icmp.tgt}, length {payload}"
    return f"ICMP6, {text}, length {payload}"


# -- ARP -------------------------------------------------------------------------------------

#: tcpdump's names (print-arp.c arphrd_values, arpop_values).
_ARP_HARDWARE = {1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 19: "ATM",
                 23: "Strip", 24: "IEEE 1394", 32: "InfiniBand"}
_ARP_OPERATIONS = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
                   8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"}
#: Protocol types tcpdump prints as IPv4 addresses: IPv4 and the old trailer type 0x1000.
_ARP_IP_TYPES = (0x0800, 0x1000)


def _arp(layers: list[Layer], index: int) -> str:
    """arp_print: `` [|arp]`` unless the whole header and every address were captured."""
    arp = cast(ARP, layers[index])
    header = arp._h
    if arp.status.kind is Status.TRUNCATED or header is None or None in header:
        return " [|arp]"
    length = _wire_left(layers, index)
    hwtype, ptype, hwlen, plen, op = header
    if ptype not in _ARP_IP_TYPES or plen != 4 or hwlen == 0:
        # tcpdump does not know the address formats: the types and lengths only
        hardware = _ARP_HARDWARE.get(hwtype, f"Unknown Hardware ({hwtype})")
        protocol = ETHERTYPES.name_of(ptype) or f"Unknown Protocol (0x{ptype:04x})"
        return f"ARP, {hardware} (len {hwlen}), {protocol} (len {plen}), length {length}"
    text = {
        1: lambda: f"who-has {arp.pdst}{_tha(arp)} tell {arp.psrc}",
        2: lambda: f"{arp.psrc} is-at {arp.hwsrc}",
        3: lambda: f"who-is {arp.hwdst} tell {arp.hwsrc}",
        4: lambda: f"{arp.hwdst} at {arp.pdst}",
        8: lambda: f"who-is {arp.hwdst} tell {arp.hwsrc}",
        9: lambda: f"{arp.hwsrc} at {arp.psrc}",
    }.get(op)
    name = _ARP_OPERATIONS.get(op, f"Unknown ({op})")
    if text is None:  # tcpdump hex-dumps the rest and prints no length
        return f"ARP, {name}"
    return f"ARP, {name} {text()}, length {length}"


def _tha(arp: Any) -> str:
    """The target hardware address of a request, when it is not all zeros."""
    target = arp._decode_variable("hwdst")
    return f" ({arp.hwdst})" if any(target) else ""


# -- IEEE 802.2 LLC and SNAP ---------------------------------------------------------------

#: tcpdump's names (print-llc.c llc_cmd_values, llc_flag_values, llc_supervisory_values).
_U_COMMANDS = {0x03: "ui", 0xE3: "test", 0xAF: "xid", 0x63: "ua", 0x43: "disc", 0x0F: "dm",
               0x6F: "sabme", 0x87: "frmr"}
_LLC_FLAGS = {0x00: "Command", 0x01: "Response", 0x10: "Poll", 0x11: "Final", 0x100: "Poll",
              0x101: "Final"}
_SUPERVISORY = {0: "Receiver Ready", 1: "Receiver not Ready", 2: "Reject"}
_XID = 0xAF
#: The format identifier of an IEEE 802.2 XID information field (IEEE 802.2 clause 5.4.1.1.2).
_XID_FORMAT = 0x81
_STP_SAP = 0x42
#: Classes whose EtherType tcpdump's ethertype_print decodes (it prints SNAP's own line for
#: the rest, VLAN tags and jumbo LLC included).
_SNAP_DECODED = (IPv4, IPv6, ARP)
#: tcpdump's protocol ID names for OUI 0080c2 (RFC 2684 bridged) that it does not decode.
_BRIDGED_PIDS = {0x0002: "802.4 + FCS", 0x0008: "802.4 w/o FCS", 0x0005: "802.6 + FCS",
                 0x000B: "802.6 w/o FCS"}


def _llc(layers: list[Layer], index: int) -> str:
    """llc_print without -e: the layers above for a UI frame between the SNAP, IP or STP SAPs,
    else the addresses, the SAPs and the control field."""
    llc = cast(LLC, layers[index])
    header, control = llc._h, llc.ctrl
    if llc.status.kind is Status.TRUNCATED or header is None or None in header \
            or control is None:
        return " [|llc]"
    length = _wire_left(layers, index)
    data = length - llc._hlen
    dsap, ssap = header[0] & SAP_MASK, header[1] & SAP_MASK
    if dsap == ssap and control == UI:
        if dsap == LLC_SAPS.key_of(SNAP):
            return _snap(layers, index + 1, data)
        if dsap == _STP_SAP:
            # The BPDU is not decoded: the protocol and its length.  tcpdump goes on with the
            # version, BPDU type, flags and bridge ID (print-stp.c).
            return f"STP, length {data}"
        upper = layers[index + 1] if index + 1 < len(layers) else None
        if upper is not None and type(upper) in SUMMARIES:
            return SUMMARIES[type(upper)](layers, index + 1)  # RFC 948 IP, and any other binding
        cut = _NOTHING_CAPTURED.get(LLC_SAPS.classes.get(dsap) or Layer)
        if upper is None and cut is not None:
            return cut
    return _llc_saps(layers, dsap, ssap) + _llc_control(llc, header[1], control, data)


def _llc_saps(layers: list[Layer], dsap: int, ssap: int) -> str:
    """The MAC addresses and SAP names tcpdump prints before the control field."""
    first = layers[0]
    source, destination = (f"{first.src} ", f"{first.dst} ") if isinstance(first, Ether) \
        else ("", "")
    dname = LLC_SAPS.name_of(dsap) or f"Unknown DSAP 0x{dsap:02x}"
    if dsap == ssap:
        return f"{source}> {destination}{dname} " if source else f"{dname} "
    sname = LLC_SAPS.name_of(ssap) or f"Unknown SSAP 0x{ssap:02x}"
    return f"{source}{sname} > {destination}{dname} "


def _llc_control(llc: LLC, ssap_field: int, control: int, data: int) -> str:
    """IEEE 802.2 clause 5.4: U frames by command, S frames by function, I frames by their
    sequence numbers; the poll/final bit with the SSAP's command/response bit."""
    length = data + llc._hlen
    if is_unnumbered(control):
        command = _U_COMMANDS.get(control & 0xEF, f"{control & 0xEF:02x}")
        flags = _LLC_FLAGS.get((ssap_field & 1) | (control & 0x10), "?")
        text = f"Unnumbered, {command}, Flags [{flags}], length {length}"
        return text + _xid_format(llc, data) if control & 0xEF == _XID else text
    flags = _LLC_FLAGS.get((ssap_field & 1) | (control & 0x100), "?")
    if control & 1:
        function = _SUPERVISORY.get(control >> 2 & 3, "?")
        return f"Supervisory, {function}, rcv seq {control >> 9}, Flags [{flags}], length {length}"
    return (f"Information, send seq {control >> 1 & 0x7F}, rcv seq {control >> 9}, "
            f"Flags [{flags}], length {length}")


def _xid_format(llc: LLC, data: int) -> str:
    """An XID whose information field starts with the IEEE 802.2 format identifier: tcpdump
    prints the two octets after it (LLC classes, receive window)."""
    pkt = llc._pkt
    if data == 0 or pkt is None:
        return ""
    captured = bytes(pkt._buf[llc._off + llc._hlen:llc._end])
    if not captured:
        return " [|llc]"
    if captured[0] != _XID_FORMAT:
        return ""
    if len(captured) < 3 or data < 3:
        return " [|llc]"
    return f": {captured[1]:02x} {captured[2]:02x}"


def _snap(layers: list[Layer], index: int, length: int) -> str:
    """snap_print: the layers above when tcpdump decodes the EtherType, else the SNAP line.
    *length* counts the bytes after the LLC header."""
    snap = layers[index] if index < len(layers) else None
    if not isinstance(snap, SNAP) or snap.status.kind is Status.TRUNCATED or length < 5:
        return " [|snap]"
    oui, code = snap.OUI, snap.code
    upper = layers[index + 1] if index + 1 < len(layers) else None
    if oui in ETHERTYPE_OUIS:
        if isinstance(upper, _SNAP_DECODED):
            return SUMMARIES[type(upper)](layers, index + 1)
        cls = ETHERTYPES.classes.get(code)
        if upper is None and cls in _SNAP_DECODED:
            return _NOTHING_CAPTURED[cls]
    first = layers[0]
    ends = f"{first.src} > {first.dst} " if isinstance(first, Ether) else ""
    if oui == 0:
        name = ETHERTYPES.name_of(code) or "Unknown"
        return f"{ends}SNAP, ethertype {name} (0x{code:04x}), length {length - 5}"
    names = ETHERTYPES.names if oui in (*ETHERTYPE_OUIS, 0x080007) else \
        _BRIDGED_PIDS if oui == 0x0080C2 else {}
    return (f"{ends}SNAP, oui {OUI_NAMES.get(oui, 'Unknown')} (0x{oui:06x}), "
            f"pid {names.get(code, 'Unknown')} (0x{code:04x}), length {length - 5}")


#: Layer class -> printer of the line that starts at that layer.
SUMMARIES: dict[type[Layer], Printer] = {IPv4: _ipv4, IPv6: _ipv6, ARP: _arp, LLC: _llc}
