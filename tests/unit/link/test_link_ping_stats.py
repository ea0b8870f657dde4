"""Ping's sans-I/O statistics, option parsing and main loop, checked against iputils' rules."""

from __future__ import annotations

import errno
import math
import time
from collections.abc import Iterator

import pytest

from wirekit.cli.main import main
from wirekit.errors import UsageError
from wirekit.link.ping import (
    PingEvent,
    PingPlan,
    PingStatistics,
    SendBusy,
    echo_payload,
    format_rtt,
    parse_deadline,
    parse_pattern,
    parse_pmtu_discovery,
    parse_tos,
    run_ping,
)


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
    # iputils times duplicates too: 1, 3 and 4 ms; whole microseconds, cut to 3 decimals;
    # mdev = llsqrt((26e6 - 8000^2 / 3) / 3) = llsqrt(1555555) = 1247 us.
    low, mean, high, mdev = stats.rtt_summary_ms() or (0, 0, 0, 0)
    assert (low, mean, high, mdev) == pytest.approx((1.0, 2.666, 4.0, 1.247))
    lines = stats.summary_lines("10.0.0.2", 2.0036)
    assert lines[0] == "--- 10.0.0.2 ping statistics ---"
    assert lines[1] == ("3 packets transmitted, 2 received, +1 duplicates, "
                        "33.3333% packet loss, time 2004ms")
    # Request 1 was answered when 3 were out: iputils' "pipe 3".
    assert lines[2] == "rtt min/avg/max/mdev = 1.000/2.666/4.000/1.247 ms, pipe 3"


def test_mdev_is_the_population_deviation() -> None:
    stats = PingStatistics()
    for seq, rtt in enumerate((0.001, 0.003), start=1):
        stats.sent(seq, float(seq))
        stats.reply(seq, seq + rtt)
    assert stats.rtt_summary_ms() == pytest.approx((1.0, 2.0, 3.0, math.sqrt(5 - 4)))


def test_no_replies_leave_iputils_empty_last_line() -> None:
    stats = PingStatistics()
    stats.sent(1, 0.0)
    stats.error(1)
    assert stats.rtt_summary_ms() is None
    assert stats.summary_lines("h", 1.0) == [
        "--- h ping statistics ---",
        "1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 1000ms", ""]


def test_errors_for_several_requests_report_the_pipe() -> None:
    stats = PingStatistics()
    for seq in range(1, 5):
        stats.sent(seq, seq * 0.2)
    for seq in range(1, 5):  # unreachable, all at once after ARP gave up
        stats.error(seq)
    assert stats.summary_lines("h", 0.61)[1:] == [
        "4 packets transmitted, 0 received, +4 errors, 100% packet loss, time 610ms", "pipe 4"]


def test_flood_summary_has_ipg_and_ewma() -> None:
    stats = PingStatistics()
    for seq in range(1, 4):
        stats.sent(seq, seq * 0.010)
        stats.reply(seq, seq * 0.010 + 0.000100)
    # ewma: 8 x 100 us, then + 100 - 100 each time; ipg: 20 ms / 2 gaps.
    assert stats.summary_lines("h", 0.020, rates=True)[2] == (
        "rtt min/avg/max/mdev = 0.100/0.100/0.100/0.000 ms, ipg/ewma 10.000/0.100 ms")
    assert "ipg" not in stats.summary_lines("h", 0.020)[2]


def test_short_requests_carry_no_time() -> None:
    stats = PingStatistics(timing=False)
    stats.sent(1, 0.0)
    stats.reply(1, 0.001)
    assert stats.received == 1 and stats.rtt_summary_ms() is None
    assert stats.summary_lines("h", 0.0)[2] == ""


@pytest.mark.parametrize(("seconds", "text"), [(0.0000512, "0.051"), (0.00123, "1.23"),
                                               (0.0123, "12.3"), (0.1234, "123"),
                                               (0.09996, "100"), (0.0099951, "10.0"),
                                               (0.000999, "0.999")])
def test_time_has_three_significant_digits(seconds: float, text: str) -> None:
    assert format_rtt(seconds) == text


def test_payload_is_timeval_then_counting_bytes() -> None:
    body = echo_payload(56, 1234.5)
    assert len(body) == 56
    assert body[16:] == bytes(range(16, 56))
    assert echo_payload(8, 0.0) == bytes(range(8))


def test_payload_pattern_fills_from_the_first_data_byte() -> None:
    body = echo_payload(41, 1234.5, b"\xab\xcd\xef")
    assert len(body) == 41
    assert body[16:] == (b"\xab\xcd\xef" * 14)[16:41]
    assert echo_payload(5, 0.0, b"\x01\x02") == b"\x01\x02\x01\x02\x01"


