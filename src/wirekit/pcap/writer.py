"""``Writer``: write pcap or pcapng files, safely enough for a live capture engine.

Safety: the file header is written and flushed when the writer is created, and each record
leaves in a single ``write()`` of the buffered file, so the file on disk is a valid capture
after every :meth:`Writer.flush` and after :meth:`Writer.close`, and a ``KeyboardInterrupt``
can only land between two records.  (A ``SIGKILL`` mid-buffer can cut the last record; readers,
ours included, report that as a truncated record.)

Speed: :meth:`Writer.write` packs the record header with a precompiled ``struct.Struct`` and
joins it with the data; nothing else happens per packet unless a comment or flags are given.
"""

from __future__ import annotations

import contextlib
import os
import platform
import struct
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from wirekit.errors import CaptureFileError, UsageError
from wirekit.packet.linktype import LinkType
from wirekit.pcap import classic, pcapng
from wirekit.pcap.options import (
    EPB_FLAGS,
    IF_DESCRIPTION,
    IF_FILTER,
    IF_NAME,
    IF_OS,
    IF_TSRESOL,
    OPT_COMMENT,
    SHB_HARDWARE,
    SHB_OS,
    SHB_USERAPPL,
    encode_options,
)
from wirekit.pcap.record import BytesLike, FileFormat, Interface, Record

#: libpcap's default snaplen (MAXIMUM_SNAPLEN): whole frames, even jumbo and GSO ones.
DEFAULT_SNAPLEN = 262144
#: Size of the user-space write buffer: about 170 full-size frames per system call.
BUFFER_SIZE = 256 * 1024
#: Extensions that select pcapng when no format is given (Wireshark's own list).
PCAPNG_SUFFIXES = (".pcapng", ".ntar", ".pcapng.gz", ".scap")

_ZEROS = (b"", b"\0", b"\0\0", b"\0\0\0")
_ORDERS = {"native": "<" if sys.byteorder == "little" else ">", "little": "<", "big": ">"}

Target = str | os.PathLike[str] | BinaryIO


def resolve_format(target: Target, format: FileFormat | str | None) -> FileFormat:
    """The format asked for, or the one the file name implies (``.pcapng`` or else pcap)."""
    if format is not None:
        try:
            return FileFormat(str(format).lower())
        except ValueError:
            raise UsageError(f"unknown capture format {format!r}: use pcap or pcapng") from None
    name = os.fspath(target) if isinstance(target, str | os.PathLike) else \
        str(getattr(target, "name", ""))
    return FileFormat.PCAPNG if name.lower().endswith(PCAPNG_SUFFIXES) else FileFormat.PCAP


