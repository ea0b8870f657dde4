"""iperf3's control protocol as sans-I/O state machines.

The control connection carries a 37-byte cookie (client to server), one-byte states (a signed
char; see iperf3's ``src/iperf_api.h``), and JSON documents framed by a 4-byte big-endian length
(``JSON_write``/``JSON_read`` in ``src/iperf_api.c``).  :class:`ClientControl` and
:class:`ServerControl` take the bytes the peer sent and return events; the methods that make the
next move return the bytes to send.  Neither touches a socket or reads a clock.

One transition table per role (:data:`CLIENT_TABLE`, :data:`SERVER_TABLE`) says which state byte
may arrive in which phase; anything else is a :class:`~wirekit.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import enum
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from wirekit.errors import LocalProtocolError, RemoteProtocolError

#: Cookie length on the wire: 36 characters and the terminating NUL (iperf3's COOKIE_SIZE).
COOKIE_SIZE = 37
#: iperf3's make_cookie draws from this 32-character alphabet.
COOKIE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
#: Largest JSON document we buffer.  iperf3 sets no limit; results with --get-server-output carry
#: the server's whole text output, so a few MiB are legitimate; 16 MiB bounds a hostile peer.
MAX_JSON_LENGTH = 16 * 1024 * 1024
#: What a UDP stream sends on connect (iperf3's UDP_CONNECT_MSG 0x36373839 written in host byte
#: order on a little-endian machine: the bytes "9876") and the server's reply ("6789").
UDP_CONNECT_MSG = b"9876"
UDP_CONNECT_REPLY = b"6789"
#: Legacy values (123456789 / 987654321 as little-endian ints) that iperf3 still accepts.
UDP_CONNECT_MSG_LEGACY = struct.pack("<i", 123456789)
UDP_CONNECT_REPLY_LEGACY = struct.pack("<i", 987654321)

_LENGTH = struct.Struct(">I")
_SERVER_ERROR = struct.Struct(">ii")


class State(enum.IntEnum):
    """The one-byte control states of iperf3 (``src/iperf_api.h``)."""

    TEST_START = 1
    TEST_RUNNING = 2
    TEST_END = 4
    PARAM_EXCHANGE = 9
    CREATE_STREAMS = 10
    SERVER_TERMINATE = 11
    CLIENT_TERMINATE = 12
    EXCHANGE_RESULTS = 13
    DISPLAY_RESULTS = 14
    IPERF_START = 15
    IPERF_DONE = 16
    ACCESS_DENIED = -1
    SERVER_ERROR = -2


def make_cookie() -> bytes:
    """A fresh 37-byte cookie: 36 random characters of iperf3's alphabet and a NUL."""
    text = "".join(secrets.choice(COOKIE_ALPHABET) for _ in range(COOKIE_SIZE - 1))
    return text.encode() + b"\0"


def encode_state(state: State) -> bytes:
    """One signed byte."""
    return struct.pack("b", int(state))


def encode_json(document: dict[str, Any]) -> bytes:
    """A JSON object framed by its 4-byte big-endian length (compact, as cJSON prints)."""
    body = json.dumps(document, separators=(",", ":")).encode()
    if len(body) > MAX_JSON_LENGTH:
        raise LocalProtocolError(f"JSON document of {len(body)} bytes exceeds {MAX_JSON_LENGTH}")
    return _LENGTH.pack(len(body)) + body


def encode_server_error(error: int, errno_value: int) -> bytes:
    """SERVER_ERROR followed by iperf3's error code and errno, both 32-bit big-endian."""
    return encode_state(State.SERVER_ERROR) + _SERVER_ERROR.pack(error, errno_value)


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CookieReceived:
    """The client's cookie arrived (server side); ``cookie`` is all 37 bytes."""

    cookie: bytes


@dataclass(frozen=True, slots=True)
class StateReceived:
    """A state byte arrived that needs no payload."""

    state: State


