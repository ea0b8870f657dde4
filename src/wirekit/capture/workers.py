"""``--workers N``: one capture spread over N processes with PACKET_FANOUT.

The parent opens all N sockets and makes the shared ``-c`` budget (so privileges can be dropped
before any worker runs), joins the sockets to one fanout group and forks one worker per socket.
Each worker runs the ordinary capture loop on its own ring, with its own sinks, and draws frames
from the shared budget, so the total is exact.  At the end every worker sends its count and
kernel statistics up a pipe and the parent adds them up.  Files written per worker are merged by
timestamp into the one file the user asked for (see :func:`wirekit.capture.merge.merge_files`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wirekit.capture.engine import CaptureResult, Sink, StopFlag, run_capture, stop_on_signals
from wirekit.capture.source import CaptureOptions, LiveSource, resolve_device
from wirekit.errors import CaptureError, InterfaceError
from wirekit.link.afpacket import PacketStatistics

#: How often the parent looks for finished workers and pending stop requests.
REAP_INTERVAL = 0.05


class SharedBudget:
    """The ``-c`` budget shared by the workers (a counter in shared memory, under a lock)."""

    def __init__(self, count: int | None) -> None:
        context = multiprocessing.get_context("fork")
        self.unlimited = count is None
        self._left = context.Value("q", count or 0)

    def claim(self, wanted: int) -> int:
        if self.unlimited:
            return wanted
        with self._left.get_lock():
            granted = min(wanted, int(self._left.value))
            self._left.value -= granted
        return granted

    def give_back(self, unused: int) -> None:
        if not self.unlimited and unused:
            with self._left.get_lock():
                self._left.value += unused


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """What one worker sends up its pipe when it is done."""

    worker: int
    captured: int
    statistics: PacketStatistics
    reason: str
    error: str = ""

    def to_json(self) -> str:
        return json.dumps({"worker": self.worker, "captured": self.captured,
                           "received": self.statistics.received,
                           "dropped": self.statistics.dropped, "reason": self.reason,
                           "error": self.error})

    @classmethod
    def from_json(cls, text: str) -> WorkerReport:
        raw: dict[str, Any] = json.loads(text)
        return cls(int(raw["worker"]), int(raw["captured"]),
                   PacketStatistics(int(raw["received"]), int(raw["dropped"])),
                   str(raw["reason"]), str(raw.get("error", "")))


class FanoutCapture:
    """N capture sockets in one fanout group, opened now and run in N processes later."""

    def __init__(self, options: CaptureOptions) -> None:
        self.options = options
        device = resolve_device(options.interface)
        self.group = random.randrange(1, 0x10000)
        # Made now, with the sockets: after --drop-privileges, Value() would import
        # multiprocessing.sharedctypes from a Python the new user may not be able to read.
        self.budget = SharedBudget(options.count)
        self.sources: list[LiveSource] = []
        try:
            for _ in range(options.workers):
                self.sources.append(LiveSource(options, fanout_group=self.group, device=device))
        except BaseException:
            self.close()
            raise

    @property
    def link(self) -> Any:
        return self.sources[0].link

    @property
    def program(self) -> Any:
        return self.sources[0].program

    def close(self) -> None:
        for source in self.sources:
            with contextlib.suppress(OSError, ValueError, BufferError):
                source.close()
        self.sources = []

    def run(self, make_sinks: Callable[[int], Sequence[Sink]], stop: StopFlag, *,
            drain_ms: int = 0) -> CaptureResult:
        """Fork the workers, wait for them, and merge their counts and statistics."""
        budget = self.budget
        children: dict[int, int] = {}
        pipes: list[int] = []
        sys.stdout.flush()
        sys.stderr.flush()
        for index, source in enumerate(self.sources):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child, measured by the fanout tests
                os.close(read_end)
                _worker_main(index, source, self.sources, make_sinks=make_sinks, budget=budget,
                             report_fd=write_end, drain_ms=drain_ms)
            os.close(write_end)
            children[pid] = index
            pipes.append(read_end)
        self.close()  # the children own the sockets now; ours would keep them alive
        with stop_on_signals(stop):
            _wait_for(children, stop)
        reports = [_read_report(fd) for fd in pipes]
        return _merge_reports(reports, stop)


def _worker_main(index: int, source: LiveSource, everyone: list[LiveSource], *,
                 make_sinks: Callable[[int], Sequence[Sink]], budget: SharedBudget,
                 report_fd: int, drain_ms: int) -> None:  # pragma: no cover - child process
    """A worker's whole life: capture, close the sinks, report, exit without cleanup hooks."""
    code = 0
    stop = StopFlag()
    try:
        for other in everyone:
            if other is not source:
                with contextlib.suppress(OSError, ValueError, BufferError):
                    other.close()
        with stop_on_signals(stop):
            sinks = make_sinks(index)
            try:
                result = run_capture(source, sinks, stop, budget=budget,
                                     on_block=sys.stdout.flush, drain_ms=drain_ms)
            finally:
                for sink in sinks:
                    sink.close()
        report = WorkerReport(index, result.captured, result.statistics, result.reason,
                              error=str(result.error or ""))
    except BaseException as exc:
        code = 1
        report = WorkerReport(index, 0, PacketStatistics(), "error",
                              error=f"{type(exc).__name__}: {exc}")
        if os.environ.get("WIREKIT_DEBUG") == "1":
            traceback.print_exc()
    with contextlib.suppress(OSError):
        sys.stdout.flush()
        os.write(report_fd, report.to_json().encode())
    os._exit(code)


def _wait_for(children: dict[int, int], stop: StopFlag) -> None:
    """Reap every worker; a stop request to the parent is passed on to them as SIGTERM."""
    forwarded = False
    while children:
        if stop and not forwarded:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            forwarded = True
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            # Polling, not a blocking wait: PEP 475 would resume a blocking waitpid after our
            # SIGTERM handler ran, and the stop would never reach the workers.
            time.sleep(REAP_INTERVAL)
            continue
        children.pop(pid, None)


def _read_report(fd: int) -> WorkerReport | None:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    text = b"".join(chunks).decode()
    return WorkerReport.from_json(text) if text else None


def _merge_reports(reports: list[WorkerReport | None], stop: StopFlag) -> CaptureResult:
    crashes = [r.error for r in reports if r is not None and r.reason == "error"]
    if crashes:
        raise CaptureError(f"a capture worker failed: {crashes[0]}")
    if any(report is None for report in reports):
        raise CaptureError("a capture worker died without reporting")
    done = [r for r in reports if r is not None]
    ended = next((r.error for r in done if r.error), "")
    statistics = PacketStatistics()
    for report in done:
        statistics = statistics + report.statistics
    reasons = {r.reason for r in done}
    reason = stop.reason or ("count" if "count" in reasons else sorted(reasons)[0])
    return CaptureResult(sum(r.captured for r in done), statistics, reason,
                         error=InterfaceError(ended) if ended else None)
