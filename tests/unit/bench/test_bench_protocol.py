"""The sans-I/O control machines: whole, byte by byte, trailing bytes, every bad transition."""

from __future__ import annotations

import contextlib
import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.bench.protocol import (
    CLIENT_TABLE,
    COOKIE_ALPHABET,
    COOKIE_SIZE,
    MAX_JSON_LENGTH,
    ClientControl,
    CookieReceived,
    Event,
    JsonReceived,
    ServerControl,
    ServerErrorReceived,
    State,
    StateReceived,
    encode_json,
    encode_state,
    make_cookie,
)
from wirekit.errors import LocalProtocolError, RemoteProtocolError

# Captured from iperf3 3.12 on loopback (tcpdump): the parameters of `iperf3 -c ... -t 1`.
IPERF3_PARAMS = (b'{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,'
                 b'"len":131072,"pacing_timer":1000,"client_version":"3.12"}')


def feed(machine: ClientControl | ServerControl, data: bytes, byte_by_byte: bool) -> list[Event]:
    if not byte_by_byte:
        return machine.receive_data(data)
    events: list[Event] = []
    for index in range(len(data)):
        events += machine.receive_data(data[index:index + 1])
    return events


def test_cookie_shape() -> None:
    cookie = make_cookie()
    assert len(cookie) == COOKIE_SIZE == 37
    assert cookie.endswith(b"\0")
    assert set(cookie[:-1].decode()) <= set(COOKIE_ALPHABET)
    assert make_cookie() != cookie


def test_state_values_are_iperf3s() -> None:
    assert {s.name: s.value for s in State} == {
        "TEST_START": 1, "TEST_RUNNING": 2, "TEST_END": 4, "PARAM_EXCHANGE": 9,
        "CREATE_STREAMS": 10, "SERVER_TERMINATE": 11, "CLIENT_TERMINATE": 12,
        "EXCHANGE_RESULTS": 13, "DISPLAY_RESULTS": 14, "IPERF_START": 15, "IPERF_DONE": 16,
        "ACCESS_DENIED": -1, "SERVER_ERROR": -2}
    assert encode_state(State.ACCESS_DENIED) == b"\xff"
    assert encode_state(State.SERVER_ERROR) == b"\xfe"


def test_json_framing_matches_iperf3() -> None:
    framed = encode_json(json.loads(IPERF3_PARAMS))
    assert framed[:4] == struct.pack(">I", len(IPERF3_PARAMS))
    assert framed[4:] == IPERF3_PARAMS


@pytest.mark.parametrize("byte_by_byte", [False, True])
def test_whole_conversation(byte_by_byte: bool) -> None:
    client, server = ClientControl(), ServerControl()
    events = feed(server, client.hello(), byte_by_byte)
    assert events == [CookieReceived(client.cookie)]
    assert feed(client, server.request_params(), byte_by_byte) == [
        StateReceived(State.PARAM_EXCHANGE)]
    params = {"tcp": True, "time": 1}
    assert feed(server, client.send_params(params), byte_by_byte) == [
        JsonReceived("params", params)]
    wire = server.create_streams() + server.start_test() + server.run_test()
    assert [e.state for e in feed(client, wire, byte_by_byte)  # type: ignore[union-attr]
            ] == [State.CREATE_STREAMS, State.TEST_START, State.TEST_RUNNING]
    assert feed(server, client.end_test(), byte_by_byte) == [StateReceived(State.TEST_END)]
    assert feed(client, server.exchange_results(), byte_by_byte) == [
        StateReceived(State.EXCHANGE_RESULTS)]
    results = {"cpu_util_total": 1.0, "streams": []}
    assert feed(server, client.send_results(results), byte_by_byte) == [
        JsonReceived("results", results)]
    wire = server.send_results(results) + server.display_results()
    assert feed(client, wire, byte_by_byte) == [
        JsonReceived("results", results), StateReceived(State.DISPLAY_RESULTS)]
    assert feed(server, client.done(), byte_by_byte) == [StateReceived(State.IPERF_DONE)]
    assert client.closed and server.closed


def test_trailing_bytes_after_the_end_are_an_error() -> None:
    server = ServerControl()
    server.receive_data(make_cookie())
    server.request_params()
    server.receive_data(encode_json({"tcp": True}))
    server.create_streams()
    server.start_test()
    server.run_test()
    with pytest.raises(RemoteProtocolError):
        server.receive_data(encode_state(State.IPERF_DONE) + b"junk")


def test_server_error_carries_both_codes_even_split() -> None:
    client = ClientControl()
    wire = ServerControl().error(114, 32)
    assert wire == b"\xfe" + struct.pack(">ii", 114, 32)
    events = feed(client, wire, byte_by_byte=True)
    assert events == [ServerErrorReceived(114, 32)]


def test_access_denied_closes() -> None:
    client = ClientControl()
    assert client.receive_data(b"\xff") == [StateReceived(State.ACCESS_DENIED)]
    assert client.closed


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("after", list(CLIENT_TABLE))
def test_every_client_transition(state: State, after: State | None) -> None:
    client = ClientControl()
    client.last_state = after
    wire = encode_state(state) + (b"\0" * 8 if state is State.SERVER_ERROR else b"")
    if state in CLIENT_TABLE[after]:
        assert len(client.receive_data(wire)) == 1
    else:
        with pytest.raises(RemoteProtocolError):
            client.receive_data(wire)


def test_unknown_state_and_eof() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown control state 7"):
        ClientControl().receive_data(b"\x07")
    with pytest.raises(RemoteProtocolError, match="closed by peer"):
        ClientControl().receive_data(b"")


def test_oversized_and_malformed_json() -> None:
    server = ServerControl()
    server.receive_data(make_cookie())
    server.request_params()
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        server.receive_data(struct.pack(">I", MAX_JSON_LENGTH + 1))
    other = ServerControl()
    other.receive_data(make_cookie())
    other.request_params()
    with pytest.raises(RemoteProtocolError, match="expected a JSON object"):
        other.receive_data(struct.pack(">I", 2) + b"[]")


def test_out_of_turn_sends_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        ClientControl().end_test()
    with pytest.raises(LocalProtocolError):
        ServerControl().create_streams()
    with pytest.raises(LocalProtocolError):
        ClientControl(cookie=b"short")


@given(st.binary(max_size=200))
def test_fuzz_server_never_crashes(data: bytes) -> None:
    server = ServerControl()
    with contextlib.suppress(RemoteProtocolError):
        server.receive_data(data)


@given(st.binary(max_size=50))
def test_fuzz_client_never_crashes(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        ClientControl().receive_data(data)
