"""Events of the sans-I/O connection: what ``receive_data`` returns and what ``send`` takes.

Each is a frozen, slotted dataclass.  The same class serves both directions where the meaning
is the same (``Data``, ``Heartbeat``, ``Goodbye``, ``ErrorMessage``); on ``send`` a sequence of 0
means "the next one", which the connection assigns.
"""

from __future__ import annotations

from dataclasses import dataclass

from wirekit.proto.hello import Acceptance, Offer


@dataclass(frozen=True, slots=True)
class Hello:
    """Client -> server.  ``offer`` None is a version-1 HELLO carrying ``payload`` as is."""

    offer: Offer | None = None
    payload: bytes = b""
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class Accept:
    """Server -> client, the answer to HELLO.

    Sent by the server application (``acceptance`` None keeps version 1); received by the
    client as the ACK of its HELLO.
    """

    acceptance: Acceptance | None = None

    @property
    def version(self) -> int:
        return 1 if self.acceptance is None else self.acceptance.version


@dataclass(frozen=True, slots=True)
class Data:
    """A message.  Received: ``sequence`` is the frame's.  Sent: 0 lets the connection number it."""

    payload: bytes
    sequence: int = 0


_new_object = object.__new__
_set_payload = vars(Data)["payload"].__set__      # the slots' member descriptors
_set_sequence = vars(Data)["sequence"].__set__


def make_data(payload: bytes, sequence: int) -> Data:
    """``Data(payload, sequence)`` at half the cost, for the receive hot path: it fills the
    slots directly instead of going through the frozen dataclass's ``object.__setattr__``."""
    event = _new_object(Data)
    _set_payload(event, payload)
    _set_sequence(event, sequence)
    return event


@dataclass(frozen=True, slots=True)
class Ack:
    """Received by a client: every DATA up to ``sequence`` (the client's numbering) is delivered.

    ``server_sequence`` is the ACK frame's own sequence field (the server's counter in v1).
    """

    sequence: int
    server_sequence: int = 0


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Sent by a server application once the DATA received so far is durable.

    It releases every reply owed, in the order the frames arrived: ACKs (v1: one per HELLO, DATA
    and GOODBYE; v2: one cumulative), HEARTBEAT replies, and the ACK of a GOODBYE.
    """


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """HEARTBEAT, either direction (a server's is the reply to the client's)."""

    sequence: int = 0


@dataclass(frozen=True, slots=True)
class Goodbye:
    """GOODBYE, either direction."""

    sequence: int = 0


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """ERROR, either direction: ``code`` (flags field) and ``text`` (payload)."""

    code: int
    text: str
    sequence: int = 0

    @property
    def closes(self) -> bool:
        from wirekit.proto.codes import code_closes

        return code_closes(self.code)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A frame of a type this side does not handle; answered with ERROR 1, connection open."""

    type: int
    sequence: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection (``receive_data(b"")``)."""


Event = (Hello | Accept | Data | Ack | Acknowledge | Heartbeat | Goodbye | ErrorMessage
         | UnknownMessage | ConnectionClosed)
