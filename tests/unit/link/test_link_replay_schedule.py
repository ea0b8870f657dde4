"""Replay pacing (sans-I/O) and the prebuilt sendmmsg vectors, without privileges."""

from __future__ import annotations

import itertools
import math
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.errors import UsageError
from wirekit.link.replay import Limits, Pacing, ReplayStats, Schedule
from wirekit.link.sender import MAX_BATCH, FrameSender, FrameVector


def test_pps_schedule_is_evenly_spaced() -> None:
    schedule = Schedule(Pacing("pps", 10000), [], [60] * 5)
    assert list(schedule.due) == pytest.approx([0, 1e-4, 2e-4, 3e-4, 4e-4])
    assert schedule.pass_duration == pytest.approx(5e-4)


def test_mbps_schedule_follows_the_bits() -> None:
    schedule = Schedule(Pacing("mbps", 1.0), [], [125, 250, 125])  # 1000, 2000, 1000 bits
    assert list(schedule.due) == pytest.approx([0, 1e-3, 3e-3])
    assert schedule.pass_duration == pytest.approx(4e-3)


def test_multiplier_scales_capture_time_and_never_goes_back() -> None:
    stamps = [10_000_000_000, 10_500_000_000, 10_400_000_000, 12_000_000_000]
    schedule = Schedule(Pacing("multiplier", 2.0), stamps, [60] * 4)
    assert list(schedule.due) == pytest.approx([0, 0.25, 0.25, 1.0])
    assert schedule.pass_duration == pytest.approx(1.0 + 1.0 / 3)


def test_ready_counts_due_frames_from_the_cursor() -> None:
    schedule = Schedule(Pacing("pps", 1000), [], [60] * 10)
    assert schedule.ready(0, 0.0) == 1
    assert schedule.ready(0, 0.0045) == 5
    assert schedule.ready(3, 0.0045) == 2
    assert schedule.wait(5, 0.0045) == pytest.approx(0.0005)
    assert schedule.wait(2, 0.0045) == 0.0


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=50), st.floats(0.01, 100))
def test_multiplier_schedule_is_monotonic(stamps: list[int], multiplier: float) -> None:
    due = list(Schedule(Pacing("multiplier", multiplier), stamps, [1] * len(stamps)).due)
    assert due[0] == 0.0
    assert all(b >= a for a, b in itertools.pairwise(due))


@pytest.mark.parametrize(("mode", "value"), [("pps", 0), ("mbps", -1), ("warp", 1),
                                             ("pps", math.inf), ("multiplier", math.nan)])
def test_bad_pacing_is_a_usage_error(mode: str, value: float) -> None:
    with pytest.raises(UsageError):
        Pacing(mode, value)


def test_limits_name_nan_for_what_it_is() -> None:
    """--duration nan passed click's FloatRange and was reported as "cannot be negative"."""
    with pytest.raises(UsageError, match="must be finite numbers"):
        Limits(seconds=math.nan)
    with pytest.raises(UsageError, match="cannot be negative"):
        Limits(packets=-1)


def test_stats_read_like_tcpreplay() -> None:
    stats = ReplayStats(packets=1000, bytes=60000, elapsed=0.5, failed=1, truncated=0,
                        retried_enobufs=2, retried_eagain=0, passes=1, interrupted=False)
    lines = stats.report_lines("veth0")
    assert lines[0] == "Actual: 1000 packets (60000 bytes) sent in 0.50 seconds"
    assert lines[1] == "Rated: 120000.0 Bps, 0.96 Mbps, 2000.00 pps"
    assert "\tFailed packets:            1" in lines
    assert "\tRetried packets (ENOBUFS): 2" in lines


def test_frame_vector_sends_every_frame_through_sendmmsg() -> None:
    """The prebuilt mmsghdr/iovec arrays are right: a UDP socket pair proves it."""
    frames = [bytes([n % 256]) * (n % 1400 + 1) for n in range(2500)]
    vector = FrameVector(frames)
    assert vector.count == 2500 and vector.total_bytes == sum(map(len, frames))
    assert vector.frame(7) == frames[7]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        rx.bind(("127.0.0.1", 0))
        tx.connect(rx.getsockname())
        sender = object.__new__(FrameSender)
        sender.sock = tx
        received: list[bytes] = []
        cursor = 0
        while cursor < 300:  # a few batches, well inside the receive buffer
            sent = sender.send_vector(vector, cursor, 100)
            assert 0 < sent <= min(100, MAX_BATCH)
            cursor += sent
        rx.settimeout(2)
        while len(received) < cursor:
            received.append(rx.recv(4096))
    assert received == frames[:cursor]


def test_sealed_vector_refuses_more_frames() -> None:
    vector = FrameVector([b"abc"])
    with pytest.raises(RuntimeError):
        vector.append(b"def")


def test_a_cut_last_record_is_reported_and_the_complete_ones_load(tmp_path: Path) -> None:
    from wirekit.link.replay import load_capture
    from wirekit.pcap import Writer

    path = tmp_path / "cut.pcap"
    with Writer(str(path)) as writer:
        for index in range(3):
            writer.write(bytes(60), index * 1000)
    path.write_bytes(path.read_bytes()[:-10])  # the last record loses 10 of its 60 bytes
    loaded = load_capture(path)
    assert loaded.frames.count == 2
    assert loaded.damaged is not None and "truncated" in loaded.damaged
    whole = tmp_path / "whole.pcap"
    with Writer(str(whole)) as writer:
        writer.write(bytes(60), 0)
    assert load_capture(whole).damaged is None
