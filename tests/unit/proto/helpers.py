"""Frame builders shared by the protocol tests (independent of the code under test where it
matters: the v1 checksum here is the naive byte sum the seed intends)."""

from __future__ import annotations

import struct

import google_crc32c

HEADER = struct.Struct(">BBHIIIQ")


def naive_sum(frame: bytes) -> int:
    """The seed's intended checksum: every byte but the checksum field, summed mod 2**32."""
    return (sum(frame[:12]) + sum(frame[16:])) & 0xFFFF_FFFF


def naive_crc(frame: bytes) -> int:
    return int(google_crc32c.value(frame[:12] + frame[16:]))


def build(version: int, mtype: int, seq: int, payload: bytes = b"", *, flags: int = 0,
          timestamp: int = 1_700_000_000, checksum: int | None = None) -> bytes:
    """A frame built field by field, checksum by the naive definitions (or forced)."""
    head = HEADER.pack(version, mtype, flags, seq, len(payload), 0, timestamp)
    frame = head + payload
    if checksum is None:
        checksum = naive_sum(frame) if version == 1 else naive_crc(frame)
    return frame[:12] + struct.pack(">I", checksum) + frame[16:]


def parse_markdown_table(text: str, begin: str, end: str) -> list[list[str]]:
    """Rows (cells stripped) of the markdown table between two HTML comments."""
    body = text.split(begin, 1)[1].split(end, 1)[0]
    rows = [line for line in body.strip().splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]
