"""Frames for ``wirekit send``: the right MACs on the outside, the codec's layers inside.

The source MAC is the sending interface's own; the destination MAC is the next hop's (the
gateway's when the destination is off-link), taken from the neighbour table or asked for with
ARP / neighbour solicitation — never a broadcast for a unicast destination, which a switch
would flood and a host would drop (the seed's bug).  Lengths and checksums are left to the
codec, which computes them when the frame is built.

What the options of ``send`` mean is decided here, free of sockets: :class:`VlanTag`,
:class:`IPFields`, :class:`TCPOptions`, :class:`Increment` and the payload rules, each with a
parser that turns a bad value into a one-line :class:`~wirekit.errors.UsageError`; and
:func:`fragment`, which splits a built datagram with the codec's ``fragment_ipv4`` /
``fragment_ipv6`` so that every fragment carries at most ``--frag-size`` bytes of IP payload.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wirekit.errors import InterfaceError, NetworkError, UsageError
from wirekit.link.interfaces import ARPHRD_ETHER, ARPHRD_LOOPBACK, Interface, get_interface
from wirekit.link.neighbour import (
    BROADCAST_MAC,
    ZERO_MAC,
    group_mac,
    neighbour_mac,
    resolve_mac,
    route_to,
)

#: The largest IP datagram (RFC 791 total length; RFC 8200 payload length, no jumbograms).
MAX_DATAGRAM = 65535
#: VLAN IDs 0 (priority tag only) to 4094; 4095 is reserved (IEEE 802.1Q table 9-2).
MAX_VLAN_ID = 4094


@dataclass(frozen=True, slots=True)
class VlanTag:
    """An IEEE 802.1Q tag: VLAN ID and priority code point (``--vlan ID[:PRIO]``)."""

    vid: int
    prio: int = 0

    @classmethod
    def parse(cls, text: str) -> VlanTag:
        vid_text, _, prio_text = text.strip().partition(":")
        if not _decimal(vid_text) or int(vid_text) > MAX_VLAN_ID:
            raise UsageError(f"--vlan {text!r}: the VLAN ID must be 0-{MAX_VLAN_ID} "
                             "(4095 is reserved); write ID or ID:PRIO")
        if prio_text and (not _decimal(prio_text) or int(prio_text) > 7):
            raise UsageError(f"--vlan {text!r}: the priority must be 0-7")
        return cls(int(vid_text), int(prio_text or 0))


@dataclass(frozen=True, slots=True)
class LinkPath:
    """The Ethernet addresses of frames sent on ``interface`` towards one destination.

    ``interface`` is None when frames are only written to a file (``-w``) for an interface
    this host does not have; ``vlan`` adds an 802.1Q tag after the MAC addresses.
    """

    interface: Interface | None
    source_mac: str
    destination_mac: str
    next_hop: str | None  # the IP address whose MAC was looked up (None when given by the user)
    vlan: VlanTag | None = None


@functools.lru_cache(maxsize=64)  # every frame of a --count run parses the same two addresses
def parse_ip(text: str, role: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``text`` as an IP address; a typo is the caller's usage error, not a ValueError."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"{role} address {text!r} is not an IPv4 or IPv6 address") from None


def parse_mac(text: str, option: str) -> str:
    """A MAC address (``:`` or ``-`` separated, or 12 hex digits) in canonical form."""
    cleaned = text.strip().lower().replace("-", ":")
    if ":" not in cleaned and len(cleaned) == 12:
        cleaned = ":".join(cleaned[i:i + 2] for i in range(0, 12, 2))
    parts = cleaned.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                  for p in parts):
        raise UsageError(f"{option} {text!r} is not a MAC address (02:00:00:00:00:01)")
    return cleaned


def ethernet_interface(ifname: str) -> Interface:
    """The interface, checked to carry Ethernet frames (what ``send`` builds)."""
    iface = get_interface(ifname, with_ethtool=False)
    if iface.arphrd not in (ARPHRD_ETHER, ARPHRD_LOOPBACK):
        raise UsageError(f"{ifname} does not carry Ethernet frames (ARPHRD {iface.arphrd}); "
                         "wirekit send builds Ethernet frames")
    return iface


def link_path(ifname: str, destination: str, *, source: str | None = None,
              destination_mac: str | None = None, source_mac: str | None = None,
              vlan: VlanTag | None = None, timeout: float = 1.0) -> LinkPath:
    """Source and destination MACs for ``destination`` out of ``ifname`` (to send there)."""
    parse_ip(destination, "destination")  # before any route lookup or ARP request
    iface = ethernet_interface(ifname)
    own = source_mac or iface.mac or ZERO_MAC
    if destination_mac is not None:
        return LinkPath(iface, own, destination_mac, None, vlan)
    try:
        route = route_to(destination, ifname)
    except NetworkError as exc:
        if vlan is None:
            raise
        raise NetworkError(f"{exc}; with --vlan the next hop is on the VLAN, not on "
                           f"{ifname}: give --dst-mac") from exc
    mac = resolve_mac(iface, route.next_hop, source=source, timeout=timeout)
    return LinkPath(iface, own, mac, route.next_hop, vlan)


def offline_path(ifname: str, destination: str | None, *, destination_mac: str | None = None,
                 source_mac: str | None = None, vlan: VlanTag | None = None) -> LinkPath:
    """The MACs of frames that are only written to a file (``-w``): no packet is sent.

    Given MACs are used as they are, so with both of them the interface need not exist.
    Otherwise the interface gives its own MAC, and the destination's comes from the
    neighbour table (or is a group address); nothing asks the network (no ARP request).
    """
    if destination is not None:
        parse_ip(destination, "destination")
    iface: Interface | None = None
    if source_mac is None or destination_mac is None:
        try:
            iface = ethernet_interface(ifname)
        except InterfaceError:
            raise UsageError(f"there is no interface {ifname} to take MAC addresses from; "
                             "give --src-mac and --dst-mac to write frames offline") from None
    own = source_mac or (iface.mac if iface is not None else None) or ZERO_MAC
    if destination_mac is not None:
        return LinkPath(iface, own, destination_mac, None, vlan)
    assert iface is not None
    if destination is None:
        raise UsageError("give --dst-mac")
    mac = _passive_mac(iface, destination)
    if mac is None:
        raise UsageError(f"the neighbour table of {ifname} has no MAC for the next hop to "
                         f"{destination}; give --dst-mac (with -w nothing is sent, so no "
                         "ARP request or neighbour solicitation is made)")
    return LinkPath(iface, own, mac, None, vlan)


def _passive_mac(iface: Interface, destination: str) -> str | None:
    """The next hop's MAC without sending anything: loopback, group address, neighbour table."""
    if iface.is_loopback:
        return ZERO_MAC
    fixed = group_mac(destination, iface)
    if fixed is not None:
        return fixed
    try:
        next_hop = route_to(destination, iface.name).next_hop
    except NetworkError:
        return None
    return group_mac(next_hop, iface) or neighbour_mac(iface.index, next_hop)


