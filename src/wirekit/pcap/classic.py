"""The classic libpcap file format (pcap-savefile(5), draft-ietf-opsawg-pcap).

A 24-byte file header, then records of a 16-byte header and the captured bytes::

    file header: magic:u32 version_major:u16 version_minor:u16 thiszone:i32 sigfigs:u32
                 snaplen:u32 linktype_and_fcs:u32
    record:      ts_sec:u32 ts_frac:u32 caplen:u32 orig_len:u32 data[caplen]

The magic, read in the writer's byte order, is 0xA1B2C3D4 (microsecond fractions) or
0xA1B23C4D (nanosecond fractions); seen byte-swapped it tells the reader to swap every field.
Alexey Kuznetzov's "modified" format (magic 0xA1B2CD34, ``editcap -F modpcap``) adds
ifindex:u32 protocol:u16 pkt_type:u8 pad:u8 to every record header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from wirekit.errors import CaptureFileError
from wirekit.packet.linktype import LinkType
from wirekit.pcap.record import Interface, Record, Section, link_type

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
MAGIC_MODIFIED = 0xA1B2CD34
FILE_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
MODIFIED_RECORD_HEADER_LEN = 24
VERSION = (2, 4)
#: The link type is the low 16 bits; bit 26 says the FCS length in bits 28-31 (in 16-bit units)
#: is known (libpcap's LT_LINKTYPE / LT_FCS_LENGTH_PRESENT / LT_FCS_LENGTH).
LINKTYPE_MASK = 0xFFFF
FCS_PRESENT = 0x04000000
#: libpcap's MAXIMUM_SNAPLEN: a record longer than this and than the file's snaplen is damage,
#: not a packet (a bit flip in caplen must not make us wait for a gigabyte).
MAXIMUM_SNAPLEN = 262144

_MAGICS: dict[bytes, tuple[str, bool, bool]] = {}
for _order in "<>":
    for _magic, _nano, _modified in ((MAGIC_MICRO, False, False), (MAGIC_NANO, True, False),
                                     (MAGIC_MODIFIED, False, True)):
        _MAGICS[struct.pack(_order + "I", _magic)] = (_order, _nano, _modified)


def is_pcap(first4: bytes) -> bool:
    """Whether four bytes are a classic pcap magic in either byte order."""
    return bytes(first4[:4]) in _MAGICS


@dataclass(frozen=True, slots=True)
class PcapHeader:
    """The decoded file header."""

    order: str  # struct prefix: "<" little-endian, ">" big-endian
    nanosecond: bool
    version: tuple[int, int]
    thiszone: int
    sigfigs: int
    snaplen: int
    link: LinkType | int
    fcs_len: int | None
    modified: bool = False

    @property
    def record_header_len(self) -> int:
        return MODIFIED_RECORD_HEADER_LEN if self.modified else RECORD_HEADER_LEN


def parse_header(buf: memoryview | bytes) -> PcapHeader:
    """Decode the 24-byte file header; the caller has checked the magic with :func:`is_pcap`."""
    if len(buf) < FILE_HEADER_LEN:
        raise CaptureFileError(f"truncated pcap file header: {len(buf)} of "
                               f"{FILE_HEADER_LEN} bytes")
    order, nanosecond, modified = _MAGICS[bytes(buf[:4])]
    major, minor, thiszone, sigfigs, snaplen, linkinfo = struct.unpack_from(
        order + "HHiIII", buf, 4)
    fcs_len = (linkinfo >> 28) * 2 if linkinfo & FCS_PRESENT else None
    return PcapHeader(order, nanosecond, (major, minor), thiszone, sigfigs, snaplen,
                      link_type(linkinfo & LINKTYPE_MASK), fcs_len, modified)


def encode_header(link: int, *, snaplen: int, nanosecond: bool, order: str = "<") -> bytes:
    """A file header for a new capture (version 2.4, thiszone and sigfigs 0, as libpcap)."""
    magic = MAGIC_NANO if nanosecond else MAGIC_MICRO
    return struct.pack(order + "IHHiIII", magic, *VERSION, 0, 0, snaplen, int(link))


class PcapParser:
    """Sans-I/O parser of classic pcap records.

    :meth:`records` yields every complete record of ``buf[pos:end]`` and stops before the first
    incomplete one, leaving its offset in :attr:`pos` and its full length in :attr:`needed`
    (0 when not even its header is there).  The caller decides whether the end of ``buf`` is
    the end of the file (then the record is truncated) or just the end of a read chunk.
    """

    def __init__(self, header: PcapHeader) -> None:
        self.header = header
        resolution = 10**9 if header.nanosecond else 10**6
        self.interface = Interface(0, header.link, header.snaplen, ts_resolution=resolution,
                                   fcs_len=header.fcs_len)
        self.section = Section(0, "big" if header.order == ">" else "little", header.version)
        self.pos = 0
        self.needed = 0
        self._limit = max(header.snaplen, MAXIMUM_SNAPLEN)

    def records(self, buf: memoryview, pos: int, end: int, base: int = 0) -> Iterator[Record]:
        """Yield the complete records of ``buf[pos:end]``; ``base`` is ``buf``'s file offset."""
        header = struct.Struct(self.header.order + "IIII")
        unpack, hlen = header.unpack_from, self.header.record_header_len
        scale = 1 if self.header.nanosecond else 1000
        interface, limit = self.interface, self._limit
        self.needed = 0
        try:
            while pos + hlen <= end:
                seconds, fraction, caplen, orig_len = unpack(buf, pos)
                start = pos + hlen
                stop = start + caplen
                if caplen > limit:
                    raise CaptureFileError(
                        f"damaged pcap record at byte offset {base + pos}: captured length "
                        f"{caplen} exceeds the snaplen ({self.header.snaplen}) and "
                        f"{MAXIMUM_SNAPLEN}")
                if stop > end:
                    self.needed = hlen + caplen
                    break
                yield Record(seconds * 1_000_000_000 + fraction * scale, buf[start:stop],
                             orig_len, interface)
                pos = stop
        finally:
            self.pos = pos

