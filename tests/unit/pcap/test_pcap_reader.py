"""Reading: every header variant and block type, built byte by byte (tests/support/pcapfiles)."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import pcapfiles as pf
from wirekit.packet import LinkType
from wirekit.pcap import FileFormat, Reader, Record
from wirekit.pcap import reader as reader_module

T0 = 1_700_000_000


def _read(path: Path) -> tuple[Reader, list[Record]]:
    reader = Reader(path)
    return reader, list(reader)


Put = Callable[..., Path]


@pytest.fixture
def put(tmp_path: Path) -> Put:
    def write(data: bytes, name: str = "f.cap") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return write


# -- classic pcap ------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_both_orders_and_resolutions(put: Put, order: str, nano: bool) -> None:
    fraction = 123_456_789 if nano else 123_456
    data = pf.pcap_file([(T0, fraction, pf.frame(0)), (T0 + 1, 0, pf.frame(1, 1514))],
                        order=order, nano=nano, snaplen=1600)
    reader, records = _read(put(data))
    assert reader.format is FileFormat.PCAP
    assert reader.link is LinkType.ETHERNET
    assert reader.snaplen == 1600
    assert reader.sections[0].byte_order == ("big" if order == ">" else "little")
    assert reader.interfaces[0].ts_resolution == (10**9 if nano else 10**6)
    assert [bytes(r.data) for r in records] == [pf.frame(0), pf.frame(1, 1514)]
    expected_ns = T0 * 10**9 + (123_456_789 if nano else 123_456_000)
    assert records[0].timestamp_ns == expected_ns
    assert records[0].timestamp == expected_ns / 10**9
    assert records[1].timestamp_ns == (T0 + 1) * 10**9
    assert records[0].orig_len == 60
    assert records[0].caplen == 60
    assert records[0].interface.index == 0
    assert records[0].comment is None
    assert records[0].flags is None
    assert records[0].has_timestamp
    assert not reader.truncated


def test_pcap_orig_len_larger_than_caplen(put: Put) -> None:
    body = pf.pcap_record(T0, 0, b"\xaa" * 96, orig_len=1514)
    _, records = _read(put(pf.pcap_header(snaplen=96) + body))
    assert records[0].caplen == 96
    assert records[0].orig_len == 1514


def test_pcap_link_type_fcs_bits_and_unknown_link(put: Put) -> None:
    # LINKTYPE_ETHERNET with "FCS length known: 2 x 16 bits" in the upper bits.
    header = pf.pcap_header(link=1 | 0x04000000 | (2 << 28))
    reader, _ = _read(put(header))
    assert reader.link is LinkType.ETHERNET
    assert reader.interfaces[0].fcs_len == 4
    reader, _ = _read(put(pf.pcap_header(link=147), "user0.pcap"))
    assert reader.link == 147  # LINKTYPE_USER0: no name in wirekit, the number is kept
    assert not isinstance(reader.link, LinkType)


def test_modified_pcap_has_longer_record_headers(put: Put) -> None:
    extra = struct.pack("<IHBB", 3, 0x0800, 0, 0)
    body = pf.pcap_record(T0, 5, pf.frame(7), extra=extra)
    reader, records = _read(put(pf.pcap_header(magic=pf.PCAP_MODIFIED) + body))
    assert reader.header is not None and reader.header.modified
    assert bytes(records[0].data) == pf.frame(7)
    assert records[0].timestamp_ns == T0 * 10**9 + 5000


def test_empty_capture_has_no_records(put: Put) -> None:
    reader, records = _read(put(pf.pcap_header()))
    assert records == []
    assert not reader.truncated


# -- pcapng ------------------------------------------------------------------------------------

def test_pcapng_every_block_type(put: Put) -> None:
    data = b"".join([
        pf.shb(opts=[(2, "hw"), (3, "Linux 6"), (4, "unit test"), (1, "file comment")]),
        pf.idb(1, 1514, [(2, "eth0"), (3, "uplink"), (9, b"\x09"), (11, b"\0tcp port 80"),
                         (12, "Linux"), (13, b"\x04"), (8, struct.pack("<Q", 10**9)),
                         (1, "iface comment")]),
        pf.epb(0, T0 * 10**9 + 1, pf.frame(0), 1000, [(1, "first"), (1, "second"),
                                                     (2, struct.pack("<I", 1))]),
        pf.block(4, b"\0\0\0\0"),                           # name resolution: skipped
        pf.block(5, struct.pack("<IIII", 0, 0, 0, 0)),      # interface statistics: skipped
        pf.block(0x0BAD, struct.pack("<I", 32473) + b"abcd"),  # custom block: skipped
        pf.block(0x12345678, b"future block"),             # unknown: skipped
        pf.spb(pf.frame(1, 2000)),                         # cut to snaplen 1514
        pf.opb(0, T0 * 10**9 + 2, pf.frame(2), [(1, "old tool")]),
    ])
    reader, records = _read(put(data))
    assert reader.format is FileFormat.PCAPNG
    section = reader.sections[0]
    assert (section.hardware, section.os, section.user_application) == ("hw", "Linux 6",
                                                                         "unit test")
    assert section.comments == ("file comment",)
    iface = reader.interfaces[0]
    assert (iface.name, iface.description, iface.filter, iface.os) == (
        "eth0", "uplink", "tcp port 80", "Linux")
    assert (iface.fcs_len, iface.speed, iface.ts_resolution) == (4, 10**9, 10**9)
    assert iface.comments == ("iface comment",)
    assert len(records) == 3
    epb_record, spb_record, opb_record = records
    assert epb_record.timestamp_ns == T0 * 10**9 + 1
    assert (epb_record.caplen, epb_record.orig_len) == (60, 1000)
    assert epb_record.comments == ("first", "second")
    assert epb_record.comment == "first"
    assert epb_record.direction == "in"
    assert bytes(spb_record.data) == pf.frame(1, 2000)[:1514]
    assert spb_record.orig_len == 2000
    assert not spb_record.has_timestamp and spb_record.timestamp_ns == 0
    assert opb_record.comment == "old tool"
    assert opb_record.timestamp_ns == T0 * 10**9 + 2
    assert dict(reader.skipped_blocks) == {4: 1, 5: 1, 0x0BAD: 1, 0x12345678: 1}


def test_pcapng_sections_with_their_own_byte_order_and_interfaces(put: Put) -> None:
    data = b"".join([
        pf.shb("<"), pf.idb(1, 0, [(2, "eth0")], "<"), pf.idb(101, 0, [(2, "tun0")], "<"),
        pf.epb(1, T0 * 10**6, pf.frame(0), order="<"),
        pf.epb(0, T0 * 10**6 + 1, pf.frame(1), order="<"),
        pf.shb(">"), pf.idb(113, 0, [(2, "any"), (9, b"\x09")], ">"),
        pf.epb(0, T0 * 10**9 + 7, pf.frame(2), opts=[(1, "big")], order=">"),
    ])
    reader, records = _read(put(data))
    assert [s.byte_order for s in reader.sections] == ["little", "big"]
    assert [(i.section, i.index, i.name) for i in reader.interfaces] == [
        (0, 0, "eth0"), (0, 1, "tun0"), (1, 0, "any")]
    assert [r.link for r in records] == [LinkType.RAW, LinkType.ETHERNET, LinkType.LINUX_SLL]
    assert [r.interface.name for r in records] == ["tun0", "eth0", "any"]
    assert records[2].timestamp_ns == T0 * 10**9 + 7
    assert records[2].comment == "big"
    assert [bytes(r.data) for r in records] == [pf.frame(i) for i in range(3)]


@pytest.mark.parametrize(("tsresol", "offset", "units", "expected_ns"), [
    (b"\x06", 0, 1_500_000, 1_500_000_000),               # microseconds (the default)
    (b"\x09", 0, 7, 7),                                   # nanoseconds
    (b"\x03", 0, 2, 2_000_000),                           # milliseconds
    (b"\x0c", 0, 1_999, 1),                               # picoseconds: floor to ns
    (b"\x94", 0, 3 << 20, 3 * 10**9),                     # 2^-20 s
    (b"\x94", 0, 1, 953),                                 # one 2^-20 s unit = 953.67 ns
    (b"\x06", 100, 5, 100 * 10**9 + 5_000),               # if_tsoffset adds whole seconds
    (b"\x06", -1, 1_000_000, 0),                          # ... which may be negative
])
def test_pcapng_timestamp_resolution_and_offset(put: Put, tsresol: bytes, offset: int, units: int,
                                                expected_ns: int) -> None:
    opts: list[tuple[int, bytes | str]] = [(9, tsresol)]
    if offset:
        opts.append((14, struct.pack("<q", offset)))
    data = pf.shb() + pf.idb(1, 0, opts) + pf.epb(0, units, b"x" * 14)
    reader, records = _read(put(data))
    assert records[0].timestamp_ns == expected_ns
    assert reader.interfaces[0].ts_offset == offset


def test_pcapng_default_resolution_is_microseconds(put: Put) -> None:
    _, records = _read(put(pf.shb() + pf.idb() + pf.epb(0, 2_000_001, b"x" * 14)))
    assert records[0].timestamp_ns == 2_000_001_000
    assert records[0].interface.ts_resolution == 10**6


def test_pcapng_options_without_end_marker_and_with_padding(put: Put) -> None:
    comment = pf.option(1, "abc")  # no opt_endofopt after it: allowed by the draft
    body = struct.pack("<IIIII", 0, 0, 5, 3, 3) + b"xyz\0" + comment
    data = pf.shb() + pf.idb() + pf.block(6, body)
    _, records = _read(put(data))
    assert bytes(records[0].data) == b"xyz"
    assert records[0].comment == "abc"


def test_pcapng_option_overrunning_its_block_keeps_the_packet(put: Put) -> None:
    broken = struct.pack("<HH", 1, 200) + b"abcd"  # claims 200 bytes of comment
    body = struct.pack("<IIIII", 0, 0, 5, 4, 4) + b"wxyz" + broken
    _, records = _read(put(pf.shb() + pf.idb() + pf.block(6, body)))
    assert bytes(records[0].data) == b"wxyz"
    assert records[0].comments == ()


def test_pcapng_version_1_2_is_accepted(put: Put) -> None:
    data = pf.shb(version=(1, 2)) + pf.idb() + pf.epb(0, 1, b"a" * 20)
    reader, records = _read(put(data))
    assert reader.sections[0].version == (1, 2)
    assert len(records) == 1


def test_pcapng_interfaces_are_known_before_iterating(put: Put) -> None:
    data = pf.shb() + pf.idb(113, 0, [(2, "any")]) + pf.epb(0, 1, b"a" * 20)
    with Reader(put(data)) as reader:
        assert reader.link is LinkType.LINUX_SLL
        assert reader.interfaces[0].name == "any"


def test_pcapng_without_interfaces_has_no_link(put: Put) -> None:
    with Reader(put(pf.shb())) as reader:
        assert reader.link is None
        assert reader.snaplen is None
        assert list(reader) == []


# -- sources: stream, stdin, gzip, windows -----------------------------------------------------

def _mixed_file() -> bytes:
    return b"".join([pf.shb(), pf.idb(1, 0, [(9, b"\x09")]),
                     *(pf.epb(0, T0 * 10**9 + i, pf.frame(i, 60 + 37 * i)) for i in range(40))])


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read (a slow pipe)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data[self._pos:self._pos + min(self._step, len(buffer))]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_stream_in_small_pieces_equals_the_mapped_file(put: Put, step: int) -> None:
    data = _mixed_file()
    _, mapped = _read(put(data))
    stream = Trickle(data, step)
    with Reader(stream) as reader:  # type: ignore[arg-type]
        streamed = list(reader)
        assert not reader.truncated
        with pytest.raises(ValueError, match="already read"):
            iter(reader)
    assert [(r.timestamp_ns, bytes(r.data)) for r in streamed] == \
        [(r.timestamp_ns, bytes(r.data)) for r in mapped]
    assert len(streamed) == 40


def test_small_mapping_windows_give_the_same_records(put: Put,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = put(_mixed_file())
    _, whole = _read(path)
    for window in (1, 13, 64, 4096):
        monkeypatch.setattr(reader_module, "WINDOW", window)
        _, windowed = _read(path)
        assert [bytes(r.data) for r in windowed] == [bytes(r.data) for r in whole]


def test_records_survive_released_pages(put: Put, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages behind the window are dropped with MADV_DONTNEED; held records still read back."""
    monkeypatch.setattr(reader_module, "WINDOW", 4096)
    data = b"".join([pf.shb(), pf.idb(),
                     *(pf.epb(0, i, pf.frame(i, 1500)) for i in range(200))])
    _, records = _read(put(data))
    assert [bytes(r.data) for r in records] == [pf.frame(i, 1500) for i in range(200)]


