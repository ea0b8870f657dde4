"""The end-of-run summary: the seed's ``analyze``, done over the whole run, interval by interval.

:class:`SummaryBuilder` adds up the intervals a :class:`~wirekit.monitor.rates.RateCalculator`
produced; it never reads the clock.  Averages divide by the seconds an interface was actually
observed (for an interface that vanished, the time until it vanished).  MB/s means 10**6 bytes
per second; the seed printed MiB/s under that label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wirekit.monitor.counters import COUNTER_NAMES, ZERO, Counters, InterfaceSample
from wirekit.monitor.facts import LinkFacts
from wirekit.monitor.rates import InterfaceRates, Interval, LinkEvent

#: Peaks ignore intervals shorter than this fraction of the configured interval: the final,
#: partial interval ended by a signal can be a few milliseconds long, and a handful of packets
#: over a few milliseconds is not a rate anyone saw.
PEAK_MIN_FRACTION = 0.5
#: Index of ``rx_nohandler`` in the struct: a kernel reporting more counters than this has it.
_NOHANDLER = COUNTER_NAMES.index("rx_nohandler")


@dataclass(frozen=True, slots=True)
class DirectionTotals:
    """One direction (RX or TX) of one interface over the run."""

    bytes: int
    packets: int
    errors: int
    dropped: int
    seconds: float
    peak_bits_per_second: float
    peak_packets_per_second: float
    #: "rx" or "tx"; ``nohandler`` (``rx_nohandler``) is a receive counter, ``None`` when the
    #: kernel does not report it (before Linux 4.6).
    direction: str = ""
    nohandler: int | None = None

    def _per_second(self, value: float) -> float:
        return value / self.seconds if self.seconds > 0 else 0.0

    @property
    def bits_per_second(self) -> float:
        return self._per_second(self.bytes * 8)

    @property
    def megabytes_per_second(self) -> float:
        return self._per_second(self.bytes / 1e6)

    @property
    def packets_per_second(self) -> float:
        return self._per_second(self.packets)

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "bytes": self.bytes, "packets": self.packets, "errors": self.errors,
            "dropped": self.dropped}
        if self.direction == "rx":
            record["nohandler"] = self.nohandler
        return {
            **record, "bits_per_second": self.bits_per_second,
            "megabytes_per_second": self.megabytes_per_second,
            "packets_per_second": self.packets_per_second,
            "peak_bits_per_second": self.peak_bits_per_second,
            "peak_packets_per_second": self.peak_packets_per_second,
        }


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event with the time it was seen (end of its interval)."""

    elapsed: float
    wall: float
    event: LinkEvent

    def as_dict(self) -> dict[str, Any]:
        return {"elapsed": self.elapsed, "time": self.wall, "event": self.event.kind.value,
                "detail": self.event.detail}


@dataclass(frozen=True, slots=True)
class InterfaceSummary:
    """Everything the summary says about one interface."""

    name: str
    sample: InterfaceSample | None  # the last dump that saw it
    present_at_end: bool
    seconds: float
    totals: Counters
    rx: DirectionTotals
    tx: DirectionTotals
    events: tuple[EventRecord, ...]
    facts: LinkFacts | None

    @property
    def vanished(self) -> bool:
        return not self.present_at_end and self.sample is not None

    @property
    def reported(self) -> int:
        """How many ``rtnl_link_stats64`` counters the kernel sends for this interface."""
        return self.sample.reported if self.sample is not None else len(COUNTER_NAMES)

    def as_dict(self) -> dict[str, Any]:
        sample = self.sample
        return {
            "name": self.name,
            "index": sample.index if sample else None,
            "kind": sample.kind if sample else None,
            "mtu": sample.mtu if sample else None,
            "operstate": sample.operstate if sample else None,
            "present_at_end": self.present_at_end,
            "seconds": self.seconds,
            "rx": self.rx.as_dict(), "tx": self.tx.as_dict(),
            "counters": self.totals.reported_dict(self.reported),
            "events": [record.as_dict() for record in self.events],
            "link": self.facts.as_dict() if self.facts else None,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """The whole run: from the baseline dump to the last one."""

    start_wall: float
    end_wall: float
    duration: float
    interval: float
    intervals: int
    stopped_by: str
    interfaces: tuple[InterfaceSummary, ...]

    def interface(self, name: str) -> InterfaceSummary:
        for summary in self.interfaces:
            if summary.name == name:
                return summary
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": {"time": self.start_wall, "interval_seconds": self.interval},
            "end": {"time": self.end_wall},
            "duration": self.duration,
            "intervals": self.intervals,
            "stopped_by": self.stopped_by,
            "interfaces": [summary.as_dict() for summary in self.interfaces],
        }


