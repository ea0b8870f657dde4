"""pcapng options: the type-length-value list at the end of most blocks.

draft-ietf-opsawg-pcapng section 3.5: each option is ``code:u16 length:u16 value`` padded to 32
bits, in the section's byte order; ``opt_endofopt`` (code 0) ends the list, and may be missing.
Decoding is tolerant: an option that runs past the end of its block ends the list (libpcap and
Wireshark report such a block as damaged; we keep the packet, which is intact, and drop only the
damaged tail of its options).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

OPT_ENDOFOPT = 0
OPT_COMMENT = 1
# Section header block options (section 4.1).
SHB_HARDWARE = 2
SHB_OS = 3
SHB_USERAPPL = 4
# Interface description block options (section 4.2).
IF_NAME = 2
IF_DESCRIPTION = 3
IF_SPEED = 8
IF_TSRESOL = 9
IF_FILTER = 11
IF_OS = 12
IF_FCSLEN = 13
IF_TSOFFSET = 14
IF_HARDWARE = 15
# Enhanced packet block options (section 4.3).
EPB_FLAGS = 2
EPB_HASH = 3
EPB_DROPCOUNT = 4
EPB_PACKETID = 5
EPB_QUEUE = 6
EPB_VERDICT = 7

_HEADERS = {"<": struct.Struct("<HH"), ">": struct.Struct(">HH")}
_PADDING = (b"", b"\0\0\0", b"\0\0", b"\0")


def byteorder_name(order: str) -> Literal["little", "big"]:
    """``"little"`` or ``"big"`` for a struct prefix ``"<"`` / ``">"``."""
    return "big" if order == ">" else "little"


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its code (meaning depends on the block type) and its raw value."""

    code: int
    value: bytes

    @property
    def text(self) -> str:
        """The value as UTF-8 text (comments, names); undecodable bytes become U+FFFD."""
        return self.value.decode("utf-8", "replace").rstrip("\0")

    def integer(self, order: str, *, signed: bool = False) -> int:
        """The value as an integer in the section's byte order (``"<"`` or ``">"``)."""
        return int.from_bytes(self.value, byteorder_name(order), signed=signed)


def decode_options(buf: memoryview, order: str) -> tuple[Option, ...]:
    """Decode an option list (tolerant: stops at ``opt_endofopt`` or a damaged option)."""
    header = _HEADERS[order]
    found: list[Option] = []
    pos, end = 0, len(buf)
    while pos + 4 <= end:
        code, length = header.unpack_from(buf, pos)
        if code == OPT_ENDOFOPT or pos + 4 + length > end:
            break
        found.append(Option(code, bytes(buf[pos + 4:pos + 4 + length])))
        pos += 4 + length + (-length & 3)
    return tuple(found)


def encode_option(code: int, value: bytes | str, order: str = "<") -> bytes:
    """One option with its padding; text is encoded as UTF-8, without trailing NULs (readers,
    Wireshark's and ours, take them for a C terminator and drop them)."""
    # surrogateescape: a name given as bytes that are not UTF-8 (a command-line argument)
    # is written as those bytes rather than failing the whole file
    raw = value.rstrip("\0").encode("utf-8", "surrogateescape") if isinstance(value, str) \
        else value
    if len(raw) > 0xFFFF:
        raise ValueError(f"pcapng option {code} is {len(raw)} bytes, the limit is 65535")
    return _HEADERS[order].pack(code, len(raw)) + raw + _PADDING[len(raw) & 3]


def encode_options(options: Iterable[tuple[int, bytes | str]], order: str = "<") -> bytes:
    """An option list terminated by ``opt_endofopt``; empty when there are no options."""
    body = b"".join(encode_option(code, value, order) for code, value in options)
    return body + _HEADERS[order].pack(OPT_ENDOFOPT, 0) if body else b""


def direction_of(flags: int) -> str | None:
    """``epb_flags`` bits 0-1: 01 inbound, 10 outbound, 00 not known (section 4.3.1)."""
    return {1: "in", 2: "out"}.get(flags & 3)

