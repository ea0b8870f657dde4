"""How the monitor looks: the live table with sparklines, plain lines for pipes, the summary.

Nothing here samples or computes rates; it renders :class:`Interval` and :class:`Summary`
values.  Rates use SI prefixes (1 kbit/s = 1000 bit/s), as iperf3 and ``ip -h`` do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wirekit.monitor.facts import LinkFacts, Offload
from wirekit.monitor.rates import InterfaceRates, Interval
from wirekit.monitor.summary import DirectionTotals, InterfaceSummary, Summary

#: Eight levels of U+2581..U+2588; the lowest one also stands for zero, so a flat line reads as
#: "nothing", and a missing sample (interface gone) is a blank.
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
#: Samples kept per sparkline; how many are shown depends on the terminal's width.
SPARK_HISTORY = 60
#: Columns the live table needs besides its sparklines: 28 for the name and direction
#: columns and the table's edges, and 9 per metric for its value and padding (measured with
#: rich: 64 for four metrics, 73 for five), so the sparklines take what is left.
_LIVE_BASE_WIDTH = 28
_LIVE_METRIC_WIDTH = 9
_VALUE_WIDTH = 7
_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))

#: (column title, counter suffix) of the rates shown for each direction.  ``nohandler``
#: (``rx_nohandler``: frames the device may not hand to the protocol handlers, such as those
#: arriving on a bond's backup link) exists for RX only; the TX cell stays empty.  The live
#: table shows it once it has moved (it stays 0 on most hosts, and four metrics fit 80
#: columns); plain lines always have the column.
METRICS: tuple[tuple[str, str], ...] = (
    ("bit/s", "bytes"),
    ("packets/s", "packets"),
    ("errors/s", "errors"),
    ("drops/s", "dropped"),
    ("no handler/s", "nohandler"),
)
#: Metrics that have no TX counter.
RX_ONLY = frozenset({"nohandler"})


def si(value: float, unit: str = "", precision: int = 3) -> str:
    """``1234567`` -> ``"1.23 M"`` + unit; small values without a prefix."""
    for factor, prefix in _PREFIXES:
        if abs(value) >= factor:
            return f"{value / factor:.{precision}g} {prefix}{unit}".rstrip()
    text = f"{value:.{precision}g}" if value != int(value) else f"{int(value)}"
    return f"{text} {unit}".rstrip()


def sparkline(values: Sequence[float | None], width: int = 16) -> str:
    """The last ``width`` values as block characters, scaled to the largest of them."""
    shown = list(values)[-width:] if width > 0 else []
    peak = max((value for value in shown if value is not None), default=0.0)
    chars = []
    for value in shown:
        if value is None:
            chars.append(" ")
        elif peak <= 0 or value <= 0:
            chars.append(SPARK_LEVELS[0])
        else:
            level = 1 + int(value / peak * (len(SPARK_LEVELS) - 2))
            chars.append(SPARK_LEVELS[min(level, len(SPARK_LEVELS) - 1)])
    return "".join(chars).rjust(width)


def spark_width(terminal_width: int, metrics: int = 4) -> int:
    """Samples per sparkline that fit ``metrics`` of them in ``terminal_width`` columns
    (4..60)."""
    fixed = _LIVE_BASE_WIDTH + _LIVE_METRIC_WIDTH * metrics
    return max(4, min(SPARK_HISTORY, (terminal_width - fixed) // metrics))


def rate_of(row: InterfaceRates, direction: str, suffix: str) -> float | None:
    """One of the displayed rates; bytes are shown as bits.  ``None`` without a rate, and
    for ``nohandler`` on TX or on a kernel that does not report it (before Linux 4.6)."""
    if suffix == "bytes":
        return row.bits_per_second(direction)
    if suffix in RX_ONLY:
        return row.nohandler_per_second() if direction == "rx" else None
    return row.per_second(f"{direction}_{suffix}")


class LiveView:
    """Keeps a short history per interface and rate, and renders the live table."""

    def __init__(self) -> None:
        self._history: dict[tuple[str, str, str], deque[float | None]] = {}
        self._rows: list[InterfaceRates] = []
        self._events: deque[str] = deque(maxlen=3)
        self._title = "waiting for the first interval"
        self._nohandler_seen = False

    def update(self, interval: Interval) -> None:
        self._rows = list(interval.interfaces)
        self._title = (f"interval {interval.number}, {interval.elapsed:.1f} s "
                       f"(last {interval.seconds:.2f} s)")
        for row in interval.interfaces:
            for direction in ("rx", "tx"):
                for _, suffix in _metrics(direction):
                    key = (row.name, direction, suffix)
                    history = self._history.setdefault(key, deque(maxlen=SPARK_HISTORY))
                    history.append(rate_of(row, direction, suffix))
            self._nohandler_seen = self._nohandler_seen or bool(row.nohandler_per_second())
            for event in row.events:
                self._events.append(f"{interval.elapsed:.1f} s  {row.name} {event}")

    @property
    def metrics(self) -> tuple[tuple[str, str], ...]:
        """The columns shown: ``no handler/s`` only once some interface's counter moved."""
        if self._nohandler_seen:
            return METRICS
        return tuple(metric for metric in METRICS if metric[1] not in RX_ONLY)

    def render(self, terminal_width: int = 120) -> Table:
        metrics = self.metrics
        width = spark_width(terminal_width, len(metrics))
        table = Table(title=f"wirekit monitor: {self._title}", title_justify="left",
                      caption="\n".join(self._events) or None, caption_justify="left",
                      box=box.SIMPLE_HEAD)
        table.add_column("interface", no_wrap=True)
        table.add_column("", no_wrap=True)
        for title, _ in metrics:
            table.add_column(title, justify="right", no_wrap=True)
        for row in self._rows:
            for direction in ("rx", "tx"):
                table.add_row(*self._cells(row, direction, width, metrics),
                              end_section=direction == "tx")
        return table

    def _cells(self, row: InterfaceRates, direction: str, width: int,
               metrics: tuple[tuple[str, str], ...]) -> list[RenderableType]:
        name: RenderableType = ""
        if direction == "rx":
            name = Text(row.name) if row.present else Text(f"{row.name} (gone)", style="dim")
        cells: list[RenderableType] = [name, direction.upper()]
        for _, suffix in metrics:
            if direction != "rx" and suffix in RX_ONLY:
                cells.append("")
                continue
            value = rate_of(row, direction, suffix)
            shown = "—" if value is None else si(value)
            history = self._history.get((row.name, direction, suffix), deque())
            cells.append(Text.assemble(shown.rjust(_VALUE_WIDTH), " ",
                                       (sparkline(list(history), width), "cyan")))
        return cells


def _metrics(direction: str) -> tuple[tuple[str, str], ...]:
    """The metrics that exist for ``direction``."""
    return tuple(metric for metric in METRICS if direction == "rx" or metric[1] not in RX_ONLY)


def plain_header() -> str:
    """Column titles of :func:`plain_lines` (pipe mode, like ``sar -n DEV``)."""
    return (f"{'elapsed':>8} {'interface':<15} {'rx bit/s':>12} {'tx bit/s':>12} "
            f"{'rx pkt/s':>10} {'tx pkt/s':>10} {'rx err/s':>9} {'tx err/s':>9} "
            f"{'rx drop/s':>9} {'tx drop/s':>9} {'rx nohnd/s':>10}  events")


def plain_lines(interval: Interval) -> list[str]:
    """One line per interface, no escape codes: for logs and pipes."""
    return [_plain_line(interval, row) for row in interval.interfaces]


def _plain_line(interval: Interval, row: InterfaceRates) -> str:
    def cell(direction: str, suffix: str, width: int) -> str:
        value = rate_of(row, direction, suffix)
        return f"{'-' if value is None else si(value):>{width}}"

    events = "; ".join(str(event) for event in row.events)
    return (f"{interval.elapsed:8.2f} {row.name:<15} {cell('rx', 'bytes', 12)} "
            f"{cell('tx', 'bytes', 12)} {cell('rx', 'packets', 10)} {cell('tx', 'packets', 10)} "
            f"{cell('rx', 'errors', 9)} {cell('tx', 'errors', 9)} {cell('rx', 'dropped', 9)} "
            f"{cell('tx', 'dropped', 9)} {cell('rx', 'nohandler', 10)}  {events}").rstrip()


def render_summary(summary: Summary) -> RenderableType:
    """The traffic table, the link table and the events, as one renderable."""
    parts: list[RenderableType] = [Text(_headline(summary)), _traffic_table(summary),
                                   _link_table(summary)]
    for optional in (_other_counters(summary), _offload_table(summary), _events_table(summary)):
        if optional is not None:
            parts.append(optional)
    return Group(*parts)


#: Counters shown in the traffic table; the others (multicast, collisions, the detailed
#: rx/tx error kinds, rx_otherhost_dropped) are listed only when they moved.
_MAIN_COUNTERS = frozenset({*(f"{direction}_{name}" for direction in ("rx", "tx")
                              for name in ("bytes", "packets", "errors", "dropped")),
                            "rx_nohandler"})


def _other_counters(summary: Summary) -> Text | None:
    """``veth0: multicast 12, rx_crc_errors 3`` for the detail counters that moved."""
    lines = []
    for item in summary.interfaces:
        moved = [f"{name} {value:,}" for name, value in item.totals.as_dict().items()
                 if value and name not in _MAIN_COUNTERS]
        if moved:
            lines.append(f"  {item.name}: {', '.join(moved)}")
    if not lines:
        return None
    return Text("other counters over the run:\n" + "\n".join(lines) + "\n")


def _headline(summary: Summary) -> str:
    return (f"wirekit monitor summary: {summary.duration:.2f} s, {summary.intervals} intervals "
            f"of {summary.interval:g} s, stopped by {summary.stopped_by}")


