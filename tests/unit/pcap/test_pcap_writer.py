"""The writer: formats, metadata, multi-interface pcapng, safety of flush/close, errors."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from tests.support import pcapfiles as pf
from wirekit.errors import CaptureFileError, UsageError
from wirekit.packet import LinkType
from wirekit.pcap import FileFormat, PcapngWriter, PcapWriter, Reader, Writer

T = 1_700_000_000_123_456_789


@pytest.mark.parametrize(("name", "fmt", "cls"), [
    ("a.pcap", FileFormat.PCAP, PcapWriter),
    ("a.cap", FileFormat.PCAP, PcapWriter),
    ("a.pcapng", FileFormat.PCAPNG, PcapngWriter),
    ("A.PCAPNG", FileFormat.PCAPNG, PcapngWriter),
    ("a.ntar", FileFormat.PCAPNG, PcapngWriter),
])
def test_format_follows_the_extension(tmp_path: Path, name: str, fmt: FileFormat,
                                      cls: type) -> None:
    with Writer(tmp_path / name) as writer:
        assert isinstance(writer, cls)
        assert writer.format is fmt
    with Reader(tmp_path / name) as reader:
        assert reader.format is fmt


def test_explicit_format_wins_and_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    with Writer(tmp_path / "x.pcap", format="pcapng") as writer:
        assert writer.format is FileFormat.PCAPNG
    with pytest.raises(UsageError, match="unknown capture format 'erf'"):
        Writer(tmp_path / "y.pcap", format="erf")


def test_header_is_on_disk_before_the_first_packet(tmp_path: Path) -> None:
    path = tmp_path / "live.pcapng"
    writer = Writer(path, LinkType.ETHERNET, interface_name="veth0")
    with Reader(path) as reader:  # another process tailing the capture sees a valid file
        assert list(reader) == []
        assert reader.interfaces[0].name == "veth0"
    writer.close()


@pytest.mark.parametrize("name", ["live.pcap", "live.pcapng"])
def test_flush_leaves_a_valid_file_while_writing(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    writer = Writer(path)
    for i in range(1000):
        writer.write(pf.frame(i, 200), T + i)
    writer.flush()
    with Reader(path) as reader:
        assert len(list(reader)) == 1000
        assert not reader.truncated
    writer.write(pf.frame(1000, 200), T)
    writer.close()
    writer.close()  # idempotent
    assert writer.closed
    with Reader(path) as reader:
        assert len(list(reader)) == 1001


def test_interrupt_between_records_leaves_a_valid_file(tmp_path: Path) -> None:
    """A KeyboardInterrupt raised in the writing loop: close() in finally gives a whole file."""
    path = tmp_path / "int.pcapng"
    written = 0
    with pytest.raises(KeyboardInterrupt), Writer(path) as writer:
        for i in range(10_000):
            if i == 5_000:
                raise KeyboardInterrupt
            writer.write(pf.frame(i, 100), T)
            written += 1
    with Reader(path) as reader:
        assert len(list(reader)) == written == 5_000
        assert not reader.truncated


def test_pcapng_metadata_interfaces_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "meta.pcapng"
    with Writer(path, LinkType.ETHERNET, nanosecond=True, interface_name="veth0",
                comment="lab run 3", snaplen=9000) as writer:
        tun = writer.add_interface(LinkType.RAW, name="tun0", description="vpn",
                                   filter="udp port 4789")
        writer.write(pf.frame(0), T, comment="first", flags=1)
        writer.write(b"\x45" + bytes(19), T + 1, interface=tun, flags=2)
        writer.write(pf.frame(2), T + 2)
        assert [i.name for i in writer.interfaces] == ["veth0", "tun0"]  # type: ignore[attr-defined]
    with Reader(path) as reader:
        records = list(reader)
        section = reader.sections[0]
        assert section.comments == ("lab run 3",)
        assert section.user_application is not None
        assert section.user_application.startswith("wirekit ")
        first, second = reader.interfaces
        assert (first.name, first.link, first.snaplen, first.ts_resolution) == (
            "veth0", LinkType.ETHERNET, 9000, 10**9)
        assert (second.name, second.description, second.filter) == ("tun0", "vpn",
                                                                     "udp port 4789")
    assert [r.timestamp_ns for r in records] == [T, T + 1, T + 2]
    assert [(r.comment, r.direction) for r in records] == [("first", "in"), (None, "out"),
                                                          (None, None)]
    assert [r.link for r in records] == [LinkType.ETHERNET, LinkType.RAW, LinkType.ETHERNET]


def test_pcap_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot hold a comment"):
        Writer(tmp_path / "c.pcap", comment="x")
    assert not (tmp_path / "c.pcap").exists()
    with Writer(tmp_path / "d.pcap", interface_name="eth0") as writer:  # name: not stored
        with pytest.raises(UsageError, match="cannot hold comments"):
            writer.write(b"x" * 20, T, comment="nope")
        with pytest.raises(UsageError, match="one link type"):
            writer.add_interface(LinkType.RAW)
        with pytest.raises(UsageError, match="one interface"):
            writer.write(b"x" * 20, T, interface=1)
        writer.write(b"x" * 20, T, flags=2)  # direction is simply not stored
    with Reader(tmp_path / "d.pcap") as reader:
        assert len(list(reader)) == 1


def test_unknown_interface_and_bad_arguments(tmp_path: Path) -> None:
    with Writer(tmp_path / "e.pcapng") as writer:
        with pytest.raises(UsageError, match="interface 4 was not added"):
            writer.write(b"x", T, interface=4)
        with pytest.raises(UsageError, match="65535"):
            writer.write(b"x", T, comment="c" * 70_000)
    with pytest.raises(UsageError, match="byte_order"):
        Writer(tmp_path / "f.pcap", byte_order="middle")
    with pytest.raises(UsageError, match="snaplen"):
        Writer(tmp_path / "g.pcap", snaplen=0)


@pytest.mark.parametrize("name", ["t.pcap", "t.pcapng"])
def test_timestamps_out_of_range_are_usage_errors(tmp_path: Path, name: str) -> None:
    with Writer(tmp_path / name) as writer:
        with pytest.raises(UsageError, match="timestamp -5"):
            writer.write(b"x", -5)
        if name.endswith(".pcap"):
            with pytest.raises(UsageError, match="1970 to 2106"):
                writer.write(b"x", 2**32 * 10**9)
    with Reader(tmp_path / name) as reader:
        assert list(reader) == []  # nothing half-written


def test_pcapng_holds_times_after_2106(tmp_path: Path) -> None:
    late = 2**33 * 10**9 + 17
    with Writer(tmp_path / "late.pcapng", nanosecond=True) as writer:
        writer.write(b"x" * 14, late)
    with Reader(tmp_path / "late.pcapng") as reader:
        assert next(iter(reader)).timestamp_ns == late


def test_default_timestamp_is_now(tmp_path: Path) -> None:
    import time

    before = time.time_ns()
    with Writer(tmp_path / "now.pcap", nanosecond=True) as writer:
        writer.write(b"x" * 14)
    after = time.time_ns()
    with Reader(tmp_path / "now.pcap") as reader:
        assert before <= next(iter(reader)).timestamp_ns <= after


def test_microsecond_writer_truncates_nanoseconds(tmp_path: Path) -> None:
    with Writer(tmp_path / "us.pcap") as writer:
        writer.write(b"x", 1_999)
        writer.write(b"x", 2_000)
    with Reader(tmp_path / "us.pcap") as reader:
        assert [r.timestamp_ns for r in reader] == [1_000, 2_000]


def test_file_object_target_is_flushed_not_closed() -> None:
    buf = io.BytesIO()
    with Writer(buf, LinkType.RAW) as writer:
        writer.write(b"\x45" + bytes(19), T)
    assert not buf.closed
    assert buf.getvalue()[:4] == struct.pack("=I", 0xA1B2C3D4)


def test_dash_writes_to_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(out))
    with Writer("-", format="pcapng") as writer:
        assert writer.name == "standard output"
        writer.write(b"x" * 20, T)
    with Reader(io.BytesIO(out.getvalue())) as reader:
        assert len(list(reader)) == 1


def test_unwritable_path_is_a_capture_file_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureFileError, match=r"cannot create .*No such file"):
        Writer(tmp_path / "missing" / "x.pcap")


def test_write_errors_are_capture_file_errors() -> None:
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

    with pytest.raises(CaptureFileError, match="No space left"):
        Writer(Full())  # type: ignore[arg-type]


def test_a_file_whose_header_cannot_be_written_is_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file was created, then its header failed: an empty non-capture stayed behind."""
    target = tmp_path / "x.pcapng"

    def fail(*_: object, **__: object) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PcapngWriter, "_file_header", fail)
    with pytest.raises(OSError, match="No space left"):
        Writer(target)
    assert not target.exists()


