"""Frames of the message protocol: the header, both checksums, encoding and decoding.

The header is the seed's packed ``protocol_header_t``, every field big-endian
(docs/protocol.md §1)::

    typedef struct __attribute__((packed)) {
        uint8_t version;          /* 1, or 2 once negotiated            */
        uint8_t type;             /* MessageType                        */
        uint16_t flags;           /* NEGOTIATE; the code on ERROR       */
        uint32_t sequence_number;
        uint32_t payload_length;
        uint32_t checksum;        /* v1: byte sum; v2: CRC32C           */
        uint64_t timestamp;       /* v1: seconds; v2: nanoseconds       */
    } protocol_header_t;

Decoding runs in three steps, each with its own error code: integrity (version, length before
the body is read, checksum), parse (``struct.unpack_from`` on the buffer, no copy but the
payload), sanity (the type, judged by the connection's state machine).
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

import google_crc32c

from wirekit.errors import DecodeError
from wirekit.proto.codes import ErrorCode, error_text
from wirekit.proto.limits import HEADER_SIZE, MAX_PAYLOAD_LIMIT

HEADER = struct.Struct(">BBHIIIQ")
_LENGTH = struct.Struct(">I")
LENGTH_OFFSET = 8
CHECKSUM_OFFSET = 12
CHECKSUM_END = 16
VERSION_1 = 1
VERSION_2 = 2
VERSIONS = (VERSION_1, VERSION_2)

#: HELLO: the payload is a v2 offer; ACK of a HELLO: the payload is the acceptance.
FLAG_NEGOTIATE = 0x0001

#: adler32's low half is ``1 + sum(bytes) mod 65521``; for 256 bytes the sum is at most
#: 65,280, so ``1 + sum`` stays below the modulus and the low half is the exact byte sum.  One C
#: call per 256 bytes instead of a Python loop over each byte.
_SUM_CHUNK = 256


class MessageType(enum.IntEnum):
    """The six message types of the seed."""

    HELLO = 1
    DATA = 2
    ACK = 3
    ERROR = 4
    HEARTBEAT = 5
    GOODBYE = 6


def type_name(value: int) -> str:
    """``DATA`` for 2, ``type 9`` for a value that is not a message type."""
    try:
        return MessageType(value).name
    except ValueError:
        return f"type {value}"


class FrameError(DecodeError):
    """A frame failed an integrity check; ``code`` is the protocol error code to answer with."""

    def __init__(self, code: ErrorCode, message: str, *, offset: int = 0) -> None:
        super().__init__(message, layer="wirekit", offset=offset)
        self.code = code


@dataclass(frozen=True, kw_only=True, slots=True)
class FrameHeader:
    """The 24-byte header; see the module docstring for the C struct it mirrors."""

    version: int
    type: int
    flags: int
    sequence: int
    length: int
    checksum: int
    timestamp: int

    def pack(self) -> bytes:
        return HEADER.pack(self.version, self.type, self.flags, self.sequence, self.length,
                           self.checksum, self.timestamp)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its header and its payload (copied out of the buffer)."""

    header: FrameHeader
    payload: bytes

    @property
    def type_name(self) -> str:
        return type_name(self.header.type)

    def to_bytes(self) -> bytes:
        return self.header.pack() + self.payload

    @property
    def checksum_valid(self) -> bool:
        return self.header.checksum == checksum(self.header.version, self.to_bytes())


def byte_sum(data: bytes | memoryview, start: int = 0, end: int | None = None) -> int:
    """The sum of ``data[start:end]``'s bytes (not reduced), via adler32 in 256-byte chunks."""
    view = memoryview(data)
    stop = len(view) if end is None else end
    total = 0
    adler32 = zlib.adler32
    for pos in range(start, stop, _SUM_CHUNK):
        total += (adler32(view[pos:min(pos + _SUM_CHUNK, stop)]) & 0xFFFF) - 1
    return total


def checksum_v1(frame: bytes | memoryview, start: int = 0, end: int | None = None) -> int:
    """The seed's checksum of the frame at ``frame[start:end]``: its byte sum, mod 2**32,
    skipping the four checksum bytes (whatever they hold)."""
    stop = len(frame) if end is None else end
    skipped = byte_sum(frame, start + CHECKSUM_OFFSET, start + CHECKSUM_END)
    return (byte_sum(frame, start, stop) - skipped) & 0xFFFF_FFFF


