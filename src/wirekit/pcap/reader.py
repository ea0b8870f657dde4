"""``Reader``: open a capture, detect its format, and stream its records in constant memory.

Regular files are mapped (``mmap``) and handed to the sans-I/O parser in windows of
:data:`WINDOW` bytes; after each window the pages behind the parser are dropped from this
process with ``madvise(MADV_DONTNEED)`` so the resident set does not grow with the file (a file
mapping's pages count in RSS until they are unmapped or dropped).  Records stay valid after the
drop: touching one again faults its page back in from the page cache.

Pipes, stdin and gzip-compressed files are read in chunks of :data:`CHUNK` bytes by the same
parser; the incomplete record at the end of a chunk is carried over to the next.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import mmap
import os
import stat
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import chain
from types import TracebackType
from typing import Any, BinaryIO

from wirekit.errors import CaptureFileError
from wirekit.packet.linktype import LinkType
from wirekit.pcap import classic, pcapng
from wirekit.pcap.record import FileFormat, Interface, Record, Section, Truncation

#: Bytes handed to the parser per step when reading a mapping; pages behind it are released.
#: 8 MiB keeps the resident set small while making the per-window cost (one madvise) invisible.
WINDOW = 8 * 1024 * 1024
#: The longest fixed header the parsers need to learn a record's length (a pcapng SHB needs 12,
#: a modified-pcap record header 24); a window is never smaller, so every step makes progress.
MIN_WINDOW = 32
#: Bytes read per step from a pipe or a decompressor.
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"

Source = str | os.PathLike[str] | BinaryIO
_Parser = classic.PcapParser | pcapng.PcapngParser


class _Prefixed:
    """A binary stream with some bytes already read from it put back in front."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            head = self._prefix if size < 0 else self._prefix[:size]
            self._prefix = self._prefix[len(head):]
            return head
        return self._stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        if self._prefix:
            return self.read(size)
        reader = getattr(self._stream, "read1", self._stream.read)
        return bytes(reader(size))


