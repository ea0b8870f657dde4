"""Timestamp scales (if_tsresol / if_tsoffset) and tcpdump's -t styles."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.pcap import TimeStyle, format_time
from wirekit.pcap.timestamps import TimeScale, units_per_second

T = 1_700_000_000_123_456_789  # 2023-11-14 22:13:20.123456789 UTC


@pytest.mark.parametrize(("tsresol", "units"), [
    (0, 1), (3, 10**3), (6, 10**6), (9, 10**9), (12, 10**12),
    (0x80, 1), (0x8A, 1024), (0x94, 2**20), (0x9E, 2**30),
])
def test_units_per_second(tsresol: int, units: int) -> None:
    assert units_per_second(tsresol) == units


@given(tsresol=st.sampled_from([3, 6, 9, 0x8A, 0x94, 0x9E]),
       offset=st.integers(-10**6, 10**6), ns=st.integers(0, 2**62))
def test_scale_round_trip_is_floor_exact(tsresol: int, offset: int, ns: int) -> None:
    scale = TimeScale.from_tsresol(tsresol, offset)
    units = scale.from_ns(ns)
    back = scale.to_ns(units)
    assert back <= ns
    # The error is less than one unit of the scale, plus the nanosecond floor of finer units.
    assert (ns - back) * scale.units < 10**9 + scale.units


def test_styles_like_tcpdump() -> None:
    assert format_time(T, TimeStyle.CLOCK, utc=True) == "22:13:20.123456"
    assert format_time(T, TimeStyle.CLOCK, utc=True, digits=9) == "22:13:20.123456789"
    assert format_time(T, TimeStyle.NONE) == ""
    assert format_time(T, TimeStyle.EPOCH) == "1700000000.123456"
    assert format_time(T, TimeStyle.EPOCH, digits=9) == "1700000000.123456789"
    assert format_time(T, TimeStyle.DATE, utc=True) == "2023-11-14 22:13:20.123456"
    assert format_time(T, TimeStyle.DELTA) == " 00:00:00.000000"
    assert format_time(T, TimeStyle.DELTA, previous_ns=T - 1_500_000) == " 00:00:00.001500"
    assert format_time(T, TimeStyle.DELTA, previous_ns=T + 2 * 10**9) == "-00:00:02.000000"
    # Spans are taken between the printed (truncated) times, as tcpdump does.
    assert format_time(T + 999, TimeStyle.DELTA, previous_ns=T) == " 00:00:00.000001"
    assert format_time(T + 999, TimeStyle.DELTA, previous_ns=T, digits=9) == \
        " 00:00:00.000000999"
    later = T + 90_061 * 10**9 + 5_000  # a day, an hour, a minute, a second later
    assert format_time(later, TimeStyle.SINCE_FIRST, first_ns=T) == " 25:01:01.000005"


def test_clock_uses_local_time_by_default() -> None:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"  # UTC+05:30
    time.tzset()
    try:
        assert format_time(T) == "03:43:20.123456"
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