def checksum_v2(frame: bytes, start: int = 0, end: int | None = None) -> int:
    """CRC32C (RFC 3720 §B.4) of header bytes 0–11, 16–23, then the payload."""
    stop = len(frame) if end is None else end
    head = google_crc32c.value(bytes(frame[start:start + CHECKSUM_OFFSET]))
    return int(google_crc32c.extend(head, bytes(frame[start + CHECKSUM_END:stop])))


def checksum(version: int, frame: bytes, start: int = 0, end: int | None = None) -> int:
    """The checksum ``version`` defines for the frame at ``frame[start:end]``."""
    if version == VERSION_2:
        return checksum_v2(frame, start, end)
    return checksum_v1(frame, start, end)


def encode_frame(version: int, message_type: int, sequence: int, payload: bytes = b"", *,
                 timestamp: int = 0, flags: int = 0) -> bytes:
    """One complete frame with its checksum filled in."""
    header = bytearray(HEADER.pack(version, message_type, flags, sequence, len(payload), 0,
                                   timestamp))
    frame = bytes(header) + payload
    struct.pack_into(">I", header, CHECKSUM_OFFSET, checksum(version, frame))
    return bytes(header) + payload


def check_version(version: int, *, expected_version: int | None, offset: int = 0) -> None:
    """The first integrity check; it needs only a header's first byte."""
    allowed = VERSIONS if expected_version is None else (expected_version,)
    if version not in allowed:
        raise FrameError(ErrorCode.BAD_VERSION, error_text(ErrorCode.BAD_VERSION,
                                                           version=version), offset=offset)


def check_header(version: int, length: int, *, expected_version: int | None,
                 max_payload: int, offset: int = 0) -> None:
    """Integrity checks that need only the header: version, then length (never read a body we
    are going to refuse)."""
    check_version(version, expected_version=expected_version, offset=offset)
    if length > max_payload:
        raise FrameError(ErrorCode.TOO_LARGE, error_text(ErrorCode.TOO_LARGE, length=length,
                                                         maximum=max_payload), offset=offset)


def decode_frame(data: bytes, offset: int = 0, *, max_payload: int = MAX_PAYLOAD_LIMIT,
                 version: int | None = None, verify: bool = True) -> tuple[Frame, int] | None:
    """Decode the frame at ``data[offset:]``.

    Returns ``(frame, end offset)``, or None when the buffer does not yet hold a whole frame.
    Raises :class:`FrameError` for a bad version (``version`` None accepts 1 and 2; judged as
    soon as the first byte is there), a length over ``max_payload`` (as soon as the header is
    there), or, with ``verify``, a bad checksum.
    """
    if len(data) - offset < HEADER_SIZE:
        if len(data) > offset:
            check_version(data[offset], expected_version=version, offset=offset)
        return None
    fields = HEADER.unpack_from(data, offset)
    check_header(fields[0], fields[4], expected_version=version, max_payload=max_payload,
                 offset=offset)
    end = offset + HEADER_SIZE + fields[4]
    if len(data) < end:
        return None
    if verify:
        verify_checksum(fields[0], fields[5], data, offset, end)
    header = FrameHeader(version=fields[0], type=fields[1], flags=fields[2], sequence=fields[3],
                         length=fields[4], checksum=fields[5], timestamp=fields[6])
    return Frame(header, bytes(data[offset + HEADER_SIZE:end])), end


def count_frame_types(data: bytes | bytearray | memoryview) -> dict[int, int]:
    """How many frames of each type ``data`` (whole frames, as a sender writes them) holds.

    Only the headers are read: this counts what was sent, it does not validate it.
    """
    counts: dict[int, int] = {}
    offset, size = 0, len(data)
    while size - offset >= HEADER_SIZE:
        mtype = data[offset + 1]
        counts[mtype] = counts.get(mtype, 0) + 1
        offset += HEADER_SIZE + _LENGTH.unpack_from(data, offset + LENGTH_OFFSET)[0]
    return counts


def verify_checksum(version: int, received: int, data: bytes, start: int, end: int) -> None:
    """Raise :class:`FrameError` (BAD_CHECKSUM) unless the frame's checksum is right."""
    calculated = checksum(version, data, start, end)
    if calculated != received:
        raise FrameError(ErrorCode.BAD_CHECKSUM, error_text(
            ErrorCode.BAD_CHECKSUM, received=received, calculated=calculated), offset=start)
