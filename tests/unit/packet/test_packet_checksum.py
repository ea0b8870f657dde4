"""RFC 1071 checksum, pseudo-headers and RFC 1624 incremental updates."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.packet.checksum import (
    checksum_with_pseudo,
    internet_checksum,
    ones_complement_sum,
    pseudo_header_ipv4,
    pseudo_header_ipv6,
    update_checksum,
)


def reference_checksum(data: bytes) -> int:
    """RFC 1071 section 4.1, word by word with end-around carries: the slow reference."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_rfc1071_example() -> None:
    # RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2 (before complement).
    assert ones_complement_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_ipv4_header_example() -> None:
    # A real IPv4 header (Wikipedia's worked example); its checksum field is b861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861
    filled = header[:10] + b"\xb8\x61" + header[12:]
    assert internet_checksum(filled) == 0


@pytest.mark.parametrize(("data", "expected"), [
    (b"", 0xFFFF),  # the sum of nothing is +0
    (b"\0\0\0\0", 0xFFFF),
    (b"\xff\xff", 0x0000),  # -0 folds to 0xffff, whose complement is 0
    (b"\x01", 0xFEFF),  # odd length: padded with a zero byte on the right
    (b"\xff\xff\x00\x01", 0xFFFE),
])
def test_edge_cases(data: bytes, expected: int) -> None:
    assert internet_checksum(data) == expected == reference_checksum(data)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_matches_the_reference(data: bytes) -> None:
    assert internet_checksum(data) == reference_checksum(data)
    assert internet_checksum(memoryview(data)) == internet_checksum(bytearray(data))


def test_pseudo_headers() -> None:
    v4 = pseudo_header_ipv4(b"\x0a\0\0\x01", b"\x0a\0\0\x02", 6, 20)
    assert v4 == bytes.fromhex("0a0000010a000002000600" + "14")
    v6 = pseudo_header_ipv6(bytes(15) + b"\1", bytes(15) + b"\2", 17, 8)
    assert len(v6) == 40 and v6[32:36] == b"\0\0\0\x08" and v6[36:] == b"\0\0\0\x11"


@given(st.binary(min_size=12, max_size=12), st.binary(max_size=100))
def test_pseudo_sum_equals_concatenation(pseudo: bytes, segment: bytes) -> None:
    assert checksum_with_pseudo(pseudo, segment) == reference_checksum(pseudo + segment)


def test_rfc1624_example() -> None:
    # RFC 1624 section 4: HC 0xdd2f, a word 0x5555 becomes 0x3285: eqn. 3 gives 0x0000.
    assert update_checksum(0xDD2F, b"\x55\x55", b"\x32\x85") == 0x0000


@settings(max_examples=300)
@given(st.binary(min_size=20, max_size=60), st.integers(0, 59), st.binary(min_size=1,
                                                                          max_size=8))
def test_incremental_update_equals_recomputation(data: bytes, at: int,
                                                 new: bytes) -> None:
    at %= len(data)
    new = new[:len(data) - at]
    old = data[at:at + len(new)]
    changed = data[:at] + new + data[at + len(new):]
    updated = update_checksum(internet_checksum(data), old, new, odd=bool(at % 2))
    # Equal as ones'-complement numbers: 0x0000 and 0xffff are the same value (RFC 1624 3).
    assert updated % 0xFFFF == internet_checksum(changed) % 0xFFFF


def test_update_needs_equal_lengths() -> None:
    with pytest.raises(ValueError, match="equal-length"):
        update_checksum(0, b"ab", b"a")
