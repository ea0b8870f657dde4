"""Replaying captured frames onto an interface, tcpreplay-style.

:class:`Schedule` is the sans-I/O half: for every frame of one pass it knows the moment, in
seconds after the pass began, at which that frame is due — from the packet rate (``--pps``), the
bit rate (``--mbps``) or the capture's own timestamps scaled by ``--multiplier``.  The times are
absolute, so a late wake-up is caught up by sending every frame that has become due at once: the
average rate never drifts.  ``--topspeed`` has no schedule at all.

:func:`replay` is the I/O half: it sends a :class:`~wirekit.link.sender.FrameVector` through a
:class:`~wirekit.link.sender.FrameSender`, pass after pass, until the loop count is done or the
stop flag is set.
"""

from __future__ import annotations

import bisect
import math
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wirekit.errors import UsageError
from wirekit.link.sender import MAX_BATCH, FrameSender, FrameVector
from wirekit.packet.linktype import LinkType

if TYPE_CHECKING:
    from wirekit.rewrite import Rewrite

#: The longest single sleep; the stop flag is looked at at least this often.
MAX_SLEEP = 0.05
#: Back-off after the kernel refused a batch (ENOBUFS/EAGAIN) before trying again.
RETRY_PAUSE = 0.0001


@dataclass(frozen=True, slots=True)
class Pacing:
    """How fast to send: ``topspeed``, ``pps``, ``mbps`` or ``multiplier`` (of capture time)."""

    mode: str = "multiplier"
    value: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("topspeed", "pps", "mbps", "multiplier"):
            raise UsageError(f"unknown pacing mode {self.mode!r}")
        if self.mode != "topspeed" and not (self.value > 0 and math.isfinite(self.value)):
            raise UsageError(f"--{self.mode} must be a number greater than 0, not "
                             f"{self.value:g}")

    def describe(self) -> str:
        if self.mode == "topspeed":
            return "as fast as possible"
        units = {"pps": "packets/s", "mbps": "Mbit/s", "multiplier": "x capture speed"}
        return f"{self.value:g} {units[self.mode]}"


class Schedule:
    """Due times (seconds from the start of a pass) of every frame, and the length of a pass."""

    def __init__(self, pacing: Pacing, timestamps_ns: Sequence[int],
                 lengths: Sequence[int]) -> None:
        self.pacing = pacing
        self.count = len(lengths)
        self.due = array("d")
        self.pass_duration = 0.0
        if pacing.mode == "pps":
            self._by_rate(pacing.value)
        elif pacing.mode == "mbps":
            self._by_bits(pacing.value * 1e6, lengths)
        elif pacing.mode == "multiplier":
            self._by_capture(pacing.value, timestamps_ns)

    def _by_rate(self, pps: float) -> None:
        gap = 1.0 / pps
        self.due = array("d", (index * gap for index in range(self.count)))
        self.pass_duration = self.count * gap

    def _by_bits(self, bits_per_second: float, lengths: Sequence[int]) -> None:
        elapsed = 0.0
        due = array("d")
        for length in lengths:
            due.append(elapsed)
            elapsed += length * 8 / bits_per_second
        self.due, self.pass_duration = due, elapsed

    def _by_capture(self, multiplier: float, timestamps_ns: Sequence[int]) -> None:
        if not timestamps_ns:
            return
        first = timestamps_ns[0]
        # A capture is not always in time order (merged files); never schedule into the past.
        latest = 0.0
        due = array("d")
        for stamp in timestamps_ns:
            latest = max(latest, (stamp - first) / 1e9 / multiplier)
            due.append(latest)
        gap = latest / (len(due) - 1) if len(due) > 1 else 0.0
        self.due, self.pass_duration = due, latest + gap

    def ready(self, cursor: int, elapsed: float) -> int:
        """How many frames from ``cursor`` on are due ``elapsed`` seconds into the pass."""
        return bisect.bisect_right(self.due, elapsed, cursor) - cursor

    def wait(self, cursor: int, elapsed: float) -> float:
        """Seconds until frame ``cursor`` is due (0 when it already is)."""
        return max(0.0, self.due[cursor] - elapsed)


