"""Every (role, state, input) of the transition table, exhaustively, and random walks."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.proto.drive import UNPRODUCIBLE, apply, drive
from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.codes import ErrorCode
from wirekit.proto.state import TRANSITIONS, Input, Role, State

PAIRS = list(itertools.product(Role, State, Input))


def _is_held(role: Role, state: State, event: Input) -> bool:
    """A server does not parse frames while NEGOTIATING or after the peer's GOODBYE."""
    return (role is Role.SERVER and state in (State.NEGOTIATING, State.PEER_CLOSING)
            and event.value.startswith("RECV_") and event is not Input.RECV_EOF)


def check(role: Role, state: State, event: Input, version: int) -> None:
    conn = drive(role, state, version)
    assert conn.state is state
    event = UNPRODUCIBLE.get((role, event), event)
    target = TRANSITIONS.get((role, state, event))
    if state is State.CLOSED:
        if event is Input.TIMEOUT:
            apply(conn, event)  # no timer is armed on a closed connection
        else:
            with pytest.raises(LocalProtocolError):
                apply(conn, event)
        assert conn.state is State.CLOSED
        return
    if _is_held(role, state, event):
        assert apply(conn, event) == []
        assert conn.state is state
        return
    if target is None and event.local:
        with pytest.raises(LocalProtocolError):
            apply(conn, event)
        assert conn.state is state
        return
    if target is None and event is Input.TIMEOUT:
        apply(conn, event)  # no timer armed in this state (client IDLE)
        assert conn.state is state
        return
    if target is None:
        with pytest.raises(RemoteProtocolError) as caught:
            apply(conn, event)
        expected = (ErrorCode.HELLO_REQUIRED if role is Role.SERVER and state is State.IDLE
                    else ErrorCode.UNEXPECTED)
        assert caught.value.code == expected
        assert conn.state is State.CLOSED
        out = conn.data_to_send()
        assert out[1] == 4 and struct.unpack_from(">H", out, 2)[0] == expected  # ERROR queued
        return
    if event in (Input.RECV_INVALID, Input.TIMEOUT):
        with pytest.raises(RemoteProtocolError):
            apply(conn, event)
        assert conn.data_to_send()[1] == 4  # the ERROR went into the queue before the raise
    else:
        apply(conn, event)
    assert conn.state is target, (role, state, event)


@pytest.mark.parametrize(("role", "state", "event"), PAIRS,
                         ids=[f"{r.value}-{s.value}-{i.value}" for r, s, i in PAIRS])
@pytest.mark.parametrize("version", [1, 2])
def test_every_pair(role: Role, state: State, event: Input, version: int) -> None:
    check(role, state, event, version)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Role)), st.integers(1, 2),
       st.lists(st.sampled_from(list(Input)), min_size=1, max_size=12))
def test_random_walks_follow_the_table(role: Role, version: int, inputs: list[Input]) -> None:
    conn = drive(role, State.IDLE, version)
    for requested in inputs:
        before = conn.state
        event = UNPRODUCIBLE.get((role, requested), requested)
        target = TRANSITIONS.get((role, before, event))
        try:
            apply(conn, event)
        except LocalProtocolError:
            assert before is State.CLOSED or target is None
            assert conn.state is before
            continue
        except RemoteProtocolError:
            assert conn.state is State.CLOSED
            return
        if _is_held(role, before, event):
            assert conn.state is before
            return  # the held frame is parsed later, together with the next input's
        if event is Input.TIMEOUT and target is None:
            assert conn.state is before
        else:
            assert conn.state is target, (before, event)
