"""The Internet checksum (RFC 1071), pseudo-headers, and incremental update (RFC 1624).

The ones'-complement sum of the 16-bit big-endian words of a buffer is computed without a Python
loop: read the whole buffer as one big integer ``N = sum(w_i * 2**(16*i))``; since
``2**16 ≡ 1 (mod 0xFFFF)``, ``N ≡ sum(w_i) (mod 0xFFFF)``, and the end-around-carry fold of RFC
1071 section 2 is exactly that residue, except that a nonzero multiple of 0xFFFF folds to 0xFFFF
("negative zero"), not 0.  ``int.from_bytes`` and the modulo both run in C, so 1460 bytes cost
about a microsecond.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

Buffer = bytes | bytearray | memoryview

_MODULUS = 0xFFFF
_PSEUDO4 = struct.Struct("!4s4sxBH")
_PSEUDO6 = struct.Struct("!16s16sI3xB")


def ones_complement_sum(data: Buffer) -> int:
    """The 16-bit ones'-complement sum of *data*; an odd length is padded with a zero byte."""
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    if not value:
        return 0
    return value % _MODULUS or _MODULUS


def fold_sums(sums: Iterable[int]) -> int:
    """Ones'-complement addition of partial sums (each from an even-aligned piece)."""
    total = sum(sums)
    if not total:
        return 0
    return total % _MODULUS or _MODULUS


def internet_checksum(data: Buffer) -> int:
    """The Internet checksum of *data* (RFC 1071): the complement of the ones'-complement sum."""
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    if not value:
        return 0xFFFF
    return ~(value % _MODULUS or _MODULUS) & 0xFFFF


def checksum_with_pseudo(pseudo: Buffer, segment: Buffer) -> int:
    """Checksum of a pseudo-header (even length) followed by *segment* (TCP, UDP, ICMPv6)."""
    return ~fold_sums((ones_complement_sum(pseudo), ones_complement_sum(segment))) & 0xFFFF


def pseudo_header_ipv4(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    """The IPv4 pseudo-header (RFC 793 section 3.1, RFC 768): addresses, 0, protocol, length."""
    return _PSEUDO4.pack(src, dst, proto, length & 0xFFFF)


def pseudo_header_ipv6(src: bytes, dst: bytes, next_header: int, length: int) -> bytes:
    """The IPv6 pseudo-header of RFC 8200 section 8.1: addresses, 32-bit length, next header."""
    return _PSEUDO6.pack(src, dst, length & 0xFFFFFFFF, next_header)


def _words(data: bytes) -> Iterable[int]:
    return struct.unpack(f"!{len(data) // 2}H", data)


def update_checksum(checksum: int, old: bytes, new: bytes, *, odd: bool = False) -> int:
    """Update *checksum* after the bytes *old* of the covered data became *new* (RFC 1624).

    Uses eqn. 3, ``HC' = ~(~HC + ~m + m')``, word by word with end-around carries, which has no
    negative-zero trap.  *odd* says that the changed bytes start at an odd offset of the covered
    data (they are then aligned with a leading zero byte).  *old* and *new* have equal length.
    """
    if len(old) != len(new):
        raise ValueError("update_checksum needs equal-length old and new bytes")
    if odd:
        old, new = b"\0" + old, b"\0" + new
    if len(old) & 1:
        old, new = old + b"\0", new + b"\0"
    total = ~checksum & 0xFFFF
    for word in _words(old):
        total += ~word & 0xFFFF
        total = (total & 0xFFFF) + (total >> 16)
    for word in _words(new):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


__all__ = [
    "checksum_with_pseudo",
    "fold_sums",
    "internet_checksum",
    "ones_complement_sum",
    "pseudo_header_ipv4",
    "pseudo_header_ipv6",
    "update_checksum",
]
