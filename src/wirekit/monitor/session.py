"""The monitor loop: sample at fixed deadlines, feed the calculator, stop cleanly.

:class:`MonitorSession` is the thin I/O shell around the sans-I/O calculator and summary
builder.  It owns the schedule (absolute deadlines on the monotonic clock, so the series does
not drift), the stop conditions (duration, interval count, a stop request) and the link facts.
:class:`StopToken` carries a stop request from a signal handler or another thread into the
loop's wait without races: the wait is a ``select`` on a socket pair the request writes to.
"""

from __future__ import annotations

import contextlib
import math
import select
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Protocol

from wirekit.errors import InterfaceError
from wirekit.monitor.counters import Snapshot
from wirekit.monitor.facts import LinkFacts, read_link_facts
from wirekit.monitor.rates import EventKind, Interval, RateCalculator, Selection
from wirekit.monitor.summary import Summary, SummaryBuilder

FactsReader = Callable[[str], LinkFacts | None]


class SnapshotSource(Protocol):
    """What the session needs from a sampler (the real :class:`Sampler`, or a test fake)."""

    def take(self) -> Snapshot: ...


class StopToken:
    """A stop request that interrupts the loop's wait at once.

    ``request(reason)`` may be called from a signal handler or another thread: it records the
    first reason and writes one byte to a socket pair that :meth:`wait` selects on.  (An
    ``Event.set()`` from a signal handler can deadlock on the event's own lock.)
    """

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        with contextlib.suppress(OSError):
            self._writer.send(b"\0")

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True as soon as a stop was requested."""
        if self.reason is None and timeout > 0:
            select.select([self._reader], [], [], timeout)
        return self.reason is not None

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


@contextlib.contextmanager
def stop_on_signals(token: StopToken,
                    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
                    ) -> Iterator[StopToken]:
    """Turn ``signals`` into ``token.request("SIGINT")`` etc. while the block runs.

    The previous handlers come back on exit, so a second Ctrl-C after the loop (while the
    summary or the plot is written) interrupts as usual.
    """
    def handler(number: int, frame: FrameType | None) -> None:
        token.request(signal.Signals(number).name)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield token
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class MonitorSession:
    """Sample ``source`` every ``interval`` seconds until ``duration``, ``count`` or a stop.

    Use: ``start()`` (the baseline; raises :class:`InterfaceError` for unknown names), iterate
    ``intervals()``, then ``summary()``.  ``clock`` must be the clock of the source's snapshots.
    Link facts are read with ``facts_reader`` (default :func:`read_link_facts`) when an
    interface is first seen or re-created; ``read_facts=False`` skips them.
    """

    def __init__(self, source: SnapshotSource, *, interval: float = 1.0,
                 duration: float | None = None, count: int | None = None,
                 selection: Selection | None = None, stop: StopToken | None = None,
                 facts_reader: FactsReader | None = None, read_facts: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if interval <= 0 or (duration is not None and duration <= 0) or (
                count is not None and count < 1):
            raise ValueError("interval and duration must be positive, count at least 1")
        self._source = source
        self._interval = interval
        self._duration = duration
        self._count = count
        self._selection = selection or Selection()
        self._stop = stop or StopToken()
        self._facts_reader = facts_reader
        self._read_facts_enabled = read_facts
        self._clock = clock
        self._calculator = RateCalculator(self._selection)
        self._builder: SummaryBuilder | None = None
        self._first: Snapshot | None = None
        self._last_time = 0.0
        self._intervals = 0
        self.stopped_by = "not started"

    @property
    def tracked(self) -> tuple[str, ...]:
        return self._calculator.tracked

    @property
    def started_at(self) -> float | None:
        """Wall-clock time of the baseline dump (``None`` before :meth:`start`)."""
        return None if self._first is None else self._first.wall

    def start(self) -> Snapshot:
        """Take the baseline dump; unknown named interfaces are an error listing the real ones."""
        snapshot = self._source.take()
        missing = self._selection.missing(snapshot)
        if missing:
            names = ", ".join(missing)
            present = ", ".join(snapshot.interfaces) or "none"
            raise InterfaceError(f"no such interface: {names} (interfaces here: {present})")
        self._calculator.baseline(snapshot)
        self._builder = SummaryBuilder(self._interval, snapshot.time, snapshot.wall)
        self._builder.start_with([snapshot.interfaces[name] for name in self.tracked
                                  if name in snapshot.interfaces])
        for name in self.tracked:
            self._read_facts(name)
        self._first = snapshot
        self._last_time = snapshot.time
        self.stopped_by = "running"
        return snapshot

    def intervals(self) -> Iterator[Interval]:
        """Yield each interval as it completes; the last one may be partial (stop request)."""
        if self._first is None:
            raise ValueError("start() first")
        while True:
            if self._count is not None and self._intervals >= self._count:
                self.stopped_by = "count"
                return
            deadline, is_end = self._next_deadline()
            stopped = self._stop.wait(deadline - self._clock())
            yield self._sample()
            if stopped:
                self.stopped_by = self._stop.reason or "stopped"
                return
            if is_end:
                self.stopped_by = "duration"
                return

    def summary(self) -> Summary:
        if self._builder is None:
            raise ValueError("start() first")
        return self._builder.build(self.stopped_by)

    def _next_deadline(self) -> tuple[float, bool]:
        """The next grid point ``t0 + n*interval`` after the last sample, capped at the end."""
        if self._first is None:
            raise ValueError("start() first")
        start = self._first.time
        steps = math.floor((self._last_time - start) / self._interval + 1e-9) + 1
        deadline = start + steps * self._interval
        if self._duration is not None and deadline >= start + self._duration - 1e-9:
            return start + self._duration, True
        return deadline, False

    def _sample(self) -> Interval:
        if self._builder is None:
            raise ValueError("start() first")
        snapshot = self._source.take()
        if snapshot.time <= self._last_time:
            # A stop request right after a sample: nothing has elapsed, report a tiny interval.
            snapshot = Snapshot(self._last_time + 1e-6, snapshot.wall, snapshot.interfaces)
        known = set(self._calculator.tracked)
        interval = self._calculator.feed(snapshot)
        self._last_time = snapshot.time
        self._intervals += 1
        self._builder.add(interval)
        for row in interval.interfaces:
            renewed = any(event.kind is EventKind.RECREATED for event in row.events)
            if row.present and (row.name not in known or renewed):
                self._read_facts(row.name)
        return interval

    def _read_facts(self, name: str) -> None:
        if not self._read_facts_enabled or self._builder is None:
            return
        reader = self._facts_reader or read_link_facts
        self._builder.set_facts(name, reader(name))
