"""pcapng (draft-ietf-opsawg-pcapng): blocks, sections, interfaces; sans-I/O parser, encoders.

Every block is ``type:u32 total_length:u32 body total_length:u32`` (section 3.1), in the byte
order of its section.  A section starts with a section header block (SHB, type 0x0A0D0D0A, the
same read either way) whose byte-order magic 0x1A2B3C4D fixes the order of everything up to
the next SHB.  Interface description blocks (IDB) number the interfaces of their section from 0;
packet blocks name their interface by that number::

    EPB (6): interface:u32 ts_high:u32 ts_low:u32 caplen:u32 orig_len:u32 data pad options
    SPB (3): orig_len:u32 data pad                  (interface 0, no timestamp)
    OPB (2): interface:u16 drops:u16 ts_high:u32 ts_low:u32 caplen:u32 orig_len:u32 data pad
             options                                (obsolete "packet block", still written
                                                     by old tools)

Other blocks (name resolution, interface statistics, decryption secrets, custom, and anything
newer than this module) are skipped and counted.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator

from wirekit.errors import CaptureFileError
from wirekit.pcap.options import (
    IF_DESCRIPTION,
    IF_FCSLEN,
    IF_FILTER,
    IF_HARDWARE,
    IF_NAME,
    IF_OS,
    IF_SPEED,
    IF_TSOFFSET,
    IF_TSRESOL,
    OPT_COMMENT,
    SHB_HARDWARE,
    SHB_OS,
    SHB_USERAPPL,
    Option,
    decode_options,
    encode_options,
)
from wirekit.pcap.record import NO_TIMESTAMP, Interface, Record, Section, link_type
from wirekit.pcap.timestamps import DEFAULT_TSRESOL, TimeScale, units_per_second

BLOCK_SHB = 0x0A0D0D0A
BLOCK_IDB = 0x00000001
BLOCK_OPB = 0x00000002
BLOCK_SPB = 0x00000003
BLOCK_NRB = 0x00000004
BLOCK_ISB = 0x00000005
BLOCK_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
SHB_MAGIC_BYTES = struct.pack("<I", BLOCK_SHB)
VERSION = (1, 0)
#: Readers accept 1.0 and 1.2 (written by some early tools; same layout, libpcap accepts it).
ACCEPTED_VERSIONS = ((1, 0), (1, 2))
#: The smallest block: type, length and the trailing length.
MIN_BLOCK_LEN = 12
#: A block longer than this is damage, not data: libpcap grows its buffer to at most 16 MiB and
#: Wireshark caps blocks similarly; 256 MiB leaves room for jumbo-frame captures of odd tools.
MAX_BLOCK_LEN = 256 * 1024 * 1024
#: The fixed part of each block type we decode (type, length, fixed fields, trailing length).
MIN_LENGTHS = {BLOCK_SHB: 28, BLOCK_IDB: 20, BLOCK_EPB: 32, BLOCK_SPB: 16, BLOCK_OPB: 32}
_NAMES = {BLOCK_SHB: "section header", BLOCK_IDB: "interface description",
          BLOCK_EPB: "enhanced packet", BLOCK_SPB: "simple packet", BLOCK_OPB: "packet"}

_PAD = (0, 3, 2, 1)


def order_of_section(buf: memoryview, pos: int, offset: int) -> str:
    """The byte order of the section whose header block starts at ``pos``."""
    (magic,) = struct.unpack_from("<I", buf, pos + 8)
    if magic == BYTE_ORDER_MAGIC:
        return "<"
    if magic == 0x4D3C2B1A:
        return ">"
    raise CaptureFileError(f"damaged pcapng section header at byte offset {offset}: "
                           f"byte-order magic is 0x{magic:08x}")


class _Scale:
    """What the hot loop needs to know about one interface of the current section."""

    __slots__ = ("divisor", "interface", "multiplier", "offset_ns")

    def __init__(self, interface: Interface, scale: TimeScale) -> None:
        self.interface = interface
        self.multiplier = scale.multiplier
        self.divisor = scale.divisor
        self.offset_ns = scale.offset_ns


class PcapngParser:
    """Sans-I/O parser of pcapng blocks, yielding one :class:`Record` per packet block.

    Like :class:`~wirekit.pcap.classic.PcapParser`: :meth:`records` stops before the first
    incomplete block and leaves its offset in :attr:`pos` and its announced length in
    :attr:`needed`.  :attr:`sections` and :attr:`interfaces` grow as blocks are read.
    """

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.interfaces: list[Interface] = []
        self.skipped_blocks: Counter[int] = Counter()
        self.pos = 0
        self.needed = 0
        self._order = "<"
        self._scales: list[_Scale] = []

    def records(self, buf: memoryview, pos: int, end: int, base: int = 0) -> Iterator[Record]:
        """Yield the packets of the complete blocks of ``buf[pos:end]`` (``base``: file offset)."""
        self.needed = 0
        order = self._order
        head = struct.Struct(order + "II").unpack_from
        word = struct.Struct(order + "I").unpack_from
        epb = struct.Struct(order + "IIIII").unpack_from
        scales = self._scales
        try:
            while pos + 8 <= end:
                block_type, length = head(buf, pos)
                if block_type == BLOCK_SHB:
                    if pos + 12 > end:
                        break
                    order = order_of_section(buf, pos, base + pos)
                    head = struct.Struct(order + "II").unpack_from
                    word = struct.Struct(order + "I").unpack_from
                    epb = struct.Struct(order + "IIIII").unpack_from
                    length = head(buf, pos)[1]
                if length < MIN_BLOCK_LEN or length & 3 or length > MAX_BLOCK_LEN:
                    raise CaptureFileError(f"damaged pcapng block at byte offset {base + pos}: "
                                           f"length {length}")
                stop = pos + length
                if stop > end:
                    self.needed = length
                    break
                if word(buf, stop - 4)[0] != length:
                    raise CaptureFileError(
                        f"damaged pcapng block at byte offset {base + pos}: trailing length "
                        f"{word(buf, stop - 4)[0]} differs from the leading {length}")
                if length < MIN_LENGTHS.get(block_type, MIN_BLOCK_LEN):
                    _too_short(block_type, length, base + pos)
                if block_type == BLOCK_EPB:
                    iface_id, high, low, caplen, orig_len = epb(buf, pos + 8)
                    data_stop = pos + 28 + caplen
                    if data_stop > stop - 4 or iface_id >= len(scales):
                        self._bad_packet(base + pos, iface_id, caplen, length)
                    scale = scales[iface_id]
                    options_start = data_stop + _PAD[caplen & 3]
                    yield Record(
                        ((high << 32) | low) * scale.multiplier // scale.divisor
                        + scale.offset_ns,
                        buf[pos + 28:data_stop], orig_len, scale.interface,
                        buf[options_start:stop - 4] if options_start < stop - 4 else None,
                        order)
                elif block_type == BLOCK_SHB:
                    self._section(buf, pos, stop, order, base)
                    scales = self._scales
                elif block_type == BLOCK_IDB:
                    self._interface(buf, pos, stop, order)
                elif block_type == BLOCK_SPB:
                    yield self._simple_packet(buf, pos, stop, order, base)
                elif block_type == BLOCK_OPB:
                    yield self._obsolete_packet(buf, pos, stop, order, base)
                else:
                    self.skipped_blocks[block_type] += 1
                pos = stop
        finally:
            self.pos = pos
            self._order = order

    # -- blocks other than EPB (rare: clarity over speed) ------------------------------------

    def _section(self, buf: memoryview, pos: int, stop: int, order: str, base: int) -> None:
        major, minor = struct.unpack_from(order + "HH", buf, pos + 12)
        if (major, minor) not in ACCEPTED_VERSIONS:
            raise CaptureFileError(f"pcapng section at byte offset {base + pos} has version "
                                   f"{major}.{minor}; wirekit reads 1.0")
        options = decode_options(buf[pos + 24:stop - 4], order)
        self.sections.append(Section(
            index=len(self.sections), byte_order="big" if order == ">" else "little",
            version=(major, minor), hardware=_text(options, SHB_HARDWARE),
            os=_text(options, SHB_OS), user_application=_text(options, SHB_USERAPPL),
            comments=_texts(options, OPT_COMMENT)))
        self._order = order
        self._scales = []

    def _interface(self, buf: memoryview, pos: int, stop: int, order: str) -> None:
        link, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
        options = decode_options(buf[pos + 16:stop - 4], order)
        interface = interface_from_options(
            len(self._scales), link, snaplen, options, order=order,
            section=max(len(self.sections) - 1, 0))
        self.interfaces.append(interface)
        tsresol = _integer(options, IF_TSRESOL, order)
        offset = _integer(options, IF_TSOFFSET, order, signed=True) or 0
        scale = TimeScale.from_tsresol(DEFAULT_TSRESOL if tsresol is None else tsresol, offset)
        self._scales.append(_Scale(interface, scale))

    def _simple_packet(self, buf: memoryview, pos: int, stop: int, order: str,
                       base: int) -> Record:
        if not self._scales:
            raise CaptureFileError(f"pcapng simple packet block at byte offset {base + pos} "
                                   "comes before any interface description")
        (orig_len,) = struct.unpack_from(order + "I", buf, pos + 8)
        interface = self._scales[0].interface
        # Section 4.4: the captured length is the original length cut to interface 0's
        # snaplen (0 means none) and to the space in the block.
        caplen = min(orig_len, stop - 4 - (pos + 12))
        if interface.snaplen:
            caplen = min(caplen, interface.snaplen)
        return Record(0, buf[pos + 12:pos + 12 + caplen], orig_len, interface, None,
                      NO_TIMESTAMP)

    def _obsolete_packet(self, buf: memoryview, pos: int, stop: int, order: str,
                         base: int) -> Record:
        iface_id, _drops, high, low, caplen, orig_len = struct.unpack_from(
            order + "HHIIII", buf, pos + 8)
        data_stop = pos + 28 + caplen
        if data_stop > stop - 4 or iface_id >= len(self._scales):
            self._bad_packet(base + pos, iface_id, caplen, stop - pos)
        scale = self._scales[iface_id]
        options_start = data_stop + _PAD[caplen & 3]
        ns = ((high << 32) | low) * scale.multiplier // scale.divisor + scale.offset_ns
        return Record(ns, buf[pos + 28:data_stop], orig_len, scale.interface,
                      buf[options_start:stop - 4] if options_start < stop - 4 else None, order)

    def _bad_packet(self, offset: int, iface_id: int, caplen: int, length: int) -> None:
        if iface_id >= len(self._scales):
            raise CaptureFileError(
                f"damaged pcapng packet block at byte offset {offset}: interface {iface_id} "
                f"is not described (the section has {len(self._scales)})")
        raise CaptureFileError(f"damaged pcapng packet block at byte offset {offset}: "
                               f"captured length {caplen} does not fit its {length}-byte block")


def _too_short(block_type: int, length: int, offset: int) -> None:
    raise CaptureFileError(f"damaged pcapng {_NAMES[block_type]} block at byte offset {offset}: "
                           f"length {length} is below its minimum {MIN_LENGTHS[block_type]}")


def _text(options: tuple[Option, ...], code: int) -> str | None:
    return next((opt.text for opt in options if opt.code == code), None)


def _texts(options: tuple[Option, ...], code: int) -> tuple[str, ...]:
    return tuple(opt.text for opt in options if opt.code == code)


def _integer(options: tuple[Option, ...], code: int, order: str, *,
             signed: bool = False) -> int | None:
    opt = next((opt for opt in options if opt.code == code), None)
    return None if opt is None or not opt.value else opt.integer(order, signed=signed)


def _filter(options: tuple[Option, ...]) -> str | None:
    """``if_filter``: a type byte, then the filter; type 0 is a libpcap filter string."""
    opt = next((opt for opt in options if opt.code == IF_FILTER), None)
    if opt is None or not opt.value or opt.value[0] != 0:
        return None
    return opt.value[1:].decode("utf-8", "replace").rstrip("\0")


def interface_from_options(index: int, link: int, snaplen: int, options: tuple[Option, ...], *,
                           order: str, section: int) -> Interface:
    """Build an :class:`Interface` from an IDB's fixed fields and options."""
    tsresol = _integer(options, IF_TSRESOL, order)
    return Interface(
        index=index, link=link_type(link), snaplen=snaplen, section=section,
        name=_text(options, IF_NAME), description=_text(options, IF_DESCRIPTION),
        ts_resolution=units_per_second(DEFAULT_TSRESOL if tsresol is None else tsresol),
        ts_offset=_integer(options, IF_TSOFFSET, order, signed=True) or 0,
        fcs_len=_integer(options, IF_FCSLEN, order), filter=_filter(options),
        os=_text(options, IF_OS), hardware=_text(options, IF_HARDWARE),
        speed=_integer(options, IF_SPEED, order), comments=_texts(options, OPT_COMMENT),
        options=options)


# -- encoders ---------------------------------------------------------------------------------

def encode_block(block_type: int, body: bytes, order: str = "<") -> bytes:
    """Frame a block body (already padded to 32 bits) with its type and both lengths."""
    length = len(body) + MIN_BLOCK_LEN
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def encode_section_header(options: list[tuple[int, bytes | str]], order: str = "<") -> bytes:
    """A section header block; the section length is -1 (not known: we stream)."""
    body = struct.pack(order + "IHHq", BYTE_ORDER_MAGIC, *VERSION, -1)
    return encode_block(BLOCK_SHB, body + encode_options(options, order), order)


def encode_interface(link: int, snaplen: int, options: list[tuple[int, bytes | str]],
                     order: str = "<") -> bytes:
    """An interface description block."""
    body = struct.pack(order + "HHI", int(link), 0, snaplen)
    return encode_block(BLOCK_IDB, body + encode_options(options, order), order)


def tsresol_for(nanosecond: bool) -> int:
    """The ``if_tsresol`` byte a writer uses: 9 (10^-9 s) or 6 (10^-6 s)."""
    return 9 if nanosecond else 6
