"""Capture files built byte by byte with ``struct``, independently of ``wirekit.pcap``'s encoders.

The layouts follow pcap-savefile(5) and draft-ietf-opsawg-pcapng directly, so a reader test does
not check wirekit's writer against itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

PCAP_MICRO = 0xA1B2C3D4
PCAP_NANO = 0xA1B23C4D
PCAP_MODIFIED = 0xA1B2CD34


def pcap_header(*, order: str = "<", nano: bool = False, link: int = 1, snaplen: int = 65535,
                magic: int | None = None) -> bytes:
    magic = magic if magic is not None else (PCAP_NANO if nano else PCAP_MICRO)
    return struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)


def pcap_record(seconds: int, fraction: int, data: bytes, orig_len: int | None = None, *,
                order: str = "<", extra: bytes = b"") -> bytes:
    length = len(data) if orig_len is None else orig_len
    return struct.pack(order + "IIII", seconds, fraction, len(data), length) + extra + data


def pcap_file(records: Iterable[tuple[int, int, bytes]], **header: object) -> bytes:
    order = str(header.get("order", "<"))
    body = b"".join(pcap_record(s, f, d, order=order) for s, f, d in records)
    return pcap_header(**header) + body  # type: ignore[arg-type]


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def option(code: int, value: bytes | str, order: str = "<") -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack(order + "HH", code, len(raw)) + _pad(raw)


def options(items: Sequence[tuple[int, bytes | str]], order: str = "<") -> bytes:
    if not items:
        return b""
    return b"".join(option(c, v, order) for c, v in items) + struct.pack(order + "HH", 0, 0)


def block(block_type: int, body: bytes, order: str = "<") -> bytes:
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def shb(order: str = "<", opts: Sequence[tuple[int, bytes | str]] = (),
        version: tuple[int, int] = (1, 0)) -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, *version, -1) + options(opts, order)
    return block(0x0A0D0D0A, body, order)


def idb(link: int = 1, snaplen: int = 0, opts: Sequence[tuple[int, bytes | str]] = (),
        order: str = "<") -> bytes:
    return block(1, struct.pack(order + "HHI", link, 0, snaplen) + options(opts, order), order)


def epb(interface: int, units: int, data: bytes, orig_len: int | None = None,
        opts: Sequence[tuple[int, bytes | str]] = (), order: str = "<") -> bytes:
    length = len(data) if orig_len is None else orig_len
    body = struct.pack(order + "IIIII", interface, units >> 32, units & 0xFFFFFFFF, len(data),
                       length) + _pad(data) + options(opts, order)
    return block(6, body, order)


def spb(data: bytes, orig_len: int | None = None, order: str = "<") -> bytes:
    length = len(data) if orig_len is None else orig_len
    return block(3, struct.pack(order + "I", length) + _pad(data), order)


def opb(interface: int, units: int, data: bytes, opts: Sequence[tuple[int, bytes | str]] = (),
        order: str = "<") -> bytes:
    body = struct.pack(order + "HHIIII", interface, 0, units >> 32, units & 0xFFFFFFFF,
                       len(data), len(data)) + _pad(data) + options(opts, order)
    return block(2, body, order)


def frame(index: int, size: int = 60) -> bytes:
    """A recognisable frame: its index in the first 4 bytes, then a counting pattern."""
    return struct.pack(">I", index) + bytes((index + i) & 0xFF for i in range(size - 4))
