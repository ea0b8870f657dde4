"""How the server handles a test's data streams, driven by a hand-written client.

- It numbers them in the order the client opened them.  The server reads each new
  connection's cookie in its own thread, so a stream whose cookie comes late must still be the
  stream the client opened first: with ``--bidir`` the order decides which way data flows
  (iperf3's client sends on its first streams and receives on the rest), and a swap deadlocks
  both directions (found as a flaky ``test_interop[bidir-iperf3-client]``).
- It ends them with EOF as soon as TEST_END arrives, before EXCHANGE_RESULTS, as iperf3's server
  closes them: an iperf3 client that receives keeps reading whole blocks after TEST_END and
  answers EXCHANGE_RESULTS only once a read ends (found as ``test_interop[reverse-iperf3-
  client]`` timing out "waiting for the client's results").
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator

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


@pytest.fixture
def server_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen([*WIREKIT, "server", "-p", str(port), "--json-stream"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_listening(port, server)
    try:
        yield port
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)
    assert server.returncode == 0


def _open_test(control: socket.socket, machine: ClientControl, params: TestParams) -> None:
    """Cookie, parameters, up to CREATE_STREAMS."""
    control.sendall(machine.hello())
    _expect(control, machine, State.PARAM_EXCHANGE)
    control.sendall(machine.send_params(params.with_defaults().to_json()))
    _expect(control, machine, State.CREATE_STREAMS)


def test_late_cookie_keeps_its_place(server_port: int) -> None:
    address = ("127.0.0.1", server_port)
    machine = ClientControl()
    with socket.create_connection(address) as control:
        _open_test(control, machine, TestParams(duration=2, bidirectional=True))
        sending = socket.create_connection(address)     # opened first: we send on it
        receiving = socket.create_connection(address)   # opened second: we receive on it
        try:
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
        finally:
            sending.close()
            receiving.close()


def test_streams_end_at_test_end(server_port: int) -> None:
    address = ("127.0.0.1", server_port)
    machine = ClientControl()
    with socket.create_connection(address) as control:
        _open_test(control, machine, TestParams(duration=5, reverse=True))
        with socket.create_connection(address) as stream:
            stream.sendall(machine.cookie)
            _expect(control, machine, State.TEST_START, State.TEST_RUNNING)
            stream.settimeout(5)
            assert stream.recv(65536)
            control.sendall(machine.end_test())
            # Read (as iperf3's client does after TEST_END) without answering anything: the
            # stream must reach EOF by itself, and EXCHANGE_RESULTS follow.
            deadline = time.monotonic() + 5
            while stream.recv(1 << 20):
                assert time.monotonic() < deadline, "the server kept sending after TEST_END"
            _expect(control, machine, State.EXCHANGE_RESULTS)
            control.sendall(machine.terminate())
