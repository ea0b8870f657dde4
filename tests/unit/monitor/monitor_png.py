"""A strict PNG check for the plot tests: signature, chunk CRCs, IHDR, IDAT inflates, IEND."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG spec (RFC 2083) section 3.1


def check_png(path: Path) -> tuple[int, int]:
    """Validate ``path`` as a PNG file and return its (width, height)."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise AssertionError(f"{path}: no PNG signature")
    offset, chunks, idat = len(PNG_SIGNATURE), [], b""
    width = height = 0
    while offset < len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, offset + 8 + length)
        if zlib.crc32(kind + body) != crc:
            raise AssertionError(f"{path}: bad CRC in chunk {kind!r}")
        chunks.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack_from(">II", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    if chunks[0] != b"IHDR" or chunks[-1] != b"IEND" or b"IDAT" not in chunks:
        raise AssertionError(f"{path}: chunk order {chunks}")
    raw = zlib.decompress(idat)
    if len(raw) < height * (width + 1):
        raise AssertionError(f"{path}: image data too short for {width}x{height}")
    return width, height
