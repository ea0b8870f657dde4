"""Protocol error codes: the code, its ERROR text and whether it closes (docs/protocol.md §6).

The code travels in the flags field of an ERROR frame and the text is its payload.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What the specification says about one error code."""

    text: str
    closes: bool


class ErrorCode(enum.IntEnum):
    """Every error code of the protocol."""

    UNSPECIFIED = 0
    UNKNOWN_TYPE = 1
    BAD_VERSION = 2
    TOO_LARGE = 3
    BAD_CHECKSUM = 4
    HELLO_REQUIRED = 5
    UNEXPECTED = 6
    BAD_HELLO = 7
    AUTH_REQUIRED = 8
    AUTH_FAILED = 9
    UNKNOWN_SESSION = 10
    SEQUENCE_GAP = 11
    SERVER_FULL = 12
    IDLE_TIMEOUT = 13
    SESSION_TAKEN_OVER = 14
    INTERNAL = 15

    @property
    def info(self) -> CodeInfo:
        return CODES[self]

    @property
    def closes(self) -> bool:
        return CODES[self].closes


CODES: dict[ErrorCode, CodeInfo] = {
    ErrorCode.UNSPECIFIED: CodeInfo("(any; the seed's ERROR frames)", closes=False),
    ErrorCode.UNKNOWN_TYPE: CodeInfo("Unknown message type", closes=False),
    ErrorCode.BAD_VERSION: CodeInfo("bad version: {version}", closes=True),
    ErrorCode.TOO_LARGE: CodeInfo("payload too large: {length} > {maximum}", closes=True),
    ErrorCode.BAD_CHECKSUM: CodeInfo(
        "checksum mismatch: received 0x{received:08x}, calculated 0x{calculated:08x}",
        closes=True),
    ErrorCode.HELLO_REQUIRED: CodeInfo("HELLO required before {type}", closes=True),
    ErrorCode.UNEXPECTED: CodeInfo("unexpected {type} in state {state}", closes=True),
    ErrorCode.BAD_HELLO: CodeInfo("malformed HELLO: {reason}", closes=True),
    ErrorCode.AUTH_REQUIRED: CodeInfo("authentication required", closes=True),
    ErrorCode.AUTH_FAILED: CodeInfo("authentication failed", closes=True),
    ErrorCode.UNKNOWN_SESSION: CodeInfo("unknown session {session}", closes=True),
    ErrorCode.SEQUENCE_GAP: CodeInfo("sequence gap: expected {expected}, got {received}",
                                     closes=True),
    ErrorCode.SERVER_FULL: CodeInfo("server full", closes=True),
    ErrorCode.IDLE_TIMEOUT: CodeInfo("idle timeout", closes=True),
    ErrorCode.SESSION_TAKEN_OVER: CodeInfo("session resumed on another connection", closes=True),
    ErrorCode.INTERNAL: CodeInfo("internal error", closes=True),
}


def error_text(code: ErrorCode, **fields: Any) -> str:
    """The ERROR payload text of ``code`` with its ``{fields}`` filled in."""
    return CODES[code].text.format(**fields)


def code_closes(code: int) -> bool:
    """Whether an ERROR with this (possibly unknown) code closes the connection.

    Unknown codes close: a peer newer than us reporting something we do not know is safest
    treated as fatal.
    """
    try:
        return CODES[ErrorCode(code)].closes
    except ValueError:
        return True
