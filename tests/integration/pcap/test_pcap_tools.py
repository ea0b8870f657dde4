"""Capture files against the reference tools: tshark/capinfos read what wirekit writes, and
wirekit reads what tcpdump, editcap and mergecap write (and agrees with tshark about them).

Inputs are generated here (wirekit or struct, converted by the tools); nothing is captured.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import pcapfiles as pf
from tests.support.env import require_tool
from wirekit.packet import LinkType
from wirekit.pcap import FileFormat, Reader, Record, Writer

T0 = 1_700_000_000_123_456_789
COUNT = 40


@dataclass(frozen=True)
class Sent:
    data: bytes
    timestamp_ns: int
    orig_len: int
    interface: int
    comment: str | None


def _ethernet(index: int) -> bytes:
    """An Ethernet/IPv4/UDP-looking frame of varying size (tools copy it without judging)."""
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + pf.frame(index, 46 + 29 * index)


def _raw_ip(index: int) -> bytes:
    return b"\x45\x00" + pf.frame(index, 38 + 7 * index)


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    require_tool(cmd[0])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed: {done.stderr}"
    return done


def _complaints(stderr: str) -> list[str]:
    """stderr lines other than the tools' notes about running as root / reading a file."""
    ignored = ("Running as user", "reading from file")
    return [line for line in stderr.splitlines() if line and not line.startswith(ignored)]


def _tshark(path: Path, *fields: str) -> list[list[str]]:
    args = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    for field in fields:
        args += ["-e", field]
    done = _run(*args)
    assert _complaints(done.stderr) == []
    return [line.split("\t") for line in done.stdout.splitlines()]


def _epoch_ns(text: str) -> int:
    return int(Decimal(text) * 10**9)


def _capinfos_count(path: Path) -> int:
    done = _run("capinfos", "-c", "-M", "-T", "-r", str(path))
    assert _complaints(done.stderr) == []
    return int(done.stdout.split("\t")[1])


def _write_mixed(path: Path, *, nanosecond: bool, byte_order: str) -> list[Sent]:
    """Frames on one or (pcapng) two interfaces, some with comments (pcapng)."""
    sent: list[Sent] = []
    with Writer(path, LinkType.ETHERNET, nanosecond=nanosecond, byte_order=byte_order,
                interface_name="veth0" if path.suffix == ".pcapng" else None,
                comment="wirekit integration" if path.suffix == ".pcapng" else None) as writer:
        ng = writer.format is FileFormat.PCAPNG
        tun = writer.add_interface(LinkType.RAW, name="tun0") if ng else 0
        for i in range(COUNT):
            on_tun = ng and i % 3 == 2
            data = _raw_ip(i) if on_tun else _ethernet(i)
            comment = f"frame {i} ünïcode" if ng and i % 4 == 0 else None
            stamp = T0 + i * 1_000_001_001
            orig_len = len(data) + (100 if i % 5 == 0 else 0)
            writer.write(data, stamp, orig_len, comment=comment, interface=tun if on_tun else 0)
            kept = stamp if nanosecond else stamp // 1000 * 1000
            sent.append(Sent(data, kept, orig_len, tun if on_tun else 0, comment))
    return sent


def _as_seen(records: list[Record]) -> list[Sent]:
    return [Sent(bytes(r.data), r.timestamp_ns, r.orig_len, r.interface.index, r.comment)
            for r in records]


def _read(path: Path) -> tuple[Reader, list[Record]]:
    reader = Reader(path)
    return reader, list(reader)


# -- tshark and capinfos read what wirekit writes ---------------------------------------------

@pytest.mark.parametrize(("name", "nanosecond", "byte_order"), [
    ("us.pcap", False, "little"),
    ("ns-swapped.pcap", True, "big"),
    ("us.pcapng", False, "little"),
    ("ns-swapped.pcapng", True, "big"),
])
def test_tshark_reads_what_wirekit_writes(tmp_path: Path, name: str, nanosecond: bool,
                                          byte_order: str) -> None:
    path = tmp_path / name
    sent = _write_mixed(path, nanosecond=nanosecond, byte_order=byte_order)
    assert _capinfos_count(path) == COUNT
    rows = _tshark(path, "frame.time_epoch", "frame.cap_len", "frame.len", "frame.interface_id",
                   "frame.comment")
    assert len(rows) == COUNT
    assert [_epoch_ns(row[0]) for row in rows] == [s.timestamp_ns for s in sent]
    assert [(int(row[1]), int(row[2])) for row in rows] == [(len(s.data), s.orig_len)
                                                            for s in sent]
    if path.suffix == ".pcapng":
        assert [int(row[3]) for row in rows] == [s.interface for s in sent]
        assert [row[4] or None for row in rows] == [s.comment for s in sent]


