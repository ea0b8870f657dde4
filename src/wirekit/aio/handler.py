"""The server's application interface, and the built-in handler behind ``--output``/``--echo``.

Embedding: subclass :class:`Handler` and pass it to :class:`wirekit.aio.Server`.  ``on_data``
is called once per delivered DATA, in order, exactly once per session (version 2 with resume);
its return value, if not None, is sent back to the client as a DATA.  ``commit`` is awaited once
per batch before the ACKs go out: make the batch durable there.  ``on_data`` is synchronous on
purpose: it runs for every message, and a coroutine per message would cost more than the
protocol itself; slow work belongs in ``commit`` or in a task of your own.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from wirekit.errors import UsageError
from wirekit.proto.records import RecordFormat, encode_record
from wirekit.proto.session import Session


class Handler:
    """Accepts everything, keeps nothing.  Override what you need."""

    def on_connect(self, session: Session) -> None:
        """A session started or was resumed."""

    def on_data(self, session: Session, sequence: int, payload: bytes) -> bytes | None:
        """One DATA, delivered once, in order.  Return a payload to send back, or None."""
        return None

    async def commit(self) -> None:
        """Make everything delivered so far durable; the ACKs wait for this."""

    @property
    def needs_commit(self) -> bool:
        """Whether ``commit`` does anything.  When it does not, the server acknowledges a batch
        in the same callback that read it (no task switch: lower latency)."""
        return type(self).commit is not Handler.commit

    def on_disconnect(self, session: Session) -> None:
        """The session's connection ended (it may be resumed later)."""

    async def aclose(self) -> None:
        """The server is stopping."""


class GroupCommitFile:
    """An append-only file where ``await flush()`` returns once earlier appends are on disk.

    Writes and ``fdatasync`` run in a worker thread so the event loop never waits for the disk.
    Appends made while a sync is running are written by the next one: one sync covers every
    connection's batch that arrived meanwhile (group commit).
    """

    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot open output file {path}: {exc.strerror}") from exc
        self.path = path
        self._pending: list[bytes] = []
        self._appended = 0   # records appended
        self._durable = 0    # records known to be on disk
        self._running: asyncio.Future[None] | None = None
        self._running_upto = 0
        self._failed: OSError | None = None
        self.syncs = 0

    def append(self, record: bytes) -> None:
        self._pending.append(record)
        self._appended += 1

    async def flush(self) -> None:
        """Return once every record appended before this call is durable.

        Every waiter settles the write it waited for itself: awaiting a future that is already
        done does not yield, so relying on the task that started the write to record its end
        could spin the loop forever while that task waits for its turn.
        """
        target = self._appended
        while self._durable < target:
            if self._failed is not None:
                raise self._failed
            running = self._running
            if running is None or running.done():
                running = self._start_write()
            upto = self._running_upto
            try:
                await asyncio.shield(running)
            except OSError as exc:
                self._failed = exc  # records were lost with the buffer: never claim more
                raise
            self._settle(running, upto)

    def _start_write(self) -> asyncio.Future[None]:
        data, self._running_upto = b"".join(self._pending), self._appended
        self._pending = []
        self._running = asyncio.get_running_loop().run_in_executor(None, self._write, data)
        return self._running

    def _settle(self, running: asyncio.Future[None], upto: int) -> None:
        if upto > self._durable:
            self._durable = upto
            self.syncs += 1
        if self._running is running:
            self._running = None

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class RecordingHandler(Handler):
    """``--output FILE`` (one record per DATA, durable before its ACK) and ``--echo``."""

    def __init__(self, *, output: GroupCommitFile | None = None, echo: bool = False,
                 record_format: RecordFormat = RecordFormat.LENGTH) -> None:
        self.output = output
        self.echo = echo
        self.record_format = record_format

    def on_data(self, session: Session, sequence: int, payload: bytes) -> bytes | None:
        if self.output is not None:
            self.output.append(encode_record(payload, self.record_format))
        return payload if self.echo else None

    async def commit(self) -> None:
        if self.output is not None:
            await self.output.flush()

    @property
    def needs_commit(self) -> bool:
        return self.output is not None

    async def aclose(self) -> None:
        if self.output is not None:
            await self.output.flush()
            self.output.close()
