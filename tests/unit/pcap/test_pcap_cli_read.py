"""``wirekit read``'s own behaviour: counts, timestamps, JSON, warnings, errors, stdin.

The codec is replaced by a stand-in that records what it was given, so these tests check the
command and not the decoding (tests/integration/pcap/test_pcap_read_codec.py uses the real one).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wirekit.packet
from tests.support import pcapfiles as pf
from wirekit.cli import main as cli_main
from wirekit.packet import LinkType
from wirekit.pcap import Writer

T0 = 1_700_000_000_123_456_789  # 22:13:20.123456789 UTC


class StandIn:
    """What ``wirekit.packet.parse`` returns, reduced to the four methods ``read`` uses."""

    def __init__(self, data: memoryview, link: object, wire_len: int | None = None) -> None:
        self.data = bytes(data)
        self.link = link

    def summary(self, *, link_level: bool = False) -> str:
        head = "LINK " if link_level else ""
        return f"{head}PKT len {len(self.data)} link {int(self.link)}"  # type: ignore[call-overload]

    def show_text(self) -> str:
        return f"###[ Stand-in ]###\n  first = {self.data[0]}\n"

    def hexdump(self) -> str:
        return self.data[:8].hex(" ")

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"layer": "StandIn", "first": self.data[0]}]


@pytest.fixture(autouse=True)
def _stand_in_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wirekit.packet, "parse", StandIn, raising=False)


@pytest.fixture(autouse=True)
def _utc() -> Iterator[None]:
    """Times print in local time, as tcpdump's: pin the zone, and restore it afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def _capture(path: Path, count: int = 5) -> Path:
    with Writer(path, LinkType.ETHERNET, nanosecond=True, interface_name="veth0") as writer:
        for i in range(count):
            comment = "marked" if i == 1 and writer.format.value == "pcapng" else None
            writer.write(pf.frame(i, 60 + i), T0 + i * 1_500_000_000, comment=comment,
                         flags=2 if i == 1 else None)
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main.main(["read", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_line_per_packet_with_tcpdump_time(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(_capture(tmp_path / "a.pcap")))
    assert code == 0
    assert out.splitlines() == [
        "22:13:20.123456 PKT len 60 link 1",
        "22:13:21.623456 PKT len 61 link 1",
        "22:13:23.123456 PKT len 62 link 1",
        "22:13:24.623456 PKT len 63 link 1",
        "22:13:26.123456 PKT len 64 link 1",
    ]
    assert err == (f"reading from file {tmp_path / 'a.pcap'}, pcap, link-type ETHERNET, "
                   "snapshot length 262144\n")


@pytest.mark.parametrize(("flags", "first", "second"), [
    (["-t"], "PKT len 60 link 1", "PKT len 61 link 1"),
    (["-t", "-e"], "LINK PKT len 60 link 1", "LINK PKT len 61 link 1"),
    (["-tt"], "1700000000.123456 PKT", "1700000001.623456 PKT"),
    (["-tt", "--nano"], "1700000000.123456789 PKT", "1700000001.623456789 PKT"),
    (["-ttt"], " 00:00:00.000000 PKT", " 00:00:01.500000 PKT"),
    (["-tttt"], "2023-11-14 22:13:20.123456 PKT", "2023-11-14 22:13:21.623456 PKT"),
    (["-ttttt"], " 00:00:00.000000 PKT", " 00:00:01.500000 PKT"),
    (["--nano"], "22:13:20.123456789 PKT", "22:13:21.623456789 PKT"),
])
def test_time_styles(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                     first: str, second: str) -> None:
    code, out, _ = _run(capsys, *flags, str(_capture(tmp_path / "a.pcap")))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith(first)
    assert lines[1].startswith(second)


def test_count_verbose_and_hex(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "-c", "2", "-v", "--hex", str(_capture(tmp_path / "a.pcapng")))
    assert code == 0
    assert out.splitlines() == [
        "22:13:20.123456 PKT len 60 link 1",
        "    interface 0 (veth0), caplen 60, orig_len 60",
        "    ###[ Stand-in ]###",
        "      first = 0",
        "    00 00 00 00 00 01 02 03",
        "22:13:21.623456 PKT len 61 link 1",
        "    interface 0 (veth0), caplen 61, orig_len 61, direction out",
        "    comment: marked",
        "    ###[ Stand-in ]###",
        "      first = 0",
        "    00 00 00 01 01 02 03 04",
    ]


def test_json_is_one_object_with_packets(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _capture(tmp_path / "a.pcapng")
    code, out, err = _run(capsys, "--json", "--hex", "-c", "3", str(path))
    assert code == 0
    assert err == ""
    document = json.loads(out)
    assert document["file"] == str(path)
    assert document["format"] == "pcapng"
    assert document["count"] == 3
    assert document["truncated"] is False
    assert document["error"] is None
    assert document["interfaces"][0]["name"] == "veth0"
    assert document["interfaces"][0]["link"] == "ETHERNET"
    assert document["sections"][0]["user_application"].startswith("wirekit")
    packets = document["packets"]
    assert [p["number"] for p in packets] == [1, 2, 3]
    assert packets[0]["timestamp_ns"] == T0
    assert packets[0]["summary"] == "PKT len 60 link 1"
    assert packets[0]["packet"] == [{"layer": "StandIn", "first": 0}]
    assert packets[0]["hex"] == pf.frame(0, 60).hex()
    assert packets[1]["comments"] == ["marked"]
    assert packets[1]["direction"] == "out"
    assert packets[1]["interface_name"] == "veth0"


def test_json_of_an_empty_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--json", str(_capture(tmp_path / "e.pcap", count=0)))
    assert code == 0
    document = json.loads(out)
    assert document["packets"] == []
    assert document["count"] == 0


def test_truncated_file_warns_and_succeeds(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _capture(tmp_path / "t.pcap")
    path.write_bytes(path.read_bytes()[:-10])
    code, out, err = _run(capsys, str(path))
    assert code == 0
    assert len(out.splitlines()) == 4
    assert "wirekit: warning:" in err
    assert "truncated record at byte offset" in err
    code, out, _ = _run(capsys, "--json", str(path))
    document = json.loads(out)
    assert document["truncated"] is True
    assert document["truncation"]["needed"] == 16 + 64


def test_damaged_file_prints_what_it_can_then_fails(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.pcapng"
    path.write_bytes(pf.shb() + pf.idb() + pf.epb(0, 1, pf.frame(0)) + pf.epb(7, 2, pf.frame(1)))
    code, out, err = _run(capsys, str(path))
    assert code == 4
    assert len(out.splitlines()) == 1
    assert err.splitlines()[-1].startswith("wirekit: error: damaged pcapng packet block")
    code, out, err = _run(capsys, "--json", str(path))
    assert code == 4
    document = json.loads(out)  # still one valid object
    assert document["count"] == 1
    assert "interface 7 is not described" in document["error"]


@pytest.mark.parametrize("content", [b"hello, world\n" * 4, b""])
def test_not_a_capture_is_exit_code_4(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    code, out, err = _run(capsys, str(path))
    assert code == 4
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("wirekit: error: ")
    assert "not a capture" in err or "not a pcap or pcapng capture file" in err


def test_missing_file_is_exit_code_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(tmp_path / "nope.pcap"))
    assert code == 4
    assert "No such file" in err


def test_filter_selects_like_tcpdump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Frame i is 60 + i bytes and starts with i (tests/integration/link has the tcpdump matrix)."""
    path = str(_capture(tmp_path / "a.pcap"))
    code, out, _ = _run(capsys, path, "ether[3]", "==", "2")
    assert code == 0
    assert [line.split()[-3] for line in out.splitlines()] == ["62"]
    code, out, _ = _run(capsys, path, "-c", "2", "less", "63")  # -c counts selected packets
    assert code == 0 and len(out.splitlines()) == 2


def test_bad_filter_is_libpcaps_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, str(_capture(tmp_path / "a.pcap")), "tcp", "prot", "80")
    assert code == 6
    assert out == ""
    assert "syntax error" in err and len(err.splitlines()) == 1


def test_reads_standard_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = _capture(tmp_path / "a.pcapng").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    code, out, err = _run(capsys, "-c", "1", "-")
    assert code == 0
    assert out == "22:13:20.123456 PKT len 60 link 1\n"
    assert "reading from file standard input, pcapng" in err


def test_bad_count_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "-c", "0", str(_capture(tmp_path / "a.pcap")))
    assert code == 2
    assert "-c" in err


def test_a_pcapng_without_an_interface_block_is_refused_as_tcpdump_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bare.pcapng"
    path.write_bytes(pf.shb())
    code, out, err = _run(capsys, str(path))
    assert code == 4 and out == ""
    assert err.strip() == (f"wirekit: error: {path}: the capture file has no interface "
                           "description blocks")
