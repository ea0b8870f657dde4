"""Where a frame must go: the route to a destination and the next hop's MAC address.

The route comes from the kernel (``RTM_GETROUTE``, what ``ip route get`` asks), the MAC from
the neighbour table (``RTM_GETNEIGH``).  When the table has no usable entry, wirekit asks the
network itself: an ARP request (RFC 826) for IPv4, a neighbour solicitation to the
solicited-node multicast group (RFC 4861 section 7.2.2) for IPv6.  Broadcast and multicast
destinations map to their group MAC (RFC 1112 section 6.4, RFC 2464 section 7) and need no
question at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wirekit.errors import InterfaceError, NetworkError
from wirekit.link import afpacket
from wirekit.link.bpf import attach_filter, compile_filter
from wirekit.link.interfaces import Interface, get_interface

#: Neighbour states whose MAC can be used (linux/neighbour.h NUD_*): REACHABLE, STALE, DELAY,
#: PROBE, NOARP, PERMANENT.  INCOMPLETE and FAILED have no (valid) address.
NUD_USABLE = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True, slots=True)
class Route:
    """The kernel's answer to "how do I reach ``destination``"."""

    destination: str
    ifindex: int
    ifname: str
    source: str | None
    gateway: str | None

    @property
    def next_hop(self) -> str:
        """The address whose MAC goes into the frame: the gateway, or the host itself."""
        return self.gateway or self.destination


@contextlib.contextmanager
def _iproute() -> Any:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        yield ipr


def route_to(destination: str, ifname: str | None = None) -> Route:
    """The route the kernel would use for ``destination`` (optionally through ``ifname``)."""
    address = ipaddress.ip_address(destination)
    query: dict[str, Any] = {"dst": str(address)}
    iface = get_interface(ifname, with_ethtool=False) if ifname else None
    if iface is not None:
        query["oif"] = iface.index
    try:
        with _iproute() as ipr:
            answer = ipr.route("get", **query)[0]
    except Exception as exc:  # pyroute2 raises NetlinkError (an OSError) for no route
        raise NetworkError(f"no route to {destination}"
                           f"{' via ' + ifname if ifname else ''}: {exc}") from exc
    index = int(answer.get_attr("RTA_OIF"))
    name = iface.name if iface is not None else socket.if_indextoname(index)
    return Route(str(address), index, name, answer.get_attr("RTA_PREFSRC"),
                 answer.get_attr("RTA_GATEWAY"))


def loopback_caveat(interface: Interface, destination: str) -> str | None:
    """Why the kernel will drop the IPv4 frames we inject on ``lo``, if it will (else None).

    A frame injected through a packet socket carries no route, so the kernel routes it on
    input (ip_route_input_slow): its source is one of our own addresses, which is a martian
    source unless ``accept_local`` is set, and a 127.0.0.0/8 destination is a martian
    destination unless ``route_localnet`` is set.  Traffic the stack loops back itself keeps
    its route, which is why ping and connect() over lo work while crafted IPv4 frames vanish.
    IPv6 has no such check.
    """
    address = ipaddress.ip_address(destination)
    if not interface.is_loopback or address.version != 4:
        return None
    wanted = ["accept_local"] + (["route_localnet"] if address.is_loopback else [])
    missing = [name for name in wanted if _conf(interface.name, name) == "0"]
    if not missing:
        return None
    settings = " and ".join(f"net.ipv4.conf.{interface.name}.{name}=1" for name in missing)
    return (f"the kernel drops IPv4 frames injected on {interface.name} (martian source or "
            f"destination) unless {settings}; IPv6 (::1) works as it is")


def _conf(ifname: str, name: str) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/sys/net/ipv4/conf/{ifname}/{name}").read_text().strip()
    return ""


def group_mac(address: str, iface: Interface | None = None) -> str | None:
    """The MAC of a broadcast or multicast destination, or None for a unicast one."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        if ip == ipaddress.IPv4Address("255.255.255.255") or _is_subnet_broadcast(ip, iface):
            return BROADCAST_MAC
        if ip.is_multicast:  # 01:00:5e + the low 23 bits of the group
            low = int(ip) & 0x7FFFFF
            return "01:00:5e:" + ":".join(f"{b:02x}" for b in low.to_bytes(3, "big"))
        return None
    if ip.is_multicast:  # 33:33 + the low 32 bits of the group
        return "33:33:" + ":".join(f"{b:02x}" for b in ip.packed[-4:])
    return None


def _is_subnet_broadcast(ip: ipaddress.IPv4Address, iface: Interface | None) -> bool:
    if iface is None:
        return False
    return any(a.broadcast == str(ip) for a in iface.ipv4())


def neighbour_mac(ifindex: int, address: str) -> str | None:
    """The MAC the neighbour table holds for ``address`` on ``ifindex``, if it is usable."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with _iproute() as ipr:
        entries = ipr.get_neighbours(family=family, ifindex=ifindex)
    for entry in entries:
        if entry.get_attr("NDA_DST") == address and entry["state"] & NUD_USABLE:
            mac = entry.get_attr("NDA_LLADDR")
            if mac:
                return str(mac)
    return None


