"""Profile values and how they compare with what the kernel reports (pure: no I/O).

A requirement is tuned's syntax: an exact value (``10``, ``"bbr"``, ``"4096 87380 6291456"``),
``>N`` (raise only: leave a larger value alone) or ``<N`` (lower only).  Numbers compare as
numbers and vectors element by element, so ``>4096 131072 134217728`` against the kernel's
``4096\t131072\t33554432`` keeps the first two and raises the third.  Text compares with its
whitespace normalised, which is how ``sysctl`` itself reads vectors back (tabs in, spaces out).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from wirekit.errors import TuningError


class ProfileError(TuningError):
    """A profile is malformed: bad TOML, unknown setting, a value its setting cannot take."""


class Op(enum.Enum):
    """How a requirement compares: exactly, raise only (``>``), lower only (``<``)."""

    EXACT = "="
    AT_LEAST = ">"
    AT_MOST = "<"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One profile value: an operator and the value text (``>`` and ``<`` need numbers)."""

    op: Op
    value: str

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Parse ``"10"``, ``">4096"``, ``"<100"``, ``">4096 87380 6291456"``."""
        stripped = text.strip()
        if stripped[:1] in (">", "<"):
            op = Op.AT_LEAST if stripped[0] == ">" else Op.AT_MOST
            value = stripped[1:].strip()
            if numbers(value) is None:
                raise ProfileError(f"{text!r}: '{stripped[0]}' needs a number or numbers")
            return cls(op, value)
        return cls(Op.EXACT, stripped)

    def __str__(self) -> str:
        return self.value if self.op is Op.EXACT else f"{self.op.value}{self.value}"


_INTEGER = re.compile(r"-?\d+")


def numbers(text: str) -> tuple[int, ...] | None:
    """The integers in a whitespace-separated value, or None if any word is not an integer."""
    words = text.split()
    if not words or not all(_INTEGER.fullmatch(word) for word in words):
        return None
    return tuple(int(word) for word in words)


def normalise(text: str) -> str:
    """Collapse whitespace the way ``sysctl -n`` prints vectors (``4096 131072 6291456``)."""
    return " ".join(text.split())


def satisfies(current: str, wanted: Requirement) -> bool:
    """True when ``current`` (as read from the kernel) meets the requirement."""
    return normalise(current) == normalise(desired(current, wanted))


def desired(current: str, wanted: Requirement) -> str:
    """The value to write so that ``current`` meets ``wanted`` (``current`` when it already does).

    ``>``/``<`` work element by element on vectors; a requirement with a different number of
    elements than the current value is treated as exact, since a partial vector is not valid
    input for the kernel.
    """
    if wanted.op is Op.EXACT:
        have, want = numbers(current), numbers(wanted.value)
        if have is not None and want is not None and have == want:
            return current
        return wanted.value
    have, want = numbers(current), numbers(wanted.value)
    if have is None or want is None or len(have) != len(want):
        return wanted.value
    pick = max if wanted.op is Op.AT_LEAST else min
    merged = tuple(pick(a, b) for a, b in zip(have, want, strict=True))
    if merged == have:
        return current
    return " ".join(str(number) for number in merged)


def parse_cpulist(text: str) -> frozenset[int]:
    """``"0-3,8,10-11"`` -> {0, 1, 2, 3, 8, 10, 11} (the kernel's cpulist format, cpuset(7))."""
    cpus: set[int] = set()
    for word in text.strip().split(","):
        part = word.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"not a CPU list: {text!r}")
        end = int(last) if last else int(first)
        if end < int(first):
            raise ValueError(f"not a CPU list: {text!r}")
        cpus.update(range(int(first), end + 1))
    return frozenset(cpus)


def format_cpulist(cpus: frozenset[int] | set[int]) -> str:
    """The shortest cpulist for a set of CPUs: {0, 1, 2, 5} -> ``"0-2,5"``."""
    ordered = sorted(cpus)
    ranges: list[str] = []
    start = previous = None
    for cpu in [*ordered, None]:
        if start is not None and (cpu is None or cpu != previous + 1):  # type: ignore[operator]
            ranges.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if cpu is not None and start is None:
            start = cpu
        previous = cpu
    return ",".join(ranges)


def parse_cpumask(text: str) -> frozenset[int]:
    """A hex CPU mask as in ``/proc/irq/N/smp_affinity`` (``"ffffffff,00000003"``)."""
    value = int(text.strip().replace(",", "") or "0", 16)
    return frozenset(bit for bit in range(value.bit_length()) if value >> bit & 1)


def on_off(value: bool) -> str:
    """ethtool's spelling of a boolean."""
    return "on" if value else "off"
