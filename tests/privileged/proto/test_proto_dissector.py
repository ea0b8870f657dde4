"""tshark decodes a captured session with the generated Lua dissector, field by field.

Everything runs on the loopback of a namespace of our own (the netns fixture): the server, two
clients (version 2 and version 1), a peer sending a frame with a wrong checksum, and tcpdump.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.env import require_tool
from tests.support.netns import NetnsPair
from wirekit.proto.dissector import render_dissector

PORT = 9999
BAD_PEER = """
import socket
from wirekit.proto.frame import encode_frame
frame = encode_frame(1, 1, 1, b"hi")
with socket.create_connection(("127.0.0.1", 9999)) as sock:
    sock.sendall(frame[:12] + b"\\0\\0\\0\\1" + frame[16:])
    sock.recv(4096)
"""
WAIT = """
import socket, time
deadline = time.monotonic() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", 9999), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
"""
FIELDS = ["wirekit.version", "wirekit.type_name", "wirekit.flags", "wirekit.sequence",
          "wirekit.length", "wirekit.checksum.status", "wirekit.error.code",
          "wirekit.error.text", "wirekit.text", "wirekit.max_payload", "wirekit.session"]


def _capture_session(netns: NetnsPair, pcap: Path) -> None:
    ns = netns.ns_a
    python = [sys.executable]
    dump = netns.popen(ns, ["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-w", str(pcap),
                            f"tcp port {PORT}"],
                       stderr=subprocess.PIPE)
    assert dump.stderr is not None
    first = dump.stderr.readline().decode()  # "listening on lo, ...": the capture is live
    assert "listening on" in first, first
    netns.popen(ns, [*python, "-m", "wirekit", "proto", "server", str(PORT), "--host",
                     "127.0.0.1"], stderr=subprocess.DEVNULL)
    netns.run(ns, *python, "-c", WAIT)
    netns.run(ns, *python, "-m", "wirekit", "proto", "client", "127.0.0.1", str(PORT))
    netns.run(ns, *python, "-m", "wirekit", "proto", "client", "127.0.0.1", str(PORT),
              "--protocol-version", "1")
    netns.run(ns, *python, "-c", BAD_PEER)
    time.sleep(0.5)
    dump.send_signal(signal.SIGINT)
    dump.wait(timeout=10)


def test_tshark_decodes_a_captured_session(netns: NetnsPair, tmp_path: Path) -> None:
    require_tool("tcpdump")
    tshark = require_tool("tshark")
    script, pcap = tmp_path / "wirekit.lua", tmp_path / "session.pcap"
    script.write_text(render_dissector([PORT]))
    _capture_session(netns, pcap)
    done = subprocess.run(
        [tshark, "-r", str(pcap), "-X", f"lua_script:{script}", "-d",
         f"tcp.port=={PORT},wirekit", "-Y", "wirekit", "-T", "fields", "-E", "occurrence=f",
         *(arg for field in FIELDS for arg in ("-e", field))],
        capture_output=True, text=True, timeout=120, check=True)
    rows = [dict(zip(FIELDS, line.split("\t"), strict=True))
            for line in done.stdout.splitlines() if line]
    brief = [(r["wirekit.version"], r["wirekit.type_name"], r["wirekit.sequence"],
              r["wirekit.checksum.status"]) for r in rows]
    v2 = [("1", "HELLO", "0", "good"), ("1", "ACK", "1", "good")] + [
        item for n in (1, 2, 3) for item in (("2", "DATA", str(n), "good"),
                                             ("2", "ACK", str(n), "good"))] + [
        ("2", "GOODBYE", "3", "good"), ("2", "ACK", "3", "good")]
    v1 = [("1", "HELLO", "1", "good"), ("1", "ACK", "1", "good")] + [
        item for n in (2, 3, 4) for item in (("1", "DATA", str(n), "good"),
                                             ("1", "ACK", str(n), "good"))] + [
        ("1", "GOODBYE", "5", "good"), ("1", "ACK", "5", "good")]
    bad = [("1", "HELLO", "1", "bad"), ("1", "ERROR", "1", "good")]
    assert brief == v2 + v1 + bad, done.stdout
    hello, accept = rows[0], rows[1]
    assert hello["wirekit.flags"] == "0x0001" and hello["wirekit.max_payload"] == "16777216"
    assert accept["wirekit.max_payload"] == "1024" and len(accept["wirekit.session"]) == 32
    assert rows[2]["wirekit.text"] == "Data message #1" and rows[2]["wirekit.length"] == "15"
    assert rows[len(v2)]["wirekit.text"] == "Hello from client!"
    error = rows[-1]
    assert error["wirekit.error.code"] == "4"
    assert error["wirekit.error.text"].startswith("checksum mismatch: received 0x00000001")
    flagged = subprocess.run(
        [tshark, "-r", str(pcap), "-X", f"lua_script:{script}", "-d",
         f"tcp.port=={PORT},wirekit", "-Y", "wirekit.checksum_bad == 1 && _ws.expert"],
        capture_output=True, text=True, timeout=120, check=True)
    assert len(flagged.stdout.splitlines()) == 1 and "BAD CHECKSUM" in flagged.stdout