@dataclass(frozen=True, slots=True)
class JsonReceived:
    """A length-framed JSON object arrived: parameters or results, per ``what``."""

    what: str
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServerErrorReceived:
    """SERVER_ERROR with iperf3's error number (``i_errno``) and the server's errno."""

    error: int
    errno: int


Event = CookieReceived | StateReceived | JsonReceived | ServerErrorReceived


class Phase(enum.Enum):
    """Where a control machine is; it decides what the next incoming bytes may be."""

    COOKIE = "cookie"            # server: waiting for the 37-byte cookie
    STATE = "state"              # waiting for a state byte
    PARAMS = "params"            # server: waiting for the parameters JSON
    RESULTS = "results"          # waiting for the peer's results JSON
    CLOSED = "closed"


#: Client: which state bytes may arrive after which last-seen state (None: before any).
CLIENT_TABLE: dict[State | None, frozenset[State]] = {
    None: frozenset({State.PARAM_EXCHANGE, State.ACCESS_DENIED, State.SERVER_ERROR}),
    State.PARAM_EXCHANGE: frozenset({State.CREATE_STREAMS, State.SERVER_ERROR,
                                     State.ACCESS_DENIED}),
    State.CREATE_STREAMS: frozenset({State.TEST_START, State.SERVER_ERROR,
                                     State.SERVER_TERMINATE}),
    State.TEST_START: frozenset({State.TEST_RUNNING, State.SERVER_ERROR,
                                 State.SERVER_TERMINATE}),
    State.TEST_RUNNING: frozenset({State.EXCHANGE_RESULTS, State.SERVER_ERROR,
                                   State.SERVER_TERMINATE}),
    State.EXCHANGE_RESULTS: frozenset({State.DISPLAY_RESULTS, State.SERVER_ERROR,
                                       State.SERVER_TERMINATE}),
    State.DISPLAY_RESULTS: frozenset({State.IPERF_DONE}),
}

#: Server: which state bytes the client may send after which state the server last sent.
SERVER_TABLE: dict[State | None, frozenset[State]] = {
    None: frozenset(),
    State.PARAM_EXCHANGE: frozenset({State.CLIENT_TERMINATE}),
    State.CREATE_STREAMS: frozenset({State.CLIENT_TERMINATE}),
    State.TEST_START: frozenset({State.TEST_END, State.CLIENT_TERMINATE}),
    State.TEST_RUNNING: frozenset({State.TEST_END, State.CLIENT_TERMINATE, State.IPERF_DONE}),
    State.EXCHANGE_RESULTS: frozenset({State.CLIENT_TERMINATE}),
    State.DISPLAY_RESULTS: frozenset({State.IPERF_DONE, State.CLIENT_TERMINATE}),
}


