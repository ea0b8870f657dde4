"""The server's features end to end: TLS, token, limits, echo, shutdown, metrics, records."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.proto.support import read_frames, run_cli, server
from tests.support.env import require_tool
from wirekit.proto.frame import encode_frame

HELLO = encode_frame(1, 1, 1, b"Hello from client!")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = require_tool("openssl")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_and_token(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    with server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key),
                "--token", "s3cret") as running:
        port = str(running.port)
        base = ("proto", "client", "127.0.0.1", port, "--tls", "--tls-ca", str(cert))
        good = run_cli(*base, "--token", "s3cret")
        wrong = run_cli(*base, "--token", "guess")
        missing = run_cli(*base)
        version1 = run_cli(*base, "--protocol-version", "1")
        plain = run_cli("proto", "client", "127.0.0.1", port, "--token", "s3cret")
        stdout, _, code = running.stop()
    assert good.returncode == 0, good.stderr
    assert "protocol version 2" in good.stdout and "-> GOODBYE  <- ACK" in good.stdout
    assert wrong.returncode == 8 and "authentication failed" in wrong.stderr
    assert missing.returncode == 8 and "authentication required" in missing.stderr
    assert version1.returncode == 8 and "authentication required" in version1.stderr
    assert plain.returncode == 9  # a plain-TCP client cannot talk to the TLS server
    assert code == 0 and "AUTH_FAILED 1" in stdout and "AUTH_REQUIRED 2" in stdout


def test_token_refusal_on_the_wire(tmp_path: Path) -> None:
    with server(tmp_path, "--token", "s3cret") as running, \
            socket.create_connection(("127.0.0.1", running.port)) as sock:
        sock.sendall(HELLO)
        frames, eof = read_frames(sock)
    assert frames == [(4, 8, 1, b"authentication required")] and eof


def test_server_full(tmp_path: Path) -> None:
    with server(tmp_path, "--max-connections", "2") as running:
        held = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(2)]
        for sock in held:
            sock.sendall(HELLO)
            assert read_frames(sock, timeout=0.5)[0][0][0] == 3  # ACK
        with socket.create_connection(("127.0.0.1", running.port)) as third:
            frames, eof = read_frames(third)
        for sock in held:
            sock.close()
        stdout, _, _ = running.stop()
    assert frames == [(4, 12, 1, b"server full")] and eof
    assert "1 refused (full)" in stdout


def test_server_full_when_connections_arrive_together(tmp_path: Path) -> None:
    with server(tmp_path, "--max-connections", "2", "--grace", "1") as running:
        # Stopped, the server cannot accept: the kernel completes all ten handshakes and the
        # server then accepts them in one burst, before any of them is set up.
        running.proc.send_signal(signal.SIGSTOP)
        try:
            crowd = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(10)]
        finally:
            running.proc.send_signal(signal.SIGCONT)
        first = [read_frames(sock, timeout=1.0) for sock in crowd]
        refused = [sock for sock, (frames, _) in zip(crowd, first, strict=True) if frames]
        served = [sock for sock in crowd if sock not in refused]
        for sock in served:
            sock.sendall(HELLO)
            assert read_frames(sock, timeout=0.5)[0] == [(3, 0, 1, b"")]
        stdout, _, _ = running.stop()
        goodbyes = [frame for sock in served for frame in read_frames(sock)[0] if frame[0] == 6]
        for sock in crowd:
            sock.close()
    assert len(served) == 2 and len(refused) == 8
    assert all(result == ([(4, 12, 1, b"server full")], True)
               for result in first if result[0])
    assert len(goodbyes) == 2
    assert "2 connection(s)" in stdout and "8 refused (full)" in stdout


def test_garbage_shorter_than_a_header_is_refused_at_once(tmp_path: Path) -> None:
    with server(tmp_path, "--idle-timeout", "30") as running:
        with socket.create_connection(("127.0.0.1", running.port)) as sock:
            sock.sendall(HELLO[:12])  # a valid half header waits for the rest
            assert read_frames(sock, timeout=0.5) == ([], False)
            sock.sendall(HELLO[12:])
            assert read_frames(sock, timeout=0.5)[0] == [(3, 0, 1, b"")]
        with socket.create_connection(("127.0.0.1", running.port)) as sock:
            started = time.monotonic()
            sock.sendall(b"garbage")  # 7 bytes; 0x67 is no version
            frames, eof = read_frames(sock)
            elapsed = time.monotonic() - started
        running.stop()
    assert frames == [(4, 2, 1, b"bad version: 103")] and eof
    assert elapsed < 5  # not the 30 s idle timeout


def test_unknown_type_keeps_the_connection_and_bad_input_closes(tmp_path: Path) -> None:
    with server(tmp_path) as running, \
            socket.create_connection(("127.0.0.1", running.port)) as sock:
        sock.sendall(HELLO + encode_frame(1, 9, 2) + encode_frame(1, 2, 3, b"still open"))
        frames, eof = read_frames(sock, timeout=0.5)
        assert not eof
        assert frames == [(3, 0, 1, b""), (4, 1, 2, b"Unknown message type"), (3, 0, 3, b"")]
        sock.sendall(encode_frame(1, 2, 4, b"x")[:-1] + b"y")  # wrong checksum
        frames, eof = read_frames(sock)
    assert frames[0][:2] == (4, 4) and frames[0][3].startswith(b"checksum mismatch")
    assert eof


def test_echo_stdin_and_line_records(tmp_path: Path) -> None:
    output = tmp_path / "lines.txt"
    with server(tmp_path, "--echo", "--output", str(output), "--output-format",
                "lines") as running:
        done = run_cli("proto", "client", "127.0.0.1", str(running.port), "--stdin", "--echo",
                       input_text="one\ntwo\nthree\n")
        running.stop()
    assert done.returncode == 0, done.stderr
    for number, word in enumerate(("one", "two", "three"), 1):
        assert f'<- DATA seq={number} "{word}"' in done.stdout
    assert output.read_text() == "one\ntwo\nthree\n"
    listed = run_cli("proto", "records", str(output), "--format", "lines")
    assert listed.stdout.splitlines() == ["1\t3\tone", "2\t3\ttwo", "3\t5\tthree"]


def test_client_with_empty_stdin_says_no_messages_sent(tmp_path: Path) -> None:
    with server(tmp_path) as running:
        done = run_cli("proto", "client", "127.0.0.1", str(running.port), "--stdin",
                       input_text="")
        running.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == \
        "no messages sent, protocol version 2, 0 reconnect(s), 0 resent"


def test_shutdown_sends_goodbye_and_prints_totals(tmp_path: Path) -> None:
    with server(tmp_path, "--grace", "2") as running, \
            socket.create_connection(("127.0.0.1", running.port)) as sock:
        sock.sendall(HELLO + encode_frame(1, 2, 2, b"before shutdown"))
        assert len(read_frames(sock, timeout=0.5)[0]) == 2
        started = time.monotonic()
        running.proc.send_signal(signal.SIGTERM)
        frames, _ = read_frames(sock, timeout=1.0)
        assert frames == [(6, 0, 3, b"")]  # GOODBYE, numbered by the server's counter
        sock.sendall(encode_frame(1, 6, 3))  # our GOODBYE: the server ACKs and closes
        frames, eof = read_frames(sock)
        running.proc.wait(timeout=10)  # it exits by itself: no second signal
        stdout, stderr, code = running.stop()
    assert frames == [(3, 0, 4, b"")] and eof
    assert code == 0 and time.monotonic() - started < 5
    assert "1 connection(s), 1 DATA message(s)" in stdout
    assert "shutting down" in stderr


def test_metrics_endpoint(tmp_path: Path) -> None:
    with server(tmp_path, "--metrics-port", "0") as running:
        assert running.metrics_port is not None
        done = run_cli("proto", "client", "127.0.0.1", str(running.port))
        with socket.create_connection(("127.0.0.1", running.port)) as sock:
            sock.sendall(b"garbage garbage garbage garbage")
            read_frames(sock)
        url = f"http://127.0.0.1:{running.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        running.stop()
    assert done.returncode == 0
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values['wirekit_proto_messages_total{direction="rx",type="DATA"}'] == 3
    assert values['wirekit_proto_messages_total{direction="tx",type="ERROR"}'] == 1
    assert values['wirekit_proto_messages_total{direction="tx",type="ACK"}'] >= 3
    assert not [key for key in values if "ConnectionClosed" in key]
    assert values["wirekit_proto_connections_accepted_total"] == 2
    assert values['wirekit_proto_errors_total{reason="BAD_VERSION"}'] == 1
    assert values["wirekit_proto_ack_latency_seconds_count"] >= 3
    assert values['wirekit_proto_bytes_total{direction="rx"}'] > 0


def test_client_json_summary(tmp_path: Path) -> None:
    with server(tmp_path) as running:
        done = run_cli("proto", "client", "127.0.0.1", str(running.port), "--count", "2000",
                       "--window", "64", "--json")
        running.stop()
    summary = json.loads(done.stdout)
    assert summary["acked"] == 2000 and summary["version"] == 2
    assert summary["ack_latency_ms"]["p99"] is not None


def test_accept_backs_off_on_emfile_and_recovers(tmp_path: Path) -> None:
    with server(tmp_path, nofile=48) as running:
        crowd = []
        for _ in range(60):  # more than the server has descriptors for
            crowd.append(socket.create_connection(("127.0.0.1", running.port)))
        time.sleep(0.5)
        assert running.proc.poll() is None  # alive
        for sock in crowd:
            sock.close()
        time.sleep(0.5)
        done = run_cli("proto", "client", "127.0.0.1", str(running.port), timeout=30)
        _stdout, stderr, code = running.stop()
    assert "accept failed (Too many open files); backing off 100 ms" in stderr
    assert done.returncode == 0, done.stderr
    assert code == 0


def test_heartbeat_keeps_an_idle_client_alive(tmp_path: Path) -> None:
    with server(tmp_path, "--idle-timeout", "0.6") as running:
        port = str(running.port)
        kept = run_cli("proto", "client", "127.0.0.1", port, "--count", "1", "--interval",
                       "1.2", "--heartbeat", "0.15", "--json", timeout=30)
        dropped = run_cli("proto", "client", "127.0.0.1", port, "--count", "1", "--interval",
                          "1.2", timeout=30)
        running.stop()
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["acked"] == 1
    assert dropped.returncode != 0 and "idle timeout" in dropped.stderr
