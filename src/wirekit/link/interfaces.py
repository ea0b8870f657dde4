"""Network interfaces through netlink (pyroute2): state, flags, addresses, queues, counters.

Links come from ``RTM_GETLINK`` and addresses from ``RTM_GETADDR`` (rtnetlink(7)); driver, speed
and duplex from :mod:`wirekit.link.ethtool` (SIOCETHTOOL / ethtool netlink).  Nothing here runs
the ``ip`` or ``ethtool`` programs, and nothing needs a capability: reading links is open to
every user.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from wirekit.errors import InterfaceError
from wirekit.link import ethtool

#: ``ifi_flags`` bits from linux/if.h: the seed's and ifconfig's flags first, then the rest.
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("UP", 0x1),
    ("BROADCAST", 0x2),
    ("LOOPBACK", 0x8),
    ("POINTOPOINT", 0x10),
    ("MULTICAST", 0x1000),
    ("RUNNING", 0x40),
    ("PROMISC", 0x100),
    ("NOARP", 0x80),
    ("ALLMULTI", 0x200),
    ("LOWER_UP", 0x10000),
    ("DORMANT", 0x20000),
)
IFF_PROMISC = 0x100

#: ``ifi_type`` values (linux/if_arp.h) that matter for choosing a capture link type.
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE
ARPHRD_IPGRE = 778
ARPHRD_TUNNEL = 768

#: rtnetlink address scopes (linux/rtnetlink.h ``enum rt_scope_t``).
SCOPES = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """One IPv4 or IPv6 address of an interface, with its prefix."""

    family: str  # "inet" or "inet6"
    address: str
    prefixlen: int
    scope: str
    broadcast: str | None = None

    @property
    def netmask(self) -> str | None:
        """The IPv4 netmask written out (``255.255.255.0``); None for IPv6."""
        if self.family != "inet":
            return None
        return str(ipaddress.IPv4Network(f"0.0.0.0/{self.prefixlen}").netmask)

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True, slots=True)
class InterfaceStats:
    """The link's 64-bit counters (``IFLA_STATS64``)."""

    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int
    multicast: int = 0
    collisions: int = 0


@dataclass(frozen=True, slots=True)
class Interface:
    """Everything ``wirekit info IFACE`` reports about one interface."""

    index: int
    name: str
    operstate: str
    flags: tuple[str, ...]
    mac: str | None
    mtu: int
    arphrd: int
    kind: str | None  # IFLA_INFO_KIND: veth, bridge, vlan, ... (None for physical devices)
    promiscuity: int
    qdisc: str | None
    rx_queues: int | None
    tx_queues: int | None
    addresses: tuple[InterfaceAddress, ...]
    stats: InterfaceStats | None
    driver: str | None = None
    speed_mbps: int | None = None
    duplex: str | None = None

    @property
    def is_loopback(self) -> bool:
        return self.arphrd == ARPHRD_LOOPBACK

    def ipv4(self) -> list[InterfaceAddress]:
        return [a for a in self.addresses if a.family == "inet"]

    def ipv6(self) -> list[InterfaceAddress]:
        return [a for a in self.addresses if a.family == "inet6"]


@contextlib.contextmanager
def _iproute() -> Iterator[Any]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        yield ipr


def _attr(message: Any, name: str, default: Any = None) -> Any:
    value = message.get_attr(name)
    return default if value is None else value


def _flags(ifi_flags: int, promiscuity: int) -> tuple[str, ...]:
    """Names of the set flag bits.

    A packet socket's PACKET_ADD_MEMBERSHIP makes the device promiscuous without setting the
    user-visible IFF_PROMISC bit (dev_get_flags() hides it), so ``IFLA_PROMISCUITY`` > 0 counts
    as PROMISC too: the question a user asks is whether the NIC accepts every frame.
    """
    if promiscuity > 0:
        ifi_flags |= IFF_PROMISC
    return tuple(name for name, bit in FLAG_BITS if ifi_flags & bit)


def _stats(link: Any) -> InterfaceStats | None:
    raw = link.get_attr("IFLA_STATS64") or link.get_attr("IFLA_STATS")
    if not raw:
        return None
    keys = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets",
            "tx_errors", "tx_dropped", "multicast", "collisions")
    return InterfaceStats(**{key: int(raw.get(key, 0)) for key in keys})


def _kind(link: Any) -> str | None:
    info = link.get_attr("IFLA_LINKINFO")
    return None if info is None else info.get_attr("IFLA_INFO_KIND")


