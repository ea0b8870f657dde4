"""Files that are not captures, truncated captures, damaged captures, and random mutations."""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import pcapfiles as pf
from wirekit.errors import CaptureFileError
from wirekit.pcap import Reader

T0 = 1_700_000_000


def _path(tmp_path: Path, data: bytes, name: str = "f.cap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _one_line(exc: pytest.ExceptionInfo[CaptureFileError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# -- not a capture -----------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "expected"), [
    (b"<html><body>hello</body></html>\n", "not a pcap or pcapng capture file (it begins with "
                                           "3c 68 74 6d 6c 3e 3c 62)"),
    (b"", "is empty"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "truncated pcap file header: 6 of 24 bytes"),
    (b"\x0a\x0d\x0d\x0a\x1c\x00", "truncated pcapng section header"),
    (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\xde\xad\xbe\xef", "byte-order magic is 0xefbeadde"),
])
def test_not_a_capture_is_one_clear_line(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(CaptureFileError) as exc:
        Reader(_path(tmp_path, content))
    assert expected in _one_line(exc)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureFileError, match=r"cannot open .*No such file"):
        Reader(tmp_path / "nope.pcap")
    with pytest.raises(CaptureFileError, match=r"cannot open .*Is a directory"):
        Reader(tmp_path)


def test_not_a_capture_from_a_stream() -> None:
    with pytest.raises(CaptureFileError, match="not a pcap or pcapng"):
        Reader(io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
    with pytest.raises(CaptureFileError, match="empty"):
        Reader(io.BytesIO(b""))


def test_damaged_gzip_is_a_capture_file_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureFileError, match="cannot read"):
        Reader(_path(tmp_path, b"\x1f\x8b\x08\x00" + b"\xff" * 40))


# -- truncated: reported, never raised ---------------------------------------------------------

def _pcap_two_frames() -> bytes:
    return pf.pcap_file([(T0, 0, pf.frame(0, 100)), (T0, 1, pf.frame(1, 100))])


def _pcapng_two_frames() -> bytes:
    return pf.shb() + pf.idb() + pf.epb(0, 1, pf.frame(0, 100)) + pf.epb(0, 2, pf.frame(1, 100))


@pytest.mark.parametrize("make", [_pcap_two_frames, _pcapng_two_frames])
@pytest.mark.parametrize("cut", [1, 5, 40, 100])
@pytest.mark.parametrize("as_stream", [False, True])
def test_truncated_last_record_is_reported(tmp_path: Path, make, cut: int,  # type: ignore[no-untyped-def]
                                           as_stream: bool) -> None:
    whole = make()
    data = whole[:-cut]
    source = io.BytesIO(data) if as_stream else _path(tmp_path, data)
    with Reader(source) as reader:
        records = list(reader)
        assert [bytes(r.data) for r in records] == [pf.frame(0, 100)]
        assert reader.truncated
        truncation = reader.truncation
        assert truncation is not None
        assert truncation.available == len(data) - truncation.offset
        assert truncation.offset + truncation.needed == len(whole) or truncation.needed == 0
        assert "truncated record" in str(truncation)