def _ether(path: LinkPath, ethertype: int | None = None) -> Any:
    return ether_header(path.source_mac, path.destination_mac, path.vlan, ethertype)


def ether_header(source_mac: str, destination_mac: str, vlan: VlanTag | None = None,
                 ethertype: int | None = None) -> Any:
    """Ethernet II, with an 802.1Q tag after the addresses when ``vlan`` is given."""
    from wirekit.packet import Dot1Q, Ether

    fields: dict[str, Any] = {"src": source_mac, "dst": destination_mac}
    if vlan is not None:
        tag: dict[str, Any] = {"vlan": vlan.vid, "prio": vlan.prio}
        if ethertype is not None:
            tag["type"] = ethertype
        return Ether(**fields) / Dot1Q(**tag)
    if ethertype is not None:
        fields["type"] = ethertype
    return Ether(**fields)


# -- the IP header -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IPFields:
    """What ``--ttl --tos --ip-id --df --ip-options`` set in the IPv4 or IPv6 header.

    IPv6 takes ``ttl`` as the hop limit and ``tos`` as the traffic class; it has no DF bit and
    no options, and its identification lives in the Fragment header (``ident`` is used there,
    see :func:`fragment`).
    """

    ttl: int = 64
    tos: int = 0
    ident: int | None = None
    df: bool = False
    options: bytes = b""

    def check(self, version: int, fragmenting: bool) -> None:
        """Refuse what the IP version cannot carry (a one-line usage error)."""
        if version == 6:
            if self.df:
                raise UsageError("--df is an IPv4 flag: IPv6 routers never fragment")
            if self.options:
                raise UsageError("--ip-options are IPv4 options; IPv6 has extension headers")
            if self.ident is not None and not fragmenting:
                raise UsageError("--ip-id with IPv6 is the Fragment header's identification: "
                                 "it needs --frag-size")
            return
        if self.ident is not None and self.ident > 0xFFFF:
            raise UsageError(f"--ip-id {self.ident} does not fit the 16-bit IPv4 "
                             "identification (0-65535)")
        if self.df and fragmenting:
            raise UsageError("--df forbids fragmentation: give --df or --frag-size, not both")