def test_tshark_sees_pcapng_metadata(tmp_path: Path) -> None:
    path = tmp_path / "meta.pcapng"
    _write_mixed(path, nanosecond=True, byte_order="native")
    done = _run("capinfos", "-k", "-I", str(path))
    assert "wirekit integration" in done.stdout  # the section (capture file) comment
    assert "Name = veth0" in done.stdout and "Name = tun0" in done.stdout
    assert "Time precision = nanoseconds (9)" in done.stdout
    names = {row[0] for row in _tshark(path, "frame.interface_name")}
    assert names == {"veth0", "tun0"}


def test_editcap_rewrites_our_pcapng_bytes_unchanged(tmp_path: Path) -> None:
    """Wireshark's own reader and writer carry our frames byte for byte."""
    ours = tmp_path / "ours.pcapng"
    sent = _write_mixed(ours, nanosecond=True, byte_order="big")
    theirs = tmp_path / "theirs.pcapng"
    _run("editcap", "-F", "pcapng", str(ours), str(theirs))
    reader, records = _read(theirs)
    assert _as_seen(records) == sent
    assert [i.name for i in reader.interfaces] == ["veth0", "tun0"]
    assert reader.sections[0].comments == ("wirekit integration",)


# -- wirekit reads what the tools write --------------------------------------------------------

def _write_plain(path: Path, *, count: int = COUNT, nanosecond: bool = False,
                 byte_order: str = "native", link: LinkType = LinkType.ETHERNET,
                 step_ns: int = 1_000_001_001) -> list[Sent]:
    make = _raw_ip if link is LinkType.RAW else _ethernet
    sent = []
    with Writer(path, link, nanosecond=nanosecond, byte_order=byte_order) as writer:
        for i in range(count):
            stamp = T0 + i * step_ns + (7 if link is LinkType.RAW else 0)
            writer.write(make(i), stamp)
            sent.append(Sent(make(i), stamp if nanosecond else stamp // 1000 * 1000,
                             len(make(i)), 0, None))
    return sent


def _agree_with_tshark(path: Path, records: list[Record]) -> None:
    rows = _tshark(path, "frame.time_epoch", "frame.cap_len", "frame.len", "frame.interface_id")
    assert [(_epoch_ns(r[0]), int(r[1]), int(r[2])) for r in rows] == [
        (rec.timestamp_ns, rec.caplen, rec.orig_len) for rec in records]
    assert [int(r[3] or 0) for r in rows] == [rec.interface.index for rec in records]


def test_reads_tcpdump_nanosecond_output(tmp_path: Path) -> None:
    source = tmp_path / "in.pcap"
    sent = _write_plain(source, nanosecond=True, byte_order="big")
    out = tmp_path / "tcpdump-nano.pcap"
    _run("tcpdump", "-r", str(source), "-w", str(out), "--time-stamp-precision", "nano")
    reader, records = _read(out)
    assert reader.header is not None and reader.header.nanosecond
    assert reader.sections[0].byte_order == "little"  # tcpdump writes host order
    assert _as_seen(records) == sent
    _agree_with_tshark(out, records)