@dataclass(frozen=True, slots=True)
class ReplayStats:
    """tcpreplay's closing statistics."""

    packets: int
    bytes: int
    elapsed: float
    failed: int
    truncated: int
    retried_enobufs: int
    retried_eagain: int
    passes: int
    interrupted: bool

    @property
    def pps(self) -> float:
        return self.packets / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def mbps(self) -> float:
        return self.bytes * 8 / self.elapsed / 1e6 if self.elapsed > 0 else 0.0

    def report_lines(self, interface: str) -> list[str]:
        """The summary tcpreplay prints, line for line."""
        bps = self.bytes / self.elapsed if self.elapsed > 0 else 0.0
        return [
            f"Actual: {self.packets} packets ({self.bytes} bytes) sent in {self.elapsed:.2f} "
            "seconds",
            f"Rated: {bps:.1f} Bps, {self.mbps:.2f} Mbps, {self.pps:.2f} pps",
            f"Statistics for network device: {interface}",
            f"\tSuccessful packets:        {self.packets}",
            f"\tFailed packets:            {self.failed}",
            f"\tTruncated packets:         {self.truncated}",
            f"\tRetried packets (ENOBUFS): {self.retried_enobufs}",
            f"\tRetried packets (EAGAIN):  {self.retried_eagain}",
        ]


@dataclass(frozen=True, slots=True)
class Limits:
    """Where a replay ends besides its loop count (tcpreplay's ``--limit``, ``--duration``)
    and the pause between two passes (``--loopdelay-ms``); 0 means none."""

    packets: int = 0
    seconds: float = 0.0
    loop_delay: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and math.isfinite(self.loop_delay)):
            raise UsageError("--duration and --loopdelay-ms must be finite numbers")
        if self.packets < 0 or self.seconds < 0 or self.loop_delay < 0:
            raise UsageError("--limit, --duration and --loopdelay-ms cannot be negative")


class _Run:
    """The state of one replay: which frame is next, in which pass, and what was sent."""

    def __init__(self, sender: FrameSender, vector: FrameVector,
                 stop: Callable[[], bool], limits: Limits) -> None:
        self.sender = sender
        self.vector = vector
        self.user_stop = stop
        self.limits = limits
        self.deadline = time.perf_counter() + limits.seconds if limits.seconds else None
        self.packets = 0
        self.bytes = 0

    def stop(self) -> bool:
        return self.user_stop() or self.limit_reached()

    def limit_reached(self) -> bool:
        """--limit or --duration is done: the replay ends normally, not interrupted."""
        if self.limits.packets and self.packets >= self.limits.packets:
            return True
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def pause(self, seconds: float) -> None:
        """--loopdelay-ms between passes, cut short by a stop."""
        end = time.perf_counter() + seconds
        while not self.stop():
            left = end - time.perf_counter()
            if left <= 0:
                return
            time.sleep(min(left, MAX_SLEEP))

    def send(self, cursor: int, wanted: int) -> int:
        """Send up to ``wanted`` frames from ``cursor``; return how far the cursor moved."""
        if self.limits.packets:
            wanted = min(wanted, self.limits.packets - self.packets)
        sent = self.sender.send_vector(self.vector, cursor, wanted)
        if sent < 0:  # the frame at cursor was refused (too big): skip it, as tcpreplay does
            return 1
        if sent == 0:
            time.sleep(RETRY_PAUSE)
            return 0
        self.packets += sent
        lengths = self.vector.lengths
        self.bytes += sum(lengths[cursor:cursor + sent]) if sent > 1 else lengths[cursor]
        return sent

    def topspeed_pass(self) -> bool:
        cursor, count = 0, self.vector.count
        while cursor < count:
            if self.stop():
                return False
            cursor += self.send(cursor, MAX_BATCH)
        return True

    def paced_pass(self, schedule: Schedule, began: float) -> bool:
        cursor, count = 0, self.vector.count
        while cursor < count:
            if self.stop():
                return False
            elapsed = time.perf_counter() - began
            due = schedule.ready(cursor, elapsed)
            if due == 0:
                time.sleep(min(schedule.wait(cursor, elapsed), MAX_SLEEP))
                continue
            cursor += self.send(cursor, min(due, MAX_BATCH))
        return True


