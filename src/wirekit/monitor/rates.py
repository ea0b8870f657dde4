"""Sans-I/O rate calculator: snapshots in, per-interval rates out.

:class:`RateCalculator` never reads the clock or the kernel; each :class:`Snapshot` carries the
time it was taken.  It handles what real counters do over a long run: 32-bit counters that wrap
inside the 64-bit netlink struct, drivers that zero their counters, interfaces that vanish,
come back with a new ifindex, or appear for the first time.  ``docs/monitor.md`` ("Counter
arithmetic") explains the rule and its limits.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wirekit.monitor.counters import COUNTER_NAMES, Counters, InterfaceSample, Snapshot


class StepKind(enum.Enum):
    """How a counter moved between two samples."""

    FORWARD = "forward"
    WRAP32 = "wrap32"
    WRAP64 = "wrap64"
    BACKWARDS = "backwards"


@dataclass(frozen=True, slots=True)
class CounterStep:
    """The increase of one counter over one interval, and how it was derived."""

    delta: int
    kind: StepKind


def counter_step(old: int, new: int) -> CounterStep:
    """How far a counter advanced from ``old`` to ``new``.

    The rule of the kernel's ``bond_fold_stats()`` (drivers/net/bonding/bond_main.c): when both
    values fit in 32 bits the counter may be a driver's 32-bit counter copied into the 64-bit
    struct, so the step is taken modulo 2**32, otherwise modulo 2**64.  A step below half the
    modulus is progress (a wrap when ``new < old``); anything else means the counter went
    backwards, i.e. it was reset, and then everything it holds now happened since the reset.
    """
    width = 32 if (old | new) >> 32 == 0 else 64
    modulus = 1 << width
    step = (new - old) % modulus
    if step >= modulus >> 1:
        return CounterStep(delta=new, kind=StepKind.BACKWARDS)
    if new < old:
        return CounterStep(delta=step, kind=StepKind.WRAP32 if width == 32 else StepKind.WRAP64)
    return CounterStep(delta=step, kind=StepKind.FORWARD)


@dataclass(frozen=True, slots=True)
class CountersDelta:
    """The deltas of all counters of one interface, with the names that wrapped or reset."""

    delta: Counters
    wrapped: tuple[str, ...]
    reset: tuple[str, ...]


def counters_delta(old: Counters, new: Counters) -> CountersDelta:
    """Apply :func:`counter_step` to every counter.

    If any counter went backwards the driver reset its statistics, and drivers zero them all
    together: every counter that went down then counts its new value, even one whose fall
    alone would have looked like a 32-bit wrap.
    """
    pairs = list(zip(old.values(), new.values(), strict=True))
    steps = [counter_step(before, after) for before, after in pairs]
    reset = tuple(name for name, step in zip(COUNTER_NAMES, steps, strict=True)
                  if step.kind is StepKind.BACKWARDS)
    if reset:
        deltas = [after if after < before else after - before for before, after in pairs]
        fallen = tuple(name for name, (before, after) in zip(COUNTER_NAMES, pairs, strict=True)
                       if after < before)
        return CountersDelta(delta=Counters(*deltas), wrapped=(), reset=fallen)
    wrapped = tuple(name for name, step in zip(COUNTER_NAMES, steps, strict=True)
                    if step.kind in (StepKind.WRAP32, StepKind.WRAP64))
    return CountersDelta(delta=Counters(*(step.delta for step in steps)), wrapped=wrapped,
                         reset=())


class EventKind(enum.Enum):
    """Something that happened to an interface during one interval."""

    APPEARED = "appeared"    # first seen after the run started: baseline, no rates yet
    VANISHED = "vanished"    # gone from the dump (deleted, or moved to another namespace)
    RECREATED = "recreated"  # back, or present with a new ifindex: new baseline
    RESET = "reset"          # counters went backwards (driver reset)
    WRAPPED = "wrapped"      # one or more counters wrapped at 2**32 or 2**64
    STATE = "state"          # operational state changed (link down/up)


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """One event, with a human-readable detail (counter names, ifindex change, states)."""

    kind: EventKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value

    def as_dict(self) -> dict[str, str]:
        return {"event": self.kind.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class InterfaceRates:
    """One interface over one interval.

    ``sample`` is the interface as the closing dump saw it (``None`` when it is not there);
    ``delta`` the counter increases (``None`` when there is no rate this interval: baseline,
    vanished, re-created); ``seconds`` the length of the interval.
    """

    name: str
    sample: InterfaceSample | None
    delta: Counters | None
    seconds: float
    events: tuple[LinkEvent, ...] = ()

    @property
    def present(self) -> bool:
        return self.sample is not None

    def per_second(self, counter: str) -> float | None:
        """``counter``'s increase per second, or ``None`` without a rate this interval."""
        if self.delta is None or self.seconds <= 0:
            return None
        return float(getattr(self.delta, counter)) / self.seconds

    def bits_per_second(self, direction: str) -> float | None:
        """``direction`` is ``"rx"`` or ``"tx"``; bytes are counted without the FCS."""
        rate = self.per_second(f"{direction}_bytes")
        return None if rate is None else rate * 8

    @property
    def reported(self) -> int:
        """How many counters the kernel sends for this interface (see ``InterfaceSample``)."""
        return self.sample.reported if self.sample is not None else len(COUNTER_NAMES)

    def nohandler_per_second(self) -> float | None:
        """``rx_nohandler`` per second; ``None`` without a rate or when the kernel does not
        report the counter (before Linux 4.6)."""
        if self.reported <= COUNTER_NAMES.index("rx_nohandler"):
            return None
        return self.per_second("rx_nohandler")

    def as_dict(self) -> dict[str, Any]:
        """The ``--json-stream`` form: rates (``None`` without one), deltas and events.

        Counters the kernel does not send are ``None`` in ``delta``.
        """
        sample = self.sample
        record: dict[str, Any] = {
            "name": self.name, "index": sample.index if sample else None,
            "present": self.present, "operstate": sample.operstate if sample else None,
            "seconds": self.seconds,
        }
        for direction in ("rx", "tx"):
            record[f"{direction}_bits_per_second"] = self.bits_per_second(direction)
            for counter in ("packets", "errors", "dropped"):
                record[f"{direction}_{counter}_per_second"] = self.per_second(
                    f"{direction}_{counter}")
        record["rx_nohandler_per_second"] = self.nohandler_per_second()
        record["delta"] = self.delta.reported_dict(self.reported) if self.delta else None
        record["events"] = [event.as_dict() for event in self.events]
        return record


