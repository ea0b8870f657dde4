"""Link headers that are not Ethernet: Linux cooked captures (SLL, SLL2) and BSD loopback.

References: the tcpdump.org link-layer type pages LINKTYPE_LINUX_SLL and LINKTYPE_LINUX_SLL2,
and LINKTYPE_NULL / LINKTYPE_LOOP.
"""

from __future__ import annotations

from typing import Any

from wirekit.packet.fields import AUTO, FixedBytes, UInt8, UInt16, UInt32
from wirekit.packet.layer import Layer, NextLayer, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.registry import ADDRESS_FAMILIES, ETHERTYPES, LINK_TYPES

#: sll_pkttype values (linux/if_packet.h).
PACKET_TYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
ADDRESS_FAMILY_NAMES = {2: "inet", 10: "inet6", 24: "inet6", 28: "inet6", 30: "inet6"}
#: SLL protocol values below 0x0600 that are not EtherTypes (LINKTYPE_LINUX_SLL page).
_SLL_NOT_ETHERTYPE = 0x0600


class SLL(Layer):
    """Linux cooked capture v1 header, 16 bytes (``tcpdump -i any`` before libpcap 1.10)::

        +---------------------------+
        |         Packet type       | (2 octets)  0 to us, 1 broadcast, ... 4 sent by us
        |     ARPHRD_ type          | (2 octets)
        | Link-layer address length | (2 octets)
        |    Link-layer address     | (8 octets)
        |        Protocol type      | (2 octets)  an EtherType
        +---------------------------+
    """

    __slots__ = ()
    name = "SLL"
    next_registry = ETHERTYPES
    next_field = "proto"
    next_fallback = 0
    link_type = LinkType.LINUX_SLL

    pkttype = UInt16(0, names=PACKET_TYPES)
    lladdrtype = UInt16(1)
    lladdrlen = UInt16(6)
    src = FixedBytes(8)
    proto = UInt16(AUTO, hex=True, names=ETHERTYPES.names)

    def _next(self) -> NextLayer | None:
        header = self._h
        proto = header[4] if header is not None else None
        if proto is not None and proto < _SLL_NOT_ETHERTYPE:
            self._ensure()
            start = self._off + self._hlen
            if start >= self._end:
                return None
            return Raw, start, self._end, f"SLL protocol {proto:#06x} is not decoded"
        return super()._next()


class SLL2(Layer):
    """Linux cooked capture v2 header, 20 bytes (``tcpdump -i any`` with libpcap 1.10+)::

        +---------------------------+
        |        Protocol type      | (2 octets)  an EtherType
        |       Reserved (MBZ)      | (2 octets)
        |       Interface index     | (4 octets)
        |        ARPHRD_ type       | (2 octets)
        |        Packet type        | (1 octet)
        | Link-layer address length | (1 octet)
        |    Link-layer address     | (8 octets)
        +---------------------------+
    """

    __slots__ = ()
    name = "SLL2"
    next_registry = ETHERTYPES
    next_field = "proto"
    next_fallback = 0
    link_type = LinkType.LINUX_SLL2

    proto = UInt16(AUTO, hex=True, names=ETHERTYPES.names)
    reserved = UInt16(0)
    ifindex = UInt32(0)
    lladdrtype = UInt16(1)
    pkttype = UInt8(0, names=PACKET_TYPES)
    lladdrlen = UInt8(6)
    src = FixedBytes(8)


class FamilyField(UInt32):
    """A BSD address family stored in the capturing host's byte order: a value that only makes
    sense byte-swapped is read swapped (the LINKTYPE_NULL rule)."""

    def to_user(self, raw: Any) -> Any:
        return None if raw is None else _family(raw)

    def user_function(self) -> Any:
        return _family


def _family(raw: int) -> int:
    return int.from_bytes(raw.to_bytes(4, "little"), "big") if raw > 0xFFFF else raw


class Loopback(Layer):
    """BSD loopback header (LINKTYPE_NULL): a 4-byte address family (2 for IPv4; 24, 28 or 30
    for IPv6 depending on the BSD) in the byte order of the host that captured.  Built
    packets use little-endian, the order of every common capture host today.
    """

    __slots__ = ()
    name = "Loopback"
    byte_order = "<"
    next_registry = ADDRESS_FAMILIES
    next_field = "type"
    next_fallback = 2
    link_type = LinkType.NULL

    type = FamilyField(AUTO, names=ADDRESS_FAMILY_NAMES)

    def _next_key(self) -> int:
        header = self._h
        return _family(header[0]) if header is not None else 0


class LoopbackBE(Layer):
    """OpenBSD loopback header (LINKTYPE_LOOP): the address family in network byte order."""

    __slots__ = ()
    name = "LoopbackBE"
    next_registry = ADDRESS_FAMILIES
    next_field = "type"
    next_fallback = 2
    link_type = LinkType.LOOP

    type = UInt32(AUTO, names=ADDRESS_FAMILY_NAMES)


LINK_TYPES.register(LinkType.LINUX_SLL, SLL)
LINK_TYPES.register(LinkType.LINUX_SLL2, SLL2)
LINK_TYPES.register(LinkType.NULL, Loopback)
LINK_TYPES.register(LinkType.LOOP, LoopbackBE)
