"""One server connection: read a batch, deliver it, commit, acknowledge, repeat.

Each read takes whatever the socket holds (up to 256 KiB), the core parses every complete frame
in it, the handler gets each DATA, ``commit`` makes the batch durable, and every reply of the
batch (echoes, ACKs, heartbeats) goes out in one ``write`` followed by ``await drain()``.  A
client that sends faster than it reads fills its bounded output buffer; ``drain`` then waits,
and this connection stops reading until it empties — other connections are not affected.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import TYPE_CHECKING

from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.codes import ErrorCode, error_text
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
    UnknownMessage,
)
from wirekit.proto.frame import VERSION_1, VERSION_2
from wirekit.proto.hello import Acceptance, Offer
from wirekit.proto.limits import READ_SIZE
from wirekit.proto.session import Session
from wirekit.proto.state import Role, State

if TYPE_CHECKING:
    from wirekit.aio.server import Server

log = logging.getLogger("wirekit.proto.server")

#: Delay before re-judging idleness when bytes are waiting to be parsed (a busy loop).
UNPARSED_GRACE = 0.05


#: The metrics label of each event that stands for a received frame.  DATA is counted per
#: batch; events that are no frame (ConnectionClosed) are not counted at all.
RX_LABELS: dict[type[Event], str] = {
    Hello: "HELLO", Heartbeat: "HEARTBEAT", Goodbye: "GOODBYE", ErrorMessage: "ERROR",
    UnknownMessage: "UNKNOWN",
}


def _code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"code {code}"


class Refused(Exception):
    """The HELLO was refused with an ERROR (token, unknown session)."""

    def __init__(self, code: ErrorCode, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class ServerConnection:
    """The server side of one connection."""

    def __init__(self, server: Server, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, peer: str) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.loop = asyncio.get_running_loop()
        config = server.config
        self.conn = Connection(Role.SERVER, max_payload=min(config.max_payload, 1 << 24),
                               idle_timeout=config.idle_timeout, now=self.loop.time(),
                               clock_offset=time.time() - self.loop.time())
        self.session: Session | None = None
        self.taken_over = False
        self.closing_reason = ""
        self._busy = False
        self._goodbye_wanted = False
        self._timer: asyncio.TimerHandle | None = None
        self._parsed_at = 0.0
        self._reading = False  # the task waits in read() on an empty buffer
        protocol = writer.transport.get_protocol()
        if hasattr(protocol, "fast_path"):
            protocol.fast_path = self._fast_path

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        self._arm_timer()
        try:
            await self._serve()
        except RemoteProtocolError as exc:
            self._note_error(_code_name(exc.code), str(exc))
            self._write(self.conn.data_to_send())
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            self._note_error("io", str(exc) or type(exc).__name__)
        except LocalProtocolError as exc:
            log.debug("%s: stopped: %s", self.peer, exc)
        finally:
            await self._finish()

    async def _serve(self) -> None:
        conn, reader = self.conn, self.reader
        while not self._ended():
            self._reading = True
            try:
                data = await reader.read(READ_SIZE)
            finally:
                self._reading = False
            if self._ended():
                return
            now = self._parsed_at = self.loop.time()
            self.server.stats.bytes_received += len(data)
            self.server.metrics.transferred("rx", len(data))
            events = conn.receive_data(data, now)
            while events:
                await self._handle(events, now)
                if self._ended():
                    return
                events = conn.next_events(self.loop.time())

    def _fast_path(self, data: bytes) -> bool:
        """Handle a read in the protocol callback itself when nothing needs to be awaited:
        an open session, a handler without commit, the task idle in read() (so no earlier
        bytes are waiting), output below its bound.  Saves the wake-up of the task."""
        if not (self._reading and self.session is not None and self.session.owner is self
                and not self.server.handler.needs_commit and not self._goodbye_wanted
                and self.conn.state in (State.OPEN, State.GOODBYE_SENT)
                and self.writer.transport.get_write_buffer_size()
                <= self.server.config.write_buffer):
            self._reading = False  # the bytes go to the reader: order is kept from here on
            return False
        now = self._parsed_at = self.loop.time()
        self.server.stats.bytes_received += len(data)
        self.server.metrics.transferred("rx", len(data))
        try:
            events = self.conn.receive_data(data, now)
            while events:
                out: list[bytes] = []
                delivered = self._dispatch(events, out)
                self._release(out, delivered, now)
                if out:
                    self._write(b"".join(out) if len(out) > 1 else out[0])
                if self.conn.closed:
                    break
                events = self.conn.next_events(self.loop.time())
        except RemoteProtocolError as exc:
            self._note_error(_code_name(exc.code), str(exc))
            self._write(self.conn.data_to_send())
        except Exception as exc:  # a handler bug: same outcome as in the task
            log.error("%s: handler failed: %s", self.peer, exc)
            self._refuse_now(ErrorCode.INTERNAL, error_text(ErrorCode.INTERNAL))
        if self.conn.closed:
            self.writer.close()  # the task wakes up with EOF and finishes
        return True

    def _ended(self) -> bool:
        return self.conn.closed or self.taken_over

    async def _handle(self, events: list[Event], started: float) -> None:
        self._busy = True
        try:
            out: list[bytes] = []
            delivered = self._dispatch(events, out)
            last = events[-1]
            if self.session is None and isinstance(last, Hello):
                await self._negotiate(last, out)
            if delivered:
                await self._commit()
            if self.taken_over:
                return
            self._release(out, delivered, started)
            await self._flush(out)
        finally:
            self._busy = False
        if self._goodbye_wanted:
            await self.say_goodbye()

    def _dispatch(self, events: list[Event], out: list[bytes]) -> int:
        """Hand every DATA to the handler, in order; count the rest.  Returns DATA delivered."""
        session, handler, conn = self.session, self.server.handler, self.conn
        now = self.loop.time()
        delivered = 0
        for event in events:
            if type(event) is Data:
                if session is None or session.owner is not self:
                    return delivered
                reply = handler.on_data(session, event.sequence, event.payload)
                delivered += 1
                session.bytes_received += len(event.payload)
                if reply is not None:
                    out.append(conn.send(Data(reply, event.sequence), now))
            else:
                self._note_event(event)
        if session is not None:
            session.messages += delivered
            if conn.version == VERSION_2:
                session.delivered = conn.delivered
        self.server.stats.messages += delivered
        self.server.metrics.messages("rx", "DATA", delivered)
        return delivered

    def _note_event(self, event: Event) -> None:
        label = RX_LABELS.get(type(event))
        if label is not None:
            self.server.metrics.messages("rx", label)
        if isinstance(event, ErrorMessage):
            log.info("%s: peer sent ERROR %d: %s", self.peer, event.code, event.text)
        elif isinstance(event, UnknownMessage):
            log.info("%s: unknown message type %d", self.peer, event.type)
            self.server.metrics.error(ErrorCode.UNKNOWN_TYPE.name)
        elif isinstance(event, Goodbye):
            log.debug("%s: GOODBYE", self.peer)

    async def _commit(self) -> None:
        try:
            await self.server.handler.commit()
        except Exception as exc:
            log.error("%s: handler commit failed: %s", self.peer, exc)
            if self.session is not None:
                self.server.sessions.detach(self.session, self, self.loop.time())
                self.session.resumable = False  # its delivered count is no longer trustworthy
            self._refuse_now(ErrorCode.INTERNAL, error_text(ErrorCode.INTERNAL))
            raise ConnectionAbortedError("handler commit failed") from exc

    def _release(self, out: list[bytes], delivered: int, started: float) -> None:
        conn = self.conn
        if conn.replies_owed and conn.state is not State.CLOSED:
            out.append(conn.send(Acknowledge(), self.loop.time()))
            if delivered:
                self.server.metrics.ack_latency(self.loop.time() - started)
        queued = conn.data_to_send()
        if queued:
            out.append(queued)

    async def _flush(self, out: list[bytes]) -> None:
        if not out:
            return
        data = b"".join(out) if len(out) > 1 else out[0]
        self._write(data)
        await self._drain()

    def _write(self, data: bytes) -> None:
        """Every frame this connection sends goes through here, so it is counted here."""
        if data and not self.writer.is_closing():
            self.writer.write(data)
            self.server.stats.bytes_sent += len(data)
            self.server.metrics.transferred("tx", len(data))
            self.server.metrics.frames("tx", data)

    async def _drain(self) -> None:
        """Wait for the output buffer to fall below its bound; a peer that does not read for
        the idle timeout is cut off (no ERROR: it would not read it)."""
        transport = self.writer.transport
        if transport.get_write_buffer_size() <= self.server.config.write_buffer:
            return
        try:
            async with asyncio.timeout(self.server.config.idle_timeout):
                await self.writer.drain()
        except TimeoutError:
            self._note_error("write_stalled", "peer does not read; connection aborted")
            transport.abort()
            raise ConnectionAbortedError("peer does not read") from None

    # ------------------------------------------------------------------ HELLO

    async def _negotiate(self, hello: Hello, out: list[bytes]) -> None:
        try:
            session = await self._open_session(hello.offer)
        except Refused as refused:
            self._note_error(refused.code.name, refused.text)
            out.append(self.conn.send(ErrorMessage(int(refused.code), refused.text),
                                      self.loop.time()))
            return
        self.session = session
        acceptance = None
        if hello.offer is not None:
            config = self.server.config
            acceptance = Acceptance(
                max_payload=min(hello.offer.max_payload, config.max_payload),
                session_id=session.id, resume_from=session.delivered,
                idle_timeout_ms=int((config.idle_timeout or 0) * 1000))
        out.append(self.conn.send(Accept(acceptance), self.loop.time()))
        self.server.handler.on_connect(session)
        log.info("%s: session %s (version %d%s)", self.peer, session.hex_id[:12],
                 self.conn.version, f", resumed at {session.delivered}"
                 if hello.offer is not None and hello.offer.resumes else "")

    async def _open_session(self, offer: Offer | None) -> Session:
        self._check_token(offer)
        table = self.server.sessions
        if offer is None or not offer.resumes:
            return table.create(version=VERSION_1 if offer is None else VERSION_2,
                                peer=self.peer, resumable=offer is not None, owner=self)
        session = table.find(offer.session_id, self.loop.time())
        if session is None:
            raise Refused(ErrorCode.UNKNOWN_SESSION, error_text(
                ErrorCode.UNKNOWN_SESSION, session=offer.session_id.hex()))
        previous = table.attach(session, self)
        if isinstance(previous, ServerConnection):
            previous.take_over()
        # The resume point must be durable: wait for every delivered record to be committed.
        await self.server.handler.commit()
        return session

    def _check_token(self, offer: Offer | None) -> None:
        token = self.server.config.token
        if token is None:
            return
        if offer is None or not offer.token:
            raise Refused(ErrorCode.AUTH_REQUIRED, error_text(ErrorCode.AUTH_REQUIRED))
        if not hmac.compare_digest(offer.token, token):
            raise Refused(ErrorCode.AUTH_FAILED, error_text(ErrorCode.AUTH_FAILED))

    # ------------------------------------------------------------------ endings

    def take_over(self) -> None:
        """Another connection resumed our session: stop delivering, say why, close."""
        self.taken_over = True
        self._refuse_now(ErrorCode.SESSION_TAKEN_OVER,
                         error_text(ErrorCode.SESSION_TAKEN_OVER))
        self.writer.close()

    def _refuse_now(self, code: ErrorCode, text: str) -> None:
        if self.conn.state is not State.CLOSED:
            self._write(self.conn.send(ErrorMessage(int(code), text), self.loop.time()))
        self._note_error(code.name, text)

    async def say_goodbye(self) -> None:
        """Shutdown: GOODBYE now, or right after the batch in progress (its ACKs first)."""
        self._goodbye_wanted = True
        if self._busy or self.writer.is_closing():
            return
        self._goodbye_wanted = False
        state = self.conn.state
        if state in (State.OPEN, State.IDLE):
            self._write(self.conn.send(Goodbye(), self.loop.time()))
            if self.conn.state is State.CLOSED:
                self.writer.close()

    def _note_error(self, reason: str, text: str) -> None:
        if not self.closing_reason:
            self.closing_reason = reason
        self.server.stats.count_error(reason)
        self.server.metrics.error(reason)
        log.info("%s: %s: %s", self.peer, reason, text)

    async def _finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.session is not None:
            self.server.sessions.detach(self.session, self, self.loop.time())
            self.server.handler.on_disconnect(self.session)
        try:
            if not self.writer.is_closing():
                self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (OSError, TimeoutError, asyncio.CancelledError):
            self.writer.transport.abort()
        log.debug("%s: closed", self.peer)

    # ------------------------------------------------------------------ timer

    def _arm_timer(self) -> None:
        deadline = self.conn.get_timer()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        """Idle timeout.  Lazy: a timer that fires early (the peer was active) re-arms."""
        self._timer = None
        if self.conn.state is State.CLOSED or self.writer.is_closing():
            return
        deadline = self.conn.get_timer()
        if deadline is None:
            return
        now = self.loop.time()
        if now < deadline:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        if getattr(self.writer.transport.get_protocol(), "received_at", 0.0) > self._parsed_at:
            # Bytes arrived that the reader task has not parsed yet: let it run first.
            self._timer = self.loop.call_at(now + UNPARSED_GRACE, self._on_timer)
            return
        try:
            self.conn.handle_timer(now)
        except RemoteProtocolError as exc:
            self._note_error(ErrorCode.IDLE_TIMEOUT.name, str(exc))
            self._write(self.conn.data_to_send())
            self.writer.close()
