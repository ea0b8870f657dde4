"""The generated dissector's display filters, on a capture we build: `-Y wirekit.checksum_bad`
(what `wirekit proto dissector --help` suggests) shows the frames with a bad checksum, and only
them.  Needs tshark; no privileges (tests/privileged/proto decodes a live capture)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.packet.packet_pcapfile import write_pcap
from tests.support.env import require_tool
from wirekit.packet import TCP, Ether, IPv4, LinkType
from wirekit.proto.dissector import render_dissector
from wirekit.proto.frame import encode_frame

PORT = 9999
GOOD_V1 = encode_frame(1, 1, 1, b"Hello from client!")
BAD_V1 = GOOD_V1[:12] + b"\0\0\0\1" + GOOD_V1[16:]
GOOD_V2 = encode_frame(2, 2, 1, b"fine")


def _capture(path: Path, frames: list[bytes]) -> None:
    """One TCP segment per frame, client to server, sequence numbers contiguous."""
    packets, seq = [], 1000
    for frame in frames:
        packets.append(bytes(Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / TCP(
            sport=40000, dport=PORT, seq=seq, flags="PA") / frame))
        seq += len(frame)
    write_pcap(path, packets, LinkType.ETHERNET)


@pytest.mark.parametrize(("display_filter", "expected"), [
    ("wirekit", 3),
    ("wirekit.checksum_bad", 1),
    ("wirekit.checksum_bad == 1 && _ws.expert", 1),
    ("wirekit && !wirekit.checksum_bad", 2),
])
def test_checksum_bad_filter_selects_bad_frames_only(tmp_path: Path, display_filter: str,
                                                     expected: int) -> None:
    tshark = require_tool("tshark")
    script, pcap = tmp_path / "wirekit.lua", tmp_path / "frames.pcap"
    script.write_text(render_dissector([PORT]))
    _capture(pcap, [GOOD_V1, BAD_V1, GOOD_V2])
    done = subprocess.run([tshark, "-n", "-r", str(pcap), "-X", f"lua_script:{script}",
                           "-Y", display_filter], capture_output=True, text=True, timeout=120,
                          check=True)
    lines = done.stdout.splitlines()
    assert len(lines) == expected, done.stdout
    if display_filter == "wirekit.checksum_bad":
        assert "BAD CHECKSUM" in lines[0]