class Writer:
    """Write packets to a capture file; ``Writer(...)`` returns a :class:`PcapWriter` or a
    :class:`PcapngWriter` according to ``format`` (or the file name).

    ``target`` is a path, ``"-"`` for standard output, or a binary file object (flushed but not
    closed by :meth:`close`).  ``snaplen`` cuts longer frames (their ``orig_len`` keeps the real
    length).  ``byte_order`` is ``"native"``, ``"little"`` or ``"big"``.
    """

    format: FileFormat

    def __new__(cls, target: Target, link: LinkType | int = LinkType.ETHERNET, *,
                format: FileFormat | str | None = None, **_: Any) -> Writer:
        if cls is not Writer:
            return object.__new__(cls)
        chosen = resolve_format(target, format)
        return object.__new__(PcapngWriter if chosen is FileFormat.PCAPNG else PcapWriter)

    def __init__(self, target: Target, link: LinkType | int = LinkType.ETHERNET, *,
                 format: FileFormat | str | None = None, nanosecond: bool = False,
                 snaplen: int = DEFAULT_SNAPLEN, interface_name: str | None = None,
                 comment: str | None = None, byte_order: str = "native") -> None:
        if byte_order not in _ORDERS:
            raise UsageError(f"byte_order must be native, little or big, not {byte_order!r}")
        if not 0 < snaplen <= 0xFFFFFFFF:
            raise UsageError(f"snaplen must be between 1 and 4294967295, not {snaplen}")
        self.link = LinkType.coerce(link)  # before the file is created
        self.nanosecond = nanosecond
        self.snaplen = snaplen
        self.packets_written = 0
        self._order = _ORDERS[byte_order]
        self._ns_per_unit = 1 if nanosecond else 1000
        self._check_metadata(comment)
        self.name, self._file, self._owns_file = _open_target(target)
        self._write = self._file.write
        self._closed = False
        try:
            self._emit(self._file_header(interface_name, comment))
            self.flush()
        except BaseException:
            self._abandon()
            raise

    # -- what a format defines ---------------------------------------------------------------

    def _check_metadata(self, comment: str | None) -> None:
        """Refuse metadata the format cannot hold (before the file is created)."""

    def _file_header(self, interface_name: str | None, comment: str | None) -> bytes:
        raise NotImplementedError

    def write(self, data: BytesLike, timestamp_ns: int | None = None,
              orig_len: int | None = None, *, comment: str | None = None, interface: int = 0,
              flags: int | None = None) -> None:
        """Write one frame.  ``timestamp_ns`` defaults to now; ``orig_len`` to ``len(data)``.

        ``comment``, ``interface`` (from :meth:`add_interface`) and ``flags`` (``epb_flags``:
        bits 0-1 direction, 1 in, 2 out) are pcapng features.
        """
        raise NotImplementedError

    def add_interface(self, link: LinkType | int, *, name: str | None = None,
                      description: str | None = None, snaplen: int | None = None,
                      filter: str | None = None) -> int:
        """Describe another interface (pcapng); returns the index ``write`` takes."""
        raise UsageError("a classic pcap file holds one link type; write pcapng "
                         "(.pcapng) to mix interfaces")

    def _interface_for(self, interface: Interface) -> int:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------

    def write_packet(self, packet: Record | BytesLike | Any, timestamp_ns: int | None = None, *,
                     comment: str | None = None) -> None:
        """Write a :class:`Record` (keeping its time, length, interface, comment and flags;
        with the edits made through ``record.packet``, as Scapy's read-modify-write loop
        expects) or anything ``bytes()`` accepts, such as a ``wirekit.packet`` packet."""
        if isinstance(packet, Record):
            pcapng_file = self.format is FileFormat.PCAPNG
            data, orig_len = packet.current()
            self.write(data, packet.timestamp_ns if timestamp_ns is None else timestamp_ns,
                       orig_len,
                       comment=comment if comment is not None or not pcapng_file
                       else packet.comment,
                       interface=self._interface_for(packet.interface),
                       flags=packet.flags if pcapng_file else None)
            return
        data = packet if isinstance(packet, bytes | bytearray | memoryview) else bytes(packet)
        self.write(data, timestamp_ns, comment=comment)

    def _emit(self, chunk: bytes) -> None:
        try:
            self._write(chunk)
        except OSError as exc:
            raise CaptureFileError(f"cannot write {self.name}: {exc.strerror or exc}") from exc

    def _cut(self, data: BytesLike) -> BytesLike:
        """``data`` shortened to the snaplen, without a copy."""
        return memoryview(data)[:self.snaplen]

    def flush(self) -> None:
        """Push buffered records to the file: what is on disk is then a complete capture."""
        try:
            self._file.flush()
        except OSError as exc:
            raise CaptureFileError(f"cannot write {self.name}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Flush and close (a file object handed in is flushed, not closed).  Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            if self._owns_file:
                self._file.close()

    def _abandon(self) -> None:
        """Close without flushing, after the file could not be set up, and remove it: it never
        became a capture (a regular file only; never a device or a FIFO)."""
        self._closed = True
        if self._owns_file:
            with contextlib.suppress(OSError):
                self._file.close()
            with contextlib.suppress(OSError):
                created = Path(self.name)
                if created.is_file():
                    created.unlink()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def position(self) -> int:
        """Bytes written so far, headers included (what ``tcpdump -C`` compares with its
        limit: ``pcap_dump_ftell``).  Buffered bytes count; nothing is flushed."""
        try:
            return self._file.tell()
        except OSError as exc:
            raise CaptureFileError(f"cannot tell the size of {self.name}: "
                                   f"{exc.strerror or exc}") from exc

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, link={self.link!r}, "
                f"packets_written={self.packets_written})")