class _ControlBase:
    """Buffering and the three kinds of incoming unit: cookie, state byte, framed JSON."""

    def __init__(self, phase: Phase) -> None:
        self._buffer = bytearray()
        self.phase = phase
        self.last_state: State | None = None
        self._eof = False

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer (``b""`` means EOF) and return the complete events."""
        if not data:
            self._eof = True
            if self.phase is not Phase.CLOSED:
                raise RemoteProtocolError(f"control connection closed by peer "
                                          f"(waiting for {self.phase.value})")
            return []
        if self.phase is Phase.CLOSED:
            raise RemoteProtocolError("data after the end of the control conversation")
        self._buffer += data
        events: list[Event] = []
        while self._buffer and not self.closed:
            event = self._next_event()
            if event is None:
                break
            events.append(event)
        if self._buffer and self.closed:
            raise RemoteProtocolError("data after the end of the control conversation")
        return events

    def _next_event(self) -> Event | None:
        raise NotImplementedError

    def _take_state(self, table: dict[State | None, frozenset[State]]) -> State:
        raw = struct.unpack_from("b", self._buffer)[0]
        del self._buffer[:1]
        try:
            state = State(raw)
        except ValueError:
            raise RemoteProtocolError(f"unknown control state {raw}", code=raw) from None
        allowed = table.get(self.last_state, frozenset())
        if state not in allowed:
            after = self.last_state.name if self.last_state is not None else "the start"
            raise RemoteProtocolError(f"unexpected state {state.name} after {after}",
                                      code=int(state))
        return state

    def _take_json(self) -> dict[str, Any] | None:
        """A whole framed JSON object, or None when more bytes are needed.

        The length is checked before the body is buffered (named limit: MAX_JSON_LENGTH).
        """
        if len(self._buffer) < _LENGTH.size:
            return None
        (length,) = _LENGTH.unpack_from(self._buffer)
        if length > MAX_JSON_LENGTH:
            raise RemoteProtocolError(f"JSON length {length} exceeds {MAX_JSON_LENGTH}")
        if len(self._buffer) < _LENGTH.size + length:
            return None
        body = bytes(self._buffer[_LENGTH.size:_LENGTH.size + length])
        del self._buffer[:_LENGTH.size + length]
        return _parse_object(body)

    def _require(self, phase: Phase, action: str) -> None:
        if self.phase is not phase:
            raise LocalProtocolError(f"cannot {action} while waiting for {self.phase.value}")


def _parse_object(body: bytes) -> dict[str, Any]:
    """Integrity (UTF-8, JSON) then sanity (an object): each failure is the peer's."""
    try:
        document = json.loads(body.rstrip(b"\0"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RemoteProtocolError(f"malformed JSON from peer: {exc}") from exc
    if not isinstance(document, dict):
        raise RemoteProtocolError(f"expected a JSON object, got {type(document).__name__}")
    return document


class ClientControl(_ControlBase):
    """The client's side of the control connection.

    ``hello()`` gives the cookie to send first.  Each incoming state becomes a
    :class:`StateReceived`; after EXCHANGE_RESULTS the client must call :meth:`send_results`,
    after which the server's results arrive as ``JsonReceived("results", ...)``.
    """

    def __init__(self, cookie: bytes | None = None) -> None:
        super().__init__(Phase.STATE)
        self.cookie = cookie or make_cookie()
        if len(self.cookie) != COOKIE_SIZE:
            raise LocalProtocolError(f"a cookie has {COOKIE_SIZE} bytes, not {len(self.cookie)}")
        self._results_sent = False

    def hello(self) -> bytes:
        return self.cookie

    def _next_event(self) -> Event | None:
        if self.phase is Phase.RESULTS:
            document = self._take_json()
            if document is None:
                return None
            self.phase = Phase.STATE
            return JsonReceived("results", document)
        if self._buffer[0] == 0xFE:  # SERVER_ERROR (-2): wait for its two 32-bit codes too
            if len(self._buffer) < 1 + _SERVER_ERROR.size:
                return None
            self._take_state(CLIENT_TABLE)
            error, errno_value = _SERVER_ERROR.unpack_from(self._buffer)
            del self._buffer[:_SERVER_ERROR.size]
            self.phase = Phase.CLOSED
            return ServerErrorReceived(error, errno_value)
        state = self._take_state(CLIENT_TABLE)
        self.last_state = state
        if state in (State.ACCESS_DENIED, State.SERVER_TERMINATE):
            self.phase = Phase.CLOSED
        return StateReceived(state)

    def send_params(self, params: dict[str, Any]) -> bytes:
        """The parameters JSON, allowed right after PARAM_EXCHANGE."""
        if self.last_state is not State.PARAM_EXCHANGE:
            raise LocalProtocolError("parameters go right after PARAM_EXCHANGE")
        return encode_json(params)

    def end_test(self) -> bytes:
        """TEST_END: the client's time or byte budget is used up."""
        if self.last_state not in (State.TEST_START, State.TEST_RUNNING):
            raise LocalProtocolError("TEST_END only while the test runs")
        return encode_state(State.TEST_END)

    def send_results(self, results: dict[str, Any]) -> bytes:
        """Our results JSON; the server's results are the next thing to arrive."""
        if self.last_state is not State.EXCHANGE_RESULTS or self._results_sent:
            raise LocalProtocolError("results go once, right after EXCHANGE_RESULTS")
        self._results_sent = True
        self.phase = Phase.RESULTS
        return encode_json(results)

    def done(self) -> bytes:
        """IPERF_DONE after DISPLAY_RESULTS; the conversation is over."""
        if self.last_state is not State.DISPLAY_RESULTS:
            raise LocalProtocolError("IPERF_DONE only after DISPLAY_RESULTS")
        self.phase = Phase.CLOSED
        return encode_state(State.IPERF_DONE)

    def terminate(self) -> bytes:
        """CLIENT_TERMINATE: we were interrupted (SIGINT/SIGTERM)."""
        self.phase = Phase.CLOSED
        return encode_state(State.CLIENT_TERMINATE)


class ServerControl(_ControlBase):
    """The server's side of one control connection, from the cookie to IPERF_DONE."""

    def __init__(self) -> None:
        super().__init__(Phase.COOKIE)
        self.cookie: bytes | None = None

    def _next_event(self) -> Event | None:
        if self.phase is Phase.COOKIE:
            if len(self._buffer) < COOKIE_SIZE:
                return None
            self.cookie = bytes(self._buffer[:COOKIE_SIZE])
            del self._buffer[:COOKIE_SIZE]
            self.phase = Phase.STATE
            return CookieReceived(self.cookie)
        if self.phase in (Phase.PARAMS, Phase.RESULTS):
            document = self._take_json()
            if document is None:
                return None
            what = "params" if self.phase is Phase.PARAMS else "results"
            self.phase = Phase.STATE
            return JsonReceived(what, document)
        state = self._take_state(SERVER_TABLE)
        if state in (State.IPERF_DONE, State.CLIENT_TERMINATE):
            self.phase = Phase.CLOSED
        return StateReceived(state)

    def _send(self, state: State, expected: tuple[State | None, ...]) -> bytes:
        if self.phase is Phase.COOKIE or self.last_state not in expected:
            after = self.last_state.name if self.last_state is not None else "the cookie"
            raise LocalProtocolError(f"cannot send {state.name} after {after}")
        self.last_state = state
        return encode_state(state)

    def request_params(self) -> bytes:
        data = self._send(State.PARAM_EXCHANGE, (None,))
        self.phase = Phase.PARAMS
        return data

    def create_streams(self) -> bytes:
        self._require(Phase.STATE, "ask for streams")
        return self._send(State.CREATE_STREAMS, (State.PARAM_EXCHANGE,))

    def start_test(self) -> bytes:
        return self._send(State.TEST_START, (State.CREATE_STREAMS,))

    def run_test(self) -> bytes:
        return self._send(State.TEST_RUNNING, (State.TEST_START,))

    def exchange_results(self) -> bytes:
        """EXCHANGE_RESULTS; the client's results JSON arrives next."""
        data = self._send(State.EXCHANGE_RESULTS, (State.TEST_RUNNING, State.TEST_START))
        self.phase = Phase.RESULTS
        return data

    def send_results(self, results: dict[str, Any]) -> bytes:
        """Our results JSON, after the client's arrived."""
        if self.last_state is not State.EXCHANGE_RESULTS or self.phase is not Phase.STATE:
            raise LocalProtocolError("server results go after the client's results")
        return encode_json(results)

    def display_results(self) -> bytes:
        return self._send(State.DISPLAY_RESULTS, (State.EXCHANGE_RESULTS,))

    def deny(self) -> bytes:
        """ACCESS_DENIED: busy; the connection is closed after this byte."""
        self.phase = Phase.CLOSED
        return encode_state(State.ACCESS_DENIED)

    def error(self, error: int, errno_value: int = 0) -> bytes:
        """SERVER_ERROR with iperf3's error number; the connection closes after it."""
        self.phase = Phase.CLOSED
        return encode_server_error(error, errno_value)

    def terminate(self) -> bytes:
        """SERVER_TERMINATE: the server is shutting down mid-test."""
        self.phase = Phase.CLOSED
        return encode_state(State.SERVER_TERMINATE)
