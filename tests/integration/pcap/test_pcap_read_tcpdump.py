"""``wirekit read`` against ``tcpdump -r``: the same timestamps in every ``-t`` style.

The packet text is the codec's business (its oracle tests compare it); here the codec is a
stand-in and only the timestamp column is compared, line by line, with tcpdump's.
"""

from __future__ import annotations

import os
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wirekit.packet
from tests.support.env import require_tool
from wirekit.cli import main as cli_main
from wirekit.packet import LinkType
from wirekit.pcap import Writer

T0 = 1_700_000_000_123_456_789
#: Gaps between packets: none, sub-microsecond, sub-second, seconds, minutes, hours.  (Spans over
#: a day differ on purpose: tcpdump wraps their hours at 24, wirekit does not.)
GAPS = [0, 999, 1_000_001, 2_500_000_000, 61 * 10**9, 3 * 3600 * 10**9 + 17]


def _udp_frame(index: int) -> bytes:
    payload = bytes([index]) * 8
    udp = struct.pack(">HHHH", 1000 + index, 2000, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip


class StandIn:
    def __init__(self, data: memoryview, link: object, wire_len: int | None = None) -> None:
        self.size = len(data)

    def summary(self, *, link_level: bool = False) -> str:
        return f"PKT {self.size}"


@pytest.fixture
def utc() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "udp.pcap"
    with Writer(path, LinkType.ETHERNET, nanosecond=True) as writer:
        stamp = T0
        for index, gap in enumerate(GAPS):
            stamp += gap
            writer.write(_udp_frame(index), stamp)
    return path


@pytest.mark.parametrize("flags", [[], ["-t"], ["-tt"], ["-ttt"], ["-tttt"], ["-ttttt"],
                                   ["--nano"], ["-tt", "--nano"], ["-ttt", "--nano"]])
def test_timestamp_column_matches_tcpdump(capture: Path, flags: list[str], utc: None,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("tcpdump")
    done = subprocess.run(["tcpdump", "-nn", *flags, "-r", str(capture)], capture_output=True,
                          text=True, timeout=30, check=True, env={**os.environ, "TZ": "UTC"})
    theirs = [line.split("IP 10.0.0.1", 1)[0] for line in done.stdout.splitlines()]
    monkeypatch.setattr(wirekit.packet, "parse", StandIn, raising=False)
    assert cli_main.main(["read", *flags, str(capture)]) == 0
    ours = [line.split("PKT", 1)[0] for line in capsys.readouterr().out.splitlines()]
    assert len(theirs) == len(GAPS)
    assert ours == theirs