def _open_target(target: Target) -> tuple[str, BinaryIO, bool]:
    if not isinstance(target, str | os.PathLike):
        return str(getattr(target, "name", "<stream>")), target, False
    name = os.fspath(target)
    if name == "-":
        return "standard output", sys.stdout.buffer, False
    try:
        return name, open(name, "wb", buffering=BUFFER_SIZE), True  # noqa: PTH123
    except OSError as exc:
        raise CaptureFileError(f"cannot create {name}: {exc.strerror or exc}") from exc


def _bad_time(name: str, timestamp_ns: int, detail: str) -> UsageError:
    return UsageError(f"cannot write to {name}: timestamp {timestamp_ns} ns {detail}")


class PcapWriter(Writer):
    """The classic libpcap format: one link type, no comments, micro- or nanoseconds."""

    format = FileFormat.PCAP

    def _check_metadata(self, comment: str | None) -> None:
        if comment is not None:
            raise UsageError("a classic pcap file cannot hold a comment; write pcapng (.pcapng)")

    def _file_header(self, interface_name: str | None, comment: str | None) -> bytes:
        self._pack = struct.Struct(self._order + "IIII").pack
        self._units = 1_000_000_000 // self._ns_per_unit
        return classic.encode_header(self.link, snaplen=self.snaplen,
                                     nanosecond=self.nanosecond, order=self._order)

    def write(self, data: BytesLike, timestamp_ns: int | None = None,
              orig_len: int | None = None, *, comment: str | None = None, interface: int = 0,
              flags: int | None = None) -> None:
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        caplen = len(data)
        if orig_len is None:
            orig_len = caplen
        if caplen > self.snaplen:
            data, caplen = self._cut(data), self.snaplen
        if comment is not None or interface:
            self._unsupported(comment, interface)
        seconds, fraction = divmod(timestamp_ns // self._ns_per_unit, self._units)
        try:
            self._write(self._pack(seconds, fraction, caplen, orig_len) + data)
        except struct.error as exc:
            raise _bad_time(self.name, timestamp_ns,
                            "or a length does not fit the pcap format (1970 to 2106)") from exc
        except OSError as exc:
            raise CaptureFileError(f"cannot write {self.name}: {exc.strerror or exc}") from exc
        self.packets_written += 1

    def _unsupported(self, comment: str | None, interface: int) -> None:
        if comment is not None:
            raise UsageError("a classic pcap file cannot hold comments; write pcapng (.pcapng)")
        raise UsageError(f"a classic pcap file has one interface, not {interface + 1}; "
                         "write pcapng (.pcapng)")

    def _interface_for(self, interface: Interface) -> int:
        if int(interface.link) != int(self.link):
            raise UsageError(f"{self.name} holds {_link_name(self.link)} frames; a "
                             f"{_link_name(interface.link)} record needs pcapng (.pcapng)")
        return 0


class PcapngWriter(Writer):
    """pcapng: named interfaces of several link types, file and packet comments, flags."""

    format = FileFormat.PCAPNG

    def _file_header(self, interface_name: str | None, comment: str | None) -> bytes:
        self._head = struct.Struct(self._order + "IIIIIII").pack
        self._word = struct.Struct(self._order + "I").pack
        self._interfaces: list[Interface] = []
        self._claimed: set[int] = set()
        self._mapping: dict[tuple[int, int], int] = {}
        uname = platform.uname()
        options: list[tuple[int, bytes | str]] = [
            (SHB_HARDWARE, uname.machine), (SHB_OS, f"{uname.system} {uname.release}"),
            (SHB_USERAPPL, f"wirekit {_version()}")]
        if comment is not None:
            options.append((OPT_COMMENT, comment))
        try:
            header = pcapng.encode_section_header(options, self._order)
        except ValueError as exc:  # an option past 65535 bytes (pcapng's 16-bit length)
            raise UsageError(str(exc)) from exc
        return header + self._describe(self.link, interface_name, None, self.snaplen, None)

    def _describe(self, link: LinkType | int, name: str | None, description: str | None,
                  snaplen: int, filter: str | None) -> bytes:
        options: list[tuple[int, bytes | str]] = []
        if name is not None:
            options.append((IF_NAME, name))
        if description is not None:
            options.append((IF_DESCRIPTION, description))
        if filter is not None:
            options.append((IF_FILTER, b"\0" + filter.encode("utf-8")))
        options.append((IF_TSRESOL, bytes([pcapng.tsresol_for(self.nanosecond)])))
        if not self._interfaces:
            options.append((IF_OS, f"{platform.system()} {platform.release()}"))
        try:
            block = pcapng.encode_interface(int(link), snaplen, options, self._order)
        except ValueError as exc:  # a name or description past 65535 bytes
            raise UsageError(str(exc)) from exc
        self._interfaces.append(Interface(len(self._interfaces), link, snaplen, name=name,
                                          description=description, filter=filter))
        return block

    def add_interface(self, link: LinkType | int, *, name: str | None = None,
                      description: str | None = None, snaplen: int | None = None,
                      filter: str | None = None) -> int:
        self._emit(self._describe(link, name, description, snaplen or self.snaplen, filter))
        return len(self._interfaces) - 1

    @property
    def interfaces(self) -> list[Interface]:
        """The interfaces described so far, in index order."""
        return list(self._interfaces)

    def write(self, data: BytesLike, timestamp_ns: int | None = None,
              orig_len: int | None = None, *, comment: str | None = None, interface: int = 0,
              flags: int | None = None) -> None:
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        caplen = len(data)
        if orig_len is None:
            orig_len = caplen
        if caplen > self.snaplen:
            data, caplen = self._cut(data), self.snaplen
        options = b"" if comment is None and flags is None else self._options(comment, flags)
        pad = -caplen & 3
        total = 32 + caplen + pad + len(options)
        units = timestamp_ns // self._ns_per_unit
        if interface >= len(self._interfaces) or interface < 0:
            raise UsageError(f"interface {interface} was not added to {self.name} "
                             f"(it has {len(self._interfaces)})")
        try:
            self._write(b"".join((
                self._head(pcapng.BLOCK_EPB, total, interface, units >> 32, units & 0xFFFFFFFF,
                           caplen, orig_len),
                data, _ZEROS[pad], options, self._word(total))))
        except struct.error as exc:
            raise _bad_time(self.name, timestamp_ns, "or a length is out of range") from exc
        except OSError as exc:
            raise CaptureFileError(f"cannot write {self.name}: {exc.strerror or exc}") from exc
        self.packets_written += 1
        self._claimed.add(interface)

    def _options(self, comment: str | None, flags: int | None) -> bytes:
        found: list[tuple[int, bytes | str]] = []
        if comment is not None:
            found.append((OPT_COMMENT, comment))
        if flags is not None:
            found.append((EPB_FLAGS, struct.pack(self._order + "I", flags)))
        try:
            return encode_options(found, self._order)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc

    def _interface_for(self, interface: Interface) -> int:
        """Our interface for a record read elsewhere: an unused one of the same link type,
        or a new description with the record's name."""
        key = (interface.section, interface.index)
        index = self._mapping.get(key)
        if index is None:
            index = next((ours.index for ours in self._interfaces
                          if ours.index not in self._claimed
                          and ours.index not in self._mapping.values()
                          and int(ours.link) == int(interface.link)), None)
            if index is None:
                index = self.add_interface(interface.link, name=interface.name,
                                           description=interface.description,
                                           snaplen=interface.snaplen or None)
            self._mapping[key] = index
        return index


def _link_name(link: LinkType | int) -> str:
    return link.name if isinstance(link, LinkType) else f"link type {link}"


def _version() -> str:
    from wirekit import __version__

    return __version__
