"""The flow key of a packet: its IP 5-tuple and IP length, for flow tables and statistics.

``flow_key(pkt)`` answers what ``pkt[IPv4]`` (or ``IPv6``) and the transport layer above it
would answer, without creating layer objects for the common shapes: Ethernet with up to two VLAN
tags, Linux cooked or raw IP, then IPv4 without options or IPv6 without extension headers,
then TCP or UDP.  Every other packet (options, fragments, extension headers, malformed or cut
headers, ICMP...) takes the reference path through the layer objects, ``flow_key_slow``; the
test suite checks on random packets that both paths agree.
"""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING, NamedTuple

from wirekit.packet.cooked import SLL, SLL2
from wirekit.packet.ether import Ether
from wirekit.packet.fields import OCTETS, _remember_text
from wirekit.packet.ipv4 import IPv4
from wirekit.packet.ipv6 import IPv6, IPv6ExtHeader
from wirekit.packet.tcp import TCP
from wirekit.packet.udp import UDP

if TYPE_CHECKING:
    from wirekit.packet.packet import Packet


class Flow(NamedTuple):
    """Source and destination address, IP protocol, ports (``None`` without TCP/UDP), and the
    IP length (IPv4 total length; for IPv6, 40 plus the payload length)."""

    src: str
    dst: str
    proto: int
    sport: int | None
    dport: int | None
    length: int


_IPV4 = struct.Struct("!B x H 2x H x B 2x 4s 4s")  # version/IHL, length, frag, proto, addresses
_IPV6 = struct.Struct("!4x H B x 16s 16s")  # payload length, next header, addresses
_PORTS = struct.Struct("!HH")
_NTOP: dict[bytes, str] = {}
_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
#: Link classes and where their EtherType sits / how long they are.
_LINKS = {Ether: (12, 14), SLL: (14, 16), SLL2: (0, 20)}


def flow_key(pkt: Packet) -> Flow | None:
    """The flow of *pkt*, or ``None`` when it carries no IP layer (ARP, say)."""
    buf = pkt._buf
    first = pkt._first
    if buf is None:  # built: answer for the bytes it builds to
        return flow_key(pkt._wire_packet())
    size = len(buf)
    link = _LINKS.get(first)
    if link is not None:
        at, off = link
        if size < off:
            return flow_key_slow(pkt)
        kind = buf[at] << 8 | buf[at + 1]
        if first is Ether:
            for _ in range(2):  # 802.1Q / 802.1ad tags
                if kind not in _VLAN_TPIDS or size < off + 4:
                    break
                kind = buf[off + 2] << 8 | buf[off + 3]
                off += 4
    elif first is IPv4 or first is IPv6:
        off, kind = 0, 0x0800 if first is IPv4 else 0x86DD
    else:
        return flow_key_slow(pkt)
    if kind == 0x0800 and size >= off + 24:
        vihl, total, frag, proto, src, dst = _IPV4.unpack_from(buf, off)
        # The common case only: no options, not a fragment, length within the capture.
        if vihl == 0x45 and not frag & 0x3FFF and total >= 24 and off + total <= size \
                and proto in (6, 17) and total >= (40 if proto == 6 else 28):
            sport, dport = _PORTS.unpack_from(buf, off + 20)
            octet = OCTETS
            return Flow(".".join((octet[src[0]], octet[src[1]], octet[src[2]], octet[src[3]])),
                        ".".join((octet[dst[0]], octet[dst[1]], octet[dst[2]], octet[dst[3]])),
                        proto, sport, dport, total)
    elif kind == 0x86DD and size >= off + 44:
        plen, nh, src, dst = _IPV6.unpack_from(buf, off)
        if buf[off] >> 4 == 6 and nh in (6, 17) and off + 40 + plen <= size \
                and plen >= (20 if nh == 6 else 8):
            sport, dport = _PORTS.unpack_from(buf, off + 40)
            return Flow(_ntop(src), _ntop(dst), nh, sport, dport, 40 + plen)
    return flow_key_slow(pkt)


def _ntop(raw: bytes) -> str:
    text = _NTOP.get(raw)
    if text is None:
        text = _remember_text(_NTOP, raw, socket.inet_ntop(socket.AF_INET6, raw))
    return text


def flow_key_slow(pkt: Packet) -> Flow | None:
    """The reference: the first IPv4 or IPv6 layer and the transport layer above it."""
    for layer in pkt.layers:
        if isinstance(layer, IPv4):
            upper = layer.payload
            return _flow(layer.src, layer.dst, layer.proto, upper, layer.len)
        if isinstance(layer, IPv6):
            upper = layer.payload
            proto = layer.nh
            while isinstance(upper, IPv6ExtHeader):
                proto = upper._raw(upper._by_name["nh"])
                upper = upper.payload
            plen = layer.plen
            return _flow(layer.src, layer.dst, proto, upper,
                         None if plen is None else 40 + plen)
    return None


def _flow(src: str | None, dst: str | None, proto: int | None, upper: object,
          length: int | None) -> Flow | None:
    if src is None or dst is None or proto is None or length is None:
        return None
    if isinstance(upper, TCP | UDP) and upper.sport is not None and upper.dport is not None:
        return Flow(src, dst, proto, upper.sport, upper.dport, length)
    return Flow(src, dst, proto, None, None, length)
