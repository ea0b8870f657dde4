"""tcpdump's savefile rotation: ``-C`` (size), ``-G`` (seconds) and ``-W`` (file count).

The rules are tcpdump's (tcpdump.c, ``dump_packet_and_trunc``), checked before each frame is
written, so a file may pass ``-C`` by one frame, and an interval ends only when a frame
arrives after it:

- ``-G``: when ``seconds`` have passed since the file was opened, a new file is opened, its
  name the ``-w`` template through ``strftime``; with ``-W`` (and no ``-C``) the capture ends
  once that many files are complete ("Maximum file limit reached").
- ``-C``: when the file is larger than ``size`` bytes, the next file gets a number after the
  name: ``name``, ``name1``, ``name2``...; with ``-W N`` numbers are padded to the width of
  ``N - 1`` and wrap after ``N`` files (``name0`` ... ``name{N-1}``, then ``name0`` again),
  a ring buffer of files.  A ``-G`` rotation restarts the numbering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wirekit.errors import UsageError

#: ``-C`` units: a plain number is millions of bytes (tcpdump); a suffix is binary units
#: (newer tcpdump releases accept k, m and g the same way).
_SIZE_UNITS = {"": 1_000_000, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def parse_file_size(text: str) -> int:
    """``-C``'s argument in bytes: ``10`` is 10,000,000 bytes, ``512k`` is 524,288."""
    stripped = text.strip()
    unit = stripped[-1:].lower() if stripped[-1:].isalpha() else ""
    digits = stripped[:-1] if unit else stripped
    if unit not in _SIZE_UNITS or not (digits.isascii() and digits.isdigit()) \
            or int(digits) < 1:
        raise UsageError(f"invalid file size {text!r}: a whole number of millions of bytes, "
                         "or a number with k, m or g (binary units)")
    return int(digits) * _SIZE_UNITS[unit]


@dataclass(frozen=True, slots=True)
class Rotation:
    """What ``-C``, ``-G`` and ``-W`` asked for (0: not asked)."""

    size: int = 0
    seconds: int = 0
    files: int = 0

    def __post_init__(self) -> None:
        if self.size < 0 or self.seconds < 0 or self.files < 0:
            raise UsageError("-C, -G and -W take positive numbers")
        if self.files and not (self.size or self.seconds):
            raise UsageError("-W limits the files of -C or -G: give one of them")

    @property
    def active(self) -> bool:
        return bool(self.size or self.seconds)

    @property
    def digits(self) -> int:
        """How many digits a file number gets: those of ``files - 1`` (tcpdump's WflagChars),
        so the files of a ring sort by name; none without ``-W``."""
        return len(str(self.files - 1)) if self.files > 1 else 0

    def file_name(self, template: str, number: int, opened_at: float) -> str:
        """The name of a file: the template (through strftime under ``-G``) and its number."""
        base = time.strftime(template, time.localtime(opened_at)) if self.seconds else template
        digits = self.digits if self.size else 0
        if number == 0 and digits == 0:
            return base
        return f"{base}{number:0{digits}d}"


class FileSink(Protocol):
    """A capture file writer (:class:`wirekit.pcap.Writer`)."""

    @property
    def position(self) -> int: ...

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None: ...

    def close(self) -> None: ...


class RotatingFile:
    """A capture sink that spreads the frames over files as :class:`Rotation` says.

    ``open_file`` creates the writer of one path.  ``limit_reached`` is called once when
    ``-G`` with ``-W`` has completed its files; frames after that are not written, and
    ``discarded`` counts them so that "packets captured" stays what the files hold.
    """

    def __init__(self, template: Path, rotation: Rotation,
                 open_file: Callable[[Path], FileSink], *,
                 limit_reached: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.template = str(template)
        self.rotation = rotation
        self._open_file = open_file
        self._limit_reached = limit_reached
        self._clock = clock
        self.number = 0
        self.intervals = 0
        self.discarded = 0
        self.paths: list[Path] = []
        self._opened_at = clock()
        self._current: FileSink | None = self._open(self._opened_at)

    def _open(self, now: float) -> FileSink:
        path = Path(self.rotation.file_name(self.template, self.number, now))
        writer = self._open_file(path)
        if path not in self.paths:
            self.paths.append(path)
        return writer

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        current = self._current
        if current is None:
            self.discarded += 1
            return
        rotation = self.rotation
        if rotation.seconds:
            now = self._clock()
            if now - self._opened_at >= rotation.seconds:
                current = self._next_interval(current, now)
                if current is None:
                    self.discarded += 1
                    return
        if rotation.size and current.position > rotation.size:
            current = self._next_size(current)
        current.write(data, timestamp_ns, orig_len)

    def _next_interval(self, current: FileSink, now: float) -> FileSink | None:
        current.close()
        self._current = None
        self.intervals += 1
        if self.rotation.files and not self.rotation.size \
                and self.intervals >= self.rotation.files:
            if self._limit_reached is not None:
                self._limit_reached()
            return None
        self._opened_at = now
        self.number = 0
        self._current = self._open(now)
        return self._current

    def _next_size(self, current: FileSink) -> FileSink:
        current.close()
        self._current = None
        self.number += 1
        if self.rotation.files and self.number >= self.rotation.files:
            self.number = 0  # -W: a ring of files, the oldest is overwritten
        self._current = self._open(self._opened_at)
        return self._current

    def close(self) -> None:
        if self._current is not None:
            current, self._current = self._current, None
            current.close()