@dataclass(slots=True)
class _Running:
    """Mutable accumulator for one interface (private to the builder)."""

    sample: InterfaceSample | None = None
    present: bool = False
    seconds: float = 0.0
    totals: Counters = ZERO
    peaks: dict[str, float] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)

    def peak(self, key: str, value: float | None) -> None:
        if value is not None and value > self.peaks.get(key, 0.0):
            self.peaks[key] = value


class SummaryBuilder:
    """Collects intervals and link facts; :meth:`build` makes the :class:`Summary`."""

    def __init__(self, interval: float, start_time: float, start_wall: float) -> None:
        self._interval = interval
        self._start_time = start_time
        self._start_wall = start_wall
        self._end_time = start_time
        self._end_wall = start_wall
        self._count = 0
        self._running: dict[str, _Running] = {}
        self._facts: dict[str, LinkFacts | None] = {}

    def start_with(self, samples: list[InterfaceSample]) -> None:
        """Record the interfaces of the baseline dump (present from the start)."""
        for sample in samples:
            self._running[sample.name] = _Running(sample=sample, present=True)

    def set_facts(self, name: str, facts: LinkFacts | None) -> None:
        self._facts[name] = facts

    def add(self, interval: Interval) -> None:
        self._count += 1
        self._end_time, self._end_wall = interval.time, interval.wall
        counts_for_peaks = interval.seconds >= PEAK_MIN_FRACTION * self._interval
        for row in interval.interfaces:
            self._add_row(interval, row, counts_for_peaks)

    def _add_row(self, interval: Interval, row: InterfaceRates, peaks: bool) -> None:
        running = self._running.setdefault(row.name, _Running())
        running.present = row.present
        if row.sample is not None:
            running.sample = row.sample
        running.events.extend(EventRecord(interval.elapsed, interval.wall, event)
                              for event in row.events)
        if row.delta is None:
            return
        running.seconds += row.seconds
        running.totals = running.totals + row.delta
        if peaks:
            for direction in ("rx", "tx"):
                running.peak(f"{direction}_bits", row.bits_per_second(direction))
                running.peak(f"{direction}_packets", row.per_second(f"{direction}_packets"))

    def build(self, stopped_by: str) -> Summary:
        return Summary(
            start_wall=self._start_wall, end_wall=self._end_wall,
            duration=self._end_time - self._start_time, interval=self._interval,
            intervals=self._count, stopped_by=stopped_by,
            interfaces=tuple(self._interface(name, running)
                             for name, running in self._running.items()),
        )

    def _interface(self, name: str, running: _Running) -> InterfaceSummary:
        return InterfaceSummary(
            name=name, sample=running.sample, present_at_end=running.present,
            seconds=running.seconds, totals=running.totals,
            rx=_direction(running, "rx"), tx=_direction(running, "tx"),
            events=tuple(running.events), facts=self._facts.get(name),
        )


def _direction(running: _Running, direction: str) -> DirectionTotals:
    totals = running.totals
    reported = running.sample.reported if running.sample is not None else len(COUNTER_NAMES)
    nohandler = totals.rx_nohandler if direction == "rx" and reported > _NOHANDLER else None
    return DirectionTotals(
        bytes=getattr(totals, f"{direction}_bytes"),
        packets=getattr(totals, f"{direction}_packets"),
        errors=getattr(totals, f"{direction}_errors"),
        dropped=getattr(totals, f"{direction}_dropped"),
        seconds=running.seconds,
        peak_bits_per_second=running.peaks.get(f"{direction}_bits", 0.0),
        peak_packets_per_second=running.peaks.get(f"{direction}_packets", 0.0),
        direction=direction, nohandler=nohandler,
    )


def vanished_names(summary: Summary) -> tuple[str, ...]:
    """Interfaces that were seen and were gone at the end."""
    return tuple(item.name for item in summary.interfaces if item.vanished)