def test_an_interface_name_that_is_not_utf8_is_written_as_its_bytes(tmp_path: Path) -> None:
    """A command-line name (send -w, offline) arrives with surrogates: UnicodeEncodeError."""
    target = tmp_path / "x.pcapng"
    with Writer(target, interface_name="eth\udcff") as writer:
        writer.write(bytes(14), 1)
    assert b"eth\xff" in target.read_bytes()


def test_write_packet_accepts_bytes_and_objects_with_bytes(tmp_path: Path) -> None:
    class Packet:
        def __bytes__(self) -> bytes:
            return b"\x45" + bytes(27)

    with Writer(tmp_path / "p.pcapng", LinkType.RAW) as writer:
        writer.write_packet(Packet(), T, comment="built")
        writer.write_packet(bytearray(b"\x60" + bytes(39)), T + 1)
    with Reader(tmp_path / "p.pcapng") as reader:
        records = list(reader)
    assert [len(r.data) for r in records] == [28, 40]
    assert records[0].comment == "built"


def test_write_packet_copies_records_across_interfaces(tmp_path: Path) -> None:
    source = tmp_path / "two.pcapng"
    source.write_bytes(b"".join([
        pf.shb(), pf.idb(1, 0, [(2, "eth0")]), pf.idb(101, 0, [(2, "tun0")]),
        pf.epb(0, 1, pf.frame(0), opts=[(1, "hello"), (2, b"\2\0\0\0")]),
        pf.epb(1, 2, b"\x45" + bytes(19)), pf.epb(0, 3, pf.frame(2)),
        pf.shb(), pf.idb(1, 0, [(2, "eth1")]), pf.epb(0, 4, pf.frame(3)),
    ]))
    with Reader(source) as reader, Writer(tmp_path / "copy.pcapng") as writer:
        for record in reader:
            writer.write_packet(record)
    with Reader(tmp_path / "copy.pcapng") as reader:
        records = list(reader)
        names = [i.name for i in reader.interfaces]
    # Interface 0 (Ethernet, unused) takes eth0; tun0 and eth1 get their own descriptions.
    assert names == [None, "tun0", "eth1"]
    assert [r.interface.index for r in records] == [0, 1, 0, 2]
    assert [r.timestamp_ns for r in records] == [1000, 2000, 3000, 4000]
    assert (records[0].comment, records[0].direction) == ("hello", "out")
    with Reader(source) as reader, Writer(tmp_path / "copy.pcap") as writer, \
            pytest.raises(UsageError, match="holds ETHERNET frames; a RAW record needs pcapng"):
        for record in reader:
            writer.write_packet(record)


