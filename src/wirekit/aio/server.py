"""The protocol server: listener, accept loop, connection limit, shutdown, totals.

Accepting is our own loop over ``sock_accept`` so that running out of descriptors or memory
(EMFILE, ENFILE, ENOBUFS, ENOMEM) is logged and followed by a 100 ms back-off instead of a
crash or a busy loop, as trio does.  Shutdown follows hypercorn's order: stop accepting, GOODBYE
to every connection (after the ACKs it owes), wait up to the grace period, then close the rest.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wirekit.aio.handler import GroupCommitFile, Handler, RecordingHandler
from wirekit.aio.metrics import Metrics, create_metrics
from wirekit.aio.peer import ServerConnection
from wirekit.aio.runtime import raise_nofile_limit
from wirekit.errors import NetworkError
from wirekit.proto.codes import ErrorCode, error_text
from wirekit.proto.frame import VERSION_1, MessageType, encode_frame
from wirekit.proto.limits import (
    ACCEPT_BACKOFF,
    DEFAULT_GRACE,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SESSION_TTL,
    LISTEN_BACKLOG,
    READ_SIZE,
    V1_MAX_PAYLOAD,
    WRITE_BUFFER,
)
from wirekit.proto.records import RecordFormat
from wirekit.proto.session import SessionTable

log = logging.getLogger("wirekit.proto.server")

#: Connections accepted in a row before the accept loop yields to everything else.
ACCEPT_BURST = 64
#: accept(2) errors that mean "out of resources for now": back off and retry.
RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
#: accept(2) errors about the one connection being accepted: skip it.
TRANSIENT_ERRORS = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR})


class TimedStreamProtocol(asyncio.StreamReaderProtocol):
    """Remembers when bytes last arrived, so the idle timer can tell "silent" from "the loop
    has not parsed what came in yet" (both can happen in one busy loop iteration)."""

    received_at = 0.0
    #: Set by the connection: handles ``data`` synchronously and returns True, or declines.
    fast_path: Callable[[bytes], bool] | None = None

    def data_received(self, data: bytes) -> None:
        self.received_at = asyncio.get_running_loop().time()
        fast_path = self.fast_path
        if fast_path is not None and fast_path(data):
            return
        super().data_received(data)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerConfig:
    """Everything ``wirekit proto server`` can be told."""

    host: str = "0.0.0.0"
    port: int = 9999
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_payload: int = V1_MAX_PAYLOAD
    token: bytes | None = None
    tls: ssl.SSLContext | None = None
    output: Path | None = None
    output_format: RecordFormat = RecordFormat.LENGTH
    echo: bool = False
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    grace: float = DEFAULT_GRACE
    session_ttl: float = DEFAULT_SESSION_TTL
    write_buffer: int = WRITE_BUFFER


@dataclass
class ServerStats:
    """Totals printed at shutdown (and available while running)."""

    connections: int = 0
    refused_full: int = 0
    messages: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def count_error(self, reason: str) -> None:
        self.errors[reason] += 1

    def as_dict(self) -> dict[str, object]:
        return {"connections": self.connections, "refused_full": self.refused_full,
                "messages": self.messages, "bytes_received": self.bytes_received,
                "bytes_sent": self.bytes_sent, "errors": dict(self.errors)}


