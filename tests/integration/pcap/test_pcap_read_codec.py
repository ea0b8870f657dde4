"""``wirekit read`` end to end with the real codec: packets built by ``wirekit.packet``, written
with ``wirekit.pcap``, printed by ``wirekit read`` and by ``tcpdump -nn -r``.

The codec is reached through the ``codec`` fixture so that this module also imports while the
codec branch is not merged; then these tests skip (and fail under CI=true, as they must).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import wirekit.packet
from tests.support.env import require_tool, skip_or_fail
from wirekit.packet import LinkType
from wirekit.pcap import Reader, Writer

T0 = 1_700_000_000_123_456_789
ENV = {**os.environ, "TZ": "UTC"}


@pytest.fixture
def codec() -> ModuleType:
    if not hasattr(wirekit.packet, "parse"):
        skip_or_fail("the codec (wirekit.packet.parse) is not merged into this branch yet")
    return wirekit.packet


def _packets(codec: ModuleType) -> list[bytes]:
    ip = codec.IPv4(src="10.0.0.1", dst="10.0.0.2")
    syn = codec.Ether() / ip / codec.TCP(sport=1234, dport=80, flags="S", seq=1, window=65535)
    ip = codec.IPv4(src="10.0.0.1", dst="10.0.0.2")
    udp = codec.Ether() / ip / codec.UDP(sport=4000, dport=5000) / (b"x" * 8)
    return [bytes(syn), bytes(udp)]


@pytest.fixture
def capture(tmp_path: Path, codec: ModuleType) -> Path:
    path = tmp_path / "codec.pcap"
    with Writer(path, LinkType.ETHERNET, nanosecond=True) as writer:
        for index, frame in enumerate(_packets(codec)):
            writer.write(frame, T0 + index * 1000)
    return path


def _wirekit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wirekit", "read", *args], capture_output=True,
                          text=True, timeout=60, env=ENV, check=False)


def test_lines_match_tcpdump(capture: Path) -> None:
    require_tool("tcpdump")
    theirs = subprocess.run(["tcpdump", "-nn", "-r", str(capture)], capture_output=True,
                            text=True, timeout=30, env=ENV, check=True).stdout.splitlines()
    done = _wirekit(str(capture))
    assert done.returncode == 0, done.stderr
    ours = done.stdout.splitlines()
    assert ours[0] == ("22:13:20.123456 IP 10.0.0.1.1234 > 10.0.0.2.80: Flags [S], seq 1, "
                       "win 65535, length 0")
    assert ours == theirs


def test_verbose_hex_and_json(capture: Path, codec: ModuleType) -> None:
    done = _wirekit("-v", "--hex", "-c", "1", str(capture))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("Flags [S], seq 1, win 65535, length 0")
    assert lines[1] == "    interface 0, caplen 54, orig_len 54"
    assert any("80" in line for line in lines[2:])  # the TCP breakdown shows the port
    done = _wirekit("--json", str(capture))
    document = json.loads(done.stdout)
    assert [p["caplen"] for p in document["packets"]] == [len(f) for f in _packets(codec)]
    assert document["packets"][0]["summary"].startswith("IP 10.0.0.1.1234 > 10.0.0.2.80")
    assert document["packets"][0]["packet"]["layers"]


def test_record_packet_decodes_lazily(capture: Path, codec: ModuleType) -> None:
    with Reader(capture) as reader:
        records = list(reader)
        assert records[0].packet[codec.TCP].dport == 80
        assert codec.TCP in records[0].packet
        assert records[1].packet[codec.UDP].sport == 4000
        assert records[0].packet is records[0].packet  # parsed once
        assert bytes(records[0].packet) == bytes(records[0].data)


def test_piping_into_head_exits_quietly(tmp_path: Path, codec: ModuleType) -> None:
    path = tmp_path / "many.pcap"
    frame = _packets(codec)[1]
    with Writer(path) as writer:
        for index in range(20_000):
            writer.write(frame, T0 + index)
    pipeline = f"{sys.executable} -m wirekit read {path} | head -n 2"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True,
                          text=True, timeout=60, env=ENV, check=False)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr
