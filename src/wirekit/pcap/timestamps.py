"""Timestamps of capture files: resolutions, exact nanosecond arithmetic, tcpdump's formats.

Internally every timestamp is an integer of nanoseconds since the epoch.  pcapng expresses a
timestamp in units of the interface's ``if_tsresol`` (draft-ietf-opsawg-pcapng, section 4.2:
the most significant bit selects a power of two, otherwise a power of ten; the default is 10^-6)
shifted by ``if_tsoffset`` whole seconds.  :class:`TimeScale` converts both ways exactly (floor
towards the past when the unit is finer than a nanosecond or a power of two).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum
from math import gcd

NS_PER_SECOND = 1_000_000_000
#: ``if_tsresol`` when the option is absent: microseconds.
DEFAULT_TSRESOL = 6


def units_per_second(tsresol: int) -> int:
    """Decode an ``if_tsresol`` byte: bit 7 set means 2^-n seconds, clear means 10^-n."""
    exponent = tsresol & 0x7F
    base = 2 if tsresol & 0x80 else 10
    return int(base**exponent)


@dataclass(frozen=True, slots=True)
class TimeScale:
    """Conversion between an interface's timestamp units and nanoseconds since the epoch.

    ``ns = units * multiplier // divisor + offset_ns``; multiplier and divisor are the reduced
    ratio of 10^9 to the units per second, so the conversion is exact integer arithmetic.
    """

    units: int
    multiplier: int
    divisor: int
    offset_ns: int

    @classmethod
    def from_tsresol(cls, tsresol: int = DEFAULT_TSRESOL, offset_s: int = 0) -> TimeScale:
        units = units_per_second(tsresol)
        common = gcd(NS_PER_SECOND, units)
        return cls(units, NS_PER_SECOND // common, units // common, offset_s * NS_PER_SECOND)

    def to_ns(self, units: int) -> int:
        """Nanoseconds since the epoch of a timestamp in this scale's units."""
        return units * self.multiplier // self.divisor + self.offset_ns

    def from_ns(self, ns: int) -> int:
        """This scale's units for nanoseconds since the epoch (floor)."""
        return (ns - self.offset_ns) * self.divisor // self.multiplier


class TimeStyle(IntEnum):
    """tcpdump's timestamp styles, numbered by how many ``-t`` select them (tcpdump(1))."""

    CLOCK = 0        # HH:MM:SS.frac, local time (no -t)
    NONE = 1         # -t: no timestamp
    EPOCH = 2        # -tt: seconds since the epoch
    DELTA = 3        # -ttt: since the previous packet
    DATE = 4         # -tttt: YYYY-MM-DD HH:MM:SS.frac, local time
    SINCE_FIRST = 5  # -ttttt: since the first packet


def _fraction(ns: int, digits: int) -> str:
    """The sub-second part with ``digits`` digits (6: microseconds, 9: nanoseconds), truncated."""
    return f"{(ns % NS_PER_SECOND) // 10 ** (9 - digits):0{digits}d}"


def _clock(ns: int, utc: bool) -> time.struct_time:
    seconds = ns // NS_PER_SECOND
    return time.gmtime(seconds) if utc else time.localtime(seconds)


def _duration(ns: int, digits: int) -> str:
    """A span as HH:MM:SS.frac behind a sign column (tcpdump prints ' ' or '-' there).

    Hours do not wrap after a day (tcpdump's do: a detail not worth copying).
    """
    sign = "-" if ns < 0 else " "
    ns = abs(ns)
    seconds = ns // NS_PER_SECOND
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{_fraction(ns, digits)}"


def _span(ns: int, reference_ns: int, digits: int) -> str:
    unit = 10 ** (9 - digits)
    return _duration(ns // unit * unit - reference_ns // unit * unit, digits)


def format_time(ns: int, style: TimeStyle = TimeStyle.CLOCK, *, digits: int = 6,
                previous_ns: int | None = None, first_ns: int | None = None,
                utc: bool = False) -> str:
    """Format a timestamp the way ``tcpdump -r`` does with the matching number of ``-t``.

    ``digits`` is 6 (tcpdump's default) or 9 (``--nano``).  DELTA and SINCE_FIRST need the
    previous and first timestamps; the first packet prints a zero span, as tcpdump does.  Spans
    are taken between the timestamps as printed (cut to ``digits``), as tcpdump takes them, so
    printed times and printed spans add up.  Unlike tcpdump's, span hours do not wrap at 24.
    """
    if style is TimeStyle.NONE:
        return ""
    if style is TimeStyle.EPOCH:
        return f"{ns // NS_PER_SECOND}.{_fraction(ns, digits)}"
    if style is TimeStyle.DELTA:
        return _span(ns, ns if previous_ns is None else previous_ns, digits)
    if style is TimeStyle.SINCE_FIRST:
        return _span(ns, ns if first_ns is None else first_ns, digits)
    clock = _clock(ns, utc)
    hms = f"{clock.tm_hour:02d}:{clock.tm_min:02d}:{clock.tm_sec:02d}.{_fraction(ns, digits)}"
    if style is TimeStyle.DATE:
        return f"{clock.tm_year:04d}-{clock.tm_mon:02d}-{clock.tm_mday:02d} {hms}"
    return hms