@dataclass(frozen=True, slots=True)
class Interval:
    """All watched interfaces over one interval, ``number`` counting from 1.

    ``time``/``wall`` are the monotonic and epoch times of the closing dump, ``elapsed`` the
    seconds since the baseline dump, ``seconds`` the length of this interval.
    """

    number: int
    time: float
    wall: float
    elapsed: float
    seconds: float
    interfaces: tuple[InterfaceRates, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"interval": self.number, "time": self.wall, "elapsed": self.elapsed,
                "seconds": self.seconds,
                "interfaces": [row.as_dict() for row in self.interfaces]}


@dataclass(frozen=True, slots=True)
class Selection:
    """Which interfaces to watch: the named ones, or every one that is up (or every one)."""

    names: tuple[str, ...] = ()
    include_down: bool = False

    def wants(self, sample: InterfaceSample) -> bool:
        if self.names:
            return sample.name in self.names
        return self.include_down or sample.admin_up

    def missing(self, snapshot: Snapshot) -> tuple[str, ...]:
        """Named interfaces the snapshot does not hold."""
        return tuple(name for name in self.names if name not in snapshot.interfaces)


class RateCalculator:
    """Feed it snapshots in time order; it returns one :class:`Interval` per snapshot after the
    first (the first is the baseline).

    Interfaces are tracked by name in the order they were first wanted; once tracked, an
    interface stays in every interval (with ``present`` false while it is gone).
    """

    def __init__(self, selection: Selection | None = None) -> None:
        self._selection = selection or Selection()
        self._tracked: list[str] = list(dict.fromkeys(self._selection.names))
        self._last: dict[str, InterfaceSample] = {}
        self._vanished: set[str] = set()
        self._first: Snapshot | None = None
        self._previous: Snapshot | None = None
        self._count = 0

    @property
    def tracked(self) -> tuple[str, ...]:
        """Names watched so far, in order of first appearance (named ones first)."""
        return tuple(self._tracked)

    def baseline(self, snapshot: Snapshot) -> None:
        """Take the first snapshot: it only sets the counters later ones are compared with."""
        if self._first is not None:
            raise ValueError("baseline() called twice; use feed()")
        self._first = self._previous = snapshot
        for sample in self._wanted(snapshot):
            self._remember(sample)

    def feed(self, snapshot: Snapshot) -> Interval:
        """Compare ``snapshot`` with the previous one and return the interval between them."""
        previous = self._previous
        if previous is None or self._first is None:
            raise ValueError("feed() before baseline()")
        if snapshot.time <= previous.time:
            raise ValueError(f"snapshot time {snapshot.time} is not after {previous.time}")
        seconds = snapshot.time - previous.time
        for sample in self._wanted(snapshot):
            if sample.name not in self._tracked:
                self._tracked.append(sample.name)
        rates = tuple(self._step(name, snapshot.interfaces.get(name), seconds)
                      for name in self._tracked)
        self._previous = snapshot
        self._count += 1
        return Interval(number=self._count, time=snapshot.time, wall=snapshot.wall,
                        elapsed=snapshot.time - self._first.time, seconds=seconds,
                        interfaces=rates)

    def _wanted(self, snapshot: Snapshot) -> Iterable[InterfaceSample]:
        return (sample for sample in snapshot.interfaces.values() if self._selection.wants(sample))

    def _remember(self, sample: InterfaceSample) -> None:
        if sample.name not in self._tracked:
            self._tracked.append(sample.name)
        self._last[sample.name] = sample

    def _step(self, name: str, sample: InterfaceSample | None, seconds: float
              ) -> InterfaceRates:
        before = self._last.get(name)
        if sample is None:
            return self._absent(name, before, seconds)
        self._remember(sample)
        if before is None:
            return InterfaceRates(name, sample, None, seconds, (self._arrival(name, sample),))
        if before.index != sample.index:
            event = LinkEvent(EventKind.RECREATED, f"ifindex {before.index} -> {sample.index}")
            return InterfaceRates(name, sample, None, seconds, (event,))
        return self._counted(name, before, sample, seconds)

    def _arrival(self, name: str, sample: InterfaceSample) -> LinkEvent:
        """An interface not in the previous dump: new, or back after it vanished."""
        if name in self._vanished:
            self._vanished.discard(name)
            return LinkEvent(EventKind.RECREATED, f"back as ifindex {sample.index}")
        return LinkEvent(EventKind.APPEARED, f"ifindex {sample.index}")

    def _absent(self, name: str, before: InterfaceSample | None, seconds: float
                ) -> InterfaceRates:
        if before is None:
            return InterfaceRates(name, None, None, seconds)
        del self._last[name]
        self._vanished.add(name)
        event = LinkEvent(EventKind.VANISHED, f"ifindex {before.index}")
        return InterfaceRates(name, None, None, seconds, (event,))

    @staticmethod
    def _counted(name: str, before: InterfaceSample, sample: InterfaceSample, seconds: float
                 ) -> InterfaceRates:
        change = counters_delta(before.counters, sample.counters)
        events: list[LinkEvent] = []
        if change.reset:
            events.append(LinkEvent(EventKind.RESET, ", ".join(change.reset)))
        if change.wrapped:
            events.append(LinkEvent(EventKind.WRAPPED, ", ".join(change.wrapped)))
        if before.operstate != sample.operstate:
            events.append(LinkEvent(EventKind.STATE, f"{before.operstate} -> {sample.operstate}"))
        return InterfaceRates(name, sample, change.delta, seconds, tuple(events))

