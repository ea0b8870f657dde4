"""The sans-I/O connection: bytes and time in, events and bytes out (docs/protocol.md).

``Connection(role)`` never touches a socket or a clock.  The adapter feeds it what it reads
(``receive_data(data, now)``; ``b""`` is the end of the stream), turns application intents into
bytes (``send(event, now)``), and collects what the connection queued by itself
(``data_to_send()``: replies to unknown types, ERROR frames before an exception, heartbeats).
Timers: ``get_timer()`` is the next deadline, ``handle_timer(now)`` acts on it.

Every state change goes through :data:`wirekit.proto.state.TRANSITIONS`.  On a remote error the
ERROR frame is queued before :class:`RemoteProtocolError` is raised, so the adapter flushes and
closes.  Frames parsed before a bad frame in the same read are returned first and the bad frame
stays buffered: the next call (``next_events``) raises, so good DATA is still delivered and
acknowledged.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.codes import ErrorCode, code_closes, error_text
from wirekit.proto.decoder import FrameBuffer
from wirekit.proto.events import (
    Accept,
    Ack,
    Acknowledge,
    ConnectionClosed,
    Data,
    ErrorMessage,
    Event,
    Goodbye,
    Heartbeat,
    Hello,
    UnknownMessage,
    make_data,
)
from wirekit.proto.frame import (
    FLAG_NEGOTIATE,
    HEADER,
    VERSION_1,
    VERSION_2,
    FrameError,
    MessageType,
    checksum_v1,
    checksum_v2,
)
from wirekit.proto.hello import Acceptance, Offer
from wirekit.proto.limits import HEADER_SIZE, HEARTBEAT_MISSES, MAX_SEQUENCE, V1_MAX_PAYLOAD
from wirekit.proto.state import Input, Role, State, next_state
from wirekit.proto.writer import ACK as _ACK
from wirekit.proto.writer import ERROR as _ERROR
from wirekit.proto.writer import GOODBYE_ACK as _GOODBYE_ACK
from wirekit.proto.writer import HEARTBEAT as _HEARTBEAT
from wirekit.proto.writer import ReplyWriter

_DATA = int(MessageType.DATA)
#: Frames up to this many bytes of payload get the inline v1 checksum (one adler32 call covers
#: 256 bytes; see frame.byte_sum).
_SHORT = 256 - HEADER_SIZE
_adler32 = zlib.adler32
_SERVER_KNOWN = {1: Input.RECV_HELLO, 2: Input.RECV_DATA, 5: Input.RECV_HEARTBEAT,
                 6: Input.RECV_GOODBYE, 4: Input.RECV_ERROR}
_CLIENT_KNOWN = {3: Input.RECV_ACK, 2: Input.RECV_DATA, 5: Input.RECV_HEARTBEAT,
                 6: Input.RECV_GOODBYE, 4: Input.RECV_ERROR}
# States in which a server stops parsing: the application decides (NEGOTIATING), or the peer
# said GOODBYE and anything after it is ignored (PEER_CLOSING).
_SERVER_HOLD = (State.NEGOTIATING, State.PEER_CLOSING, State.CLOSED)


class _Violation(Exception):
    """A peer's protocol violation found while parsing, not yet acted upon."""

    def __init__(self, code: ErrorCode, text: str, sequence: int, event: Input) -> None:
        super().__init__(text)
        self.code, self.text, self.sequence, self.event = code, text, sequence, event


def _as_code(value: int) -> ErrorCode:
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.UNSPECIFIED