def resolve_mac(iface: Interface, next_hop: str, *, source: str | None = None,
                timeout: float = 1.0, attempts: int = 3) -> str:
    """The MAC for ``next_hop`` on ``iface``: group address, table entry, or asked for."""
    if iface.is_loopback:
        return ZERO_MAC
    fixed = group_mac(next_hop, iface)
    if fixed is not None:
        return fixed
    known = neighbour_mac(iface.index, next_hop)
    if known is not None:
        return known
    asked = solicit(iface, next_hop, source=source, timeout=timeout, attempts=attempts)
    if asked is None:
        raise NetworkError(f"{next_hop} does not answer "
                           f"{'ARP' if ':' not in next_hop else 'neighbour solicitation'} "
                           f"on {iface.name} ({attempts} tries)")
    return asked


def _own_address(iface: Interface, family: str, source: str | None) -> str:
    """The address to ask from: one of the interface's own (a spoofed source given to
    ``send`` must not end up in the neighbour's cache, RFC 826 "merge" rule), else ``source``."""
    candidates = [a.address for a in iface.addresses if a.family == family]
    if source in candidates:
        return source
    if family == "inet6":  # RFC 4861: solicit from the link-local address when there is one
        candidates.sort(key=lambda a: not ipaddress.IPv6Address(a).is_link_local)
    if candidates:
        return candidates[0]
    if source is not None:
        return source
    raise InterfaceError(f"{iface.name} has no {family} address to ask for a neighbour from")


def solicit(iface: Interface, target: str, *, source: str | None = None, timeout: float = 1.0,
            attempts: int = 3) -> str | None:
    """Ask ``target``'s MAC with ARP (IPv4) or neighbour solicitation (IPv6); None if silent."""
    from wirekit.link.sender import FrameSender

    ipv6 = ":" in target
    own = _own_address(iface, "inet6" if ipv6 else "inet", source)
    question = _ndp_solicitation(iface, target, own) if ipv6 else _arp_request(iface, target, own)
    expression = (f"icmp6 and ip6[40] == 136 and src host {target}" if ipv6
                  else f"arp and arp[6:2] == 2 and arp[14:4] == {_hex_ipv4(target)}")
    listener = _listener(iface, expression)
    try:
        with FrameSender(iface.name, action=f"resolve {target} on {iface.name}") as sender:
            for _ in range(attempts):
                sender.send(question)
                answer = _await_answer(listener, target, timeout, ipv6)
                if answer is not None:
                    return answer
    finally:
        listener.close()
    return None


def _hex_ipv4(address: str) -> str:
    return "0x" + ipaddress.IPv4Address(address).packed.hex()


def _listener(iface: Interface, expression: str) -> socket.socket:
    sock = afpacket.open_packet_socket(socket.SOCK_RAW, action=f"listen on {iface.name}")
    try:
        attach_filter(sock, compile_filter(expression))
        afpacket.bind_packet_socket(sock, iface.index)
    except BaseException:
        sock.close()
        raise
    return sock


def _await_answer(sock: socket.socket, target: str, timeout: float, ipv6: bool) -> str | None:
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    while (left := deadline - time.monotonic()) > 0:
        if not poller.poll(left * 1000):
            break
        frame = sock.recv(65535)
        mac = _answer_mac(frame, target, ipv6)
        if mac is not None:
            return mac
    return None


def _answer_mac(frame: bytes, target: str, ipv6: bool) -> str | None:
    """The MAC an ARP reply or neighbour advertisement gives for ``target``, if it is one."""
    from wirekit.packet import ARP, Ether, ICMPv6, parse

    packet = parse(frame)
    if not ipv6:
        arp = packet.getlayer(ARP)
        if arp is not None and arp.op == 2 and arp.psrc == target:
            return str(arp.hwsrc)
        return None
    icmp = packet.getlayer(ICMPv6)
    if icmp is None or icmp.type != 136 or str(icmp.tgt) != str(ipaddress.ip_address(target)):
        return None
    for option in icmp.options:
        if option.type == 2 and option.lladdr:  # target link-layer address (RFC 4861 4.6.1)
            return str(option.lladdr)
    ether = packet.getlayer(Ether)  # no option: the advertisement came from the owner itself
    return None if ether is None else str(ether.src)


def _arp_request(iface: Interface, target: str, own: str) -> bytes:
    from wirekit.packet import ARP, Ether

    mac = iface.mac or ZERO_MAC
    frame = Ether(src=mac, dst=BROADCAST_MAC) / ARP(op=1, hwsrc=mac, psrc=own, hwdst=ZERO_MAC,
                                                    pdst=target)
    return bytes(frame)


def _ndp_solicitation(iface: Interface, target: str, own: str) -> bytes:
    from wirekit.packet import Ether, ICMPv6, IPv6, NDOption

    packed = ipaddress.IPv6Address(target).packed
    group = str(ipaddress.IPv6Address(b"\xff\x02" + b"\0" * 9 + b"\x01\xff" + packed[-3:]))
    mac = iface.mac or ZERO_MAC
    option = NDOption.source_lladdr(mac)
    frame = (Ether(src=mac, dst=group_mac(group) or BROADCAST_MAC)
             / IPv6(src=own, dst=group, hlim=255)
             / ICMPv6(type=135, code=0, tgt=target, options=[option]))
    return bytes(frame)
