"""What a reader hands out: records, the interfaces and sections they belong to, truncation.

:class:`Record` is built once per packet on the hot path, so it is a plain ``__slots__`` class
with a five-argument constructor; everything that costs (pcapng options, the decoded packet) is
computed only when asked for.  The descriptive types are frozen, slotted dataclasses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from wirekit.packet.linktype import LinkType
from wirekit.pcap.options import (
    EPB_FLAGS,
    OPT_COMMENT,
    Option,
    decode_options,
    direction_of,
)
from wirekit.pcap.timestamps import NS_PER_SECOND

#: Anything a writer accepts as packet bytes.
BytesLike = bytes | bytearray | memoryview

#: The ``order`` a record gets when it has no timestamp (a pcapng simple packet block).
NO_TIMESTAMP = ""


class FileFormat(StrEnum):
    """The two capture file formats."""

    PCAP = "pcap"
    PCAPNG = "pcapng"


def link_name(link: LinkType | int) -> str:
    """``ETHERNET`` for a known link type, ``LINKTYPE_147`` for another."""
    return link.name if isinstance(link, LinkType) else f"LINKTYPE_{int(link)}"


def link_type(value: int) -> LinkType | int:
    """The :class:`LinkType` of a LINKTYPE_ value, or the value itself when wirekit has no name."""
    try:
        return LinkType(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class Section:
    """A pcapng section (section header block); a classic pcap file is one section."""

    index: int
    byte_order: str  # "little" or "big"
    version: tuple[int, int]
    hardware: str | None = None
    os: str | None = None
    user_application: str | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interface:
    """Where packets were captured: a pcapng interface description, or a pcap file's header.

    ``index`` counts interfaces within their section (what enhanced packet blocks refer to);
    ``ts_resolution`` is timestamp units per second (10**6, 10**9, or a power of two) and
    ``ts_offset`` whole seconds added to every timestamp (``if_tsoffset``).
    """

    index: int
    link: LinkType | int
    snaplen: int
    section: int = 0
    name: str | None = None
    description: str | None = None
    ts_resolution: int = 10**6
    ts_offset: int = 0
    fcs_len: int | None = None
    filter: str | None = None
    os: str | None = None
    hardware: str | None = None
    speed: int | None = None
    comments: tuple[str, ...] = ()
    options: tuple[Option, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (raw options left out: they are in the named fields)."""
        found = asdict(self)
        del found["options"]
        found["link"] = link_name(self.link)
        return found


@dataclass(frozen=True, slots=True)
class Truncation:
    """A record cut short by the end of the file (the capture was interrupted or copied early)."""

    offset: int     # byte offset of the incomplete record in the file
    needed: int     # bytes the record header announces (0 when the header itself is cut)
    available: int  # bytes the file still had

    def to_dict(self) -> dict[str, int | str]:
        return {"offset": self.offset, "needed": self.needed, "available": self.available,
                "message": str(self)}

    def __str__(self) -> str:
        if self.needed:
            return (f"truncated record at byte offset {self.offset}: it needs {self.needed} "
                    f"bytes, the file has {self.available}")
        return (f"truncated record header at byte offset {self.offset}: "
                f"only {self.available} bytes left")


class Record:
    """One captured packet.

    ``data`` is a read-only ``memoryview`` into the file's mapping (or its read buffer): no copy
    is made; ``bytes(record.data)`` keeps the bytes beyond the reader's life.
    ``timestamp_ns`` is exact; ``timestamp`` is the same instant as float seconds.
    """

    __slots__ = ("_options", "_order", "_packet", "data", "interface", "orig_len",
                 "timestamp_ns")

    # Positional on purpose: one Record is built per packet and keywords cost time.
    def __init__(self, timestamp_ns: int, data: memoryview, orig_len: int,  # noqa: PLR0917
                 interface: Interface, options: memoryview | None = None,
                 order: str = "<") -> None:
        self.timestamp_ns = timestamp_ns
        self.data = data
        self.orig_len = orig_len
        self.interface = interface
        self._options = options
        self._order = order

    @property
    def timestamp(self) -> float:
        """Seconds since the epoch (correctly rounded from the exact nanoseconds)."""
        return self.timestamp_ns / NS_PER_SECOND

    @property
    def caplen(self) -> int:
        """How many bytes were captured (``len(data)``); ``orig_len`` is what was on the wire."""
        return len(self.data)

    @property
    def link(self) -> LinkType | int:
        """The link-layer type of ``data``, from the record's interface."""
        return self.interface.link

    @property
    def has_timestamp(self) -> bool:
        """False for a pcapng simple packet block, which carries no time (``timestamp`` is 0)."""
        return self._order != NO_TIMESTAMP

    @property
    def options(self) -> tuple[Option, ...]:
        """Every pcapng option of the packet block, decoded; empty for classic pcap."""
        if self._options is None:
            return ()
        return decode_options(self._options, self._order or "<")

    @property
    def comments(self) -> tuple[str, ...]:
        """All ``opt_comment`` strings of the packet (pcapng)."""
        return tuple(opt.text for opt in self.options if opt.code == OPT_COMMENT)

    @property
    def comment(self) -> str | None:
        """The first comment of the packet, or None."""
        found = self.comments
        return found[0] if found else None

    @property
    def flags(self) -> int | None:
        """The ``epb_flags`` word (direction, reception type, FCS length, errors), or None."""
        for opt in self.options:
            if opt.code == EPB_FLAGS and len(opt.value) == 4:
                return int.from_bytes(opt.value, "little" if self._order != ">" else "big")
        return None

    @property
    def direction(self) -> str | None:
        """``"in"`` or ``"out"`` from ``epb_flags`` bits 0-1, None when unknown."""
        flags = self.flags
        return None if flags is None else direction_of(flags)

    def current(self) -> tuple[BytesLike, int]:
        """The record's bytes and original length as they are now: ``data`` and ``orig_len``,
        or, after an edit through :attr:`packet`, the packet's bytes (and the original length
        moved by as much as the edit changed the length)."""
        packet = getattr(self, "_packet", None)
        if packet is None or not packet.edited:
            return self.data, self.orig_len
        data = bytes(packet)
        return data, max(len(data), self.orig_len + len(data) - len(self.data))

    @property
    def packet(self) -> Any:
        """The decoded packet: ``wirekit.packet.parse(data, link=link, wire_len=orig_len)``,
        parsed once, lazily."""
        try:
            return self._packet
        except AttributeError:
            from wirekit.packet import parse

            self._packet: Any = parse(self.data, link=self.link, wire_len=self.orig_len)
            return self._packet

    @packet.setter
    def packet(self, replacement: Any) -> None:
        """Put another packet in the record's place (an edit that changed the frame's length,
        such as a cut): :meth:`current` and ``Writer.write_packet`` then use its bytes, and
        the original length moves by as much as the length changed."""
        self._packet = replacement

    def to_dict(self) -> dict[str, Any]:
        """The record's metadata, JSON-ready (the decoded layers are ``packet.to_dict()``)."""
        return {
            "timestamp": self.timestamp, "timestamp_ns": self.timestamp_ns,
            "has_timestamp": self.has_timestamp, "caplen": len(self.data),
            "orig_len": self.orig_len, "link": link_name(self.link),
            "interface": self.interface.index, "interface_name": self.interface.name,
            "section": self.interface.section, "comments": list(self.comments),
            "direction": self.direction,
        }

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (f"Record(timestamp_ns={self.timestamp_ns}, caplen={len(self.data)}, "
                f"orig_len={self.orig_len}, link={self.link!r}, "
                f"interface={self.interface.index})")
