"""Put a Connection into any (role, state) and apply any input: for the state-table tests."""

from __future__ import annotations

from collections.abc import Callable

from wirekit.proto.codes import ErrorCode
from wirekit.proto.connection import Connection
from wirekit.proto.events import (
    Accept,
    Acknowledge,
    Data,
    ErrorMessage,
    Event,
    Goodbye,
    Heartbeat,
    Hello,
)
from wirekit.proto.frame import MessageType, encode_frame
from wirekit.proto.hello import Acceptance, Offer
from wirekit.proto.state import Input, Role, State

SESSION = bytes(range(16))


def new(role: Role, version: int = 1) -> Connection:
    return Connection(role, idle_timeout=10.0, heartbeat=1.0 if role is Role.CLIENT else None)


def frame(conn: Connection, mtype: int, seq: int = 1, payload: bytes = b"",
          flags: int = 0) -> bytes:
    return encode_frame(conn.version, mtype, seq, payload, flags=flags)


def drive(role: Role, state: State, version: int = 1) -> Connection:
    """A connection in ``state``, reached through the protocol itself."""
    conn = new(role)
    v2 = version == 2
    if state is State.IDLE:
        return conn
    if role is Role.SERVER:
        hello = Hello(Offer(), b"") if v2 else Hello(None, b"Hello from client!")
        client = Connection(Role.CLIENT)
        conn.receive_data(client.send(hello))
        if state is State.NEGOTIATING:
            return conn
        conn.send(Accept(Acceptance(max_payload=1024, session_id=SESSION) if v2 else None))
        if state is State.GOODBYE_SENT:
            conn.send(Goodbye())
        elif state is State.PEER_CLOSING:
            conn.receive_data(frame(conn, MessageType.GOODBYE))
        elif state is State.CLOSED:
            conn.receive_data(b"")
        return conn
    conn.send(Hello(Offer(), b"") if v2 else Hello(None, b"hi"))
    if state is State.NEGOTIATING:
        return conn
    accept = Acceptance(max_payload=1024, session_id=SESSION).encode() if v2 else b""
    conn.receive_data(encode_frame(1, MessageType.ACK, 1, accept, flags=1 if v2 else 0))
    if state is State.GOODBYE_SENT:
        conn.send(Goodbye())
    elif state is State.PEER_CLOSING:
        conn.receive_data(frame(conn, MessageType.GOODBYE))
    elif state is State.CLOSED:
        conn.receive_data(b"")
    return conn


def apply(conn: Connection, event: Input) -> object:
    """Apply one input; returns the events (receive) or bytes (send)."""
    seq = conn.delivered + 1
    receives: dict[Input, Callable[[], bytes]] = {
        Input.RECV_HELLO: lambda: frame(conn, MessageType.HELLO, 1, b"hello"),
        Input.RECV_ACK: lambda: frame(conn, MessageType.ACK, 0),
        Input.RECV_DATA: lambda: frame(conn, MessageType.DATA, seq, b"data"),
        Input.RECV_HEARTBEAT: lambda: frame(conn, MessageType.HEARTBEAT),
        Input.RECV_GOODBYE: lambda: frame(conn, MessageType.GOODBYE),
        Input.RECV_UNKNOWN: lambda: frame(conn, 9),
        Input.RECV_NOTICE: lambda: frame(conn, MessageType.ERROR, 1, b"Unknown message type",
                                         flags=1),
        Input.RECV_ERROR: lambda: frame(conn, MessageType.ERROR, 1, b"idle timeout",
                                        flags=int(ErrorCode.IDLE_TIMEOUT)),
        Input.RECV_INVALID: lambda: frame(conn, MessageType.DATA, seq, b"x")[:-1] + b"y",
        Input.RECV_EOF: lambda: b"",
    }
    if event in receives:
        return conn.receive_data(receives[event](), 0.0)
    if event is Input.TIMEOUT:
        conn.handle_timer(1e9)
        return None
    sends: dict[Input, Callable[[], Event]] = {
        Input.SEND_HELLO: lambda: Hello(None, b"hi"),
        Input.SEND_ACCEPT: lambda: Accept(None),
        Input.SEND_DATA: lambda: Data(b"payload"),
        Input.SEND_ACK: Acknowledge,
        Input.SEND_HEARTBEAT: Heartbeat,
        Input.SEND_GOODBYE: Goodbye,
        Input.SEND_ERROR: lambda: ErrorMessage(int(ErrorCode.INTERNAL), "internal error"),
    }
    return conn.send(sends[event]())


#: Inputs a role cannot produce from the wire: the frame is classified as something else.
UNPRODUCIBLE = {(Role.SERVER, Input.RECV_ACK): Input.RECV_UNKNOWN,
                (Role.CLIENT, Input.RECV_HELLO): Input.RECV_UNKNOWN}
