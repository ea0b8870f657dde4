"""The rate math: counter steps (wrap, reset), and the calculator over synthetic snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.monitor import (
    COUNTER_NAMES,
    Counters,
    EventKind,
    RateCalculator,
    Selection,
    StepKind,
    counter_step,
    counters_delta,
)

U32 = 1 << 32
U64 = 1 << 64


# --- one counter ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "delta", "kind"),
    [
        (0, 0, 0, StepKind.FORWARD),
        (100, 250, 150, StepKind.FORWARD),
        # a driver's 32-bit counter inside the 64-bit struct wraps at 2**32
        (U32 - 100, 50, 150, StepKind.WRAP32),
        (U32 - 1, 0, 1, StepKind.WRAP32),
        # the largest forward step the 32-bit rule accepts is just under 2**31
        (0, (1 << 31) - 1, (1 << 31) - 1, StepKind.FORWARD),
        (U32 - 10, (1 << 31) - 11, (1 << 31) - 1, StepKind.WRAP32),
        # crossing 2**32 upwards is ordinary 64-bit progress
        (U32 - 10, U32 + 10, 20, StepKind.FORWARD),
        # a true 64-bit counter wraps at 2**64
        (U64 - 5, 7, 12, StepKind.WRAP64),
        # went backwards: reset; what it holds now happened since the reset
        (1_000_000, 300, 300, StepKind.BACKWARDS),
        (5 * U32, 42, 42, StepKind.BACKWARDS),
        (10, 0, 0, StepKind.BACKWARDS),
    ],
)
def test_counter_step(old: int, new: int, delta: int, kind: StepKind) -> None:
    step = counter_step(old, new)
    assert (step.delta, step.kind) == (delta, kind)


def test_counter_step_half_range_is_a_reset_not_a_wrap() -> None:
    # (new - old) mod 2**32 == 2**31 exactly: ambiguous, so not trusted as progress
    assert counter_step(1 << 31, 0).kind is StepKind.BACKWARDS


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, U32 - 1),
       steps=st.lists(st.integers(0, (1 << 31) - 1), min_size=1, max_size=50))
def test_32bit_counter_sum_of_steps_is_the_true_total(start: int, steps: list[int]) -> None:
    """A 32-bit hardware counter observed modulo 2**32: the deltas add up to the truth."""
    true_total, observed, counted = start, start, 0
    for step in steps:
        true_total += step
        new = true_total % U32
        counted += counter_step(observed, new).delta
        observed = new
    assert counted == true_total - start


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, U64 - 1),
       steps=st.lists(st.integers(U32, 1 << 62), min_size=1, max_size=20))
def test_64bit_counter_sum_of_steps_is_the_true_total(start: int, steps: list[int]) -> None:
    true_total, observed, counted = start, start, 0
    for step in steps:
        true_total += step
        new = true_total % U64
        counted += counter_step(observed, new).delta
        observed = new
    assert counted == true_total - start


# --- all counters of an interface ---------------------------------------------------------------

def test_counters_delta_reports_wrapped_names() -> None:
    old = Counters(rx_bytes=U32 - 1000, rx_packets=10)
    new = Counters(rx_bytes=500, rx_packets=12)
    change = counters_delta(old, new)
    assert change.delta.rx_bytes == 1500
    assert change.delta.rx_packets == 2
    assert change.wrapped == ("rx_bytes",)
    assert change.reset == ()


def test_counters_delta_reset_overrides_an_apparent_wrap() -> None:
    """Drivers zero all counters together: once one went backwards, none is a wrap."""
    old = Counters(rx_bytes=3_000_000_000, rx_packets=2_000_000, tx_bytes=50)
    new = Counters(rx_bytes=1_000, rx_packets=10, tx_bytes=80)
    # rx_bytes alone would look like a 32-bit wrap of ~1.29 GB; rx_packets is clearly a reset
    assert counter_step(old.rx_bytes, new.rx_bytes).kind is StepKind.WRAP32
    change = counters_delta(old, new)
    assert change.delta.rx_bytes == 1_000
    assert change.delta.rx_packets == 10
    assert change.delta.tx_bytes == 30
    assert set(change.reset) == {"rx_bytes", "rx_packets"}
    assert change.wrapped == ()


def test_counters_round_trip_and_addition() -> None:
    values = {name: index for index, name in enumerate(COUNTER_NAMES)}
    counters = Counters.from_mapping(values)
    assert counters.as_dict() == values
    assert (counters + counters).values() == tuple(2 * v for v in values.values())
    assert Counters.from_mapping({"rx_bytes": None}).rx_bytes == 0


# --- the calculator ------------------------------------------------------------------------------

def test_first_snapshot_is_a_baseline_and_rates_follow() -> None:
    calc = RateCalculator()
    calc.baseline(snap(10.0, sample(rx_bytes=1000, rx_packets=10, tx_bytes=0)))
    interval = calc.feed(snap(12.0, sample(rx_bytes=251_000, rx_packets=210, tx_bytes=2000,
                                           rx_errors=4, tx_dropped=6)))
    assert interval.number == 1
    assert interval.seconds == pytest.approx(2.0)
    assert interval.elapsed == pytest.approx(2.0)
    (row,) = interval.interfaces
    assert row.bits_per_second("rx") == pytest.approx(1_000_000.0)  # 250 kB in 2 s
    assert row.bits_per_second("tx") == pytest.approx(8_000.0)
    assert row.per_second("rx_packets") == pytest.approx(100.0)
    assert row.per_second("rx_errors") == pytest.approx(2.0)
    assert row.per_second("tx_dropped") == pytest.approx(3.0)
    assert row.events == ()


def test_wrap_is_counted_and_reported() -> None:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample(tx_bytes=U32 - 4000)))
    (row,) = calc.feed(snap(1.0, sample(tx_bytes=6000))).interfaces
    assert row.delta is not None and row.delta.tx_bytes == 10_000
    assert [event.kind for event in row.events] == [EventKind.WRAPPED]
    assert "tx_bytes" in row.events[0].detail


def test_reset_counts_new_values_and_is_reported() -> None:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample(rx_bytes=9_000_000, rx_packets=9000)))
    (row,) = calc.feed(snap(1.0, sample(rx_bytes=1500, rx_packets=1))).interfaces
    assert row.delta is not None
    assert (row.delta.rx_bytes, row.delta.rx_packets) == (1500, 1)
    assert [event.kind for event in row.events] == [EventKind.RESET]


def test_vanish_and_recreate_with_a_new_ifindex() -> None:
    calc = RateCalculator(Selection(("veth1",)))
    calc.baseline(snap(0.0, sample("veth1", 7, rx_bytes=100)))
    first = calc.feed(snap(1.0, sample("veth1", 7, rx_bytes=300))).interfaces[0]
    assert first.delta is not None and first.delta.rx_bytes == 200

    gone = calc.feed(snap(2.0)).interfaces[0]
    assert not gone.present and gone.delta is None
    assert [event.kind for event in gone.events] == [EventKind.VANISHED]
    still_gone = calc.feed(snap(3.0)).interfaces[0]
    assert not still_gone.present and still_gone.events == ()

    back = calc.feed(snap(4.0, sample("veth1", 9, rx_bytes=50))).interfaces[0]
    assert back.present and back.delta is None  # new instance: baseline only
    assert [event.kind for event in back.events] == [EventKind.RECREATED]
    after = calc.feed(snap(5.0, sample("veth1", 9, rx_bytes=80))).interfaces[0]
    assert after.delta is not None and after.delta.rx_bytes == 30


def test_recreated_between_two_samples_is_a_new_baseline() -> None:
    """Deleted and re-added within one interval: same name, new ifindex, lower counters."""
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("veth1", 7, rx_bytes=10_000)))
    (row,) = calc.feed(snap(1.0, sample("veth1", 8, rx_bytes=20))).interfaces
    assert row.delta is None
    assert row.events[0].kind is EventKind.RECREATED
    assert "7 -> 8" in row.events[0].detail


def test_new_interface_appears_when_following_all() -> None:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("lo", 1)))
    interval = calc.feed(snap(1.0, sample("lo", 1), sample("veth9", 12, rx_bytes=5)))
    assert calc.tracked == ("lo", "veth9")
    new = interval.interfaces[1]
    assert new.delta is None and new.events[0].kind is EventKind.APPEARED
    (_, later) = calc.feed(snap(2.0, sample("lo", 1), sample("veth9", 12, rx_bytes=25))
                           ).interfaces
    assert later.delta is not None and later.delta.rx_bytes == 20


def test_down_interfaces_are_skipped_unless_asked_and_followed_once_up() -> None:
    down = sample("ifb0", 3, admin_up=False, operstate="DOWN")
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("lo", 1), down))
    assert calc.tracked == ("lo",)
    everything = RateCalculator(Selection(include_down=True))
    everything.baseline(snap(0.0, sample("lo", 1), down))
    assert everything.tracked == ("lo", "ifb0")
    # once it comes up it is followed, and stays followed when it goes down again
    calc.feed(snap(1.0, sample("lo", 1), sample("ifb0", 3)))
    assert list(calc.tracked) == ["lo", "ifb0"]
    (_, row) = calc.feed(snap(2.0, sample("lo", 1), down)).interfaces
    assert row.present and row.events[0].kind is EventKind.STATE
    assert row.events[0].detail == "UP -> DOWN"


def test_named_selection_ignores_other_interfaces() -> None:
    calc = RateCalculator(Selection(("eth0",)))
    calc.baseline(snap(0.0, sample("eth0", 2), sample("lo", 1)))
    interval = calc.feed(snap(1.0, sample("eth0", 2), sample("lo", 1), sample("new0", 5)))
    assert [row.name for row in interval.interfaces] == ["eth0"]


def test_a_name_given_twice_is_watched_once() -> None:
    calc = RateCalculator(Selection(("eth0", "eth0")))
    calc.baseline(snap(0.0, sample("eth0", 2)))
    assert [row.name for row in calc.feed(snap(1.0, sample("eth0", 2))).interfaces] == ["eth0"]


def test_selection_missing_names() -> None:
    selection = Selection(("eth0", "nope"))
    assert selection.missing(snap(0.0, sample("eth0"))) == ("nope",)


def test_feed_rejects_misuse() -> None:
    calc = RateCalculator()
    with pytest.raises(ValueError, match="baseline"):
        calc.feed(snap(1.0))
    calc.baseline(snap(1.0))
    with pytest.raises(ValueError, match="twice"):
        calc.baseline(snap(2.0))
    with pytest.raises(ValueError, match="not after"):
        calc.feed(snap(1.0))


def test_interval_json_form() -> None:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample(rx_bytes=0)))
    record = calc.feed(snap(0.5, sample(rx_bytes=1000, tx_packets=3))).as_dict()
    (row,) = record["interfaces"]
    assert record["interval"] == 1 and record["seconds"] == pytest.approx(0.5)
    assert row["rx_bits_per_second"] == pytest.approx(16_000.0)
    assert row["tx_packets_per_second"] == pytest.approx(6.0)
    assert row["delta"]["rx_bytes"] == 1000
    assert set(row["delta"]) == set(COUNTER_NAMES)
    assert row["events"] == []