def _traffic_table(summary: Summary) -> Table:
    table = Table(title="traffic: totals, and per-second averages over the time each "
                        "interface was present (MB = 10^6 bytes)", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for title in ("interface", "", "bytes", "packets", "MB/s", "bit/s", "pkt/s", "peak bit/s",
                  "errors", "drops", "no handler"):
        table.add_column(title, justify="left" if title in ("interface", "") else "right",
                         no_wrap=True)
    for item in summary.interfaces:
        for direction, totals in (("RX", item.rx), ("TX", item.tx)):
            name = _interface_label(item) if direction == "RX" else ""
            table.add_row(name, direction, f"{totals.bytes:,}", f"{totals.packets:,}",
                          f"{totals.megabytes_per_second:.2f}", si(totals.bits_per_second),
                          si(totals.packets_per_second), si(totals.peak_bits_per_second),
                          f"{totals.errors:,}", f"{totals.dropped:,}", _nohandler_cell(totals),
                          end_section=direction == "TX")
    return table


def _nohandler_cell(totals: DirectionTotals) -> str:
    """RX: the count, or "—" when the kernel does not report it; TX: empty (no such counter)."""
    if totals.direction != "rx":
        return ""
    return "—" if totals.nohandler is None else f"{totals.nohandler:,}"


def _interface_label(item: InterfaceSummary) -> str:
    if item.vanished:
        return f"{item.name} (vanished)"
    return item.name


def _link_table(summary: Summary) -> Table:
    table = Table(title="link (ethtool)", title_justify="left", box=box.SIMPLE_HEAD)
    for title in ("interface", "driver", "speed", "duplex", "MTU", "rings rx/tx (max)"):
        table.add_column(title, no_wrap=True)
    for item in summary.interfaces:
        facts = item.facts or LinkFacts()
        mtu = item.sample.mtu if item.sample and item.sample.mtu else None
        table.add_row(item.name, facts.driver or "—", _speed(facts), facts.duplex or "—",
                      str(mtu) if mtu else "—", _rings(facts))
    return table


#: Offload groups as the summary titles them.
OFFLOAD_TITLES = {"checksum": "checksum", "segmentation": "segmentation",
                  "receive-hash": "rx hash"}


def _offload_table(summary: Summary) -> Table | None:
    table = Table(title="offloads (* = fixed: the driver does not let it change)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for title in ("interface", "offload", "on", "off"):
        table.add_column(title, no_wrap=title in ("interface", "offload"))
    for item in summary.interfaces:
        facts = item.facts or LinkFacts()
        groups = [(title, facts.offload_group(group)) for group, title in OFFLOAD_TITLES.items()]
        groups = [(title, offloads) for title, offloads in groups if offloads]
        for number, (title, offloads) in enumerate(groups):
            table.add_row(item.name if number == 0 else "", title,
                          _offload_names(offloads, enabled=True),
                          _offload_names(offloads, enabled=False),
                          end_section=number == len(groups) - 1)
    return table if table.row_count else None


def _speed(facts: LinkFacts) -> str:
    return "—" if facts.speed_mbps is None else f"{facts.speed_mbps} Mb/s"


def _rings(facts: LinkFacts) -> str:
    rings = facts.rings
    if rings is None:
        return "—"
    return f"{rings.rx}/{rings.tx} ({rings.rx_max}/{rings.tx_max})"


#: Short names for the offload cells, as people say them (``ethtool -k`` long names in JSON).
SHORT_OFFLOAD_NAMES = {
    "rx-checksum": "rx", "tx-checksum-ipv4": "tx-ipv4", "tx-checksum-ipv6": "tx-ipv6",
    "tx-checksum-ip-generic": "tx-generic", "tx-checksum-sctp": "tx-sctp",
    "tx-tcp-segmentation": "tso", "tx-tcp6-segmentation": "tso6",
    "tx-generic-segmentation": "gso", "tx-udp-segmentation": "udp-gso",
    "rx-gro": "gro", "rx-lro": "lro", "rx-hashing": "rxhash",
}


def _offload_names(offloads: Sequence[Offload], *, enabled: bool) -> Text:
    """``tso, gso, lro*`` for the offloads in the given state (``*``: fixed)."""
    return Text(", ".join(f"{SHORT_OFFLOAD_NAMES.get(item.name, item.name)}"
                          f"{'*' if item.fixed else ''}"
                          for item in offloads if item.enabled == enabled))


def _events_table(summary: Summary) -> Table | None:
    rows = sorted((record.elapsed, item.name, str(record.event))
                   for item in summary.interfaces for record in item.events)
    if not rows:
        return None
    table = Table(title="events", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("at", justify="right")
    table.add_column("interface")
    table.add_column("event")
    for elapsed, name, event in rows:
        table.add_row(f"{elapsed:.2f} s", name, event)
    return table
