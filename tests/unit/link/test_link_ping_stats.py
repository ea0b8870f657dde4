"""Ping's sans-I/O statistics and formatting, checked against iputils' rules."""

from __future__ import annotations

import math

import pytest

from wirekit.errors import UsageError
from wirekit.link.ping import PingPlan, PingStatistics, echo_payload, format_rtt


def test_loss_and_rtts_like_iputils() -> None:
    stats = PingStatistics()
    for seq, sent in ((1, 0.0), (2, 1.0), (3, 2.0)):
        stats.sent(seq, sent)
    first, second = stats.reply(1, 0.001), stats.reply(3, 2.003)
    assert first[0] == pytest.approx(0.001) and first[1] is False
    assert second[0] == pytest.approx(0.003) and second[1] is False
    assert stats.reply(3, 2.004)[1] is True  # a duplicate
    assert stats.reply(9, 5.0) == (None, False)  # never sent: ignored
    assert stats.received == 2 and stats.duplicates == 1
    assert stats.loss_percent == pytest.approx(100 / 3)
    low, mean, high, mdev = stats.rtt_summary_ms() or (0, 0, 0, 0)
    assert (low, mean, high) == pytest.approx((1.0, 2.0, 3.0))
    assert mdev == pytest.approx(math.sqrt((1 + 9) / 2 - 4))
    lines = stats.summary_lines("10.0.0.2", 2.0036)
    assert lines[0] == "--- 10.0.0.2 ping statistics ---"
    assert lines[1] == ("3 packets transmitted, 2 received, +1 duplicates, "
                        "33.3333% packet loss, time 2004ms")
    assert lines[2] == "rtt min/avg/max/mdev = 1.000/2.000/3.000/1.000 ms"


def test_no_replies_no_rtt_line() -> None:
    stats = PingStatistics()
    stats.sent(1, 0.0)
    stats.error()
    assert stats.rtt_summary_ms() is None
    assert stats.summary_lines("h", 1.0)[1] == ("1 packets transmitted, 0 received, +1 errors, "
                                                "100% packet loss, time 1000ms")


@pytest.mark.parametrize(("seconds", "text"), [(0.0000512, "0.051"), (0.00123, "1.23"),
                                               (0.0123, "12.3"), (0.1234, "123")])
def test_time_has_three_significant_digits(seconds: float, text: str) -> None:
    assert format_rtt(seconds) == text


def test_payload_is_timeval_then_counting_bytes() -> None:
    body = echo_payload(56, 1234.5)
    assert len(body) == 56
    assert body[16:] == bytes(range(16, 56))
    assert echo_payload(8, 0.0) == bytes(range(8))


@pytest.mark.parametrize("kwargs", [{"count": 0}, {"interval": 0.0}, {"size": 70000},
                                    {"linger": -1.0}, {"linger": float("nan")},
                                    {"linger": float("inf")}])
def test_plan_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        PingPlan(**kwargs)  # type: ignore[arg-type]
