"""The connection state machine: one table of ``(role, state, input) -> state``.

This is docs/protocol.md §5, entry for entry (a test compares the two).  A missing entry is a
protocol error: for a ``RECV_`` input the peer's (``RemoteProtocolError``, ERROR queued first),
for a ``SEND_`` input the caller's (``LocalProtocolError``).  In ``CLOSED`` nothing is allowed.
"""

from __future__ import annotations

import enum


class Role(enum.Enum):
    # Members are singletons: identity hashing (in C) keeps table lookups cheap; Enum's own
    # __hash__ is Python code and showed up first in the server's profile.
    __hash__ = object.__hash__

    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    __hash__ = object.__hash__  # see Role

    IDLE = "IDLE"
    NEGOTIATING = "NEGOTIATING"
    OPEN = "OPEN"
    GOODBYE_SENT = "GOODBYE_SENT"
    PEER_CLOSING = "PEER_CLOSING"
    CLOSED = "CLOSED"


class Input(enum.Enum):
    __hash__ = object.__hash__  # see Role

    RECV_HELLO = "RECV_HELLO"
    RECV_ACK = "RECV_ACK"
    RECV_DATA = "RECV_DATA"
    RECV_HEARTBEAT = "RECV_HEARTBEAT"
    RECV_GOODBYE = "RECV_GOODBYE"
    RECV_UNKNOWN = "RECV_UNKNOWN"
    RECV_NOTICE = "RECV_NOTICE"
    RECV_ERROR = "RECV_ERROR"
    RECV_INVALID = "RECV_INVALID"
    RECV_EOF = "RECV_EOF"
    TIMEOUT = "TIMEOUT"
    SEND_HELLO = "SEND_HELLO"
    SEND_ACCEPT = "SEND_ACCEPT"
    SEND_DATA = "SEND_DATA"
    SEND_ACK = "SEND_ACK"
    SEND_HEARTBEAT = "SEND_HEARTBEAT"
    SEND_GOODBYE = "SEND_GOODBYE"
    SEND_ERROR = "SEND_ERROR"

    @property
    def local(self) -> bool:
        """True for inputs the application causes (``send``)."""
        return self.value.startswith("SEND_")


# Short names keep the table below readable as a table.
S, C = Role.SERVER, Role.CLIENT
ID, NG, OP, GS, PC, X = (State.IDLE, State.NEGOTIATING, State.OPEN, State.GOODBYE_SENT,
                         State.PEER_CLOSING, State.CLOSED)
In = Input

# Every state but CLOSED dies the same way on these.
_DEATHS = (In.RECV_ERROR, In.RECV_INVALID, In.RECV_EOF, In.TIMEOUT, In.SEND_ERROR)


def _rows() -> dict[tuple[Role, State, Input], State]:
    table: dict[tuple[Role, State, Input], State] = {}

    def add(role: Role, state: State, *pairs: tuple[Input, State]) -> None:
        for key, target in pairs:
            table[(role, state, key)] = target

    def deaths(role: Role, state: State, *inputs: Input) -> None:
        add(role, state, *((key, X) for key in inputs))

    # server
    add(S, ID, (In.RECV_HELLO, NG), (In.RECV_UNKNOWN, ID), (In.RECV_NOTICE, ID),
        (In.SEND_GOODBYE, X))
    deaths(S, ID, *_DEATHS)
    add(S, NG, (In.SEND_ACCEPT, OP))
    deaths(S, NG, In.RECV_EOF, In.TIMEOUT, In.SEND_ERROR)
    add(S, OP, (In.RECV_DATA, OP), (In.RECV_HEARTBEAT, OP), (In.RECV_GOODBYE, PC),
        (In.RECV_UNKNOWN, OP), (In.RECV_NOTICE, OP), (In.SEND_DATA, OP), (In.SEND_ACK, OP),
        (In.SEND_GOODBYE, GS))
    deaths(S, OP, *_DEATHS)
    add(S, GS, (In.RECV_DATA, GS), (In.RECV_HEARTBEAT, GS), (In.RECV_GOODBYE, PC),
        (In.RECV_UNKNOWN, GS), (In.RECV_NOTICE, GS), (In.SEND_DATA, GS), (In.SEND_ACK, GS))
    deaths(S, GS, *_DEATHS)
    add(S, PC, (In.SEND_DATA, PC), (In.SEND_ACK, X))
    deaths(S, PC, In.RECV_EOF, In.TIMEOUT, In.SEND_ERROR)
    # client
    add(C, ID, (In.SEND_HELLO, NG))
    add(C, NG, (In.RECV_ACK, OP), (In.RECV_UNKNOWN, NG), (In.RECV_NOTICE, NG))
    deaths(C, NG, *_DEATHS)
    add(C, OP, (In.RECV_ACK, OP), (In.RECV_DATA, OP), (In.RECV_HEARTBEAT, OP),
        (In.RECV_GOODBYE, PC), (In.RECV_UNKNOWN, OP), (In.RECV_NOTICE, OP), (In.SEND_DATA, OP),
        (In.SEND_HEARTBEAT, OP), (In.SEND_GOODBYE, GS))
    deaths(C, OP, *_DEATHS)
    add(C, GS, (In.RECV_ACK, GS), (In.RECV_DATA, GS), (In.RECV_HEARTBEAT, GS),
        (In.RECV_GOODBYE, GS), (In.RECV_UNKNOWN, GS), (In.RECV_NOTICE, GS))
    deaths(C, GS, *_DEATHS)
    add(C, PC, (In.RECV_ACK, PC), (In.RECV_DATA, PC), (In.RECV_HEARTBEAT, PC),
        (In.RECV_UNKNOWN, PC), (In.RECV_NOTICE, PC), (In.SEND_GOODBYE, GS))
    deaths(C, PC, *_DEATHS)
    return table


TRANSITIONS: dict[tuple[Role, State, Input], State] = _rows()


def next_state(role: Role, state: State, event: Input) -> State | None:
    """The state after ``event``, or None when the table has no entry (a protocol error)."""
    return TRANSITIONS.get((role, state, event))


def table_markdown() -> str:
    """The table as docs/protocol.md prints it: by role, state, then input, in enum order."""
    order = {member: index for index, member in enumerate([*Role, *State, *Input])}
    lines = ["| role | state | input | next state |", "|---|---|---|---|"]
    for (role, state, event), target in sorted(
            TRANSITIONS.items(), key=lambda item: tuple(order[part] for part in item[0])):
        lines.append(f"| {role.value} | {state.value} | {event.value} | {target.value} |")
    return "\n".join(lines)