def test_truncated_gzip_stream_is_reported(tmp_path: Path) -> None:
    frames = [(T0, i, pf.frame(i, 1000)) for i in range(50)]
    compressed = gzip.compress(pf.pcap_file(frames))
    with Reader(_path(tmp_path, compressed[: len(compressed) // 2])) as reader:
        records = list(reader)
    assert 0 < len(records) < 50
    assert [bytes(r.data) for r in records] == [pf.frame(i, 1000) for i in range(len(records))]


def test_complete_file_is_not_truncated(tmp_path: Path) -> None:
    with Reader(_path(tmp_path, _pcapng_two_frames())) as reader:
        assert len(list(reader)) == 2
        assert reader.truncation is None


# -- damaged in the middle: CaptureFileError with the offset -----------------------------------

def _ng(*blocks: bytes) -> bytes:
    return pf.shb() + pf.idb() + b"".join(blocks)


SHB_IDB = len(pf.shb() + pf.idb())


@pytest.mark.parametrize(("data", "message"), [
    (_ng(pf.epb(0, 1, b"a" * 8)[:-4] + b"\x99\0\0\0", pf.epb(0, 1, b"b" * 8)),
     f"offset {SHB_IDB}: trailing length 153 differs"),
    (_ng(struct.pack("<II", 6, 10) + b"\0" * 8), f"offset {SHB_IDB}: length 10"),
    (_ng(struct.pack("<II", 6, 13) + b"\0" * 12), f"offset {SHB_IDB}: length 13"),
    (_ng(pf.block(6, b"\0" * 8)), "enhanced packet block at byte offset"),
    (_ng(pf.epb(3, 1, b"a" * 8)), "interface 3 is not described (the section has 1)"),
    (_ng(pf.block(6, struct.pack("<IIIII", 0, 0, 0, 400, 400) + b"x" * 8)),
     "captured length 400 does not fit its 40-byte block"),
    (pf.shb() + pf.spb(b"abcd"), "comes before any interface description"),
    (pf.shb(version=(2, 0)), "has version 2.0"),
    (_ng(pf.opb(5, 1, b"a" * 8)), "interface 5 is not described"),
    (pf.pcap_header(snaplen=1500) + struct.pack("<IIII", T0, 0, 10**6, 10**6),
     "captured length 1000000 exceeds the snaplen (1500)"),
], ids=["trailer", "length-10", "length-13", "short-epb", "interface", "caplen", "spb-first",
        "version", "opb-interface", "pcap-caplen"])
def test_damage_raises_one_line_with_the_offset(tmp_path: Path, data: bytes,
                                                message: str) -> None:
    with Reader(_path(tmp_path, data)) as reader, pytest.raises(CaptureFileError) as exc:
        list(reader)
    assert message in _one_line(exc)


def test_records_before_the_damage_are_delivered(tmp_path: Path) -> None:
    good = pf.epb(0, 1, pf.frame(0))
    data = _ng(good, pf.epb(9, 1, pf.frame(1)))
    seen = []
    with Reader(_path(tmp_path, data)) as reader, pytest.raises(CaptureFileError):
        for record in reader:
            seen.append(bytes(record.data))
    assert seen == [pf.frame(0)]


# -- random mutations: a result or CaptureFileError, nothing else ------------------------------

SEEDS = [
    _pcap_two_frames(),
    pf.pcap_file([(T0, 5, pf.frame(3, 70))], order=">", nano=True),
    pf.shb(opts=[(1, "c")]) + pf.idb(1, 0, [(2, "eth0"), (9, b"\x89")])
    + pf.epb(0, 77, pf.frame(0), opts=[(1, "x"), (2, b"\1\0\0\0")]) + pf.spb(b"abcdef")
    + pf.opb(0, 5, b"q" * 9) + pf.block(5, b"\0" * 16) + pf.shb(">") + pf.idb(101, 0, (), ">")
    + pf.epb(0, 9, b"\x45" * 20, order=">"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_files_never_raise_anything_else(seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "byte", "cut", "word"]))
        index = data.draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[index] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "byte":
            buf[index] = data.draw(st.integers(0, 255))
        elif kind == "word" and index + 4 <= len(buf):
            buf[index:index + 4] = struct.pack("<I", data.draw(st.integers(0, 2**32 - 1)))
        elif kind == "cut":
            del buf[index:]
            if not buf:
                buf.extend(b"\0")
    try:
        with Reader(io.BytesIO(bytes(buf))) as reader:
            for record in reader:
                _ = (record.timestamp, record.comments, record.flags, record.link, bytes(record))
            _ = (reader.interfaces, reader.sections, reader.truncation)
    except CaptureFileError as exc:
        assert "\n" not in str(exc)
