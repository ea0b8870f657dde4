"""What decoding found: per-layer status, checksum verdicts, and the codec's lookup errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wirekit.errors import UsageError


class Status(enum.Enum):
    """How well a layer decoded."""

    OK = "ok"
    TRUNCATED = "truncated"  # the capture ends before the layer does
    MALFORMED = "malformed"  # a field contradicts the format (IHL < 5, UDP length < 8, ...)
    BAD_CHECKSUM = "bad-checksum"
    UNSUPPORTED = "unsupported"  # a next protocol wirekit does not decode; kept as Raw

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class LayerStatus:
    """The status of one layer: its kind, the byte offset of the problem, and why.

    ``offset`` counts from the start of the buffer given to ``parse``.  For a truncation it is the
    first missing byte; for a malformed or bad-checksum layer, the offending field.
    """

    kind: Status
    layer: str = ""
    offset: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is Status.OK

    def __str__(self) -> str:
        if self.ok:
            return "ok"
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.layer}: {self.kind}{where}: {self.reason}"


STATUS_OK = LayerStatus(Status.OK)


@dataclass(frozen=True, slots=True)
class ChecksumCheck:
    """The verdict on one checksum: the stored value, the expected value, and whether they agree.

    ``ok`` is ``None`` when the checksum cannot be verified (the capture is truncated, the layer
    is a fragment or sits inside a quoted datagram) and ``expected`` is then ``None`` too.
    """

    layer: str
    index: int
    offset: int
    stored: int
    expected: int | None
    ok: bool | None
    note: str = ""


class LayerNotFoundError(KeyError, IndexError):
    """``pkt[Layer]`` found no such layer (both a KeyError and, as in Scapy, an IndexError)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "layer not found"


class FieldValueError(UsageError, ValueError):
    """A value does not fit a field (an address that does not parse, an integer out of range)."""
