"""The capture loop: ring -> (optional user-space filter) -> sinks, until told to stop.

A sink is anything with ``write(data, timestamp_ns, orig_len)`` and ``close()`` — the pcap
``Writer`` is one as it is, the printers in :mod:`wirekit.capture.sinks` are the others.  The
loop stops on the packet count, on :class:`StopFlag` (set by SIGINT/SIGTERM handlers) or when
its budget is exhausted; a block is always released before the loop looks at the flag again,
and every frame counted as captured has been handed to every sink.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from wirekit.errors import CaptureError, InterfaceError, WirekitError
from wirekit.link.afpacket import PacketStatistics
from wirekit.link.bpf import FilterProgram

#: How long one poll waits before the loop looks at the stop flag again.
POLL_TIMEOUT_MS = 100


class Sink(Protocol):
    """Where captured frames go."""

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None: ...

    def close(self) -> None: ...


class FrameBlock(Protocol):
    """A block of frames owned by user space (:class:`wirekit.link.ring.Block`)."""

    @property
    def count(self) -> int: ...

    def frames(self) -> Iterator[tuple[int, memoryview, int]]: ...

    def deliver(self, write: Callable[[memoryview, int, int], object], allowed: int) -> int: ...

    def release(self) -> None: ...


class FrameSource(Protocol):
    """Where blocks come from (:class:`wirekit.capture.source.LiveSource`)."""

    @property
    def user_filter(self) -> FilterProgram | None: ...

    def next_block(self, timeout_ms: int) -> FrameBlock | None: ...

    def statistics(self) -> PacketStatistics: ...


#: Why a capture stops at once, without draining the ring: the -c count, or the -W files of -G.
FILE_LIMIT = "file limit"
IMMEDIATE = ("count", FILE_LIMIT)


class StopFlag:
    """Set once by a signal handler or a caller; the loop checks it between blocks."""

    __slots__ = ("reason", "signum")

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reason = ""

    def set(self, reason: str = "stopped", signum: int | None = None) -> None:
        if not self.reason:
            self.reason = reason
            self.signum = signum

    def __bool__(self) -> bool:
        return bool(self.reason)


@contextlib.contextmanager
def stop_on_signals(flag: StopFlag,
                    signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into ``flag.set`` for the duration, then restore the old handlers.

    A KeyboardInterrupt raised in the middle of a pcap write would leave half a record in the
    file; a flag checked between blocks cannot.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        flag.set(signal.Signals(signum).name, signum)

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Budget(Protocol):
    """How many more frames may be captured (shared between fanout workers)."""

    def claim(self, wanted: int) -> int: ...

    def give_back(self, unused: int) -> None: ...


class LocalBudget:
    """The ``-c N`` budget of a single process (None: unlimited)."""

    __slots__ = ("left",)

    def __init__(self, count: int | None) -> None:
        self.left = count

    def claim(self, wanted: int) -> int:
        if self.left is None:
            return wanted
        granted = min(wanted, self.left)
        self.left -= granted
        return granted

    def give_back(self, unused: int) -> None:
        if self.left is not None:
            self.left += unused


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What tcpdump prints at the end, plus why the capture stopped."""

    captured: int
    statistics: PacketStatistics
    reason: str
    error: WirekitError | None = None  # what ended the capture early, if anything did

    def report_lines(self) -> list[str]:
        """tcpdump's three closing lines."""
        return [f"{self.captured} packet{'s' if self.captured != 1 else ''} captured",
                f"{self.statistics.received} packet{'s' if self.statistics.received != 1 else ''}"
                " received by filter",
                f"{self.statistics.dropped} packet{'s' if self.statistics.dropped != 1 else ''}"
                " dropped by kernel"]


def _deliver(source: FrameSource, sinks: Sequence[Sink], block: FrameBlock,
             allowed: int) -> int:
    """Hand up to ``allowed`` frames of one block to the sinks; return how many went."""
    user_filter = source.user_filter
    if len(sinks) == 1 and user_filter is None:
        return block.deliver(sinks[0].write, allowed)  # the hot path: one sink, kernel filter
    delivered = 0
    for timestamp, data, length in block.frames():
        if delivered == allowed:
            break
        if user_filter is not None and not user_filter.matches(data, length):
            continue
        for sink in sinks:
            sink.write(data, timestamp, length)
        delivered += 1
    return delivered


def run_capture(source: FrameSource, sinks: Sequence[Sink], stop: StopFlag, *,
                count: int | None = None, budget: Budget | None = None,
                on_block: Callable[[], None] | None = None,
                drain_ms: int = 0) -> CaptureResult:
    """Capture until the budget is spent or ``stop`` is set; the sinks are not closed here.

    After a stop that is not the count (a signal), the loop keeps reading for up to
    ``drain_ms``: frames the kernel already accepted into a block that was not retired yet
    would otherwise be counted "received by filter" and never reach the file.
    """
    budget = budget or LocalBudget(count)
    captured = 0
    deadline: float | None = None
    while True:
        if stop and deadline is None:
            if stop.reason in IMMEDIATE or drain_ms <= 0:
                break
            deadline = time.monotonic() + drain_ms / 1000
        wait = POLL_TIMEOUT_MS if deadline is None else int((deadline - time.monotonic()) * 1000)
        if wait < 0:
            break
        try:
            block = source.next_block(wait)
        except (InterfaceError, CaptureError) as exc:
            # The file and the statistics are still wanted (tcpdump prints both too).
            stop.set(str(exc))
            return CaptureResult(captured, source.statistics(), stop.reason, error=exc)
        if block is None:
            if deadline is None and _spent(budget):  # a fanout sibling used up the count
                stop.set("count")
            continue
        captured += _consume(source, sinks, block, budget, stop)
        if on_block is not None:
            on_block()
    return CaptureResult(captured, source.statistics(), stop.reason or "stopped")


def _consume(source: FrameSource, sinks: Sequence[Sink], block: FrameBlock, budget: Budget,
             stop: StopFlag) -> int:
    """Deliver one block within the budget and release it; return how many frames went."""
    delivered = 0
    try:
        if block.count:
            allowed = budget.claim(block.count)
            delivered = _deliver(source, sinks, block, allowed) if allowed else 0
            budget.give_back(allowed - delivered)
    finally:
        block.release()
    if _spent(budget):
        stop.set("count")
    return delivered


def _spent(budget: Budget) -> bool:
    """True when a claim of one frame would be refused (the -c count is reached)."""
    granted = budget.claim(1)
    budget.give_back(granted)
    return granted == 0