@pytest.mark.parametrize(("text", "pattern"), [("ff", b"\xff"), ("123", b"\x12\x03"),
                                               ("0" * 40, bytes(16)), ("aBcD", b"\xab\xcd")])
def test_pattern_reads_two_hex_digits_at_a_time_like_sscanf(text: str, pattern: bytes) -> None:
    assert parse_pattern(text) == pattern


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("184", 184), ("0xb8", 0xB8),
                                             ("0XFF", 255), ("255", 255)])
def test_tos_is_decimal_or_0x_hex(text: str, value: int) -> None:
    assert parse_tos(text) == value


def test_option_values_map_to_the_kernel() -> None:
    assert [parse_pmtu_discovery(v) for v in ("dont", "want", "do", "probe")] == [0, 1, 2, 3]
    assert parse_deadline("0") == 0 and parse_deadline("2.5") == 2.5


@pytest.mark.parametrize(("parse", "text", "message"), [
    (parse_pattern, "zz", "patterns must be specified as hex digits: zz"),
    (parse_pattern, "12g4", "patterns must be specified as hex digits: g4"),
    (parse_pattern, "", "patterns must be specified as hex digits"),
    (parse_tos, "256", "the decimal value of TOS bits must be in range 0-255: 256"),
    (parse_tos, "0x100", "the decimal value of TOS bits must be in range 0-255: 256"),
    (parse_tos, "ff", "bad TOS value: ff"), (parse_tos, "-1", "bad TOS value: -1"),
    (parse_tos, "0x", "bad TOS value: 0x"), (parse_tos, " 1", "bad TOS value:  1"),
    (parse_pmtu_discovery, "foo", "invalid -M argument: foo"),
    (parse_deadline, "-1", "invalid -w argument: '-1'"),
    (parse_deadline, "nan", "invalid -w argument"), (parse_deadline, "inf", "invalid -w"),
    (parse_deadline, "1e3", "invalid -w"), (parse_deadline, "9" * 12, "invalid -w")])
def test_bad_option_values(parse: object, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse(text)  # type: ignore[operator]


@pytest.mark.parametrize("kwargs", [{"count": 0}, {"interval": 0.0}, {"size": 70000},
                                    {"linger": -1.0}, {"linger": float("nan")},
                                    {"linger": float("inf")}, {"deadline": -1.0},
                                    {"deadline": float("nan")}, {"flood": True},
                                    {"adaptive": True}, {"pattern": b""},
                                    {"pattern": bytes(17)}])
def test_plan_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        PingPlan(**kwargs)  # type: ignore[arg-type]


def test_plan_interval_privilege_and_exit_code() -> None:
    assert PingPlan().gap == 1.0 and not PingPlan().needs_privilege()
    flood = PingPlan(flood=True, count=5)
    assert flood.gap == 0.0 and flood.needs_privilege()
    assert PingPlan(flood=True, deadline=1, interval=0.2).gap == 0.2
    assert PingPlan(interval=0.001).needs_privilege()
    stats = PingStatistics(received=3)
    assert PingPlan(count=3).exit_code(stats) == 0
    assert PingPlan(count=5).exit_code(stats) == 0  # no deadline: any reply is success
    assert PingPlan(count=5, deadline=2).exit_code(stats) == 1  # iputils: -w and -c, short
    assert PingPlan(deadline=2).exit_code(stats) == 0
    assert PingPlan().exit_code(PingStatistics()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["-w", "-1"], "invalid -w argument: '-1'"),
    (["-w", "soon"], "invalid -w argument: 'soon'"),
    (["-p", "xyz"], "patterns must be specified as hex digits: xyz"),
    (["-Q", "300"], "the decimal value of TOS bits must be in range 0-255: 300"),
    (["-M", "foo"], "invalid -M argument: foo"),
    (["-f"], "-f needs -c COUNT or -w DEADLINE"),
    (["-f", "-w", "0"], "-f needs -c COUNT or -w DEADLINE"),
    (["-A"], "-A needs -c COUNT or -w DEADLINE")])
