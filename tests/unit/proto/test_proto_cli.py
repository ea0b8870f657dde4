"""The `wirekit proto` tools that need no network: errors, decode, records, dissector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.proto.helpers import build
from wirekit.cli.main import main
from wirekit.cli.proto import _print_summary, proto
from wirekit.proto.records import RecordFormat, encode_record


def test_errors_table() -> None:
    result = CliRunner().invoke(proto, ["errors", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)["errors"]
    assert rows[1] == {"code": 1, "name": "UNKNOWN_TYPE", "text": "Unknown message type",
                       "closes": False}
    assert rows[12]["text"] == "server full" and rows[12]["closes"]


def test_decode_hex_and_flags_bad_checksum() -> None:
    good = build(1, 3, 1)
    bad = build(1, 2, 2, b"x", checksum=7)
    result = CliRunner().invoke(proto, ["decode", (good + bad).hex()])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "@0: v1 ACK seq=1 len=0 flags=0x0000"
    assert lines[1].startswith("@24: v1 DATA seq=2 len=1 flags=0x0000 BAD CHECKSUM")


def test_decode_json_and_hello_offer() -> None:
    from wirekit.proto import Connection, Hello, Offer, Role

    hello = Connection(Role.CLIENT).send(Hello(Offer(max_payload=4096, token=b"t")))
    result = CliRunner().invoke(proto, ["decode", hello.hex(), "--json"])
    (frame,) = json.loads(result.output)["frames"]
    assert frame["type"] == "HELLO" and frame["checksum_ok"] and frame["flags"] == 1
    assert "max_payload=4096" in frame["detail"] and "token=1B" in frame["detail"]


def test_decode_rejects_nonsense() -> None:
    assert main(["proto", "decode", "not-hex-or-file"]) == 2


def test_records(tmp_path: Path) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(encode_record(b"alpha") + encode_record(b"\x00\xff"))
    result = CliRunner().invoke(proto, ["records", str(path)])
    assert result.output.splitlines() == ["1\t5\talpha", "2\t2\t00ff"]
    assert CliRunner().invoke(proto, ["records", str(path), "--count"]).output == "2\n"
    path.write_bytes(encode_record(b"alpha", RecordFormat.LENGTH)[:-1])
    assert main(["proto", "records", str(path)]) == 3  # truncated: DecodeError


def test_dissector_script(tmp_path: Path) -> None:
    out = tmp_path / "wk.lua"
    result = CliRunner().invoke(proto, ["dissector", "-o", str(out), "--port", "7000",
                                        "--port", "7001"])
    assert result.exit_code == 0
    script = out.read_text()
    assert 'Proto("wirekit"' in script
    assert "tcp_port:add(7000, wirekit)" in script and "tcp_port:add(7001, wirekit)" in script
    assert '[12] = "SERVER_FULL",' in script and "0x82F63B78" in script


def test_server_usage_errors() -> None:
    assert main(["proto", "server", "--tls-cert", __file__]) == 2
    assert main(["proto", "client", "127.0.0.1", "--count", "1", "--stdin"]) == 2


def _summary(sent: int, acked: int, p50: float | None, p99: float | None) -> dict[str, object]:
    return {"version": 2, "session": "00" * 16, "sent": sent, "acked": acked, "resent": 0,
            "reconnects": 0, "elapsed_s": 0.5, "messages_per_s": acked / 0.5,
            "ack_latency_ms": {"p50": p50, "p99": p99}}


def test_client_summary_without_messages(capsys: pytest.CaptureFixture[str]) -> None:
    _print_summary(_summary(0, 0, None, None))  # printf '' | wirekit proto client --stdin
    assert capsys.readouterr().out == \
        "no messages sent, protocol version 2, 0 reconnect(s), 0 resent\n"


def test_client_summary_with_messages(capsys: pytest.CaptureFixture[str]) -> None:
    _print_summary(_summary(2, 2, 0.1, 0.2))
    assert capsys.readouterr().out == (
        "2 message(s) acknowledged in 0.5 s (4.0 msg/s), protocol version 2, "
        "ACK latency p50 0.1 ms p99 0.2 ms, 0 reconnect(s), 0 resent\n")
    _print_summary(_summary(2, 0, None, None))  # sent, never acknowledged: no latency
    assert "None" not in capsys.readouterr().out
