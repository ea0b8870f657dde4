"""``wirekit monitor``: watch interface rates live and summarise them at the end.

Argument handling and output only; sampling, rates and the summary live in
:mod:`wirekit.monitor`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live

from wirekit.cli.common import print_json, print_json_line
from wirekit.errors import UsageError
from wirekit.monitor import (
    Interval,
    MonitorSession,
    Sampler,
    Selection,
    StopToken,
    Summary,
    require_matplotlib,
    stop_on_signals,
    write_plot,
)
from wirekit.monitor.plot import check_plot_path
from wirekit.monitor.view import LiveView, plain_header, plain_lines, render_summary

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
#: Shorter intervals mostly measure the netlink dump itself, and many drivers refresh their
#: hardware counters only every second or two anyway.
MIN_INTERVAL = 0.05
#: One sample a day at the least (larger ones overflow the clock arithmetic; inf and NaN too).
MAX_INTERVAL = 86400.0
#: Width for tables when stdout is not a terminal (rich would assume 80 and squeeze them).
PIPE_WIDTH = 132


def parse_duration(text: str) -> float:
    """``"30"``, ``"30s"``, ``"1.5m"``, ``"2h"``, ``"500ms"`` -> seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"bad duration {text!r}: use seconds, or a number with ms, s, m or h")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise UsageError(f"duration must be positive, got {text!r}")
    return seconds


class _Output:
    """Where intervals and the summary go; one subclass per output mode."""

    def started(self, session: MonitorSession, interval: float, duration: float | None,
                count: int | None) -> None:
        """Called once the baseline is taken."""

    def interval(self, interval: Interval) -> None:
        raise NotImplementedError

    def stopped(self) -> None:
        """Called after the last interval, before the summary."""

    def summary(self, summary: Summary) -> None:
        raise NotImplementedError


class _LiveOutput(_Output):
    """A rich Live table on a terminal (stdout, or stderr under ``--json``)."""

    def __init__(self, console: Console, then: _Output | None = None) -> None:
        self._console = console
        self._view = LiveView()
        self._live = Live(self._view.render(console.width), console=console, auto_refresh=False,
                          redirect_stdout=False, redirect_stderr=False)
        self._then = then

    def started(self, session: MonitorSession, interval: float, duration: float | None,
                count: int | None) -> None:
        self._live.start(refresh=True)
        if self._then is not None:
            self._then.started(session, interval, duration, count)

    def interval(self, interval: Interval) -> None:
        self._view.update(interval)
        self._live.update(self._view.render(self._console.width), refresh=True)
        if self._then is not None:
            self._then.interval(interval)

    def stopped(self) -> None:
        self._live.stop()

    def summary(self, summary: Summary) -> None:
        if self._then is not None:
            self._then.summary(summary)
        else:
            self._console.print(render_summary(summary))


class _PlainOutput(_Output):
    """stdout is a pipe or a file: plain lines, no cursor movement, no colour."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self._console = console
        self._quiet = quiet

    def started(self, session: MonitorSession, interval: float, duration: float | None,
                count: int | None) -> None:
        if not self._quiet:
            self._write(plain_header())

    def interval(self, interval: Interval) -> None:
        if not self._quiet:
            for line in plain_lines(interval):
                self._write(line)

    def summary(self, summary: Summary) -> None:
        self._console.print(render_summary(summary))

    @staticmethod
    def _write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class _JsonOutput(_Output):
    """``--json``: one summary object at the end."""

    def interval(self, interval: Interval) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        print_json(summary.as_dict())


class _JsonStreamOutput(_Output):
    """``--json-stream``: iperf3's framing, ``{"event": ..., "data": ...}`` per line."""

    def started(self, session: MonitorSession, interval: float, duration: float | None,
                count: int | None) -> None:
        print_json_line({"event": "start", "data": {
            "time": session.started_at, "interfaces": list(session.tracked),
            "interval_seconds": interval, "duration": duration, "count": count}})

    def interval(self, interval: Interval) -> None:
        print_json_line({"event": "interval", "data": interval.as_dict()})

    def summary(self, summary: Summary) -> None:
        print_json_line({"event": "end", "data": summary.as_dict()})