def _decimal(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def parse_hex(text: str, option: str) -> bytes:
    """Hex bytes: spaces, colons and a leading 0x allowed."""
    cleaned = text.strip().lower().removeprefix("0x")
    for separator in (" ", ":", "-"):
        cleaned = cleaned.replace(separator, "")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"{option} is not valid hex") from None


def parse_ip_options(text: str) -> bytes:
    """``--ip-options HEX``: raw IPv4 option bytes, padded with EOL to a multiple of 4."""
    data = parse_hex(text, "--ip-options")
    if not data:
        raise UsageError("--ip-options is empty")
    padded = len(data) + (-len(data) % 4)
    if padded > 40:
        raise UsageError(f"--ip-options: {len(data)} bytes (padded {padded}) exceed the 40 "
                         "bytes an IPv4 header can hold")
    return data


def network_layer(source: str, destination: str, *, ttl: int = 64, ident: int | None = None,
                  tos: int = 0, df: bool = False, options: bytes = b"") -> Any:
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
    if df:
        fields["flags"] = 2
    if options:
        fields["options"] = options
    return IPv4(**fields)


def _ip(source: str, destination: str, ip: IPFields) -> Any:
    return network_layer(source, destination, ttl=ip.ttl, ident=ip.ident, tos=ip.tos, df=ip.df,
                         options=ip.options)