def test_iterating_a_mapped_file_twice_starts_over(put: Put) -> None:
    with Reader(put(_mixed_file())) as reader:
        assert len(list(reader)) == len(list(reader)) == 40


def test_gzip_compressed_capture(put: Put) -> None:
    import gzip

    data = _mixed_file()
    with Reader(put(gzip.compress(data), "f.pcapng.gz")) as reader:
        records = list(reader)
        assert reader.compressed and not reader.truncated
    assert [bytes(r.data) for r in records] == [pf.frame(i, 60 + 37 * i) for i in range(40)]
    with Reader(io.BytesIO(gzip.compress(data))) as reader:
        assert len(list(reader)) == 40


def test_stdin_is_read_as_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pf.pcap_file([(T0, 0, pf.frame(0)), (T0, 1, pf.frame(1))])
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)))
    monkeypatch.setattr("sys.stdin", fake)
    with Reader("-") as reader:
        assert reader.name == "standard input"
        assert [bytes(r.data) for r in reader] == [pf.frame(0), pf.frame(1)]


def test_record_views_outlive_the_reader(put: Put) -> None:
    with Reader(put(_mixed_file())) as reader:
        records = list(reader)
    assert bytes(records[3].data) == pf.frame(3, 60 + 37 * 3)
    with pytest.raises(ValueError, match="closed"):
        iter(reader)
    reader.close()  # idempotent


def test_record_repr_bytes_and_len(put: Put) -> None:
    _, records = _read(put(pf.pcap_file([(T0, 0, pf.frame(0))])))
    record = records[0]
    assert bytes(record) == pf.frame(0)
    assert len(record) == 60
    assert "caplen=60" in repr(record)
    assert record.options == ()