class Reader:
    """Iterate over the records of a pcap or pcapng file (format detected, gzip accepted).

    ``source`` is a path, ``"-"`` for standard input, or a binary file object.  Iterating a
    mapped file again starts from the first record; a stream can be read once.  A truncated
    last record ends the iteration quietly and sets :attr:`truncation`.
    """

    def __init__(self, source: Source) -> None:
        self.name = _name_of(source)
        self.compressed = False
        self.truncation: Truncation | None = None
        self._file: BinaryIO | None = None
        self._owns_file = False
        self._map: mmap.mmap | None = None
        self._view: memoryview | None = None
        self._stream: _Prefixed | gzip.GzipFile | None = None
        self._first = b""
        self._iterated = False
        try:
            self._open(source)
            self.format, self._header = self._detect()
        except BaseException:
            self.close()
            raise
        self._parser: _Parser = self._new_parser()
        self._peek_interfaces()

    # -- opening and detection ---------------------------------------------------------------

    def _open(self, source: Source) -> None:
        if isinstance(source, str | os.PathLike):
            if os.fspath(source) == "-":
                self._file = sys.stdin.buffer
            else:
                self._file = self._open_path(source)
                self._owns_file = True
        else:
            self._file = source
        if not self._try_mmap(self._file):
            self._stream = _Prefixed(b"", self._file)
        if self._leading(2) == GZIP_MAGIC:
            self._start_gzip()

    def _open_path(self, path: str | os.PathLike[str]) -> BinaryIO:
        try:
            return open(path, "rb")  # noqa: PTH123 - a path or str; closed by close()
        except OSError as exc:
            raise CaptureFileError(f"cannot open {self.name}: {exc.strerror or exc}") from exc

    def _try_mmap(self, file: BinaryIO) -> bool:
        try:
            info = os.fstat(file.fileno())
        except (OSError, AttributeError, io.UnsupportedOperation):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        if info.st_size == 0:
            raise CaptureFileError(f"{self.name} is empty, not a capture file")
        try:
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return False
        with contextlib.suppress(OSError, AttributeError):
            self._map.madvise(mmap.MADV_SEQUENTIAL)
        self._view = memoryview(self._map)
        return True

    def _leading(self, count: int) -> bytes:
        """The first ``count`` bytes (or fewer), without consuming a stream."""
        if self._view is not None:
            return bytes(self._view[:count])
        if self._stream is None:  # pragma: no cover - _open sets one of the two
            return b""
        while len(self._first) < count:
            more = self._read_stream(CHUNK)
            if not more:
                break
            self._first += more
        return self._first[:count]

    def _start_gzip(self) -> None:
        """Decompress on the fly (Wireshark and tcpdump read ``.pcap.gz`` the same way)."""
        if self._view is not None and self._map is not None and self._file is not None:
            self._view.release()
            self._view = None
            self._map.close()
            self._map = None
            self._file.seek(0)
            raw: BinaryIO = self._file
        elif self._file is not None:
            raw = _Prefixed(self._first, self._file)  # type: ignore[assignment]
        else:  # pragma: no cover - _open always sets a file
            return
        self._first = b""
        self._stream = gzip.GzipFile(fileobj=raw, mode="rb")
        self.compressed = True

    def _detect(self) -> tuple[FileFormat, classic.PcapHeader | None]:
        leading = self._leading(classic.FILE_HEADER_LEN)
        if classic.is_pcap(leading):
            return FileFormat.PCAP, classic.parse_header(leading)
        if leading[:4] == pcapng.SHB_MAGIC_BYTES:
            if len(leading) < 12:
                raise CaptureFileError(f"{self.name}: truncated pcapng section header "
                                       f"({len(leading)} bytes)")
            pcapng.order_of_section(memoryview(leading), 0, 0)
            return FileFormat.PCAPNG, None
        if not leading:
            raise CaptureFileError(f"{self.name} is empty, not a capture file")
        raise CaptureFileError(f"{self.name} is not a pcap or pcapng capture file "
                               f"(it begins with {leading[:8].hex(' ')})")

    def _new_parser(self) -> _Parser:
        if self._header is not None:
            return classic.PcapParser(self._header)
        return pcapng.PcapngParser()

    def _start(self) -> int:
        return classic.FILE_HEADER_LEN if self._header is not None else 0

    def _peek_interfaces(self) -> None:
        """Read the interfaces a pcapng file describes before its first packet."""
        if self._header is not None:
            return
        # A stream offers only what detection already read: a live pipe must not be waited for.
        data = self._view[:WINDOW] if self._view is not None else memoryview(self._first)
        # Damage found here is raised by the iteration that reaches it, with the records before.
        with contextlib.suppress(CaptureFileError):
            for _ in self._parser.records(data, 0, len(data)):
                break

    # -- iteration ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        if self._view is None and self._stream is None:
            raise ValueError(f"I/O operation on a closed Reader ({self.name})")
        if self._stream is not None and self._iterated:
            raise ValueError(f"{self.name} is a stream and was already read")
        self._iterated = True
        self._parser = self._new_parser()
        self.truncation = None
        pieces = self._windows() if self._view is not None else self._chunks()
        return chain.from_iterable(pieces)

    def _windows(self) -> Iterator[Iterable[Record]]:
        """Feed the mapping to the parser window by window, dropping the pages behind it."""
        view, parser = self._view, self._parser
        if view is None:  # pragma: no cover - checked by __iter__
            return
        size, pos, released = len(view), self._start(), 0
        while pos < size:
            end = min(size, pos + max(WINDOW, parser.needed, MIN_WINDOW))
            yield parser.records(view, pos, end)
            pos = parser.pos
            if pos < size and end == size:
                self.truncation = Truncation(pos, parser.needed, size - pos)
                return
            released = self._release(released, pos)

    def _release(self, released: int, pos: int) -> int:
        """Drop the pages wholly behind ``pos`` from this process (they stay in page cache)."""
        boundary = pos - pos % mmap.PAGESIZE
        if self._map is not None and boundary > released:
            with contextlib.suppress(OSError, AttributeError):
                self._map.madvise(mmap.MADV_DONTNEED, released, boundary - released)
            return boundary
        return released

    def _chunks(self) -> Iterator[Iterable[Record]]:
        """Feed a stream to the parser chunk by chunk, carrying incomplete records over."""
        parser = self._parser
        buf, self._first = self._first, b""
        pos, base = self._start(), 0
        while True:
            view = memoryview(buf)
            yield parser.records(view, pos, len(buf), base)
            pos = parser.pos
            more = self._read_stream(CHUNK)
            if not more:
                if pos < len(buf):
                    self.truncation = Truncation(base + pos, parser.needed, len(buf) - pos)
                return
            buf, base, pos = bytes(view[pos:]) + more, base + pos, 0

    def _read_stream(self, size: int) -> bytes:
        if self._stream is None:
            return b""
        try:
            return self._stream.read1(size)
        except EOFError:
            return b""  # a gzip stream cut short: what was decompressed is reported as such
        except (OSError, zlib.error) as exc:
            raise CaptureFileError(f"cannot read {self.name}: {exc}") from exc

    # -- what the file says ------------------------------------------------------------------

    @property
    def truncated(self) -> bool:
        """True when the last record was cut short (see :attr:`truncation`)."""
        return self.truncation is not None

    @property
    def interfaces(self) -> list[Interface]:
        """Interfaces seen so far (all of them once iteration has finished)."""
        if isinstance(self._parser, classic.PcapParser):
            return [self._parser.interface]
        return list(self._parser.interfaces)

    @property
    def sections(self) -> list[Section]:
        """Sections seen so far (a classic pcap file is one section)."""
        if isinstance(self._parser, classic.PcapParser):
            return [self._parser.section]
        return list(self._parser.sections)

    @property
    def link(self) -> LinkType | int | None:
        """The link type of the first interface (None for a pcapng file without any)."""
        interfaces = self.interfaces
        return interfaces[0].link if interfaces else None

    @property
    def snaplen(self) -> int | None:
        """The snaplen of the first interface."""
        interfaces = self.interfaces
        return interfaces[0].snaplen if interfaces else None

    @property
    def header(self) -> classic.PcapHeader | None:
        """The classic pcap file header (None for pcapng)."""
        return self._header

    @property
    def skipped_blocks(self) -> Counter[int]:
        """pcapng block types that were skipped, with counts (empty for classic pcap)."""
        if isinstance(self._parser, pcapng.PcapngParser):
            return Counter(self._parser.skipped_blocks)
        return Counter()

    def describe(self) -> dict[str, Any]:
        """What the file says about itself, JSON-ready (complete once iteration has finished)."""
        return {
            "file": self.name, "format": self.format.value, "compressed": self.compressed,
            "sections": [asdict(section) for section in self.sections],
            "interfaces": [interface.to_dict() for interface in self.interfaces],
            "truncated": self.truncated,
            "truncation": None if self.truncation is None else self.truncation.to_dict(),
            "skipped_blocks": {f"0x{kind:08x}": count
                               for kind, count in sorted(self.skipped_blocks.items())},
        }

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap and close.  Records still referenced keep their pages mapped until freed."""
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a caller still holds record views
                self._map.close()
            self._map = None
        if isinstance(self._stream, gzip.GzipFile):
            self._stream.close()
        self._stream = None
        if self._owns_file and self._file is not None:
            self._file.close()
        self._file = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Reader({self.name!r}, format={self.format.value})"


def _name_of(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        return "standard input" if name == "-" else name
    return str(getattr(source, "name", "<stream>"))


def detect_format(path: str | os.PathLike[str]) -> FileFormat:
    """The format of a capture file (raises :class:`CaptureFileError` if it is none)."""
    with Reader(path) as reader:
        return reader.format
