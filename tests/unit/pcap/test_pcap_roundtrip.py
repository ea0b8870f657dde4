"""Round trips writer -> reader with hypothesis: both formats, byte orders and resolutions."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.packet import LinkType
from wirekit.pcap import FileFormat, Reader, Writer

MAX_NS = (2**32 - 1) * 10**9  # what a classic pcap file can hold (seconds are u32)


@dataclass(frozen=True)
class Frame:
    data: bytes
    timestamp_ns: int
    extra: int  # orig_len - len(data)
    comment: str | None


frames = st.builds(
    Frame,
    data=st.binary(min_size=0, max_size=300),
    timestamp_ns=st.integers(0, MAX_NS),
    extra=st.integers(0, 10_000),
    comment=st.none() | st.text(max_size=40),
)


def _expected_ns(timestamp_ns: int, nanosecond: bool) -> int:
    return timestamp_ns if nanosecond else timestamp_ns // 1000 * 1000


def _write(target: Path | io.BytesIO, fmt: FileFormat, order: str, nanosecond: bool,
           items: list[Frame]) -> None:
    writer = Writer(target, LinkType.RAW, format=fmt, nanosecond=nanosecond, byte_order=order,
                    interface_name="tun0" if fmt is FileFormat.PCAPNG else None)
    with writer:
        for item in items:
            comment = item.comment if fmt is FileFormat.PCAPNG else None
            writer.write(item.data, item.timestamp_ns, len(item.data) + item.extra,
                         comment=comment)
        assert writer.packets_written == len(items)


@settings(max_examples=60, deadline=None)
@given(items=st.lists(frames, max_size=12), fmt=st.sampled_from(list(FileFormat)),
       order=st.sampled_from(["little", "big"]), nanosecond=st.booleans())
def test_written_frames_read_back(items: list[Frame], fmt: FileFormat, order: str,
                                  nanosecond: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x.{fmt.value}"
        _write(path, fmt, order, nanosecond, items)
        with Reader(path) as reader:
            records = list(reader)
            assert reader.format is fmt
            assert reader.link is LinkType.RAW
            assert reader.sections[0].byte_order == order
            assert not reader.truncated
            got = [(bytes(r.data), r.timestamp_ns, r.orig_len) for r in records]
            comments = [r.comment for r in records]
    assert got == [(f.data, _expected_ns(f.timestamp_ns, nanosecond), len(f.data) + f.extra)
                   for f in items]
    if fmt is FileFormat.PCAPNG:
        # Trailing NULs are not text: they are dropped on writing, as readers drop them.
        assert comments == [None if f.comment is None else f.comment.rstrip("\0")
                            for f in items]
        assert all(r.interface.name == "tun0" for r in records)


@settings(max_examples=30, deadline=None)
@given(items=st.lists(frames, max_size=8), fmt=st.sampled_from(list(FileFormat)),
       order=st.sampled_from(["little", "big"]), nanosecond=st.booleans())
def test_stream_round_trip_and_copy_between_formats(items: list[Frame], fmt: FileFormat,
                                                    order: str, nanosecond: bool) -> None:
    """Write to a file object, read it as a stream, copy every record into the other format."""
    first = io.BytesIO()
    _write(first, fmt, order, nanosecond, items)
    other = FileFormat.PCAP if fmt is FileFormat.PCAPNG else FileFormat.PCAPNG
    second = io.BytesIO()
    with Reader(io.BytesIO(first.getvalue())) as reader, \
            Writer(second, LinkType.RAW, format=other, nanosecond=True) as copy:
        for record in reader:
            copy.write_packet(record)
    with Reader(io.BytesIO(second.getvalue())) as reader:
        records = list(reader)
    assert [(bytes(r.data), r.timestamp_ns, r.orig_len) for r in records] == [
        (f.data, _expected_ns(f.timestamp_ns, nanosecond), len(f.data) + f.extra)
        for f in items]
    if fmt is FileFormat.PCAPNG:  # comments survive a pcapng -> pcap -> nothing, not this way
        return
    assert all(r.comment is None for r in records)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000), snaplen=st.integers(1, 1500),
       fmt=st.sampled_from(list(FileFormat)))
def test_snaplen_cuts_and_keeps_the_original_length(data: bytes, snaplen: int,
                                                    fmt: FileFormat) -> None:
    buf = io.BytesIO()
    with Writer(buf, LinkType.ETHERNET, format=fmt, snaplen=snaplen) as writer:
        writer.write(data, 0)
    with Reader(io.BytesIO(buf.getvalue())) as reader:
        (record,) = list(reader)
        assert reader.snaplen == snaplen
    assert bytes(record.data) == data[:snaplen]
    assert record.orig_len == len(data)
