"""The capture loop over a scripted source: counts, budgets, stop flag, user-space filter."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from wirekit.capture.engine import (
    CaptureResult,
    LocalBudget,
    StopFlag,
    run_capture,
    stop_on_signals,
)
from wirekit.errors import InterfaceError
from wirekit.link.afpacket import PacketStatistics
from wirekit.link.bpf import FilterProgram, compile_filter


class ScriptedBlock:
    def __init__(self, frames: list[bytes], log: list[str]) -> None:
        self.frames_ = frames
        self.count = len(frames)
        self.log = log

    def frames(self) -> Iterator[tuple[int, memoryview, int]]:
        for n, frame in enumerate(self.frames_):
            yield n * 1000, memoryview(frame), len(frame)

    def deliver(self, write: Callable[[memoryview, int, int], object], allowed: int) -> int:
        done = 0
        for timestamp, data, length in self.frames():
            if done == allowed:
                break
            write(data, timestamp, length)
            done += 1
        return done

    def release(self) -> None:
        self.log.append("release")


class ScriptedSource:
    """Hands out the given blocks (None = poll timeout), then sets the stop flag."""

    def __init__(self, blocks: list[list[bytes] | None], stop: StopFlag,
                 user_filter: FilterProgram | None = None) -> None:
        self.blocks = list(blocks)
        self.stop = stop
        self.user_filter = user_filter
        self.log: list[str] = []

    def next_block(self, timeout_ms: int) -> ScriptedBlock | None:
        if not self.blocks:
            self.stop.set("end of script")
            return None
        frames = self.blocks.pop(0)
        return None if frames is None else ScriptedBlock(frames, self.log)

    def statistics(self) -> PacketStatistics:
        return PacketStatistics(received=99, dropped=1)


class ListSink:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes, int, int]] = []
        self.closed = False

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.frames.append((bytes(data), timestamp_ns, orig_len))

    def close(self) -> None:
        self.closed = True


def frame(port: int) -> bytes:
    return bytes(Ether() / IP(dst="10.0.0.2") / UDP(sport=40000, dport=port))


def test_every_frame_reaches_every_sink_and_blocks_are_released() -> None:
    stop = StopFlag()
    source = ScriptedSource([[frame(1), frame(2)], None, [], [frame(3)]], stop)
    first, second = ListSink(), ListSink()
    result = run_capture(source, [first, second], stop)
    assert result.captured == 3
    assert first.frames == second.frames
    assert [f[0] for f in first.frames] == [frame(1), frame(2), frame(3)]
    assert source.log == ["release"] * 3
    assert result.reason == "end of script"
    assert not first.closed  # closing is the caller's job


def test_count_stops_in_the_middle_of_a_block() -> None:
    stop = StopFlag()
    source = ScriptedSource([[frame(1), frame(2), frame(3)], [frame(4)]], stop)
    sink = ListSink()
    result = run_capture(source, [sink], stop, count=2)
    assert result.captured == 2 == len(sink.frames)
    assert result.reason == "count"
    assert source.log == ["release"]
    assert source.blocks == [[frame(4)]]


def test_user_space_filter_counts_only_what_it_passes() -> None:
    stop = StopFlag()
    source = ScriptedSource([[frame(53), frame(80), frame(53)]], stop,
                            user_filter=compile_filter("udp port 53"))
    sink = ListSink()
    result = run_capture(source, [sink], stop, count=5)
    assert result.captured == 2
    assert all(f[0] == frame(53) for f in sink.frames)


def test_report_lines_read_like_tcpdump() -> None:
    lines = CaptureResult(1, PacketStatistics(5, 0), "count").report_lines()
    assert lines == ["1 packet captured", "5 packets received by filter",
                     "0 packets dropped by kernel"]


def test_budget_claims_and_returns() -> None:
    budget = LocalBudget(5)
    assert budget.claim(3) == 3
    assert budget.claim(3) == 2
    budget.give_back(1)
    assert budget.claim(10) == 1
    assert LocalBudget(None).claim(10**9) == 10**9


def test_signals_set_the_flag_and_handlers_are_restored() -> None:
    flag = StopFlag()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(flag):
        os.kill(os.getpid(), signal.SIGTERM)
    assert flag and flag.reason == "SIGTERM" and flag.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


class SignalledSource(ScriptedSource):
    """A signal arrives while the first block is being read; more blocks are already there."""

    def next_block(self, timeout_ms: int) -> ScriptedBlock | None:
        block = super().next_block(timeout_ms)
        if not self.stop:
            self.stop.set("SIGINT")
        return block


def test_a_signal_drains_blocks_already_filled() -> None:
    stop = StopFlag()
    source = SignalledSource([[frame(1)], [frame(2), frame(3)]], stop)
    sink = ListSink()
    result = run_capture(source, [sink], stop, drain_ms=200)
    assert result.captured == 3 and result.reason == "SIGINT"
    stop = StopFlag()
    source = SignalledSource([[frame(1)], [frame(2), frame(3)]], stop)
    assert run_capture(source, [ListSink()], stop).captured == 1


def test_the_count_does_not_drain() -> None:
    stop = StopFlag()
    source = ScriptedSource([[frame(1), frame(2)], [frame(3)]], stop)
    result = run_capture(source, [ListSink()], stop, count=2, drain_ms=500)
    assert result.captured == 2 and result.reason == "count"
    assert source.blocks == [[frame(3)]]


class VanishingSource(ScriptedSource):
    """The interface goes down after the scripted blocks."""

    def next_block(self, timeout_ms: int) -> ScriptedBlock | None:
        if not self.blocks:
            raise InterfaceError("the interface went down")
        return super().next_block(timeout_ms)


def test_an_interface_going_down_keeps_what_was_captured() -> None:
    stop = StopFlag()
    source = VanishingSource([[frame(1), frame(2)]], stop)
    sink = ListSink()
    result = run_capture(source, [sink], stop)
    assert result.captured == 2 == len(sink.frames)
    assert isinstance(result.error, InterfaceError)
    assert result.reason == "the interface went down"
