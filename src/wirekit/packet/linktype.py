"""Link-layer header types: the LINKTYPE_* values of pcap/pcapng files and libpcap's DLT_* twins.

Values from the tcpdump.org link-layer header types registry.  Where a DLT_ value differs from
its LINKTYPE_ value (DLT_RAW is 12 or 14 on some systems, LINKTYPE_RAW is 101), files always
carry the LINKTYPE_ value; :meth:`LinkType.dlt` gives the value Linux libpcap's ``pcap_open_dead``
expects.
"""

from __future__ import annotations

from enum import IntEnum

from wirekit.errors import UsageError


class LinkTypeError(UsageError, ValueError):
    """A link type that is neither a known name nor a 16-bit LINKTYPE_ number."""


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
            names = ", ".join(kind.name.lower() for kind in cls)
            raise LinkTypeError(f"unknown link type {name!r} (names: {names}, or a "
                                f"LINKTYPE_ number)") from None

    @classmethod
    def coerce(cls, value: object) -> LinkType | int:
        """A link type given as a member, a LINKTYPE_ number (an ``int`` when wirekit has no
        name for it) or a name (:meth:`from_name`); anything else is a :class:`LinkTypeError`."""
        if isinstance(value, LinkType):
            return value
        if isinstance(value, str):
            return cls.from_name(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
            return cls(value) if value in cls._value2member_map_ else value
        raise LinkTypeError(f"not a link type: {value!r}")