def replay(sender: FrameSender, vector: FrameVector, pacing: Pacing, *,
           timestamps_ns: Sequence[int] = (), loops: int = 1, truncated: int = 0,
           stop: Callable[[], bool] = lambda: False, limits: Limits | None = None,
           ) -> ReplayStats:
    """Send ``vector`` ``loops`` times (0: until stopped) at ``pacing``; return the statistics.

    ``limits`` may end it sooner (a packet count, a duration) and pause between passes.
    """
    if vector.count == 0:
        raise UsageError("the capture holds no frames to replay")
    limits = limits or Limits()
    schedule = None if pacing.mode == "topspeed" else Schedule(pacing, timestamps_ns,
                                                                vector.lengths)
    start = time.perf_counter()
    run = _Run(sender, vector, stop, limits)
    passes = 0
    finished = True
    began = start
    while loops == 0 or passes < loops:
        if passes and limits.loop_delay:
            run.pause(limits.loop_delay)
            began = time.perf_counter()
        if schedule is None:
            finished = run.topspeed_pass()
        else:
            finished = run.paced_pass(schedule, began)
            began += schedule.pass_duration
        if not finished:
            break
        passes += 1
    elapsed = time.perf_counter() - start
    counters = sender.counters
    interrupted = not finished and not run.limit_reached()
    return ReplayStats(run.packets, run.bytes, elapsed, counters.failed, truncated * passes,
                       counters.retried_enobufs, counters.retried_eagain, passes,
                       interrupted=interrupted)


@dataclass(frozen=True, slots=True)
class LoadedCapture:
    """A capture file in memory, ready to send: frames, their timestamps, how many were cut."""

    frames: FrameVector
    timestamps: array[int]
    truncated: int
    link: LinkType
    #: the file's last record was cut short (how, in the reader's words), or None
    damaged: str | None = None


#: Link types whose frames an Ethernet interface can send as they are.
SENDABLE = (LinkType.ETHERNET,)


def load_capture(path: Path, edit: Rewrite | None = None) -> LoadedCapture:
    """Read every frame of a pcap/pcapng file into one :class:`FrameVector`.

    Frames cut short by the capture's snaplen are sent as captured and counted as truncated
    (tcpreplay does the same); a non-Ethernet capture is refused, since its frames have no
    link header an Ethernet device could send.  ``edit`` rewrites each frame once, as it is
    loaded (tcpreplay-edit's options), so sending costs the same with or without it.
    """
    from wirekit.pcap import Reader

    vector = FrameVector()
    stamps = array("q")
    truncated = 0
    with Reader(str(path)) as reader:
        for record in reader:
            if record.link not in SENDABLE:
                raise UsageError(f"{path} holds {_link_name(record.link)} frames; only "
                                 "Ethernet captures can be replayed onto an interface")
            vector.append(bytes(edit.apply(record.packet)) if edit is not None and edit.active
                          else record.data)
            stamps.append(record.timestamp_ns)
            truncated += record.caplen < record.orig_len
        damaged = str(reader.truncation) if reader.truncation is not None else None
    vector.seal()
    return LoadedCapture(vector, stamps, truncated, LinkType.ETHERNET, damaged)


def _link_name(link: object) -> str:
    return link.name if isinstance(link, LinkType) else f"link type {link}"
