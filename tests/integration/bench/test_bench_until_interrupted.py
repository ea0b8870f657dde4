"""``-t 0``: a test that runs until the client is interrupted (iperf3's meaning, which its
client also sends for a fractional ``-t 0.5``), with iperf3 in either role; and ``-J`` output
when the client cannot even connect.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

from tests.integration.bench.bench_support import (
    WIREKIT,
    client_command,
    free_port,
    start_server,
)
from tests.support.env import require_tool

#: Seconds the open-ended test runs before the client gets SIGINT.
RUN_FOR = 1.5


def _interrupted_client(command: list[str]) -> tuple[int, str, str]:
    """Start *command*, SIGINT it after RUN_FOR seconds, and return its exit code and output."""
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        time.sleep(RUN_FOR)
        client.send_signal(signal.SIGINT)
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.communicate()
    return client.returncode, out, err


def _finish(server: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_an_iperf3_client_with_t0_runs_until_interrupted() -> None:
    require_tool("iperf3")
    port = free_port()
    server = start_server("wirekit", port, json_output=False)
    code, _, err = _interrupted_client(
        ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "0", "-b", "50M"])
    out, server_err = _finish(server)
    assert "refused parameters" not in out + server_err, out + server_err
    # As iperf3's server: the summary of what arrived, then why the test ended.
    assert "receiver" in out and "the client has terminated" in out, out
    assert " sender" not in out, out  # no peer results: only our own side, as iperf3 prints
    assert server.returncode == 0, (out, server_err)
    assert "terminated" in err or code == 0, (code, err)


def test_a_wirekit_client_with_t0_ends_cleanly_on_sigint() -> None:
    require_tool("iperf3")
    for kind in ("iperf3", "wirekit"):
        port = free_port()
        server = start_server(kind, port)
        code, out, err = _interrupted_client(client_command("wirekit", port,
                                                            ["-t", "0", "-b", "50M"]))
        _finish(server)
        assert code == 0, (kind, err)
        document = json.loads(out)
        assert document["start"]["test_start"]["duration"] == 0
        received = document["end"]["sum_received"]
        # 50 Mbit/s for about RUN_FOR seconds: well over a megabyte, in a test that had no end.
        assert received["bytes"] > 1_000_000 and received["seconds"] > RUN_FOR / 2, received


def test_json_output_names_the_error_when_the_server_is_not_there() -> None:
    port = free_port()
    done = subprocess.run([*WIREKIT, "client", "127.0.0.1", "-p", str(port), "-J"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
    document = json.loads(done.stdout)  # iperf3 -J prints a document with "error" as well
    assert "cannot connect" in document["error"] and document["end"] == {}
