"""The server numbers a test's streams in the order the client opened them.

The server reads each new connection's cookie in its own thread, so a stream whose cookie
comes late must still be the stream the client opened first: with ``--bidir`` the order decides
which way data flows (iperf3's client sends on its first streams and receives on the rest),
and a swap deadlocks both directions (found as a flaky ``test_interop[bidir-iperf3-client]``).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest

from tests.integration.bench.bench_support import WIREKIT, free_port, wait_listening
from wirekit.bench.params import TestParams
from wirekit.bench.protocol import ClientControl, State, StateReceived


def _expect(control: socket.socket, machine: ClientControl, *states: State) -> None:
    """Read until each of ``states`` arrived, in order."""
    wanted = list(states)
    control.settimeout(10)
    while wanted:
        for event in machine.receive_data(control.recv(4096)):
            assert event == StateReceived(wanted.pop(0)), event


def test_late_cookie_keeps_its_place() -> None:
    port = free_port()
    server = subprocess.Popen([*WIREKIT, "server", "-p", str(port), "--json-stream"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_listening(port, server)
    address = ("127.0.0.1", port)
    try:
        machine = ClientControl()
        with socket.create_connection(address) as control:
            control.sendall(machine.hello())
            _expect(control, machine, State.PARAM_EXCHANGE)
            params = TestParams(duration=2, bidirectional=True).with_defaults()
            control.sendall(machine.send_params(params.to_json()))
            _expect(control, machine, State.CREATE_STREAMS)
            sending = socket.create_connection(address)     # opened first: we send on it
            receiving = socket.create_connection(address)   # opened second: we receive on it
            receiving.sendall(machine.cookie)
            time.sleep(0.3)  # the server has routed the second stream before the first
            sending.sendall(machine.cookie)
            _expect(control, machine, State.TEST_START, State.TEST_RUNNING)
            receiving.settimeout(5)
            assert receiving.recv(65536), "no data on the stream opened second"
            sending.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sending.recv(1)  # the server must not send on the stream we send on
            control.sendall(machine.terminate())
            sending.close()
            receiving.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)
    assert server.returncode == 0
