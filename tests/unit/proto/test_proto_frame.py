"""Frames: both checksums against their definitions, encode/decode, the order of checks."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.proto.helpers import build, naive_crc, naive_sum
from wirekit.proto.codes import ErrorCode
from wirekit.proto.frame import (
    HEADER,
    FrameError,
    MessageType,
    byte_sum,
    checksum_v1,
    checksum_v2,
    decode_frame,
    encode_frame,
)

SEED_HELLO = build(1, 1, 1, b"Hello from client!")


@given(st.binary(max_size=3000), st.integers(0, 300))
def test_byte_sum_matches_sum(data: bytes, start: int) -> None:
    start = min(start, len(data))
    assert byte_sum(data, start) == sum(data[start:])


@given(st.integers(1, 2), st.integers(0, 255), st.integers(0, 0xFFFF_FFFF),
       st.binary(max_size=1500), st.integers(0, 2**64 - 1), st.integers(0, 0xFFFF))
def test_encode_matches_field_by_field_build(version: int, mtype: int, seq: int,
                                             payload: bytes, ts: int, flags: int) -> None:
    frame = encode_frame(version, mtype, seq, payload, timestamp=ts, flags=flags)
    assert frame == build(version, mtype, seq, payload, flags=flags, timestamp=ts)
    expected = naive_sum(frame) if version == 1 else naive_crc(frame)
    assert struct.unpack_from(">I", frame, 12)[0] == expected


@given(st.binary(min_size=24, max_size=600))
def test_checksums_ignore_the_checksum_field(frame: bytes) -> None:
    other = frame[:12] + b"\xde\xad\xbe\xef" + frame[16:]
    assert checksum_v1(frame) == checksum_v1(other) == naive_sum(frame)
    assert checksum_v2(frame) == checksum_v2(other) == naive_crc(frame)


def test_crc32c_is_castagnoli() -> None:
    import google_crc32c

    # RFC 3720 B.4 check value, then our coverage: bytes 0-11, 16-23, payload.
    assert google_crc32c.value(b"123456789") == 0xE3069283
    frame = b"12345678" + b"9\0\0\0" + b"\xff" * 4 + b"\0" * 8
    assert checksum_v2(frame) == google_crc32c.value(b"123456789\0\0\0" + b"\0" * 8)


def test_seed_layout_is_big_endian_with_seconds() -> None:
    frame = encode_frame(1, MessageType.DATA, 0x01020304, b"ab", timestamp=0x0A0B0C0D)
    assert frame[:4] == b"\x01\x02\x00\x00"
    assert frame[4:8] == b"\x01\x02\x03\x04"
    assert frame[8:12] == b"\x00\x00\x00\x02"
    assert frame[16:24] == b"\x00\x00\x00\x00\x0a\x0b\x0c\x0d"
    assert frame[24:] == b"ab"
    assert len(frame) == 26


def _decode_all(data: bytes) -> tuple[list[bytes], int]:
    payloads, offset = [], 0
    while (result := decode_frame(data, offset)) is not None:
        frame, offset = result
        payloads.append(frame.payload)
    return payloads, offset


def test_decode_whole_bytewise_and_with_trailing_bytes() -> None:
    frames = [build(1, 2, n, f"message {n}".encode()) for n in range(1, 4)]
    stream = b"".join(frames)
    # whole
    assert _decode_all(stream) == ([b"message 1", b"message 2", b"message 3"], len(stream))
    # byte by byte: nothing until the last byte of each frame
    for cut in range(len(frames[0])):
        assert decode_frame(frames[0][:cut]) is None
    # trailing bytes: a partial next frame is left alone
    payloads, end = _decode_all(stream + frames[0][:10])
    assert len(payloads) == 3 and end == len(stream)


@given(st.binary(max_size=200), st.integers(1, 2))
def test_round_trip(payload: bytes, version: int) -> None:
    frame = encode_frame(version, 2, 7, payload, timestamp=5)
    result = decode_frame(frame, version=version)
    assert result is not None
    decoded, end = result
    assert end == len(frame) and decoded.payload == payload and decoded.checksum_valid
    assert decoded.to_bytes() == frame


def test_bad_version_rejected_from_header() -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(build(7, 2, 1, b"x"))
    assert caught.value.code is ErrorCode.BAD_VERSION
    assert str(caught.value) == "bad version: 7"


def test_bad_version_rejected_from_the_first_byte() -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(b"garbage")  # 7 bytes: the header is not complete, its version is known
    assert caught.value.code is ErrorCode.BAD_VERSION
    assert str(caught.value) == "bad version: 103"
    with pytest.raises(FrameError):
        decode_frame(b"\x02", version=1)
    assert decode_frame(b"\x01") is None and decode_frame(SEED_HELLO[:23], version=1) is None


def test_length_rejected_before_the_body_arrives() -> None:
    header = HEADER.pack(1, 2, 0, 1, 0xFFFF_FFFF, 0, 0)
    with pytest.raises(FrameError) as caught:
        decode_frame(header, max_payload=1024)  # only 24 bytes: the body is never awaited
    assert caught.value.code is ErrorCode.TOO_LARGE
    assert str(caught.value) == "payload too large: 4294967295 > 1024"


def test_bad_checksum_named() -> None:
    with pytest.raises(FrameError) as caught:
        decode_frame(build(1, 2, 1, b"abc", checksum=5))
    assert caught.value.code is ErrorCode.BAD_CHECKSUM
    assert "received 0x00000005" in str(caught.value)
    result = decode_frame(build(1, 2, 1, b"abc", checksum=5), verify=False)
    assert result is not None and not result[0].checksum_valid
