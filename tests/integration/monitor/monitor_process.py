"""Run ``wirekit monitor --json-stream`` as a real process and read its events as they come."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

Event = dict[str, Any]
WIREKIT = [sys.executable, "-m", "wirekit"]


class StreamedMonitor:
    """A ``wirekit monitor ... --json-stream`` child; its stdout lines are parsed on a thread.

    ``prefix`` runs it elsewhere (``ip netns exec NS``).  Use as a context manager: the child
    is killed on exit if it is still running.
    """

    def __init__(self, args: Sequence[str], prefix: Sequence[str] = ()) -> None:
        self.process = subprocess.Popen(
            [*prefix, *WIREKIT, "monitor", *args, "--json-stream"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.events: list[Event] = []
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(json.loads(line))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        """Collect events until one matches ``predicate``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout} s: {self.events[-3:]}")
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                raise AssertionError(f"monitor ended early (rc {self.process.wait()}): "
                                     f"{self.stderr()}")
            self.events.append(event)
            if predicate(event):
                return event

    def started(self) -> Event:
        """The start event: the baseline sample has been taken."""
        return self.wait_for(lambda event: event["event"] == "start")

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 20.0) -> Event:
        """Send ``sig`` and return the end event (the summary); the child must exit 0."""
        self.process.send_signal(sig)
        end = self.wait_for(lambda event: event["event"] == "end", timeout)
        code = self.process.wait(timeout)
        if code != 0:
            raise AssertionError(f"monitor exited {code}: {self.stderr()}")
        return end

    def stderr(self) -> str:
        return self.process.stderr.read() if self.process.stderr else ""

    def __enter__(self) -> StreamedMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def interface(summary: Event, name: str) -> Event:
    """The summary entry of interface ``name`` (from an end event's ``data``)."""
    for item in summary["interfaces"]:
        if item["name"] == name:
            return dict(item)
    raise AssertionError(f"{name} not in summary: {[i['name'] for i in summary['interfaces']]}")
