"""One-line summaries in the format of ``tcpdump -nn -S -t`` (no link header, absolute TCP
sequence numbers, no timestamp), as printed by tcpdump 4.99 (print-ether.c, print-llc.c,
print-ip.c, print-ip6.c, print-ip6opts.c, print-frag6.c, print-rt6.c, print-ip-demux.c,
print-tcp.c, print-mptcp.c, print-udp.c, print-icmp.c, print-icmp6.c, print-arp.c).  TCP
options are in :mod:`wirekit.packet.summary_tcp`.

Only the non-verbose line is reproduced.  A printer is registered per layer class in
``SUMMARIES``; a class without one is described by its name and fields.

When the capture cut the packet short, the line is what tcpdump prints before its first read
past the captured bytes, so each printer makes tcpdump's checks in tcpdump's order.  The IPv6
extension headers, UDP and ICMPv6 are read from the buffer for that (the layers above a cut
may be missing or partial); a layer above IP that wirekit did not decode where tcpdump goes on
is decoded on the spot (``_upper``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from wirekit.packet.arp import ARP
from wirekit.packet.cooked import SLL, SLL2, Loopback, LoopbackBE
from wirekit.packet.ether import MAX_8023_LENGTH, Dot1Q, Ether
from wirekit.packet.icmp import ICMP
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.ipv6 import IPv6
from wirekit.packet.layer import Layer, Padding, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.llc import ETHERTYPE_OUIS, LLC, OUI_NAMES, SAP_MASK, SNAP, UI, is_unnumbered
from wirekit.packet.registry import ETHERTYPES, LLC_SAPS
from wirekit.packet.status import Status
from wirekit.packet.summary_dns import DNS_PORT, dns_text
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
        # tcpdump's words (print.c): the length is named only when it is 0 too
        return "[Invalid header: caplen==0" + ("]" if pkt.wire_len else ", len==0]")
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
        return _link_only(layers, pkt.wire_len)
    if position == 0 and type(layers[0]) is Raw and pkt.link is LinkType.RAW:
        return f"unknown ip {pkt._buf[0] >> 4}"
    layer = layers[position]
    printer = SUMMARIES.get(type(layer))
    if printer is not None:
        return printer(layers, position)
    if type(layer) is Raw and position:
        return _unknown_above_link(layers, position, pkt.wire_len)
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

#: Protocols whose printer writes the addresses itself, with the ports (ip_print and ip6_print
#: write ``src > dst: `` for the others).
_PORTS_PRINTED = frozenset({6, 17})
#: IPv6 extension headers tcpdump walks (hop-by-hop, routing, fragment, destination options).
_HBH, _ROUTING, _FRAGMENT, _DSTOPT = 0, 43, 44, 60


class _Datagram(NamedTuple):
    """What the printers above IP read of the datagram: its layers, the position of the IP
    layer, the addresses, the IP header's own protocol field, and where the capture (cut to the
    IP length) ends in the buffer (tcpdump's ``snapend``); *words*: the lines of IP headers
    start with ``IP ``/``IP6 `` (not under ``tcpdump -e``)."""

    layers: list[Layer]
    position: int
    v6: bool
    src: str
    dst: str
    first_nh: int
    snapend: int
    buf: Any
    words: bool


def _captured_end(layers: list[Layer], index: int) -> int:
    """Where the captured bytes a printer may read end: the buffer, cut by an IEEE 802.3
    length (print-ether.c) and by the length of an IP datagram carrying this one."""
    layer = layers[index]
    pkt = layer._pkt
    end = len(pkt._buf) if pkt is not None else 0
    for below in layers[:index]:
        if isinstance(below, Ether | Dot1Q):
            kind = below.type
            if kind is not None and kind <= MAX_8023_LENGTH:
                end = min(end, below._off + below._hlen + kind)
        elif isinstance(below, IPv4 | IPv6) and below._off < layer._off:
            below._ensure()
            end = min(end, below._end)
    return end


def _ipv4(layers: list[Layer], index: int, words: bool = True) -> str:
    """ip_print: the version (one byte), the fixed header, the lengths; the addresses unless
    TCP or UDP print them; the header length against the capture; then the protocol.  Without
    *words*, no ``IP `` (tcpdump -e leaves it out, of tunnelled headers too)."""
    ip = cast(IPv4, layers[index])
    header = ip._h
    if header is None or header[0] is None:
        return " [|ip]"
    version = header[0] >> 4
    if version != 4:
        return ("IP6, wrong link-layer encapsulation" if version == 6 else f"IP{version}") + \
            " (invalid)"
    prefix = "IP " if words else ""
    if None in header:
        return prefix + " [|ip]"  # the 20-byte header is cut
    present = _wire_left(layers, index)
    if present < 20:
        return f"{prefix}truncated-ip {present}"
    ihl, total, proto = (header[0] & 15) * 4, header[2], header[6]
    if ihl < 20:
        return f"{prefix}bad-hlen {ihl}"
    # tcpdump compares the IP length with the length on the wire, not with what the capture
    # kept: a snaplen cut is not a "truncated-ip".
    if total > present:
        prefix += f"truncated-ip - {total - present} bytes missing! "
    if total < ihl:
        return f"{prefix}bad-len {total}"  # 0 included: tcpdump is not built to guess TSO
    src, dst = ip.src, ip.dst
    if header[4] & 0x1FFF:
        return f"{prefix}{src} > {dst}: ip-proto-{proto}"
    if proto not in _PORTS_PRINTED:
        prefix += f"{src} > {dst}: "
    snapend = min(_captured_end(layers, index), ip._off + total)
    if snapend - ip._off < ihl:
        return (f"{prefix} [remaining caplen({snapend - ip._off}) < header length({ihl})]"
                " [|ip]")
    buf = ip._pkt._buf if ip._pkt is not None else b""
    datagram = _Datagram(layers, index, False, src, dst, proto, snapend, buf, words)
    return prefix + _demux(datagram, proto, ip._off + ihl, total - ihl, header[4] & 0x2000)


def _demux(dg: _Datagram, nh: int, start: int, length: int, fragmented: int) -> str:
    """ip_demux_print: the protocol above IPv4, or above IPv6 and its extension headers, at
    *start* in the buffer, *length* bytes long on the wire."""
    if nh == 6:
        return _tcp_line(dg, start, length)
    if nh == 17:
        return _udp_line(dg, start, length, fragmented)
    if nh == 1:
        if dg.v6:
            return "[ICMP requires IPv4] (invalid)"
        found = _upper(dg, start, ICMP)
        return " [|icmp]" if found is None else _icmp(cast(ICMP, found[0][found[1]]), length)
    if nh == 58:
        if not dg.v6:
            return "[ICMPv6 requires IPv6] (invalid)"
        return _icmp6(bytes(dg.buf[start:dg.snapend]), length)
    if nh == 2 and dg.v6:
        return "[IGMP requires IPv4] (invalid)"
    if nh in (4, 41):  # IP-in-IP, 6in4, 4in6, 6in6 (RFC 2003, RFC 4213, RFC 2473)
        cls: type[Layer] = IPv4 if nh == 4 else IPv6
        found = _upper(dg, start, cls)
        if found is None:
            return " [|ip]" if nh == 4 else " [|ip6]"
        return IP_PRINTERS[cls](*found, dg.words)
    if nh == 59:
        return "no next header"
    return f" ip-proto-{nh} {length}"


def _upper(dg: _Datagram, start: int, cls: type[Layer]) -> tuple[list[Layer], int] | None:
    """The layer of class *cls* at *start* and a layer list holding it: the packet's own, or
    (where wirekit stopped before tcpdump does) one decoded here; None when nothing of it was
    captured."""
    layers = dg.layers
    for position in range(dg.position + 1, len(layers)):
        layer = layers[position]
        if layer._off == start:
            if type(layer) is cls:
                return layers, position
            break
    pkt = layers[dg.position]._pkt
    if start >= dg.snapend or pkt is None:
        return None
    layer = cls._parse(pkt, len(pkt._layers), start, dg.snapend, False)
    return [*layers[:dg.position + 1], layer], dg.position + 1


# -- TCP and UDP -----------------------------------------------------------------------------

def _tcp_line(dg: _Datagram, start: int, length: int) -> str:
    """tcp_print: the addresses with the ports (only the ports after IPv6 extension headers),
    or the addresses and ``[|tcp]`` when the ports are cut."""
    found = _upper(dg, start, TCP) if dg.snapend - start >= 4 else None
    if found is None:
        return f"{dg.src} > {dg.dst}: [|tcp]"
    tcp = cast(TCP, found[0][found[1]])
    header = tcp._h
    sport, dport = (header[0], header[1]) if header is not None else (0, 0)
    text = _tcp(tcp, length)
    if DNS_PORT in (sport, dport) and text.endswith(f", length {length - tcp._hlen}") \
            and length > tcp._hlen:
        # RFC 1035 section 4.2.2: DNS over TCP, after the length (tcp_print's port switch)
        start = tcp._off + tcp._hlen
        text += dns_text(bytes(dg.buf[start:dg.snapend]), length - tcp._hlen, over_tcp=True)
    if dg.first_nh == 6:
        return f"{dg.src}.{sport} > {dg.dst}.{dport}:{text}"
    return f"{sport} > {dport}:{text}"


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


def _udp_line(dg: _Datagram, start: int, length: int, fragmented: int) -> str:
    """udp_print (RFC 768): the ports, the length on the wire, the UDP length, then all eight
    header bytes; the addresses only when UDP follows the IP header itself."""
    data = bytes(dg.buf[start:min(start + 8, dg.snapend)])
    first = dg.first_nh == 17
    if len(data) < 4:
        return (f"{dg.src} > {dg.dst}: " if first else "") + " [|udp]"
    sport, dport = int.from_bytes(data[:2], "big"), int.from_bytes(data[2:4], "big")
    head = f"{dg.src}.{sport} > {dg.dst}.{dport}: " if first else f"{sport} > {dport}: "
    if length < 8:
        return f"{head}truncated-udp {length}"
    if len(data) < 6:
        return head + " [|udp]"
    ulen = int.from_bytes(data[4:6], "big")
    if ulen < 8:
        return f"{head}truncated-udplength {ulen}"
    ulen, length = ulen - 8, length - 8
    if len(data) < 8:
        return head + " [|udp]"
    if ulen > length and not fragmented:
        return f"{head}UDP, bad length {ulen} > {length}"
    if DNS_PORT in (sport, dport):  # udp_print's port switch: RFC 1035 section 4.2.1
        return head + dns_text(bytes(dg.buf[start + 8:dg.snapend]), min(ulen, length))
    return f"{head}UDP, length {ulen}"


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
    if kind == 12 and code == 0 and _icmp_pointer(icmp) is None:
        return " [|icmp]"  # the pointer octet (RFC 792) is cut; another code does not read it
    return f"ICMP {_icmp_text(icmp, kind or 0, code or 0)}, length {payload}"


def _icmp_pointer(icmp: ICMP) -> int | None:
    """The pointer octet of a parameter problem (RFC 792), or None when it was not captured."""
    pkt = icmp._pkt
    at = icmp._off + 4
    return pkt._buf[at] if pkt is not None and at < icmp._end and at < len(pkt._buf) else None


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
            f"parameter problem - octet {_icmp_pointer(icmp)}"
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

def _ipv6(layers: list[Layer], index: int, words: bool = True) -> str:
    """ip6_print: the fixed header, then a walk over the extension headers in tcpdump's order
    of checks (each one's length byte, the whole header, its text), then the protocol.
    Without *words*, no ``IP6 `` (tcpdump -e)."""
    ip = cast(IPv6, layers[index])
    header = ip._h
    if header is None or None in header:
        return " [|ip6]"  # the 40-byte header is cut
    wire = _wire_left(layers, index)
    if wire < 40:
        return f"truncated-ip6 {wire}"
    out = ["IP6 " if words else ""]
    if header[0] >> 28 != 6:
        return f"{out[0]}version error: {header[0] >> 28} != 6"
    plen = header[1]
    total = plen + 40 if plen else wire + 40  # a jumbogram's length is in hop-by-hop
    if plen and wire < total:
        out.append(f"truncated-ip6 - {total - wire} bytes missing!")
    captured = _captured_end(layers, index)
    off = ip._off
    buf = ip._pkt._buf if ip._pkt is not None else b""
    dg = _Datagram(layers, index, True, ip.src, ip.dst, header[2], min(captured, off + total),
                   buf, words)
    _ipv6_chain(dg, out, plen, wire, captured)
    line = "".join(out).rstrip()
    return line[:-1] if line.endswith(":") else line  # as tcpdump's line reads, trimmed


def _ipv6_chain(dg: _Datagram, out: list[str], plen: int, wire: int, captured: int) -> None:
    """The loop of ip6_print: *out* gets each extension header's text and the protocol's."""
    buf, snapend, nh = dg.buf, dg.snapend, dg.first_nh
    off = dg.layers[dg.position]._off
    cp, advance, length, walked = off, 40, (plen + 40 if plen else wire + 40), 0
    payload = plen
    hop_by_hop = jumbo = extension = False
    fragmented = 0
    previous = 255
    while cp < snapend and advance > 0:
        if length < advance:
            out.append(" [|ip6]")
            return
        cp += advance
        length -= advance
        walked += advance
        if walked == 40 and nh not in _PORTS_PRINTED:
            out.append(f"{dg.src} > {dg.dst}: ")
        if nh in (_HBH, _DSTOPT):
            if nh == _HBH and hop_by_hop:
                out.append("[The Hop-by-Hop Options header was already found] (invalid)")
                return
            if nh == _HBH and previous != 255:
                out.append("[The Hop-by-Hop Options header don't follow the IPv6 header]"
                           " (invalid)")
                return
            cut = " [|hbhopt]" if nh == _HBH else " [|dstopt]"
            if snapend - cp < 2:  # the length byte
                out.append(cut)
                return
            advance = (buf[cp + 1] + 1) * 8
            complete = snapend - cp >= advance
            if nh == _DSTOPT:
                out.append("DSTOPT " if complete else cut)
                if not complete:
                    return
            else:
                problem = None
                if complete:
                    out.append("HBH ")
                    problem, size = _hbh_options(bytes(buf[cp + 2:cp + advance]), payload)
                    if size is not None:
                        jumbo, payload = True, size
                if not complete or problem is not None:
                    out.append((problem or "") + cut)
                # ip6_print checks for the jumbo payload option even after a cut header.
                if payload == 0 and not jumbo:
                    out.append("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)")
                    return
                if not complete or problem is not None:
                    return
                hop_by_hop = True
        elif nh == _FRAGMENT:
            if snapend - cp < 4:
                out.append(" [|frag6]")
                return
            offset = int.from_bytes(buf[cp + 2:cp + 4], "big") & 0xFFF8
            rest = (40 + plen - (cp - off) - 8) % (1 << 64)  # tcpdump's size_t
            out.append(f"frag ({offset}|{rest})")
            if offset:  # a later fragment: nothing above to decode
                return
            out.append(" ")
            advance, fragmented = 8, 1
            if snapend <= cp + 8:
                return
        elif nh == _ROUTING:
            if snapend - cp < 1:
                out.append(" [|ip6]")
                return
            text, advance = _rt6(bytes(buf[cp:snapend]))
            out.append(text)
            if advance < 0:
                return
        else:
            if jumbo:
                length = payload + 40
                if length < walked:
                    out.append(" [|ip6]")
                    return
                if wire < length:
                    out.append(f"truncated-ip6 - {length - wire} bytes missing!")
                dg = dg._replace(snapend=min(captured, off + length))
                length -= walked
            elif payload == 0:
                if extension:  # no payload to hold an extension header
                    out.append(" [|ip6]")
                    return
                dg, length = dg._replace(snapend=min(captured, off + 40)), 0
            out.append(_demux(dg, nh, cp, length, fragmented))
            return
        extension = True
        nh = buf[cp]
        previous = nh


#: IPv6 options tcpdump checks in a hop-by-hop header (RFC 8200 4.2, RFC 2711, RFC 2675,
#: RFC 6275): router alert, jumbo payload, home address.
_RTALERT, _JUMBO, _HOME_ADDRESS = 0x05, 0xC2, 0xC9


def _hbh_options(data: bytes, payload: int) -> tuple[str | None, int | None]:
    """ip6_opt_process without -v: the text of a bad option (``None`` when all are good),
    and a valid jumbo payload length (RFC 2675, when the IPv6 payload length is 0) found
    before it."""
    at, size, seen, jumbo = 0, len(data), False, None
    while at < size:
        kind = data[at]
        if kind == 0:
            length = 1
        elif at + 1 < size:
            length = data[at + 1] + 2
        else:
            return "", jumbo
        if at + length > size:
            return "", jumbo
        if kind == _RTALERT:
            if size - at < 4:
                return "(rtalert: trunc)", jumbo
            if data[at + 1] != 2:
                return f"(rtalert: invalid len {data[at + 1]})", jumbo
        elif kind == _JUMBO:
            if size - at < 6:
                return "(jumbo: trunc)", jumbo
            if data[at + 1] != 4:
                return f"(jumbo: invalid len {data[at + 1]})", jumbo
            value = int.from_bytes(data[at + 2:at + 6], "big")
            if not seen and payload == 0 and value >= 65536:
                jumbo = value
            seen = True
        elif kind == _HOME_ADDRESS:
            if size - at < 18:
                return "(homeaddr: trunc)", jumbo
            if data[at + 1] < 16:
                return f"(homeaddr: invalid len {data[at + 1]})", jumbo
        at += length
    return None, jumbo


def _rt6(data: bytes) -> tuple[str, int]:
    """rt6_print: its text as far as the capture goes, and the header length (-1 when the
    capture ends inside it or the header is invalid).  Types 0 and 2 list addresses after a
    reserved word (RFC 2460, RFC 6275), type 4 segments after last-entry, flags and tag (RFC
    8754)."""
    text = "RT6"
    if len(data) < 2:
        return text + " [|rt6]", -1
    size = data[1]
    text += f" (len={size}"
    if len(data) < 3:
        return text + " [|rt6]", -1
    kind = data[2]
    text += f", type={kind}" + (" [Deprecated]" if kind == 0 else "")
    if len(data) < 4:
        return text + " [|rt6]", -1
    text += f", segleft={data[3]}"
    if kind == 4:
        if len(data) < 5:
            return text + " [|rt6]", -1
        text += f", last-entry={data[4]}"
        if len(data) < 6:
            return text + " [|rt6]", -1
        if data[5]:
            text += f", flags=0x{data[5]:x}"
        if len(data) < 8:
            return text + " [|rt6]", -1
        text += f", tag={int.from_bytes(data[6:8], 'big'):x}"
    elif kind in (0, 2):
        if len(data) < 8:
            return text + " [|rt6]", -1
        reserved = int.from_bytes(data[4:8], "big")
        if reserved:
            text += f", rsv=0x{reserved:x}"
    else:
        return text + " (unknown type) (invalid)", -1
    if size % 2:
        return text + f" (invalid length {size}) (invalid)", -1
    for number in range(size // 2):
        at = 8 + 16 * number
        if len(data) < at + 16:
            return text + " [|rt6]", -1
        text += f", [{number}]{_ip6_text(data[at:at + 16])}"
    return text + ") ", (size + 1) * 8


def _ip6_text(address: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, address)


#: tcpdump's names (icmp6_type_values; 139 and 140 read as who-are-you, listed first there).
_ICMP6_NAMES = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit",
                4: "parameter problem", 128: "echo request", 129: "echo reply",
                130: "multicast listener query", 131: "multicast listener report",
                132: "multicast listener done", 133: "router solicitation",
                134: "router advertisement", 135: "neighbor solicitation",
                136: "neighbor advertisement", 137: "redirect", 138: "router renumbering",
                139: "who-are-you request", 140: "who-are-you reply",
                141: "inverse neighbor solicitation", 142: "inverse neighbor advertisement",
                143: "multicast listener report v2", 144: "ha discovery request",
                145: "ha discovery reply", 146: "mobile router solicitation",
                147: "mobile router advertisement", 155: "RPL", 200: "mtrace response",
                201: "mtrace message"}
# tcpdump's own strings, including the leading space of code 1.
_UNREACH6 = {0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope",
             3: "unreachable address", 4: "unreachable port"}
_PARAM_PROBLEMS = {0: "erroneous", 1: "next header", 2: "option", 3: "incomplete header chain"}
#: The quoted datagram of an error message starts after the 8-byte ICMPv6 header; its
#: destination address ends 48 bytes into the message (RFC 4443 section 2.1).
_QUOTE, _QUOTED_DST = 8, 48


class _Cut(Exception):
    """The capture ends before a field tcpdump reads (its ``GET_`` macros)."""


def _icmp6(data: bytes, length: int) -> str:
    """icmp6_print without -v, from the captured bytes *data*: the type's name, then what
    tcpdump reads for it, each field checked against the capture as it goes
    (`` [|icmp6]`` where it ends), then the length on the wire."""
    if length == 0:
        return "ICMP6, length 0 (invalid)"
    if not data:
        return " [|icmp6]"
    kind = data[0]
    out = ["ICMP6, " + _ICMP6_NAMES.get(kind, f"unknown icmp6 type ({kind})")]
    try:
        if len(data) < 2:
            raise _Cut
        if not _icmp6_detail(data, kind, data[1], length, out):
            return "".join(out)  # tcpdump hex-dumps the rest on the next lines
    except _Cut:
        out.append(" [|icmp6]")
        return "".join(out)
    out.append(f", length {length}")
    return "".join(out)


def _need(data: bytes, size: int) -> bytes:
    if len(data) < size:
        raise _Cut
    return data


def _icmp6_detail(data: bytes, kind: int, code: int, length: int, out: list[str]) -> bool:
    """The words after the type's name (RFC 4443, RFC 4861); False when tcpdump stops there
    (an unknown type or unreachable code) without the length."""
    if kind == 1:
        reason = _UNREACH6.get(code)
        out.append(f", {reason if reason is not None else f'unknown unreach code ({code})'}")
        if reason is None:
            return False
        if code == 4:
            quoted = _quoted_transport(data)
            if quoted is None:
                raise _Cut
            name = "tcp" if quoted[0] == 6 else "udp"
            out.append(f", {_ip6_text(data[32:48])} {name} port {quoted[1]}")
        elif code == 2:
            _need(data, _QUOTED_DST)
            out.append(f" {_ip6_text(data[32:48])}, source address {_ip6_text(data[16:32])}")
        else:
            out.append(f" {_ip6_text(_need(data, _QUOTED_DST)[32:48])}")
    elif kind == 2:
        out.append(f", mtu {int.from_bytes(_need(data, 8)[4:8], 'big')}")
    elif kind == 3:
        if code == 0:
            out.append(f" for {_ip6_text(_need(data, _QUOTED_DST)[32:48])}")
        else:
            out.append(" (reassembly)" if code == 1 else f", unknown code ({code})")
    elif kind == 4:
        _need(data, _QUOTED_DST)
        which = _PARAM_PROBLEMS.get(code)
        pointer = int.from_bytes(data[4:8], "big")
        out.append(f", {which} - octet {pointer}" if which else f", code-#{code}")
    elif kind in (128, 129):
        _need(data, 8)
        out.append(f", id {int.from_bytes(data[4:6], 'big')}, "
                   f"seq {int.from_bytes(data[6:8], 'big')}")
    elif kind in (135, 136):
        target = _ip6_text(_need(data, 24)[8:24])
        out.append(f", who has {target}" if kind == 135 else f", tgt is {target}")
    elif kind == 137:  # the destination (bytes 24-40) first, then the target (8-24)
        _need(data, 40)
        out.append(f", {_ip6_text(data[24:40])} to {_ip6_text(data[8:24])}")
    elif kind in (144, 146):
        out.append(f", id 0x{int.from_bytes(_need(data, 6)[4:6], 'big'):04x}")
    elif kind in (130, 131, 132, 143):
        _mld(data, kind, length, out)
    return True


#: The sizes of an MLD message (RFC 2710) and of an MLDv2 query without sources (RFC 3810).
_MLD_SIZE, _MLDV2_QUERY_SIZE = 24, 28


def _mld(data: bytes, kind: int, length: int, out: list[str]) -> None:
    """mld6_print, mldv2_query_print and mldv2_report_print without -v.  An MLDv1 message is
    printed only when all 24 bytes were captured, right after the type's name."""
    if kind == 130 and length != _MLD_SIZE:
        if length < _MLDV2_QUERY_SIZE:
            out.append(f" unknown-version (len {length}) ")
            return
        out.append(" v2")
        _need(data, 6)
        out.append(f" [gaddr {_ip6_text(_need(data, 24)[8:24])}")
        sources = int.from_bytes(_need(data, 28)[26:28], "big")
        if sources and length < _MLDV2_QUERY_SIZE + 16 * sources:
            out.append(" [invalid number of sources]")
        elif sources:
            out.append(f", {sources} source(s)")
        out.append("]")
    elif kind == 143:
        if length < 8:
            out.append(f" [invalid len {length}]")
            return
        out.append(f", {int.from_bytes(_need(data, 8)[6:8], 'big')} group record(s)")
    elif len(data) >= _MLD_SIZE:
        out.append(f"max resp delay: {int.from_bytes(data[4:6], 'big')} "
                   f"addr: {_ip6_text(data[8:24])}")


def _quoted_transport(data: bytes) -> tuple[int, int] | None:
    """get_upperlayer of print-icmp6.c: the protocol and destination port of the TCP or UDP
    header in the quoted datagram, through its extension headers; None when the capture ends
    first or something else is quoted."""
    end = len(data)
    if end < _QUOTE + 7:
        return None
    nh, at, size = data[_QUOTE + 6], _QUOTE, 40
    while at < end:
        at += size
        if nh in (6, 17):
            return (nh, int.from_bytes(data[at + 2:at + 4], "big")) if at + 4 <= end else None
        if nh in (_HBH, _DSTOPT, _ROUTING, 51):
            if at + 2 > end:
                return None
            size = (data[at + 1] + 2) * 4 if nh == 51 else (data[at + 1] + 1) * 8
        elif nh == _FRAGMENT:
            if at + 4 > end or int.from_bytes(data[at + 2:at + 4], "big") & 0xFFF8:
                return None
            size = 8
        else:
            return None
        nh = data[at]
    return None


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
#: The IP printers, which also print without their protocol word (``tcpdump -e``).
IP_PRINTERS: dict[type[Layer], Callable[[list[Layer], int, bool], str]] = {IPv4: _ipv4,
                                                                             IPv6: _ipv6}
