"""The packet codec: sans-I/O, lazy, zero-copy.  See docs/packet.md.

Build with ``/``, parse with :func:`parse`; every layer class, the registries and the checksum
helpers are importable from here.
"""

from wirekit.packet.arp import ARP
from wirekit.packet.checksum import internet_checksum, update_checksum
from wirekit.packet.cooked import SLL, SLL2, Loopback, LoopbackBE
from wirekit.packet.dns import DNS, DNSQR, DNSRR
from wirekit.packet.ether import Dot1Q, Ether
from wirekit.packet.fields import (
    AUTO,
    Bits,
    FixedBytes,
    IPv4Field,
    IPv6Field,
    MACField,
    UInt8,
    UInt16,
    UInt24,
    UInt32,
)
from wirekit.packet.flow import Flow
from wirekit.packet.fragment import (
    fragment_ipv4,
    fragment_ipv6,
    reassemble_ipv4,
    reassemble_ipv6,
)
from wirekit.packet.icmp import ICMP
from wirekit.packet.icmpv6 import ICMPv6, NDOption
from wirekit.packet.ipv4 import IP, IPv4, IPv4Flags, IPv4Option
from wirekit.packet.ipv6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    IPv6ExtHeader,
    IPv6Option,
)
from wirekit.packet.layer import Layer, Padding, Raw
from wirekit.packet.linktype import LinkType
from wirekit.packet.llc import LLC, SNAP
from wirekit.packet.packet import Packet, parse
from wirekit.packet.registry import (
    ADDRESS_FAMILIES,
    ETHERTYPES,
    ICMP_QUOTES,
    ICMPV6_QUOTES,
    IP_PROTOCOLS,
    LINK_TYPES,
    LLC_SAPS,
    TCP_PORTS,
    UDP_PORTS,
    Registry,
)
from wirekit.packet.status import (
    ChecksumCheck,
    FieldValueError,
    LayerNotFoundError,
    LayerStatus,
    Status,
)
from wirekit.packet.tcp import TCP, TCPFlags
from wirekit.packet.udp import UDP

__all__ = [
    "ADDRESS_FAMILIES", "ARP", "AUTO", "DNS", "DNSQR", "DNSRR", "ETHERTYPES", "ICMP",
    "ICMPV6_QUOTES", "ICMP_QUOTES",
    "IP", "IP_PROTOCOLS", "LINK_TYPES", "LLC", "LLC_SAPS", "SLL", "SLL2", "SNAP", "TCP",
    "TCP_PORTS", "UDP", "UDP_PORTS",
    "Bits", "ChecksumCheck", "Dot1Q", "Ether", "FieldValueError", "FixedBytes", "Flow", "ICMPv6",
    "IPv4", "IPv4Field", "IPv4Flags", "IPv4Option", "IPv6", "IPv6ExtHdrDestOpt",
    "IPv6ExtHdrFragment", "IPv6ExtHdrHopByHop", "IPv6ExtHdrRouting", "IPv6ExtHeader",
    "IPv6Field", "IPv6Option",
    "Layer", "LayerNotFoundError", "LayerStatus", "LinkType", "Loopback", "LoopbackBE",
    "MACField", "NDOption", "Packet", "Padding", "Raw", "Registry", "Status", "TCPFlags",
    "UInt8", "UInt16", "UInt24", "UInt32", "fragment_ipv4", "fragment_ipv6", "internet_checksum",
    "parse", "reassemble_ipv4", "reassemble_ipv6", "update_checksum",
]