class Server:
    """``async with Server(config, handler) as server: await server.serve_forever()``."""

    def __init__(self, config: ServerConfig, handler: Handler | None = None,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self._output = GroupCommitFile(config.output) if config.output is not None else None
        self.handler = handler or RecordingHandler(output=self._output, echo=config.echo,
                                                   record_format=config.output_format)
        self.metrics = metrics or create_metrics(config.metrics_port is not None)
        self.sessions = SessionTable(ttl=config.session_ttl)
        self.stats = ServerStats()
        self.connections: set[ServerConnection] = set()
        self._slots = 0  # connections holding a --max-connections slot, set up or not yet
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self.metrics_port: int | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise RuntimeError("server is not started")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    async def start(self) -> None:
        """Raise the fd limit, bind, listen, start accepting (and serving metrics)."""
        old, new = raise_nofile_limit()
        if new != old:
            log.debug("RLIMIT_NOFILE soft limit raised from %d to %d", old, new)
        self._listener = self._bind()
        if self.config.metrics_port is not None:
            self.metrics_port = self.metrics.start(self.config.metrics_port,
                                                   self.config.metrics_host)
        self._accepting = asyncio.create_task(self._accept_loop())
        host, port = self.address
        log.debug("listening on %s:%d%s", host, port, " (TLS)" if self.config.tls else "")

    def _bind(self) -> socket.socket:
        host = self.config.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, self.config.port))
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            raise NetworkError(f"cannot listen on {host}:{self.config.port}: "
                               f"{exc.strerror}") from exc
        sock.setblocking(False)
        return sock

    async def serve_forever(self) -> None:
        await self._stopped.wait()

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        listener = self._listener
        if listener is None:
            raise RuntimeError("server is not started")
        accepted = 0
        while True:
            accepted += 1
            if accepted % ACCEPT_BURST == 0:
                # sock_accept() completes without yielding while the backlog is full; let the
                # established connections run between bursts (a SYN flood must not starve them).
                await asyncio.sleep(0)
            try:
                sock, address = await loop.sock_accept(listener)
            except OSError as exc:
                if exc.errno in RESOURCE_ERRORS:
                    log.warning("accept failed (%s); backing off %.0f ms", exc.strerror,
                                ACCEPT_BACKOFF * 1000)
                    self.metrics.error("accept_" + errno.errorcode.get(exc.errno or 0, "?"))
                    await asyncio.sleep(ACCEPT_BACKOFF)
                    continue
                if exc.errno in TRANSIENT_ERRORS:
                    continue
                raise
            self._spawn(self._open(sock, address))

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reserve_slot(self) -> bool:
        """Take one of the --max-connections slots, or say there is none.

        Called before the first await of a new connection: connections accepted in one burst
        all start before any of them is registered, so counting ``self.connections`` would let
        every one of them in.
        """
        if self._slots >= self.config.max_connections:
            return False
        self._slots += 1
        return True

    async def _open(self, sock: socket.socket, address: tuple[str, int]) -> None:
        peer = f"{address[0]}:{address[1]}"
        reserved = self._reserve_slot()
        try:
            await self._setup(sock, peer, reserved)
        finally:
            if reserved:
                self._slots -= 1  # released however the connection ends (even cancelled)

    async def _setup(self, sock: socket.socket, peer: str, reserved: bool) -> None:
        """Streams for ``sock``; then serve it, or refuse it when no slot was free."""
        try:
            reader, writer = await self._streams(sock)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            log.info("%s: connection setup failed: %s", peer, exc)
            self.stats.count_error("tls" if isinstance(exc, ssl.SSLError) else "io")
            sock.close()
            return
        if not reserved:
            await self._refuse_full(writer, peer)
            return
        await self._serve_connection(reader, writer, peer)

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter, peer: str) -> None:
        connection = ServerConnection(self, reader, writer, peer)
        self.connections.add(connection)
        self.stats.connections += 1
        self.metrics.connection_opened()
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            self.metrics.connection_closed()

    async def _streams(self, sock: socket.socket
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = asyncio.StreamReader(limit=READ_SIZE, loop=loop)
        protocol = TimedStreamProtocol(reader, loop=loop)
        transport, _ = await loop.connect_accepted_socket(
            lambda: protocol, sock, ssl=self.config.tls,
            ssl_handshake_timeout=10.0 if self.config.tls else None)
        transport.set_write_buffer_limits(high=self.config.write_buffer)
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _refuse_full(self, writer: asyncio.StreamWriter, peer: str) -> None:
        """Over --max-connections: ERROR "server full" (a v1 frame, before any HELLO), close."""
        self.stats.refused_full += 1
        self.stats.count_error(ErrorCode.SERVER_FULL.name)
        self.metrics.error(ErrorCode.SERVER_FULL.name)
        log.warning("%s: refused: server full (%d connections)", peer, self._slots)
        frame = encode_frame(VERSION_1, int(MessageType.ERROR), 1,
                             error_text(ErrorCode.SERVER_FULL).encode(),
                             flags=int(ErrorCode.SERVER_FULL))
        writer.write(frame)
        self.metrics.frames("tx", frame)
        try:
            await asyncio.wait_for(writer.drain(), 1.0)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, TimeoutError):
            writer.transport.abort()

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting, GOODBYE to everyone, wait up to ``grace``, close the rest."""
        if self._stopped.is_set():
            return
        grace = self.config.grace if grace is None else grace
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()
        log.info("shutting down: GOODBYE to %d connection(s), grace %.1f s",
                 len(self.connections), grace)
        for connection in list(self.connections):
            await connection.say_goodbye()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self.handler.aclose()
        stop = getattr(self.metrics, "stop", None)
        if stop is not None:
            stop()
        self._stopped.set()
