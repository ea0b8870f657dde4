"""Frames for ``wirekit send``: the right MACs on the outside, the codec's layers inside.

The source MAC is the sending interface's own; the destination MAC is the next hop's (the
gateway's when the destination is off-link), taken from the neighbour table or asked for with
ARP / neighbour solicitation — never a broadcast for a unicast destination, which a switch
would flood and a host would drop (the seed's bug).  Lengths and checksums are left to the
codec, which computes them when the frame is built.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from wirekit.errors import UsageError
from wirekit.link.interfaces import ARPHRD_ETHER, ARPHRD_LOOPBACK, Interface, get_interface
from wirekit.link.neighbour import BROADCAST_MAC, ZERO_MAC, resolve_mac, route_to


@dataclass(frozen=True, slots=True)
class LinkPath:
    """The Ethernet addresses of frames sent on ``interface`` towards one destination."""

    interface: Interface
    source_mac: str
    destination_mac: str
    next_hop: str | None  # the IP address whose MAC was looked up (None when given by the user)


def parse_ip(text: str, role: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``text`` as an IP address; a typo is the caller's usage error, not a ValueError."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"{role} address {text!r} is not an IPv4 or IPv6 address") from None


def ethernet_interface(ifname: str) -> Interface:
    """The interface, checked to carry Ethernet frames (what ``send`` builds)."""
    iface = get_interface(ifname, with_ethtool=False)
    if iface.arphrd not in (ARPHRD_ETHER, ARPHRD_LOOPBACK):
        raise UsageError(f"{ifname} does not carry Ethernet frames (ARPHRD {iface.arphrd}); "
                         "wirekit send builds Ethernet frames")
    return iface


def link_path(ifname: str, destination: str, *, source: str | None = None,
              destination_mac: str | None = None, timeout: float = 1.0) -> LinkPath:
    """Source and destination MACs for ``destination`` out of ``ifname``."""
    parse_ip(destination, "destination")  # before any route lookup or ARP request
    iface = ethernet_interface(ifname)
    own = iface.mac or ZERO_MAC
    if destination_mac is not None:
        return LinkPath(iface, own, destination_mac, None)
    route = route_to(destination, ifname)
    mac = resolve_mac(iface, route.next_hop, source=source, timeout=timeout)
    return LinkPath(iface, own, mac, route.next_hop)


def _ether(path: LinkPath, ethertype: int | None = None) -> Any:
    from wirekit.packet import Ether

    if ethertype is None:
        return Ether(src=path.source_mac, dst=path.destination_mac)
    return Ether(src=path.source_mac, dst=path.destination_mac, type=ethertype)


def network_layer(source: str, destination: str, *, ttl: int = 64, ident: int | None = None,
                  tos: int = 0) -> Any:
    """An IPv4 or IPv6 header, by the addresses' family (both must agree)."""
    from wirekit.packet import IPv4, IPv6

    src, dst = parse_ip(source, "source"), parse_ip(destination, "destination")
    if src.version != dst.version:
        raise UsageError(f"{source} and {destination} are not of the same IP version")
    if dst.version == 6:
        return IPv6(src=str(src), dst=str(dst), hlim=ttl, tc=tos)
    fields: dict[str, Any] = {"src": str(src), "dst": str(dst), "ttl": ttl, "tos": tos}
    if ident is not None:
        fields["id"] = ident
    return IPv4(**fields)


def tcp_frame(path: LinkPath, source: str, destination: str, sport: int, dport: int, *,
              flags: str = "S", seq: int = 0, ack: int = 0, window: int = 65535,
              payload: bytes = b"", ttl: int = 64) -> Any:
    """Ethernet / IP / TCP / payload (the seed's ``tcp`` command)."""
    from wirekit.packet import TCP

    segment = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window)
    packet = _ether(path) / network_layer(source, destination, ttl=ttl) / segment
    return packet / payload if payload else packet


def udp_frame(path: LinkPath, source: str, destination: str, sport: int, dport: int, *,
              payload: bytes = b"", ttl: int = 64) -> Any:
    from wirekit.packet import UDP

    packet = _ether(path) / network_layer(source, destination, ttl=ttl) / UDP(sport=sport,
                                                                               dport=dport)
    return packet / payload if payload else packet


def icmp_frame(path: LinkPath, source: str, destination: str, *, icmp_type: int | None = None,
               code: int = 0, ident: int = 0, seq: int = 0, payload: bytes = b"",
               ttl: int = 64) -> Any:
    """An ICMP (or ICMPv6, for IPv6 addresses) message; the default type is echo request."""
    from wirekit.packet import ICMP, ICMPv6

    network = network_layer(source, destination, ttl=ttl)
    message: Any
    if parse_ip(destination, "destination").version == 6:
        message = ICMPv6(type=128 if icmp_type is None else icmp_type, code=code, id=ident,
                         seq=seq)
    else:
        message = ICMP(type=8 if icmp_type is None else icmp_type, code=code, id=ident, seq=seq)
    packet = _ether(path) / network / message
    return packet / payload if payload else packet


def arp_frame(iface: Interface, *, op: int, psrc: str, pdst: str, hwsrc: str | None = None,
              hwdst: str | None = None, destination_mac: str | None = None) -> Any:
    """An ARP request (broadcast) or reply (to ``hwdst``), from the interface's MAC."""
    from wirekit.packet import ARP, Ether

    own = iface.mac or ZERO_MAC
    target_mac = hwdst or (ZERO_MAC if op == 1 else BROADCAST_MAC)
    outer = destination_mac or (BROADCAST_MAC if op == 1 else target_mac)
    return Ether(src=own, dst=outer) / ARP(op=op, hwsrc=hwsrc or own, psrc=psrc,
                                           hwdst=target_mac, pdst=pdst)


def parse_hex_frame(text: str) -> bytes:
    """A frame written in hex: spaces, colons and a leading 0x are allowed."""
    cleaned = text.strip().lower().removeprefix("0x")
    for separator in (" ", ":", "\n", "\t", "-"):
        cleaned = cleaned.replace(separator, "")
    try:
        frame = bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError("the frame is not valid hex") from None
    if len(frame) < 14:
        raise UsageError(f"a {len(frame)}-byte frame is shorter than an Ethernet header")
    return frame