def test_reads_tcpdump_microsecond_output_of_our_pcapng(tmp_path: Path) -> None:
    source = tmp_path / "in.pcapng"
    sent = _write_plain(source, nanosecond=True)
    out = tmp_path / "tcpdump-micro.pcap"
    _run("tcpdump", "-r", str(source), "-w", str(out))
    reader, records = _read(out)
    assert reader.header is not None and not reader.header.nanosecond
    assert [r.timestamp_ns for r in records] == [s.timestamp_ns // 1000 * 1000 for s in sent]
    assert [bytes(r.data) for r in records] == [s.data for s in sent]
    _agree_with_tshark(out, records)


@pytest.mark.parametrize(("file_type", "fmt", "nanosecond"), [
    ("pcapng", FileFormat.PCAPNG, True),
    ("nsecpcap", FileFormat.PCAP, True),
    ("pcap", FileFormat.PCAP, False),
    ("modpcap", FileFormat.PCAP, False),
])
def test_reads_editcap_output(tmp_path: Path, file_type: str, fmt: FileFormat,
                              nanosecond: bool) -> None:
    source = tmp_path / "in.pcap"
    sent = _write_plain(source, nanosecond=True, byte_order="big")  # editcap swaps to host
    out = tmp_path / f"editcap.{file_type}"
    _run("editcap", "-F", file_type, str(source), str(out))
    reader, records = _read(out)
    assert reader.format is fmt
    expected = [s.timestamp_ns if nanosecond else s.timestamp_ns // 1000 * 1000 for s in sent]
    assert [r.timestamp_ns for r in records] == expected
    assert [bytes(r.data) for r in records] == [s.data for s in sent]
    assert reader.link is LinkType.ETHERNET
    _agree_with_tshark(out, records)


def test_reads_editcap_comments(tmp_path: Path) -> None:
    source = tmp_path / "in.pcap"
    _write_plain(source, count=5)
    out = tmp_path / "commented.pcapng"
    _run("editcap", "-F", "pcapng", "--capture-comment", "from editcap", "-a", "2:second frame",
         "-a", "5:last frame", str(source), str(out))
    reader, records = _read(out)
    assert reader.sections[0].comments == ("from editcap",)
    assert [r.comment for r in records] == [None, "second frame", None, None, "last frame"]


def test_reads_mergecap_pcapng_with_two_link_types(tmp_path: Path) -> None:
    ether, raw = tmp_path / "ether.pcap", tmp_path / "raw.pcap"
    sent_ether = _write_plain(ether, count=10, nanosecond=True)
    sent_raw = _write_plain(raw, count=10, nanosecond=True, link=LinkType.RAW,
                            step_ns=700_000_003)
    merged = tmp_path / "merged.pcapng"
    _run("mergecap", "-F", "pcapng", "-w", str(merged), str(ether), str(raw))
    reader, records = _read(merged)
    assert [i.link for i in reader.interfaces] == [LinkType.ETHERNET, LinkType.RAW]
    assert len(records) == 20
    # mergecap interleaves by time: the stamps are sorted, and each frame kept its link type.
    stamps = [r.timestamp_ns for r in records]
    assert stamps == sorted(stamps)
    by_link = {LinkType.ETHERNET: sent_ether, LinkType.RAW: sent_raw}
    for link, sent in by_link.items():
        mine = [(bytes(r.data), r.timestamp_ns) for r in records if r.link is link]
        assert mine == [(s.data, s.timestamp_ns) for s in sent]
    _agree_with_tshark(merged, records)


def test_hand_built_byte_swapped_sections_agree_with_tshark(tmp_path: Path) -> None:
    """A pcapng file with a little-endian and a big-endian section, binary and decimal
    resolutions and an if_tsoffset, built with struct: wirekit and tshark agree."""
    blocks = [
        pf.shb("<"), pf.idb(1, 0, [(2, "le0"), (9, b"\x06")], "<"),
        *(pf.epb(0, 1_700_000_000_000_000 + 17 * i, _ethernet(i), order="<") for i in range(5)),
        pf.shb(">"), pf.idb(101, 0, [(2, "be0"), (9, b"\x09"), (14, (5).to_bytes(8, "big"))],
                            ">"),
        *(pf.epb(0, 1_700_000_000_000_000_000 + 3 * i, _raw_ip(i), order=">") for i in range(5)),
    ]
    path = tmp_path / "swapped.pcapng"
    path.write_bytes(b"".join(blocks))
    reader, records = _read(path)
    assert [s.byte_order for s in reader.sections] == ["little", "big"]
    assert records[5].timestamp_ns == 1_700_000_005_000_000_000
    _agree_with_tshark(path, records)
