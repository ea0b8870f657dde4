"""Registries bind layers to the protocol numbers that announce them.

One registry per numbering space: ``ETHERTYPES`` is read by Ether, Dot1Q, SLL and SLL2;
``IP_PROTOCOLS`` by IPv4, IPv6 and the IPv6 extension headers; and so on.  Decoding looks the
number up (``registry.classes.get(key)``, a plain dict read on the hot path); building looks the
class up to fill an automatic next-protocol field (``registry.key_of(cls)``).  Binding a new
protocol is one call, and no decoder has an if-chain of protocol numbers::

    UDP_PORTS.register(4789, VXLAN)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from wirekit.packet.layer import Layer

#: A registry value: a layer class, or a function choosing one from the bytes at an offset
#: (raw IP picks IPv4 or IPv6 by the version nibble).
Resolver: TypeAlias = "Callable[[Any, int], type[Layer] | None]"
Binding: TypeAlias = "type[Layer] | Resolver"


class Registry:
    """Protocol number <-> layer class, for one numbering space."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: key -> layer class; decoders read this dict directly (the hot path).
        self.classes: dict[int, type[Layer]] = {}
        #: key -> resolver, for keys whose class depends on the bytes that follow.
        self.resolvers: dict[int, Resolver] = {}
        self.names: dict[int, str] = {}
        self._keys: dict[type[Layer], int] = {}

    def register(self, key: int, binding: Binding, *, name: str = "",
                 build: bool = True) -> None:
        """Decode *key* with *binding*; with *build*, a built *binding* above gets *key*.

        When several keys map to one class (802.1Q 0x8100 and 802.1ad 0x88a8), the one
        registered with ``build=True`` first is used when building.
        """
        if isinstance(binding, type):
            self.classes[key] = binding
            self.resolvers.pop(key, None)
            if build and binding not in self._keys:
                self._keys[binding] = key
        else:
            self.resolvers[key] = binding
            self.classes.pop(key, None)
        if name:
            self.names[key] = name

    def unregister(self, key: int) -> None:
        """Forget *key* (tests and plug-ins that bind temporarily)."""
        self.resolvers.pop(key, None)
        binding = self.classes.pop(key, None)
        if binding is not None and self._keys.get(binding) == key:
            del self._keys[binding]
            for other, cls in self.classes.items():
                if cls is binding:
                    self._keys[binding] = other
                    break

    def resolve(self, key: int, buffer: Any, offset: int) -> type[Layer] | None:
        """The layer class for *key* (calling a resolver with the bytes it needs)."""
        cls = self.classes.get(key)
        if cls is not None:
            return cls
        resolver = self.resolvers.get(key)
        return None if resolver is None else resolver(buffer, offset)

    def key_of(self, layer: type[Layer]) -> int | None:
        """The number that announces *layer*, or ``None`` when it is not bound here."""
        return self._keys.get(layer)

    def name_of(self, key: int) -> str:
        """A display name for *key* (``"tcp"``), or ``""``."""
        return self.names.get(key, "")

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {len(self.classes)} bindings)"


ETHERTYPES = Registry("ethertype")
IP_PROTOCOLS = Registry("ip protocol")
LINK_TYPES = Registry("link type")
ADDRESS_FAMILIES = Registry("address family")  # BSD NULL/LOOP link headers
TCP_PORTS = Registry("tcp port")
UDP_PORTS = Registry("udp port")
ICMP_QUOTES = Registry("icmp type quoting a datagram")
ICMPV6_QUOTES = Registry("icmpv6 type quoting a packet")
#: IEEE 802.2 LLC service access points; a UI frame whose DSAP and SSAP are both the key binds.
LLC_SAPS = Registry("llc sap")

# Display names, from the IANA registries (names as tcpdump and /etc/protocols spell them).
IP_PROTOCOLS.names.update({
    0: "hopopt", 1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6",
    43: "ipv6-route", 44: "ipv6-frag", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp",
    59: "ipv6-nonxt", 60: "ipv6-opts", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp",
    135: "mobility-header", 137: "mpls-in-ip",
})
ETHERTYPES.names.update({
    0x0800: "IPv4", 0x0806: "ARP", 0x8035: "RARP", 0x8100: "802.1Q", 0x86DD: "IPv6",
    0x8847: "MPLS unicast", 0x8848: "MPLS multicast", 0x8863: "PPPoE D", 0x8864: "PPPoE S",
    0x888E: "EAPOL", 0x88A8: "802.1Q-QinQ", 0x88CC: "LLDP", 0x88F7: "PTP", 0x8906: "FCoE",
    0x9100: "802.1Q-9100", 0x9000: "Loopback",
})
# IEEE 802.2 SAPs with tcpdump's names (print-llc.c llc_values); the low bit (individual/group
# in a DSAP, command/response in an SSAP) is not part of the address.
LLC_SAPS.names.update({
    0x00: "Null", 0x02: "802.1B I", 0x04: "SNA", 0x06: "IP", 0x0E: "ProWay NM", 0x42: "STP",
    0x4E: "RS511", 0x7E: "ISO8208", 0x8E: "ProWay", 0xAA: "SNAP", 0xE0: "IPX", 0xF0: "NetBeui",
    0xFE: "OSI",
})
