"""Requirements (exact, '>' raise-only, '<' lower-only) and CPU lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.tune.values import (
    Op,
    ProfileError,
    Requirement,
    desired,
    format_cpulist,
    parse_cpulist,
    parse_cpumask,
    satisfies,
)


@pytest.mark.parametrize(("text", "op", "value"), [
    ("10", Op.EXACT, "10"),
    (">4096", Op.AT_LEAST, "4096"),
    ("< 100", Op.AT_MOST, "100"),
    (">4096 87380 6291456", Op.AT_LEAST, "4096 87380 6291456"),
    ("bbr", Op.EXACT, "bbr"),
])
def test_parse(text: str, op: Op, value: str) -> None:
    parsed = Requirement.parse(text)
    assert (parsed.op, parsed.value) == (op, value)
    assert Requirement.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", [">bbr", "<", "> on"])
def test_raise_only_needs_numbers(text: str) -> None:
    with pytest.raises(ProfileError, match="needs a number"):
        Requirement.parse(text)


@pytest.mark.parametrize(("current", "wanted", "result"), [
    ("100\n", ">4096", "4096"),           # raised
    ("8192\n", ">4096", "8192\n"),        # larger stays: raise only
    ("8192\n", "<4096", "4096"),          # lowered
    ("100\n", "<4096", "100\n"),          # smaller stays
    ("60\n", "10", "10"),                 # exact
    ("10\n", "10", "10\n"),               # already exact: keep the kernel's own text
    ("4096\t131072\t6291456\n", ">4096 87380 134217728", "4096 131072 134217728"),
    ("4096\t131072\t6291456\n", "4096 131072 6291456", "4096\t131072\t6291456\n"),
    ("4096\t16384\t4194304\n", "<4096 16384 1000000", "4096 16384 1000000"),
    ("cubic\n", "bbr", "bbr"),
    ("1 2\n", ">5", "5"),                 # element count differs: treated as exact
])
def test_desired(current: str, wanted: str, result: str) -> None:
    requirement = Requirement.parse(wanted)
    assert desired(current, requirement) == result
    assert satisfies(result, requirement)
    assert satisfies(current, requirement) == (result == current)


def test_vector_whitespace_is_not_a_difference() -> None:
    assert satisfies("4096\t131072\t6291456\n", Requirement.parse("4096 131072 6291456"))
    assert not satisfies("4096\t131072\t6291455\n", Requirement.parse("4096 131072 6291456"))


@pytest.mark.parametrize(("text", "cpus"), [
    ("0-3,8,10-11", {0, 1, 2, 3, 8, 10, 11}),
    ("5", {5}),
    ("0-1\n", {0, 1}),
    ("", set()),
])
def test_cpulist(text: str, cpus: set[int]) -> None:
    assert parse_cpulist(text) == cpus


@pytest.mark.parametrize("bad", ["a", "3-1", "1-x", "-2"])
def test_bad_cpulist(bad: str) -> None:
    with pytest.raises(ValueError, match="CPU list"):
        parse_cpulist(bad)


@given(st.frozensets(st.integers(min_value=0, max_value=300)))
def test_cpulist_round_trip(cpus: frozenset[int]) -> None:
    text = format_cpulist(cpus)
    assert parse_cpulist(text) == cpus
    assert format_cpulist(parse_cpulist(text)) == text


def test_cpumask() -> None:
    assert parse_cpumask("00000000,00000003\n") == {0, 1}
    assert parse_cpumask("ff") == set(range(8))