def _choose_output(as_json: bool, json_stream: bool, quiet: bool) -> _Output:
    if as_json and json_stream:
        raise UsageError("--json and --json-stream are exclusive: the stream ends with the "
                         "summary as its \"end\" event")
    if as_json or json_stream:
        data: _Output = _JsonOutput() if as_json else _JsonStreamOutput()
        if sys.stderr.isatty() and not quiet:
            return _LiveOutput(Console(stderr=True, highlight=False), then=data)
        return data
    if sys.stdout.isatty():
        return _LiveOutput(Console(highlight=False))
    width = int(os.environ.get("COLUMNS", PIPE_WIDTH))
    return _PlainOutput(Console(highlight=False, width=width), quiet)


def _validate(interval: float, plot: Path | None) -> None:
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:  # NaN fails both comparisons
        raise UsageError(f"interval must be between {MIN_INTERVAL} and {MAX_INTERVAL} s, "
                         f"got {interval}")
    if plot is not None:
        require_matplotlib()
        check_plot_path(plot)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("interfaces", nargs=-1, metavar="[IFACE]...")
@click.option("-i", "--interval", type=float, default=1.0, show_default=True,
              help="Seconds between samples.")
@click.option("-d", "--duration", "duration_text", metavar="DURATION",
              help="Stop after this long: seconds, or 500ms, 30s, 5m, 1h. Default: until "
                   "Ctrl-C or SIGTERM.")
@click.option("-c", "--count", type=click.IntRange(min=1),
              help="Stop after N intervals (for scripts).")
@click.option("-a", "--all", "include_down", is_flag=True,
              help="Without IFACE: also watch interfaces that are administratively down.")
@click.option("--json-stream", is_flag=True,
              help="One JSON object per line: start, each interval, end (the summary).")
@click.option("--json", "as_json", is_flag=True, help="Print only the summary, as one JSON object.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.png",
              help="Write a PNG time series of the rates at the end (needs the 'plot' extra).")
@click.option("-q", "--quiet", is_flag=True,
              help="No per-interval output (pipe mode) or live table (JSON modes): summary only.")
def monitor(*, interfaces: tuple[str, ...], interval: float, duration_text: str | None,
            count: int | None, include_down: bool, json_stream: bool, as_json: bool,
            plot: Path | None, quiet: bool) -> None:
    """Watch RX/TX bit/s, packets/s, errors/s and drops/s of network interfaces.

    Counters come from netlink (IFLA_STATS64, all 25 of them on Linux 5.19+, rx_nohandler and
    rx_otherhost_dropped included).  On a terminal the rates are shown in a live table with a
    sparkline per rate (RX no-handler/s too, once it moves); when stdout is a pipe, one plain
    line per interface and interval is written instead.  At the end (DURATION, --count, Ctrl-C
    or SIGTERM) a summary gives the average MB/s and packets/s per direction, error and drop
    totals, and the link's speed, duplex, ring sizes and offloads.

    Without IFACE every interface that is up is watched, including ones that appear during
    the run.  Counter wrap-around, driver resets and interfaces that vanish are handled and
    reported as events.  To watch a network namespace: ip netns exec NS wirekit monitor.

    \b
    Examples:
      wirekit monitor                        all interfaces that are up, until Ctrl-C
      wirekit monitor eth0 -i 0.5 -d 30s     one interface, twice a second, for 30 s
      wirekit monitor eth0 --json -d 10      the summary as JSON
      wirekit monitor --json-stream -c 5     five intervals as JSON lines, then the summary
      wirekit monitor eth0 -d 1m --plot eth0.png
    """
    duration = parse_duration(duration_text) if duration_text is not None else None
    _validate(interval, plot)
    output = _choose_output(as_json, json_stream, quiet)
    history: list[Interval] = []
    keep: Callable[[Interval], None] = history.append if plot is not None else _ignore
    token = StopToken()
    try:
        with Sampler() as sampler, stop_on_signals(token):
            session = MonitorSession(sampler, interval=interval, duration=duration, count=count,
                                     selection=Selection(interfaces, include_down), stop=token)
            session.start()
            output.started(session, interval, duration, count)
            try:
                for item in session.intervals():
                    keep(item)
                    output.interval(item)
            finally:
                output.stopped()
        summary = session.summary()
    finally:
        token.close()
    output.summary(summary)  # first: a plot that fails at the end must not lose the summary
    if plot is not None:
        write_plot(history, plot, title=f"wirekit monitor: {', '.join(session.tracked)}")
        click.echo(f"plot written to {plot}", err=True)


def _ignore(_: Interval) -> None:
    pass