# -- TCP options -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TCPOptions:
    """``--mss --wscale --sack-perm --timestamp``, laid out as Linux lays out a SYN's options.

    Linux's order and padding (``tcp_options_write``): MSS; SACK-permitted and timestamps side
    by side when both are there, each after two NOPs when alone; then NOP and window scale.
    Every option stays 32-bit aligned, and tcpdump prints the list in that order, e.g.
    ``mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7``.
    """

    mss: int | None = None
    wscale: int | None = None
    sack_perm: bool = False
    timestamp: tuple[int, int] | None = None

    def encode(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = []
        if self.mss is not None:
            options.append(("MSS", self.mss))
        if self.sack_perm and self.timestamp is not None:
            options += [("SAckOK", b""), ("Timestamp", self.timestamp)]
        elif self.timestamp is not None:
            options += [("NOP", None), ("NOP", None), ("Timestamp", self.timestamp)]
        elif self.sack_perm:
            options += [("NOP", None), ("NOP", None), ("SAckOK", b"")]
        if self.wscale is not None:
            options += [("NOP", None), ("WScale", self.wscale)]
        return options


def parse_timestamp(text: str) -> tuple[int, int]:
    """``--timestamp TSVAL[:TSECR]`` (RFC 7323; TSECR defaults to 0)."""
    value_text, _, echo_text = text.strip().partition(":")
    parts = [value_text, echo_text or "0"]
    if not all(_decimal(p) and int(p) <= 0xFFFFFFFF for p in parts):
        raise UsageError(f"--timestamp {text!r}: write TSVAL or TSVAL:TSECR, each 0-4294967295")
    return int(parts[0]), int(parts[1])


# -- per-frame variation -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Increment:
    """``--inc FIELD[:STEP]``: frame ``n`` of ``--count`` carries FIELD + n*STEP (wrapping)."""

    field: str
    step: int = 1

    @classmethod
    def parse(cls, text: str, allowed: Iterable[str]) -> Increment:
        names = sorted(allowed)
        name, _, step_text = text.strip().partition(":")
        if name not in names:
            raise UsageError(f"--inc {text!r}: this command can step {', '.join(names)}")
        try:
            step = int(step_text, 0) if step_text else 1
        except ValueError:
            raise UsageError(f"--inc {text!r}: STEP must be an integer") from None
        return cls(name, step)


def stepped(base: int, increments: Iterable[Increment], field: str, index: int,
            bits: int) -> int:
    """``base`` moved by every increment of ``field`` for frame ``index``, kept in ``bits``."""
    value = base
    for increment in increments:
        if increment.field == field:
            value += increment.step * index
    return value % (1 << bits)


# -- payload -----------------------------------------------------------------------------------

def payload_from(*, text: str | None = None, hex_text: str | None = None,
                 file: Path | None = None, size: int | None = None,
                 pattern: str | None = None) -> bytes:
    """The payload of ``--payload``, ``--payload-hex``, ``--payload-file`` or
    ``--payload-size [--payload-pattern]``: at most one of them."""
    given = [name for name, value in (("--payload", text), ("--payload-hex", hex_text),
                                      ("--payload-file", file), ("--payload-size", size))
             if value is not None]
    if len(given) > 1:
        raise UsageError(f"give one of --payload, --payload-hex, --payload-file and "
                         f"--payload-size, not {' and '.join(given)}")
    if pattern is not None and size is None:
        raise UsageError("--payload-pattern fills --payload-size bytes: give --payload-size")
    if hex_text is not None:
        return parse_hex(hex_text, "--payload-hex")
    if file is not None:
        return _payload_file(file)
    if size is not None:
        if size < 0:
            raise UsageError(f"--payload-size {size} is negative")
        if size > MAX_DATAGRAM:
            raise UsageError(f"--payload-size {size}: an IP datagram holds at most "
                             f"{MAX_DATAGRAM} bytes")
        if pattern is None:
            return bytes(size)
        unit = parse_hex(pattern, "--payload-pattern")
        if not unit:
            raise UsageError("--payload-pattern is empty")
        return (unit * (size // len(unit) + 1))[:size]
    # surrogateescape: bytes of the command line that are not UTF-8 go out as they came in
    return (text or "").encode("utf-8", "surrogateescape")


def _payload_file(file: Path) -> bytes:
    """The bytes of ``--payload-file``; read no further than a datagram can hold, so that
    /dev/zero or a huge file is one line, not a hang or a MemoryError."""
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_DATAGRAM + 1)
    except OSError as exc:
        raise UsageError(f"--payload-file {file}: {exc.strerror}") from None
    if len(data) > MAX_DATAGRAM:
        raise UsageError(f"--payload-file {file}: larger than the {MAX_DATAGRAM} bytes an IP "
                         "datagram holds")
    return data


# -- frames ------------------------------------------------------------------------------------

def tcp_frame(path: LinkPath, source: str, destination: str, sport: int, dport: int, *,
              flags: str = "S", seq: int = 0, ack: int = 0, window: int = 65535,
              payload: bytes = b"", ip: IPFields = IPFields(),
              options: TCPOptions = TCPOptions()) -> Any:
    """Ethernet / IP / TCP / payload (the seed's ``tcp`` command)."""
    from wirekit.packet import TCP

    fields: dict[str, Any] = {"sport": sport, "dport": dport, "flags": flags, "seq": seq,
                              "ack": ack, "window": window}
    encoded = options.encode()
    if encoded:
        fields["options"] = encoded
    packet = _ether(path) / _ip(source, destination, ip) / TCP(**fields)
    return packet / payload if payload else packet


def udp_frame(path: LinkPath, source: str, destination: str, sport: int, dport: int, *,
              payload: bytes = b"", ip: IPFields = IPFields()) -> Any:
    from wirekit.packet import UDP

    packet = _ether(path) / _ip(source, destination, ip) / UDP(sport=sport, dport=dport)
    return packet / payload if payload else packet


def icmp_frame(path: LinkPath, source: str, destination: str, *, icmp_type: int | None = None,
               code: int = 0, ident: int = 0, seq: int = 0, payload: bytes = b"",
               ip: IPFields = IPFields()) -> Any:
    """An ICMP (or ICMPv6, for IPv6 addresses) message; the default type is echo request."""
    from wirekit.packet import ICMP, ICMPv6

    network = _ip(source, destination, ip)
    message: Any
    if parse_ip(destination, "destination").version == 6:
        message = ICMPv6(type=128 if icmp_type is None else icmp_type, code=code, id=ident,
                         seq=seq)
    else:
        message = ICMP(type=8 if icmp_type is None else icmp_type, code=code, id=ident, seq=seq)
    packet = _ether(path) / network / message
    return packet / payload if payload else packet


def arp_frame(source_mac: str, *, op: int, psrc: str, pdst: str, hwsrc: str | None = None,
              hwdst: str | None = None, destination_mac: str | None = None,
              vlan: VlanTag | None = None) -> Any:
    """An ARP request (broadcast) or reply (to ``hwdst``), from ``source_mac``."""
    from wirekit.packet import ARP

    target_mac = hwdst or (ZERO_MAC if op == 1 else BROADCAST_MAC)
    outer = destination_mac or (BROADCAST_MAC if op == 1 else target_mac)
    return ether_header(source_mac, outer, vlan) / ARP(op=op, hwsrc=hwsrc or source_mac,
                                                       psrc=psrc, hwdst=target_mac, pdst=pdst)


# -- fragmentation -----------------------------------------------------------------------------

def check_frag_size(size: int) -> int:
    """``--frag-size N``: a positive multiple of 8 (fragment offsets count 8-byte units)."""
    if size < 8 or size % 8 or size > MAX_DATAGRAM:
        raise UsageError(f"--frag-size {size}: must be a multiple of 8 from 8 to 65528 "
                         "(fragment offsets count 8-byte units, so every fragment but the "
                         "last carries a multiple of 8 bytes)")
    return size


def datagram_length(frame: bytes) -> tuple[int, int]:
    """(IP version, IP datagram length) of a built frame; a datagram over the limit of its
    length field (which the codec would wrap) is a usage error."""
    from wirekit.packet import IPv4, IPv6, parse

    wire = parse(frame)
    ip = wire.getlayer(IPv4) or wire.getlayer(IPv6)
    if ip is None:
        raise UsageError("the frame has no IP layer")
    version = 6 if isinstance(ip, IPv6) else 4
    length = len(frame) - (ip.offset or 0)
    limit = MAX_DATAGRAM + (40 if version == 6 else 0)  # IPv6 counts its payload only
    if length > limit:
        raise UsageError(f"the IPv{version} datagram would be {length} bytes, over the "
                         f"{limit} its length field can say; send less payload")
    return version, length


def fragment(packet: Any, size: int | None, *, ident: int | None = None) -> list[bytes]:
    """The frames of one datagram: itself, or fragments of at most ``size`` payload bytes each.

    ``size`` counts the IP payload (the transport header included) per fragment.  IPv4
    (RFC 791): ``fragment_ipv4`` with an MTU of ``size`` + the header of a later fragment,
    so every fragment stays within ``size``; IP options whose copied flag is clear ride in
    the first fragment only, which then carries less.  IPv6 (RFC 8200 section 4.5):
    ``fragment_ipv6`` with ``size`` + 40 + the 8-byte Fragment header, and ``ident`` as the
    Fragment header's identification.  A datagram whose payload fits is sent whole.
    """
    if size is None:
        return [bytes(packet)]
    from wirekit.packet import IPv4, fragment_ipv4, fragment_ipv6

    try:
        ipv4 = packet.getlayer(IPv4)
        if ipv4 is not None:
            copied = sum(len(option.encode()) for option in ipv4.options if option.copied)
            pieces = fragment_ipv4(packet, size + 20 + copied + (-copied % 4))
        else:
            pieces = fragment_ipv6(packet, size + 48, ident=ident)
    except UsageError as exc:  # FieldValueError: the options leave no room for data
        raise UsageError(f"--frag-size {size}: {exc}") from None
    return [bytes(piece) for piece in pieces]


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