class Connection(ReplyWriter):
    """One end of one connection.  ``role`` is :class:`Role.CLIENT` or :class:`Role.SERVER`.

    ``max_payload`` is the version-1 limit (and what a server grants at most in version 2);
    ``idle_timeout`` (server) closes a connection without complete frames for that long;
    ``heartbeat`` (client) sends HEARTBEAT after that long without sending; ``clock_offset``
    turns ``now`` (monotonic) into the wall-clock time of frame timestamps.
    """

    def __init__(self, role: Role, *, max_payload: int = V1_MAX_PAYLOAD,
                 idle_timeout: float | None = None, heartbeat: float | None = None,
                 clock_offset: float = 0.0, now: float = 0.0) -> None:
        super().__init__()
        self.role = role
        self.state = State.IDLE
        self.version = VERSION_1
        self.max_payload = max_payload
        self.idle_timeout = idle_timeout
        self.heartbeat = heartbeat
        self.clock_offset = clock_offset
        self.session_id = b""
        self.delivered = 0          # server v2: last DATA delivered; client v2: last acknowledged
        self.last_data_sent = 0     # client v2: last DATA sequence sent
        self.duplicates = 0
        self.frames_received = 0
        self.offered = False
        self._buffer = FrameBuffer()
        self._awaiting: list[tuple[int, int]] = []  # client v1: (our seq, reply type expected)
        self._last_frame_at = now
        self._last_sent_at = now
        self._known = _SERVER_KNOWN if role is Role.SERVER else _CLIENT_KNOWN
        self._handlers: dict[Input, Callable[[int, int, bytes, list[Event]], None]] = {
            Input.RECV_HELLO: self._on_hello, Input.RECV_DATA: self._on_data,
            Input.RECV_ACK: self._on_ack, Input.RECV_HEARTBEAT: self._on_heartbeat,
            Input.RECV_GOODBYE: self._on_goodbye, Input.RECV_ERROR: self._on_error,
        }

    # ------------------------------------------------------------------ state

    def _move(self, event: Input) -> None:
        """Apply one transition; a missing entry is the caller's fault for a send."""
        if self.state is State.CLOSED:
            raise LocalProtocolError(f"connection is closed ({event.value})")
        target = next_state(self.role, self.state, event)
        if target is None:
            if event.local:
                raise LocalProtocolError(f"cannot {event.value} in state {self.state.value}")
            self._unexpected(event)
        else:
            self.state = target

    def _unexpected(self, event: Input, sequence: int = 0) -> None:
        name = event.value.removeprefix("RECV_")
        if self.role is Role.SERVER and self.state is State.IDLE:
            code, text = ErrorCode.HELLO_REQUIRED, error_text(ErrorCode.HELLO_REQUIRED, type=name)
        else:
            code, text = ErrorCode.UNEXPECTED, error_text(ErrorCode.UNEXPECTED, type=name,
                                                          state=self.state.value)
        raise _Violation(code, text, sequence, event)

    def _apply(self, violation: _Violation) -> None:
        """Act on a violation: a missing table entry turns it into HELLO_REQUIRED/UNEXPECTED."""
        if next_state(self.role, self.state, violation.event) is None:
            try:
                self._unexpected(violation.event, violation.sequence)
            except _Violation as replaced:
                violation = replaced
        self._fail(violation.code, violation.text, violation.sequence)

    def _fail(self, code: ErrorCode, text: str, sequence: int = 0) -> None:
        """Queue the ERROR frame, close, raise: the adapter only has to flush and close."""
        self._queue_error(code, text, sequence)
        self.state = State.CLOSED
        self._buffer.clear()
        raise RemoteProtocolError(text, code=int(code))

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: bytes, now: float = 0.0) -> list[Event]:
        """Feed bytes read from the peer (``b""``: the peer closed); return the events."""
        if self.state is State.CLOSED:
            raise LocalProtocolError("receive_data on a closed connection")
        self._now = now
        if not data:
            return self._receive_eof()
        self._buffer.feed(data)
        return self.next_events(now)

    def next_events(self, now: float = 0.0) -> list[Event]:
        """Parse what is buffered: frames held back while NEGOTIATING, or a bad frame that
        followed good ones (this call raises for it)."""
        if self.state is State.CLOSED or not self._buffer.ready:
            return []
        if self.role is Role.SERVER and self.state in _SERVER_HOLD:
            return []
        self._now = now
        events: list[Event] = []
        self._parse(self._buffer.take(), now, events)
        return events

    def _receive_eof(self) -> list[Event]:
        self._buffer.clear()
        try:
            self._move(Input.RECV_EOF)
        except _Violation as violation:
            self._apply(violation)
        return [ConnectionClosed()]

    def _parse(self, data: bytes, now: float, events: list[Event]) -> None:
        """Parse every complete frame of ``data``; keep the incomplete tail for later."""
        offset, size, count = 0, len(data), 0
        unpack, version, limit = HEADER.unpack_from, self.version, self.max_payload
        view, append, fast = memoryview(data), events.append, self._fast_data()
        acks = 0  # v1 ACKs owed by this loop, handed to _owe_acks in one go
        try:
            while size - offset >= HEADER_SIZE:
                frame_version, mtype, flags, seq, length, received, _ = unpack(data, offset)
                if frame_version != version or length > limit:
                    self._invalid_header(frame_version, length, seq)
                end = offset + HEADER_SIZE + length
                if end > size:
                    self._buffer.keep(data, offset, end - offset)
                    break
                if version == VERSION_1 and length <= _SHORT:
                    # Byte sum minus the checksum field's own bytes (frame.byte_sum: adler32).
                    calculated = ((_adler32(view[offset:end]) & 0xFFFF) - 1 - (
                        (received >> 24) + (received >> 16 & 0xFF) + (received >> 8 & 0xFF)
                        + (received & 0xFF))) & 0xFFFF_FFFF
                    if calculated != received:
                        self._bad_checksum(received, calculated, seq)
                else:
                    self._verify(data, offset, end, received, seq)
                payload = data[offset + HEADER_SIZE:end]
                if mtype == _DATA and fast:
                    # The table says DATA keeps this state (see _fast_data): no lookup needed.
                    if fast == VERSION_1:
                        append(make_data(payload, seq))
                        acks += 1
                    else:
                        self._on_data_v2(seq, payload, append)
                    count += 1
                    offset = end
                    continue
                if acks:
                    acks = self._owe_acks(acks)
                self._dispatch(mtype, flags, seq, payload, events)
                count += 1
                offset = end
                fast = self._fast_data()
                if self.role is Role.SERVER and self.state in _SERVER_HOLD:
                    if self.state is State.NEGOTIATING:
                        self._buffer.keep(data, offset, HEADER_SIZE)
                    break
            else:
                if offset < size and data[offset] != version:
                    # The version byte alone condemns the frame: no need to wait for the rest.
                    self._invalid_header(data[offset], 0, 0)
                self._buffer.keep(data, offset, HEADER_SIZE)
        except _Violation as violation:
            if not events:
                self.frames_received += count
                self._apply(violation)
            self._buffer.keep(data, offset, HEADER_SIZE)  # raised again by the next call
        if acks:
            self._owe_acks(acks)
        if count:
            self.frames_received += count
            self._last_frame_at = now

    def _fast_data(self) -> int:
        """The version when a server's DATA leaves the state unchanged (OPEN, GOODBYE_SENT),
        so the parse loop can skip the table lookup per DATA; else 0."""
        if self.role is Role.SERVER and \
                next_state(self.role, self.state, Input.RECV_DATA) is self.state:
            return self.version
        return 0

    def _bad_checksum(self, received: int, calculated: int, seq: int) -> None:
        self._invalid(ErrorCode.BAD_CHECKSUM, error_text(
            ErrorCode.BAD_CHECKSUM, received=received, calculated=calculated), seq)

    def _invalid_header(self, frame_version: int, length: int, seq: int) -> None:
        if frame_version != self.version:
            self._invalid(ErrorCode.BAD_VERSION,
                          error_text(ErrorCode.BAD_VERSION, version=frame_version), seq)
        self._invalid(ErrorCode.TOO_LARGE, error_text(
            ErrorCode.TOO_LARGE, length=length, maximum=self.max_payload), seq)

    def _verify(self, data: bytes, start: int, end: int, received: int, seq: int) -> None:
        if self.version == VERSION_1:
            calculated = checksum_v1(data, start, end)
        else:
            calculated = checksum_v2(data, start, end)
        if calculated != received:
            self._bad_checksum(received, calculated, seq)

    def _invalid(self, code: ErrorCode, text: str, seq: int = 0) -> None:
        raise _Violation(code, text, seq, Input.RECV_INVALID)

    def _dispatch(self, mtype: int, flags: int, seq: int, payload: bytes,
                  events: list[Event]) -> None:
        kind = self._known.get(mtype, Input.RECV_UNKNOWN)
        if kind is Input.RECV_ERROR and not code_closes(flags):
            kind = Input.RECV_NOTICE
        target = next_state(self.role, self.state, kind)
        if target is None:
            self._unexpected(kind, seq)
        if kind is Input.RECV_NOTICE:
            events.append(ErrorMessage(flags, payload.decode("utf-8", "replace"), seq))
        elif kind is Input.RECV_UNKNOWN:
            events.append(UnknownMessage(mtype, seq))
            self._owe(_ERROR, seq)
        else:
            self._handlers[kind](flags, seq, payload, events)
        self.state = target  # type: ignore[assignment]  # None raised above

    # -- server side

    def _on_hello(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        offer = None
        if flags & FLAG_NEGOTIATE:
            try:
                offer = Offer.decode(payload)
            except FrameError as exc:
                self._invalid(exc.code, str(exc), seq)
        self.offered = offer is not None
        events.append(Hello(offer, payload, seq))

    def _on_data(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        if self.role is Role.CLIENT or self.version == VERSION_1:
            events.append(make_data(payload, seq))
            if self.role is Role.SERVER:
                self._owe_acks(1)
            return
        self._on_data_v2(seq, payload, events.append)

    def _on_data_v2(self, seq: int, payload: bytes, append: Callable[[Event], None]) -> None:
        """Deliver DATA ``seq`` if it is the next one; acknowledge duplicates (protocol.md §2)."""
        expected = self.delivered + 1
        if seq == expected:
            self.delivered = seq
            append(make_data(payload, seq))
        elif seq < expected:
            self.duplicates += 1
        else:
            raise _Violation(ErrorCode.SEQUENCE_GAP, error_text(
                ErrorCode.SEQUENCE_GAP, expected=expected, received=seq), seq, Input.RECV_DATA)
        self._v2_ack_owed = True

    def _on_heartbeat(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        events.append(Heartbeat(seq))
        if self.role is Role.SERVER:
            self._owe(_HEARTBEAT, seq)
        elif self.version == VERSION_1 and self._awaiting and self._awaiting[0][1] == _HEARTBEAT:
            self._awaiting.pop(0)

    def _on_goodbye(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        events.append(Goodbye(seq))
        if self.role is Role.SERVER:
            self._owed.append((_GOODBYE_ACK, seq))

    def _on_error(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        events.append(ErrorMessage(flags, payload.decode("utf-8", "replace"), seq))

    # -- client side

    def _on_ack(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        if self.state is State.NEGOTIATING:
            self._on_accept(flags, seq, payload, events)
        elif self.version == VERSION_2:
            if seq > self.last_data_sent:
                raise _Violation(ErrorCode.UNEXPECTED, error_text(
                    ErrorCode.UNEXPECTED, type=f"ACK of unsent DATA {seq}",
                    state=self.state.value), seq, Input.RECV_ACK)
            if seq > self.delivered:
                self.delivered = seq
                events.append(Ack(seq, seq))
        elif self._awaiting and self._awaiting[0][1] == _ACK:
            ours = self._awaiting.pop(0)[0]
            events.append(Ack(ours, seq))

    def _on_accept(self, flags: int, seq: int, payload: bytes, events: list[Event]) -> None:
        acceptance = None
        if flags & FLAG_NEGOTIATE:
            if not self.offered:
                self._invalid(ErrorCode.BAD_HELLO, error_text(
                    ErrorCode.BAD_HELLO, reason="acceptance without an offer"), seq)
            try:
                acceptance = Acceptance.decode(payload)
            except FrameError as exc:
                self._invalid(exc.code, str(exc), seq)
        if self._awaiting:
            self._awaiting.pop(0)
        if acceptance is not None:
            self._enter_v2(acceptance)
        elif self.offered:
            self.max_payload = min(self.max_payload, V1_MAX_PAYLOAD)
        events.append(Accept(acceptance))

    def _enter_v2(self, acceptance: Acceptance) -> None:
        self.version = VERSION_2
        self.max_payload = acceptance.max_payload
        self.session_id = acceptance.session_id
        self.delivered = acceptance.resume_from
        self.last_data_sent = acceptance.resume_from
        self._awaiting.clear()

    # ------------------------------------------------------------------ sending

    def send(self, event: Event, now: float = 0.0) -> bytes:
        """Turn an application event into bytes (with anything queued before it)."""
        method = _SENDERS.get(type(event))
        if method is None:
            raise LocalProtocolError(f"{type(event).__name__} cannot be sent")
        method(self, event, now)
        self._last_sent_at = now
        return self.data_to_send()

    def data_to_send(self) -> bytes:
        """Bytes the connection queued by itself (replies, ERROR before an exception)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def replies_owed(self) -> bool:
        """True when ``send(Acknowledge())`` would release something (server)."""
        return bool(self._owed) or self._v2_ack_owed

    @property
    def next_sequence(self) -> int:
        """The sequence number the next DATA this side sends will carry."""
        if self.version == VERSION_2:
            return self.last_data_sent + 1
        return self._counter

    def _send_hello(self, event: Hello, now: float) -> None:
        self._move(Input.SEND_HELLO)
        self._now = now
        seq = self._v1_seq() if event.sequence == 0 else event.sequence
        if event.offer is None:
            self._frame(int(MessageType.HELLO), seq, event.payload, version=VERSION_1)
        else:
            self.offered = True
            self.max_payload = event.offer.max_payload
            self._frame(int(MessageType.HELLO), event.sequence, event.offer.encode(),
                        flags=FLAG_NEGOTIATE, version=VERSION_1)
        self._awaiting.append((seq, _ACK))

    def _send_accept(self, event: Accept, now: float) -> None:
        acceptance = event.acceptance
        if acceptance is not None and not self.offered:
            raise LocalProtocolError("version 2 accepted but the HELLO offered none")
        self._move(Input.SEND_ACCEPT)
        self._now = now
        self._last_frame_at = now
        if acceptance is None:
            self._frame(_ACK, self._v1_seq())
            return
        self._frame(_ACK, self._v1_seq(), acceptance.encode(), flags=FLAG_NEGOTIATE)
        self.version = VERSION_2
        self.max_payload = acceptance.max_payload
        self.session_id = acceptance.session_id
        self.delivered = acceptance.resume_from

    def _send_data(self, event: Data, now: float) -> None:
        if len(event.payload) > self.max_payload:
            raise LocalProtocolError(f"payload of {len(event.payload)} bytes exceeds the "
                                     f"maximum of {self.max_payload}")
        self._move(Input.SEND_DATA)  # every SEND_DATA entry keeps the state
        self._now = now
        if self.role is Role.CLIENT and self.version == VERSION_2:
            seq = self._client_v2_sequence(event.sequence)
        elif self.version == VERSION_1:
            seq = self._v1_seq()
            if self.role is Role.CLIENT:
                self._awaiting.append((seq, _ACK))
        else:
            seq = event.sequence
        self._frame(int(MessageType.DATA), seq, event.payload)

    def _client_v2_sequence(self, requested: int) -> int:
        expected = self.last_data_sent + 1
        if requested not in (0, expected):
            raise LocalProtocolError(f"DATA sequence must be {expected}, not {requested}")
        if expected > MAX_SEQUENCE:
            raise LocalProtocolError("session exhausted its sequence numbers; start a new one")
        self.last_data_sent = expected
        return expected

    def _send_acknowledge(self, event: Acknowledge, now: float) -> None:
        self._move(Input.SEND_ACK)
        self._now = now
        if self.version == VERSION_1:
            self._release_v1(self._owed)
        else:
            self._release_v2(self._owed)
        self._owed = []
        self._v2_ack_owed = False

    def _send_heartbeat(self, event: Heartbeat, now: float) -> None:
        self._move(Input.SEND_HEARTBEAT)
        self._now = now
        seq = self._v1_seq() if self.version == VERSION_1 else self.last_data_sent
        if self.version == VERSION_1:
            self._awaiting.append((seq, _HEARTBEAT))
        self._frame(_HEARTBEAT, seq)

    def _send_goodbye(self, event: Goodbye, now: float) -> None:
        self._move(Input.SEND_GOODBYE)
        self._now = now
        if self.version == VERSION_1:
            seq = self._v1_seq()
            if self.role is Role.CLIENT:
                self._awaiting.append((seq, _ACK))
        else:
            seq = self.delivered if self.role is Role.SERVER else self.last_data_sent
        self._frame(int(MessageType.GOODBYE), seq)

    def _send_error(self, event: ErrorMessage, now: float) -> None:
        self._move(Input.SEND_ERROR)
        self._now = now
        self._queue_error(_as_code(event.code), event.text, event.sequence)
        self._buffer.clear()

    # ------------------------------------------------------------------ timers

    def get_timer(self) -> float | None:
        """The next deadline (same clock as ``now``), or None."""
        if self.state is State.CLOSED:
            return None
        if self.role is Role.SERVER:
            return None if self.idle_timeout is None else self._last_frame_at + self.idle_timeout
        if self.heartbeat is None or self.state is State.IDLE:
            return None
        dead = self._last_frame_at + self.heartbeat * HEARTBEAT_MISSES
        if self.state is State.OPEN:
            return min(self._last_sent_at + self.heartbeat, dead)
        return dead

    def handle_timer(self, now: float) -> None:
        """Act on an expired deadline: idle timeout (server), heartbeat or dead peer (client).

        A timeout queues ERROR 13, closes and raises :class:`RemoteProtocolError`; a due
        heartbeat is queued in :meth:`data_to_send`.
        """
        deadline = self.get_timer()
        if deadline is None or now < deadline:
            return
        self._now = now
        if self.role is Role.CLIENT and self.heartbeat is not None and \
                now < self._last_frame_at + self.heartbeat * HEARTBEAT_MISSES:
            self._send_heartbeat(Heartbeat(), now)
            self._last_sent_at = now
            return
        self._move(Input.TIMEOUT)
        self._fail(ErrorCode.IDLE_TIMEOUT, error_text(ErrorCode.IDLE_TIMEOUT))


_SENDERS: dict[type, Callable[[Connection, object, float], None]] = {
    Hello: Connection._send_hello,  # type: ignore[dict-item]
    Accept: Connection._send_accept,  # type: ignore[dict-item]
    Data: Connection._send_data,  # type: ignore[dict-item]
    Acknowledge: Connection._send_acknowledge,  # type: ignore[dict-item]
    Heartbeat: Connection._send_heartbeat,  # type: ignore[dict-item]
    Goodbye: Connection._send_goodbye,  # type: ignore[dict-item]
    ErrorMessage: Connection._send_error,  # type: ignore[dict-item]
}
