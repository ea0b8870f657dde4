"""Link-layer header types: the LINKTYPE_* values of pcap/pcapng files and libpcap's DLT_* twins.

Values from the tcpdump.org link-layer header types registry.  Where a DLT_ value differs from
its LINKTYPE_ value (DLT_RAW is 12 or 14 on some systems, LINKTYPE_RAW is 101), files always
carry the LINKTYPE_ value; :meth:`LinkType.dlt` gives the value Linux libpcap's ``pcap_open_dead``
expects.
"""

from __future__ import annotations

from enum import IntEnum


class LinkType(IntEnum):
    """The first header of a captured frame."""

    NULL = 0  # BSD loopback: 4-byte address family in the capturing host's byte order
    ETHERNET = 1
    RAW = 101  # raw IPv4 or IPv6, told apart by the version nibble
    LOOP = 108  # OpenBSD loopback: 4-byte address family, network byte order
    LINUX_SLL = 113  # Linux cooked capture v1, 16-byte header
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276  # Linux cooked capture v2, 20-byte header

    def dlt(self) -> int:
        """The DLT_ value libpcap on Linux uses for this link type (differs only for RAW)."""
        return 12 if self is LinkType.RAW else int(self)

    @classmethod
    def from_name(cls, name: str) -> LinkType:
        """Parse a name such as ``ethernet``, ``sll2`` or ``linux_sll`` (case-insensitive)."""
        key = name.strip().upper().replace("-", "_")
        aliases = {"EN10MB": "ETHERNET", "ETHER": "ETHERNET", "SLL": "LINUX_SLL",
                   "SLL2": "LINUX_SLL2", "LOOPBACK": "NULL", "IP": "RAW"}
        try:
            return cls[aliases.get(key, key)]
        except KeyError:
            raise ValueError(f"unknown link type {name!r}") from None