def test_cli_bad_values_are_one_line_usage_errors(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Checked before any name lookup or socket: the host is never contacted.
    assert main(["ping", "192.0.2.1", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    assert lines[0].startswith("wirekit: error: ") and message in lines[0]


class FakePinger:
    """Answers each request after ``rtt`` seconds unless its seq is in ``silent``; a real clock."""

    def __init__(self, rtt: float = 0.001, silent: frozenset[int] = frozenset(),
                 refuse: dict[int, PingEvent] | None = None, busy: int = 0) -> None:
        self.rtt, self.silent, self.refuse, self.busy = rtt, silent, refuse or {}, busy
        self.sent: list[tuple[int, float]] = []
        self._due: list[tuple[float, PingEvent]] = []

    def send(self, seq: int, payload: bytes) -> PingEvent | None:
        if self.busy:
            self.busy -= 1
            raise SendBusy(errno.errorcode[errno.ENOBUFS])
        self.sent.append((seq, time.monotonic()))
        if seq in self.refuse:
            return self.refuse[seq]
        if seq not in self.silent:
            reply = PingEvent("reply", seq, "192.0.2.1", 8 + len(payload), 64)
            self._due.append((time.monotonic() + self.rtt, reply))
        return None

    def receive(self, timeout: float) -> Iterator[PingEvent]:
        now = time.monotonic()
        next_due = min((due for due, _ in self._due), default=now + timeout)
        time.sleep(max(0.0, min(timeout, next_due - now)))
        now = time.monotonic()
        ready = [event for due, event in self._due if due <= now]
        self._due = [(due, event) for due, event in self._due if due > now]
        yield from ready


def _run(pinger: FakePinger, plan: PingPlan) -> tuple[PingStatistics, list[PingEvent], float]:
    events: list[PingEvent] = []
    started = time.monotonic()
    stats = run_ping(pinger, plan, stop=False,  # type: ignore[arg-type]
                     on_event=lambda event, _rtt, _dup: events.append(event))
    return stats, events, time.monotonic() - started


def test_deadline_ends_the_run_whatever_was_sent() -> None:
    stats, events, took = _run(FakePinger(silent=frozenset(range(100))),
                               PingPlan(interval=0.1, deadline=0.35))
    assert 0.35 <= took < 0.5
    assert stats.transmitted == 4 and stats.received == 0  # at 0, 0.1, 0.2, 0.3
    assert [e.seq for e in events if e.kind == "no-answer"] == [1, 2, 3]


def test_deadline_with_count_sends_past_the_count_until_count_replies() -> None:
    # Requests 1 and 2 are lost: with -w, -c 3 means three replies, so five requests go out.
    stats, _events, took = _run(FakePinger(silent=frozenset({1, 2})),
                                PingPlan(count=3, interval=0.05, deadline=5))
    assert stats.transmitted == 5 and stats.received == 3 and took < 1
    # Without -w the run stops sending at the count, and waits 2 x max RTT (at least one
    # interval) for the missing replies, not -W, since replies did come back.
    stats, _events, took = _run(FakePinger(silent=frozenset({3})),
                                PingPlan(count=3, interval=0.05, linger=5))
    assert stats.transmitted == 3 and stats.received == 2 and took < 0.5


def test_linger_applies_when_nothing_came_back() -> None:
    stats, _events, took = _run(FakePinger(silent=frozenset({1})),
                                PingPlan(count=1, linger=0.3))
    assert stats.transmitted == 1 and 0.3 <= took < 0.45


def test_local_errors_count_and_end_a_deadline_run() -> None:
    refused = PingEvent("local-error", 1, "", 0, message="message too long, mtu=1400")
    stats, events, took = _run(FakePinger(refuse={1: refused}),
                               PingPlan(deadline=5, interval=0.05))
    assert stats.transmitted == 1 and stats.errors == 1 and took < 0.2  # iputils: stop
    assert [e.kind for e in events] == ["local-error"]  # no "sent": no '.' under -f


def test_flood_waits_for_the_reply_or_ten_milliseconds() -> None:
    stats, events, took = _run(FakePinger(rtt=0.0005), PingPlan(flood=True, count=50))
    assert stats.received == 50 and took < 1
    sent = [e for e in events if e.kind == "sent"]
    assert len(sent) == 50
    silent = FakePinger(silent=frozenset(range(100)))
    stats, _events, took = _run(silent, PingPlan(flood=True, count=10, linger=0.0))
    gaps = [b - a for (_, a), (_, b) in zip(silent.sent, silent.sent[1:], strict=False)]
    assert stats.transmitted == 10 and min(gaps) >= 0.0095  # 100 per second at most


def test_adaptive_interval_follows_the_rtt() -> None:
    stats, _events, took = _run(FakePinger(rtt=0.001), PingPlan(adaptive=True, count=5))
    assert stats.received == 5 and took < 0.5  # not the one-second default


def test_busy_sends_are_retried_not_counted() -> None:
    stats, _events, _took = _run(FakePinger(busy=2), PingPlan(count=2, interval=0.01))
    assert stats.transmitted == 2 and stats.received == 2
