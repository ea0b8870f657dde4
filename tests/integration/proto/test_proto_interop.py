"""Interoperability with the seed's C programs (peers/seed_protocol.c), both directions."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.proto.support import free_port, run_cli, server
from tests.support.env import require_tool
from tests.support.peers import build_seed_protocol
from wirekit.proto.records import RecordFormat, iter_records


@pytest.fixture(scope="module")
def seed() -> Path:
    require_tool("gcc")
    return build_seed_protocol()


def test_c_client_against_wirekit_server(seed: Path, tmp_path: Path) -> None:
    output = tmp_path / "records.bin"
    with server(tmp_path, "--output", str(output)) as running:
        done = subprocess.run([str(seed), "client", "127.0.0.1", str(running.port)],
                              capture_output=True, text=True, timeout=30, check=False)
        stdout, stderr, code = running.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("Received ACK for message #") == 3
    assert "Incomplete" not in done.stdout and "mismatch" not in done.stdout
    assert list(iter_records(output.read_bytes(), RecordFormat.LENGTH)) == [
        b"Data message #1", b"Data message #2", b"Data message #3"]
    assert code == 0
    assert "3 DATA message(s)" in stdout and "errors: none" in stdout
    assert "(version 1)" in stderr


def test_wirekit_client_against_c_server(seed: Path) -> None:
    port = free_port()
    # Its stdin is its off switch: getchar() returns at EOF and it exits, flushing stdout.
    c_server = subprocess.Popen([str(seed), "server", str(port)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    try:
        _wait_listening(port)
        exchange = run_cli("proto", "client", "127.0.0.1", str(port), timeout=30)
        windowed = run_cli("proto", "client", "127.0.0.1", str(port), "--count", "300",
                           "--window", "16", "--size", "100", "--json", timeout=60)
    finally:
        out, _ = c_server.communicate(timeout=15)
    assert exchange.returncode == 0, exchange.stderr
    assert "protocol version 1" in exchange.stdout
    for n in (1, 2, 3):
        assert f'DATA seq={n + 1} "Data message #{n}"  <- ACK' in exchange.stdout
        assert f"Data message: Data message #{n}" in out
    assert "-> GOODBYE  <- ACK" in exchange.stdout
    assert "Checksum mismatch" not in out and "Invalid" not in out
    assert windowed.returncode == 0, windowed.stderr
    assert '"acked": 300' in windowed.stdout
    numbers = [int(n) for n in re.findall(r"Data message: (\d{3})\.", out)]
    assert numbers == list(range(1, 301))  # every numbered payload reached the C server


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("C server did not start")
