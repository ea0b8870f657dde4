"""The protocol client: ``async with Client.connect(host, port) as c: await c.send(b"…")``.

``send`` returns once the server has acknowledged the message (and, with ``--output``, made it
durable).  ``submit`` returns as soon as the message fits in the window and gives a future for
its ACK, so up to ``window`` messages are in flight.  ``async for message in client`` yields the
DATA the server sends (``--echo``).  With ``reconnect=True`` (version 2), a lost connection is
re-established, the session resumed, and every unacknowledged message resent; the server's
duplicate rule makes each message reach its handler exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from wirekit.errors import LocalProtocolError, NetworkError, RemoteProtocolError
from wirekit.proto.codes import ErrorCode
from wirekit.proto.connection import Connection
from wirekit.proto.events import (
    Accept,
    Ack,
    ConnectionClosed,
    Data,
    ErrorMessage,
    Event,
    Goodbye,
    Heartbeat,
    Hello,
)
from wirekit.proto.frame import VERSION_1, VERSION_2
from wirekit.proto.hello import NEW_SESSION, Offer
from wirekit.proto.limits import MAX_PAYLOAD_LIMIT, READ_SIZE
from wirekit.proto.state import Role, State

log = logging.getLogger("wirekit.proto.client")

SEED_HELLO = b"Hello from client!"
#: Errors after which resuming cannot help: the server refused us, or our session is gone.
FATAL_CODES = frozenset({ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_FAILED,
                         ErrorCode.UNKNOWN_SESSION, ErrorCode.BAD_HELLO, ErrorCode.SERVER_FULL,
                         ErrorCode.SEQUENCE_GAP, ErrorCode.TOO_LARGE, ErrorCode.INTERNAL})
#: Bytes queued before a write is forced even within one loop iteration.
CORK_LIMIT = 256 * 1024
#: First and largest pause between reconnection attempts (doubling in between).
RECONNECT_BACKOFF = (0.05, 2.0)


@dataclass(frozen=True, slots=True)
class Message:
    """A DATA received from the server."""

    sequence: int
    payload: bytes


@dataclass
class ClientStats:
    sent: int = 0
    acked: int = 0
    resent: int = 0
    reconnects: int = 0
    latencies: list[float] = field(default_factory=list)


class _Lost(Exception):
    """The connection ended; ``error`` says why (None: a clean end)."""


class Client:
    """A protocol client; see the module docstring.  Use :meth:`connect`."""

    def __init__(self, host: str, port: int = 9999, *, version: int = VERSION_2,
                 token: bytes | None = None, tls: ssl.SSLContext | None = None,
                 server_hostname: str | None = None, window: int = 64,
                 reconnect: bool = False, heartbeat: float | None = None,
                 max_payload: int = MAX_PAYLOAD_LIMIT, hello_payload: bytes = SEED_HELLO,
                 connect_timeout: float = 10.0, reconnect_timeout: float = 30.0,
                 keep_latencies: bool = False) -> None:
        if window < 1:
            raise LocalProtocolError("window must be at least 1")
        self.host, self.port, self.version = host, port, version
        self.token, self.tls, self.server_hostname = token, tls, server_hostname
        self.window, self.reconnect, self.heartbeat = window, reconnect, heartbeat
        self.max_payload, self.hello_payload = max_payload, hello_payload
        self.connect_timeout, self.reconnect_timeout = connect_timeout, reconnect_timeout
        self.keep_latencies = keep_latencies
        self.stats = ClientStats()
        self.session_id = NEW_SESSION
        self.conn: Connection | None = None
        self.accept: Accept | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unacked: OrderedDict[int, tuple[bytes, asyncio.Future[int], float]] = OrderedDict()
        self._last_seq = 0
        self._room = asyncio.Event()
        self._incoming: asyncio.Queue[Message | None] = asyncio.Queue()
        self._failure: BaseException | None = None
        self._closing = False
        self._server_goodbye = False
        self._connected = asyncio.Event()
        self._out: list[bytes] = []
        self._out_size = 0

    # ------------------------------------------------------------------ public API

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, host: str, port: int = 9999, **options: Any) -> AsyncIterator[Client]:
        """Connect, negotiate, yield the client; GOODBYE on a normal exit, abort on error."""
        client = cls(host, port, **options)
        await client.open()
        try:
            yield client
        except BaseException:
            client.abort()
            raise
        await client.close()

    @property
    def negotiated_version(self) -> int:
        return VERSION_1 if self.conn is None else self.conn.version

    async def open(self) -> None:
        """Connect and negotiate (the HELLO exchange)."""
        await self._connect(resume=False)

    async def submit(self, payload: bytes) -> asyncio.Future[int]:
        """Queue one DATA once the window has room; the future resolves to its sequence number
        when the server acknowledges it."""
        while len(self._unacked) >= self.window:
            self._raise_failure()
            self._room.clear()
            await self._room.wait()
        self._raise_failure()
        if self._server_goodbye:
            raise NetworkError("the server is shutting down (it sent GOODBYE)")
        conn = self._require_conn()
        seq = self._last_seq + 1 if conn.version == VERSION_2 else conn.next_sequence
        if len(payload) > conn.max_payload:
            raise LocalProtocolError(f"payload of {len(payload)} bytes exceeds the negotiated "
                                     f"maximum of {conn.max_payload}")
        data = b""
        if self._connected.is_set():  # else it goes out with the resend after reconnecting
            data = conn.send(Data(payload, seq if conn.version == VERSION_2 else 0), self._now())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._unacked[seq] = (payload, future, time.perf_counter())
        self._last_seq = seq
        if data:
            self._write(data)
            self.stats.sent += 1
            await self._drain()
        return future

    async def send(self, payload: bytes) -> int:
        """Send one DATA and wait for its ACK; returns its sequence number."""
        return await (await self.submit(payload))

    async def flush(self) -> None:
        """Wait until every message submitted so far is acknowledged."""
        pending = [future for _, future, _ in self._unacked.values()]
        if pending:
            await asyncio.gather(*pending)

    async def ping(self) -> None:
        """Send a HEARTBEAT (the server answers with one)."""
        self._raise_failure()
        self._write(self._require_conn().send(Heartbeat(), self._now()))
        await self._drain()

    async def close(self, timeout: float = 10.0) -> None:
        """Wait for every ACK, say GOODBYE, wait for the server to close."""
        if self._closing:
            return
        try:
            async with asyncio.timeout(timeout):
                await self.flush()
                self._closing = True
                conn = self.conn
                if conn is not None and conn.state in (State.OPEN, State.PEER_CLOSING):
                    self._write(conn.send(Goodbye(), self._now()))
                    await self._drain()
                if self._reader_task is not None:
                    await asyncio.shield(self._reader_task)
        except TimeoutError:
            log.warning("close: the server did not finish within %.1f s", timeout)
        finally:
            self._closing = True
            self.abort()
        self._raise_failure()

    def abort(self) -> None:
        """Drop the connection now; pending futures fail."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        if self._reader_task is not None and not self._reader_task.done():
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.transport.abort()
        self._fail_pending(self._failure or NetworkError("client closed"))

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message]:
        while True:
            message = await self._incoming.get()
            if message is None:
                self._incoming.put_nowait(None)
                return
            yield message

    # ------------------------------------------------------------------ connecting

    async def _connect(self, *, resume: bool) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.tls, limit=READ_SIZE,
                    server_hostname=self.server_hostname if self.tls else None)
                conn = Connection(Role.CLIENT, heartbeat=self.heartbeat, now=loop.time(),
                                  clock_offset=time.time() - loop.time())
                writer.write(conn.send(self._hello(resume), loop.time()))
                accept = await self._await_accept(conn, reader)
        except TimeoutError as exc:  # before OSError, of which it is a subclass
            raise NetworkError(f"{self.host}:{self.port}: no answer within "
                               f"{self.connect_timeout:g} s") from exc
        except (OSError, ssl.SSLError) as exc:
            raise NetworkError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.conn, self._writer, self.accept = conn, writer, accept
        if accept.acceptance is not None:
            self.session_id = accept.acceptance.session_id
            self._resume_from(accept.acceptance.resume_from)
        elif self.reconnect:
            log.warning("server speaks version 1: --reconnect cannot resume a session")
        self._connected.set()
        self._reader_task = asyncio.create_task(self._read_loop(reader))
        self._arm_timer()

    def _hello(self, resume: bool) -> Hello:
        if self.version == VERSION_1:
            return Hello(None, self.hello_payload)
        offer = Offer(max_payload=self.max_payload, token=self.token or b"",
                      session_id=self.session_id if resume else NEW_SESSION)
        return Hello(offer, sequence=self._last_seq if resume else 0)

    async def _await_accept(self, conn: Connection, reader: asyncio.StreamReader) -> Accept:
        while True:
            data = await reader.read(READ_SIZE)
            events = conn.receive_data(data, asyncio.get_running_loop().time())
            for event in events:
                if isinstance(event, Accept):
                    return event
                if isinstance(event, ErrorMessage) and event.closes:
                    raise RemoteProtocolError(f"server refused: {event.text}", code=event.code)
                if isinstance(event, ConnectionClosed):
                    raise NetworkError("server closed the connection during HELLO")

    def _resume_from(self, resume_from: int) -> None:
        """Drop what the server already has; resend the rest, in order."""
        conn = self._require_conn()
        if self._last_seq < resume_from:
            raise RemoteProtocolError(f"server resumes at {resume_from}, beyond our last "
                                      f"message {self._last_seq}",
                                      code=int(ErrorCode.SEQUENCE_GAP))
        self._acknowledge_upto(resume_from)
        conn.last_data_sent = conn.delivered = resume_from
        for seq, (payload, _, _) in self._unacked.items():
            self._write_raw(conn.send(Data(payload, seq), self._now()))
            self.stats.resent += 1
        self._room.set()

    # ------------------------------------------------------------------ reading

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        conn = self._require_conn()
        error: BaseException | None = None
        try:
            while conn.state is not State.CLOSED:
                data = await reader.read(READ_SIZE)
                events = conn.receive_data(data, self._now())
                while events:
                    self._handle(events)
                    events = conn.next_events(self._now())
                self._write_raw(conn.data_to_send())
                if self._server_goodbye and not self._unacked and conn.state is State.PEER_CLOSING:
                    self._write_raw(conn.send(Goodbye(), self._now()))
        except RemoteProtocolError as exc:
            self._write_raw(conn.data_to_send())
            error = exc
        except (OSError, LocalProtocolError) as exc:
            error = NetworkError(f"connection lost: {exc}")
        self._connected.clear()
        self._out, self._out_size = [], 0  # unsent frames of a dead connection: resent later
        if self._writer is not None:
            self._writer.transport.abort()
        self._on_lost(error)

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if type(event) is Ack:
                self._acknowledge(event.sequence)
            elif type(event) is Data:
                self._incoming.put_nowait(Message(event.sequence, event.payload))
            elif isinstance(event, Goodbye):
                log.info("server said GOODBYE")
                self._server_goodbye = True
            elif isinstance(event, ErrorMessage):
                self._on_error(event)

    def _on_error(self, event: ErrorMessage) -> None:
        if not event.closes:
            log.warning("server: ERROR %d: %s", event.code, event.text)
            return
        raise RemoteProtocolError(f"server closed with ERROR {event.code}: {event.text}",
                                  code=event.code)

    def _acknowledge(self, sequence: int) -> None:
        if self._require_conn().version == VERSION_2:
            self._acknowledge_upto(sequence)
            return
        entry = self._unacked.pop(sequence, None)
        if entry is not None:
            self._resolve(sequence, entry[1], entry[2])

    def _acknowledge_upto(self, sequence: int) -> None:
        unacked = self._unacked
        while unacked:
            seq = next(iter(unacked))
            if seq > sequence:
                break
            _, future, sent_at = unacked.pop(seq)
            self._resolve(seq, future, sent_at)

    def _resolve(self, seq: int, future: asyncio.Future[int], sent_at: float) -> None:
        if not future.done():
            future.set_result(seq)
        self.stats.acked += 1
        if self.keep_latencies:
            self.stats.latencies.append(time.perf_counter() - sent_at)
        if len(self._unacked) < self.window:
            self._room.set()

    def _on_lost(self, error: BaseException | None) -> None:
        if self._closing and error is None:
            self._finish(None)
            return
        recoverable = not (isinstance(error, RemoteProtocolError)
                           and error.code in FATAL_CODES)
        if self.reconnect and recoverable and not self._closing and \
                self.negotiated_version == VERSION_2:
            log.info("connection lost (%s); reconnecting", error or "closed by server")
            self._reader_task = asyncio.create_task(self._reconnect_loop(error))
            return
        self._finish(error or (None if self._closing and not self._unacked
                               else NetworkError("server closed the connection")))

    async def _reconnect_loop(self, cause: BaseException | None) -> None:
        delay, ceiling = RECONNECT_BACKOFF
        deadline = asyncio.get_running_loop().time() + self.reconnect_timeout
        while not self._closing:
            try:
                await self._connect(resume=True)
            except RemoteProtocolError as exc:
                self._finish(exc)
                return
            except NetworkError as exc:
                if asyncio.get_running_loop().time() + delay > deadline:
                    self._finish(NetworkError(f"gave up reconnecting: {exc}"))
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
                continue
            self.stats.reconnects += 1
            log.info("reconnected; session resumed at %d, %d message(s) resent",
                     self.conn.delivered if self.conn else 0, len(self._unacked))
            task = self._reader_task
            if task is not None:
                await asyncio.shield(task)
            return

    def _finish(self, error: BaseException | None) -> None:
        if error is not None and self._failure is None:
            self._failure = error
        self._fail_pending(error or NetworkError("connection closed"))
        self._incoming.put_nowait(None)
        self._room.set()

    def _fail_pending(self, error: BaseException) -> None:
        while self._unacked:
            _, (_, future, _) = self._unacked.popitem(last=False)
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved here: callers that never await it are fine

    # ------------------------------------------------------------------ writing, timers

    def _write(self, data: bytes) -> None:
        self._raise_failure()
        self._write_raw(data)

    def _write_raw(self, data: bytes) -> None:
        """Queue bytes; they go out in one write at the end of this loop iteration (a window of
        DATA submitted back to back costs one send(2), not one per message)."""
        if not data:
            return
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush_out)
        self._out.append(data)
        self._out_size += len(data)

    def _flush_out(self) -> None:
        out, self._out, self._out_size = self._out, [], 0
        writer = self._writer
        if out and writer is not None and not writer.is_closing():
            writer.write(b"".join(out) if len(out) > 1 else out[0])

    async def _drain(self) -> None:
        if self._out_size >= CORK_LIMIT:
            self._flush_out()
        writer = self._writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _require_conn(self) -> Connection:
        if self.conn is None:
            raise LocalProtocolError("client is not connected (use Client.connect)")
        return self.conn

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _arm_timer(self) -> None:
        conn = self.conn
        deadline = None if conn is None else conn.get_timer()
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        conn = self.conn
        if conn is None or conn.state is State.CLOSED:
            return
        try:
            conn.handle_timer(self._now())
        except RemoteProtocolError as exc:
            log.warning("server silent for %d heartbeats: %s", 3, exc)
            if self._writer is not None:
                self._writer.transport.abort()
            return
        self._write_raw(conn.data_to_send())
        self._arm_timer()