def _address(message: Any) -> InterfaceAddress:
    family = "inet6" if message["family"] == 10 else "inet"
    # For point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always our own.
    local = message.get_attr("IFA_LOCAL") or message.get_attr("IFA_ADDRESS")
    return InterfaceAddress(family=family, address=str(local), prefixlen=int(message["prefixlen"]),
                            scope=SCOPES.get(int(message["scope"]), str(message["scope"])),
                            broadcast=message.get_attr("IFA_BROADCAST"))


def _addresses_by_index(ipr: Any) -> dict[int, list[InterfaceAddress]]:
    found: dict[int, list[InterfaceAddress]] = {}
    for message in ipr.get_addr():
        found.setdefault(int(message["index"]), []).append(_address(message))
    return found


def _from_link(link: Any, addresses: list[InterfaceAddress], with_ethtool: bool) -> Interface:
    name = str(_attr(link, "IFLA_IFNAME", ""))
    promiscuity = int(_attr(link, "IFLA_PROMISCUITY", 0))
    mac = link.get_attr("IFLA_ADDRESS")
    driver, speed, duplex = _ethtool_facts(name) if with_ethtool else (None, None, None)
    return Interface(
        index=int(link["index"]), name=name,
        operstate=str(_attr(link, "IFLA_OPERSTATE", "UNKNOWN")),
        flags=_flags(int(link["flags"]), promiscuity), mac=None if mac is None else str(mac),
        mtu=int(_attr(link, "IFLA_MTU", 0)), arphrd=int(link["ifi_type"]), kind=_kind(link),
        promiscuity=promiscuity, qdisc=link.get_attr("IFLA_QDISC"),
        rx_queues=link.get_attr("IFLA_NUM_RX_QUEUES"),
        tx_queues=link.get_attr("IFLA_NUM_TX_QUEUES"),
        addresses=tuple(addresses), stats=_stats(link), driver=driver, speed_mbps=speed,
        duplex=duplex)


def _ethtool_facts(name: str) -> tuple[str | None, int | None, str | None]:
    """Driver, speed and duplex; an interface that vanished meanwhile just has none."""
    try:
        info = ethtool.driver_info(name)
        mode = ethtool.link_mode(name)
    except InterfaceError:
        return None, None, None
    return (None if info is None else info.driver or None,
            None if mode is None else mode.speed_mbps, None if mode is None else mode.duplex)


def list_interfaces(*, with_ethtool: bool = True) -> list[Interface]:
    """Every interface of this network namespace, by index."""
    with _iproute() as ipr:
        addresses = _addresses_by_index(ipr)
        links = list(ipr.get_links())
    found = [_from_link(link, addresses.get(int(link["index"]), []), with_ethtool)
             for link in links]
    return sorted(found, key=lambda iface: iface.index)


def interface_names() -> list[str]:
    """The names of every interface, by index."""
    with _iproute() as ipr:
        links = sorted(ipr.get_links(), key=lambda link: int(link["index"]))
    return [str(link.get_attr("IFLA_IFNAME")) for link in links]


def unknown_interface(name: str, known: Iterable[str] | None = None) -> InterfaceError:
    """The one-line error for a name that does not exist, listing the names that do.

    ``known`` replaces this namespace's links when the interfaces come from elsewhere (the
    fake ``/sys/class/net`` of ``wirekit tune --root``).
    """
    names = ", ".join(interface_names() if known is None else known) or "none"
    return InterfaceError(f"no such interface: {name} (interfaces here: {names})")


def _utf8(name: str) -> bool:
    """Whether netlink can be asked about ``name``: bytes of the command line that are not
    UTF-8 arrive as surrogates, which pyroute2 cannot encode (no interface has such a name)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def get_interface(name: str, *, with_ethtool: bool = True) -> Interface:
    """One interface in full; :class:`InterfaceError` listing the others when it is missing."""
    with _iproute() as ipr:
        links = ipr.link_lookup(ifname=name) if name and _utf8(name) else []
        if not links:
            raise unknown_interface(name)
        link = ipr.get_links(links[0])[0]
        addresses = [_address(m) for m in ipr.get_addr(index=links[0])]
    return _from_link(link, addresses, with_ethtool)


def interface_index(name: str) -> int:
    """The index of interface ``name`` (``if_nametoindex``)."""
    import socket

    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise unknown_interface(name) from None


def interface_to_dict(iface: Interface) -> dict[str, Any]:
    """A JSON-ready form of ``iface`` (what ``wirekit info --json`` prints)."""
    from dataclasses import asdict

    document = asdict(iface)
    document["flags"] = list(iface.flags)
    document["addresses"] = [
        {**asdict(address), "netmask": address.netmask} for address in iface.addresses]
    return document
