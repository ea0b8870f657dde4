"""Interface monitor: kernel counters over time, live rates, an end-of-run summary, plots.

The core is sans-I/O: :class:`RateCalculator` turns :class:`Snapshot` values into
:class:`Interval` rates (handling counter wrap, resets, vanished and new interfaces) and
:class:`SummaryBuilder` adds them up.  :class:`Sampler` reads the snapshots from netlink and
:class:`MonitorSession` runs the loop.  See ``docs/monitor.md``.
"""

from wirekit.monitor.counters import COUNTER_NAMES, Counters, InterfaceSample, Snapshot
from wirekit.monitor.facts import LinkFacts, Offload, read_link_facts
from wirekit.monitor.plot import require_matplotlib, write_plot
from wirekit.monitor.rates import (
    CounterStep,
    EventKind,
    InterfaceRates,
    Interval,
    LinkEvent,
    RateCalculator,
    Selection,
    StepKind,
    counter_step,
    counters_delta,
)
from wirekit.monitor.sampler import Sampler
from wirekit.monitor.session import MonitorSession, StopToken, stop_on_signals
from wirekit.monitor.summary import DirectionTotals, InterfaceSummary, Summary, SummaryBuilder

__all__ = [
    "COUNTER_NAMES",
    "CounterStep",
    "Counters",
    "DirectionTotals",
    "EventKind",
    "InterfaceRates",
    "InterfaceSample",
    "InterfaceSummary",
    "Interval",
    "LinkEvent",
    "LinkFacts",
    "MonitorSession",
    "Offload",
    "RateCalculator",
    "Sampler",
    "Selection",
    "Snapshot",
    "StepKind",
    "StopToken",
    "Summary",
    "SummaryBuilder",
    "counter_step",
    "counters_delta",
    "read_link_facts",
    "require_matplotlib",
    "stop_on_signals",
    "write_plot",
]
