"""The ``--output`` record formats (docs/protocol.md §8).

``length``: a 4-byte big-endian length, then the payload; unambiguous for any payload.
``lines``: the payload, then ``\\n``; handy for text, ambiguous if a payload holds a newline.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator

from wirekit.errors import DecodeError

_LENGTH = struct.Struct(">I")


class RecordFormat(enum.Enum):
    LENGTH = "length"
    LINES = "lines"


def encode_record(payload: bytes, fmt: RecordFormat = RecordFormat.LENGTH) -> bytes:
    """One record holding ``payload``."""
    if fmt is RecordFormat.LINES:
        return payload + b"\n"
    return _LENGTH.pack(len(payload)) + payload


def iter_records(data: bytes, fmt: RecordFormat = RecordFormat.LENGTH) -> Iterator[bytes]:
    """The payloads stored in ``data``; :class:`DecodeError` for a truncated last record."""
    if fmt is RecordFormat.LINES:
        lines = data.split(b"\n")
        if lines[-1]:
            raise DecodeError("last record has no newline", layer="records",
                              offset=len(data) - len(lines[-1]))
        yield from lines[:-1]
        return
    offset = 0
    while offset < len(data):
        if len(data) - offset < _LENGTH.size:
            raise DecodeError("truncated record length", layer="records", offset=offset)
        (length,) = _LENGTH.unpack_from(data, offset)
        end = offset + _LENGTH.size + length
        if end > len(data):
            raise DecodeError(f"record of {length} bytes truncated", layer="records",
                              offset=offset)
        yield data[offset + _LENGTH.size:end]
        offset = end
