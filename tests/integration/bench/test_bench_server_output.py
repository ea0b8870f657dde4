"""``--get-server-output``: the server's own report travels to the client (iperf3 3.12's
``get_server_output`` parameter, answered with ``server_output_json`` from a server that runs
with -J and ``server_output_text`` from one that prints text), with iperf3 in either role.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.integration.bench.bench_support import (
    WIREKIT,
    client_command,
    free_port,
    serve_one,
    start_server,
)
from tests.support.env import require_tool

ROLES = [("iperf3", "wirekit"), ("wirekit", "iperf3"), ("wirekit", "wirekit")]
IDS = ["iperf3-server", "iperf3-client", "wirekit-both"]


def _run(server: str, client: str, server_json: bool, client_args: list[str],
         client_json: bool = True) -> tuple[subprocess.CompletedProcess[str], str]:
    """One 1-second test with --get-server-output; returns the client's run and the
    server's stdout.  Both must exit 0."""
    port = free_port()
    process = start_server(server, port, json_output=server_json)
    command = client_command(client, port, ["-t", "1", "--get-server-output", *client_args])
    if not client_json:
        command.remove("-J")
    done, out, err = serve_one(process, command)
    assert done.returncode == 0, f"{client} client failed: {done.stdout}\n{done.stderr}"
    assert process.returncode == 0, f"{server} server failed: {out}\n{err}"
    return done, out


def _received(document: dict[str, Any]) -> int:
    return int(document["end"]["sum_received"]["bytes"])


@pytest.mark.parametrize(("server", "client"), ROLES, ids=IDS)
def test_a_json_server_sends_its_document(server: str, client: str) -> None:
    require_tool("iperf3")
    done, out = _run(server, client, server_json=True, client_args=[])
    client_doc = json.loads(done.stdout)
    server_doc = json.loads(out)
    sent = client_doc["server_output_json"]
    assert {"start", "intervals", "end"} <= set(sent), sorted(sent)
    # The document the server sent is the one it printed: the same bytes received.
    assert _received(sent) == _received(server_doc) > 0
    assert _received(sent) == _received(client_doc)
    assert "server_output_text" not in client_doc


@pytest.mark.parametrize(("server", "client"), ROLES, ids=IDS)
def test_a_text_server_sends_its_lines(server: str, client: str) -> None:
    require_tool("iperf3")
    done, out = _run(server, client, server_json=False, client_args=["-R"])
    client_doc = json.loads(done.stdout)
    text = client_doc["server_output_text"]
    assert text.startswith("Accepted connection from 127.0.0.1, port "), text
    # -R: the server sends, so its lines have iperf3's sender columns and a sender summary.
    assert "connected to" in text and "Retr" in text and "sender" in text, text
    # The same summary the server printed itself.
    assert text.rstrip().splitlines()[-1].strip() in out, (text, out)
    assert "server_output_json" not in client_doc


@pytest.mark.parametrize("server", ["iperf3", "wirekit"])
def test_wirekit_prints_the_servers_lines_after_its_own(server: str) -> None:
    require_tool("iperf3")
    done, _ = _run(server, "wirekit", server_json=False, client_args=[], client_json=False)
    own, _, theirs = done.stdout.partition("\nServer output:\n")
    assert "receiver" in own and theirs, done.stdout
    assert "connected to" in theirs and "receiver" in theirs, theirs


def test_without_the_option_no_server_output_is_sent() -> None:
    port = free_port()
    process = start_server("wirekit", port)
    done, _, _ = serve_one(process, client_command("wirekit", port, ["-t", "0.5"]))
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert "server_output_json" not in document and "server_output_text" not in document


def test_a_test_shorter_than_an_interval_still_gets_the_dashed_line() -> None:
    """Several streams end every interval block with the dashed line, so the summary leaves it
    out; with no interval printed (a test shorter than -i) it must print it itself, on both
    sides (the server's text comes back with --get-server-output)."""
    port = free_port()
    server = start_server("wirekit", port, json_output=False)
    client = [*WIREKIT, "client", "127.0.0.1", "-p", str(port), "-P", "2", "-n", "1M",
              "-i", "10", "--get-server-output"]
    done, _, _ = serve_one(server, client)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("[ ID] Interval")]
    assert len(headers) == 4  # interval and summary headers, the client's then the server's
    assert lines[headers[1] - 1] == "- - - - - - - - - - - - - - - - - - - - - - - - -"
    assert lines[headers[3] - 1] == "- - - - - - - - - - - - - - - - - - - - - - - - -"
