"""The monitor loop with a fake clock and a scripted source: deadlines, stop conditions."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.errors import InterfaceError
from wirekit.monitor import LinkFacts, MonitorSession, Selection, Snapshot, StopToken
from wirekit.monitor.session import stop_on_signals


class FakeWorld:
    """A clock that only moves when the session waits, a source, and a stop token."""

    def __init__(self, stop_at: float | None = None, dump_cost: float = 0.001) -> None:
        self.now = 100.0
        self.stop_at = stop_at
        self.dump_cost = dump_cost
        self.taken: list[float] = []
        self.reason: str | None = None
        self.names = ["eth0"]

    # the clock
    def clock(self) -> float:
        return self.now

    # the source
    def take(self) -> Snapshot:
        self.now += self.dump_cost
        self.taken.append(self.now)
        bytes_now = int((self.now - 100.0) * 1_000_000)
        return snap(self.now, *(sample(name, 2 + i, rx_bytes=bytes_now)
                                for i, name in enumerate(self.names)))

    # the stop token's wait
    def wait(self, timeout: float) -> bool:
        target = self.now + max(0.0, timeout)
        if self.stop_at is not None and target >= self.stop_at:
            self.now = max(self.now, self.stop_at)
            self.reason = "SIGINT"
            return True
        self.now = target
        return False


class FakeStop(StopToken):
    def __init__(self, world: FakeWorld) -> None:
        super().__init__()
        self._world = world

    def wait(self, timeout: float) -> bool:
        stopped = self._world.wait(timeout)
        if stopped:
            self.reason = self._world.reason
        return stopped


def _session(world: FakeWorld, **kwargs: Any) -> MonitorSession:
    return MonitorSession(world, stop=FakeStop(world), clock=world.clock,
                          facts_reader=lambda name: LinkFacts(driver=f"drv-{name}"), **kwargs)


def test_duration_samples_on_a_fixed_grid_and_ends_exactly() -> None:
    world = FakeWorld()
    session = _session(world, interval=1.0, duration=3.5)
    start = session.start().time
    intervals = list(session.intervals())
    assert session.stopped_by == "duration"
    # grid points 1, 2, 3 after the start, then the end at 3.5 (each plus the dump's cost)
    offsets = [round(interval.time - start, 2) for interval in intervals]
    assert offsets == [1.0, 2.0, 3.0, 3.5]
    summary = session.summary()
    assert summary.duration == pytest.approx(3.5, abs=0.01)
    assert summary.interface("eth0").rx.megabytes_per_second == pytest.approx(1.0, rel=1e-3)
    assert summary.interface("eth0").facts == LinkFacts(driver="drv-eth0")


def test_count_stops_after_n_intervals() -> None:
    world = FakeWorld()
    session = _session(world, interval=0.5, count=3)
    session.start()
    assert len(list(session.intervals())) == 3
    assert session.stopped_by == "count"


def test_stop_request_takes_a_final_partial_sample() -> None:
    world = FakeWorld(stop_at=102.3)
    session = _session(world, interval=1.0)
    start = session.start().time
    intervals = list(session.intervals())
    assert session.stopped_by == "SIGINT"
    assert [round(i.time - start, 2) for i in intervals] == [1.0, 2.0, 2.3]
    # the bytes up to the stop are all counted
    assert session.summary().interface("eth0").rx.bytes == pytest.approx(2_300_000, rel=1e-3)


def test_a_late_tick_keeps_the_grid() -> None:
    world = FakeWorld(dump_cost=0.001)
    session = _session(world, interval=1.0, count=3)
    start = session.start().time
    iterator = session.intervals()
    next(iterator)
    world.now += 1.7  # the process was stopped for a while after the first sample
    rest = list(iterator)
    assert [round(i.time - start, 2) for i in rest] == [2.7, 3.0]


def test_unknown_interface_lists_the_real_ones() -> None:
    world = FakeWorld()
    world.names = ["lo", "eth0"]
    session = _session(world, selection=Selection(("eth7",)))
    expected = r"no such interface: eth7 \(interfaces here: lo, eth0\)"
    with pytest.raises(InterfaceError, match=expected):
        session.start()


def test_facts_for_an_interface_that_appears_later() -> None:
    world = FakeWorld()
    session = _session(world, interval=1.0, count=2)
    session.start()
    world.names = ["eth0", "veth3"]
    list(session.intervals())
    assert session.summary().interface("veth3").facts == LinkFacts(driver="drv-veth3")


def test_bad_parameters() -> None:
    world = FakeWorld()
    for kwargs in ({"interval": 0.0}, {"duration": -1.0}, {"count": 0}):
        with pytest.raises(ValueError):
            _session(world, **kwargs)
    with pytest.raises(ValueError, match="start"):
        next(_session(world).intervals())


def test_stop_token_wakes_a_waiting_thread_at_once() -> None:
    token = StopToken()
    try:
        timer = threading.Timer(0.05, token.request, args=("test",))
        timer.start()
        assert token.wait(30.0) is True  # returns after ~50 ms, not 30 s
        assert token.reason == "test"
        token.request("second")
        assert token.reason == "test"  # the first reason wins
        timer.join()
    finally:
        token.close()


def test_stop_on_signals_turns_sigterm_into_a_request_and_restores() -> None:
    token = StopToken()
    before = signal.getsignal(signal.SIGTERM)
    try:
        with stop_on_signals(token):
            signal.raise_signal(signal.SIGTERM)
            assert token.wait(5.0)
        assert token.reason == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) == before
    finally:
        token.close()