def test_write_packet_keeps_edits_made_through_the_record(tmp_path: Path) -> None:
    """Scapy's read-modify-write loop: an edit through ``record.packet`` is what is written;
    an untouched record is copied as it was (its original length too)."""
    from wirekit.packet import TCP, Ether, IPv4

    frame = bytes(Ether() / IPv4(dst="10.0.0.2") / TCP() / bytes(200))
    with Writer(tmp_path / "in.pcap", snaplen=100) as writer:
        writer.write(frame, T)
        writer.write(frame, T + 1)
    with Reader(tmp_path / "in.pcap") as reader, Writer(tmp_path / "out.pcap") as writer:
        for index, record in enumerate(reader):
            if index == 0:
                record.packet[IPv4].ttl = 1
            writer.write_packet(record)
    with Reader(tmp_path / "out.pcap") as reader:
        edited, untouched = list(reader)
    assert edited.packet[IPv4].ttl == 1 and untouched.packet[IPv4].ttl == 64
    assert edited.timestamp_ns == T // 1000 * 1000  # a microsecond pcap
    assert edited.orig_len == untouched.orig_len == len(frame)
    header_check = edited.packet.verify_checksums()[0]
    assert header_check.layer == "IPv4" and header_check.ok  # updated with the TTL (RFC 1624)


def test_a_snaplen_cut_record_is_summarised_as_tcpdump_does(tmp_path: Path) -> None:
    from wirekit.packet import TCP, Ether, IPv4

    frame = bytes(Ether() / IPv4(src="1.2.3.4", dst="5.6.7.8") / TCP(sport=1, dport=2)
                  / bytes(500))
    with Writer(tmp_path / "cut.pcap", snaplen=64) as writer:
        writer.write(frame, T)
    with Reader(tmp_path / "cut.pcap") as reader:
        (record,) = list(reader)
    assert len(record.data) == 64 and record.packet.wire_len == len(frame)
    assert "truncated" not in record.packet.summary()
    assert record.packet.summary().endswith("length 500")


@pytest.mark.parametrize("metadata", [{"interface_name": "n" * 70000}, {"comment": "c" * 70000}])
def test_pcapng_metadata_past_65535_bytes_is_a_usage_error_and_leaves_no_file(
        tmp_path: Path, metadata: dict[str, str]) -> None:
    path = tmp_path / "big.pcapng"
    with pytest.raises(UsageError, match="the limit is 65535"):
        Writer(str(path), **metadata)  # type: ignore[arg-type]
    assert not path.exists()


def test_a_second_interface_with_a_name_past_65535_bytes_is_refused(tmp_path: Path) -> None:
    with Writer(str(tmp_path / "two.pcapng")) as writer:
        with pytest.raises(UsageError, match="the limit is 65535"):
            writer.add_interface(1, name="n" * 70000)
        assert writer.add_interface(1, name="eth1") == 1  # the refused one took no index
