"""``--plot FILE.png``: the rates of the run as a time series, through matplotlib.

matplotlib is the optional ``plot`` extra and takes over a second to import, so it is imported
only here and only when a plot is written; :func:`require_matplotlib` checks that it is
installed before the run starts, so a missing extra never costs a long measurement.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wirekit.errors import UsageError, WirekitError
from wirekit.monitor.rates import Interval
from wirekit.monitor.view import rate_of

INSTALL_HINT = "pip install 'wirekit[plot]'"

#: (axis title, counter suffixes, unit) of the three panels.
PANELS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("throughput", ("bytes",), "bit/s"),
    ("packets", ("packets",), "packets/s"),
    ("errors and drops", ("errors", "dropped"), "per second"),
)
_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def require_matplotlib() -> None:
    """Raise a :class:`WirekitError` naming the extra when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise WirekitError(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}")


def check_plot_path(path: Path) -> None:
    """Fail before the run when the plot could not be written at the end."""
    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG files; {path} does not end in .png")
    if not path.parent.resolve().is_dir():
        raise UsageError(f"--plot: directory {path.parent} does not exist")
    # Open it now (appending: an existing file is not touched), so that a read-only place
    # (/proc, a directory without write permission) fails before the run, not after it.
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise UsageError(f"--plot: cannot write {path}: {exc.strerror}") from None
    if not existed:
        path.unlink(missing_ok=True)


def write_plot(intervals: Sequence[Interval], path: Path, title: str = "wirekit monitor") -> None:
    """Write a PNG with three panels (bit/s, packets/s, errors+drops/s) against elapsed time."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(row.name for interval in intervals for row in interval.interfaces))
    figure, axes = plt.subplots(len(PANELS), 1, sharex=True, figsize=(10, 8), dpi=100)
    try:
        for axis, panel in zip(axes, PANELS, strict=True):
            _draw_panel(axis, intervals, names, panel)
        axes[-1].set_xlabel("seconds since start")
        figure.suptitle(title)
        figure.tight_layout()
        try:
            figure.savefig(path, format="png")
        except OSError as exc:
            raise WirekitError(f"cannot write plot {path}: {exc.strerror}") from exc
    finally:
        plt.close(figure)


def _draw_panel(axis: Any, intervals: Sequence[Interval], names: list[str],
                panel: tuple[str, tuple[str, ...], str]) -> None:
    """One panel; each rate is a step over its interval (it is that interval's average)."""
    title, suffixes, unit = panel
    series = [(f"{name} {direction.upper()}" + (f" {suffix}" if len(suffixes) > 1 else ""),
               *_series(intervals, name, direction, suffix))
              for name in names for suffix in suffixes for direction in ("rx", "tx")]
    peak = max((value for _, _, values in series for value in values if not math.isnan(value)),
               default=0.0)
    factor, prefix = next(((f, p) for f, p in _PREFIXES if peak >= f), (1.0, ""))
    for label, times, values in series:
        axis.plot(times, [value / factor for value in values], label=label,
                  drawstyle="steps-pre", linewidth=1.2)
    axis.set_title(title, loc="left", fontsize="medium")
    axis.set_ylabel(f"{prefix}{unit}")
    axis.set_ylim(bottom=0)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small", loc="upper right", ncols=2)


def _series(intervals: Sequence[Interval], name: str, direction: str, suffix: str
            ) -> tuple[list[float], list[float]]:
    """Times (interval ends, plus the first interval's start) and rates of one line.

    Missing rates (interface gone, baseline after a re-creation) become NaN, which matplotlib
    leaves as a gap.
    """
    times: list[float] = []
    values: list[float] = []
    for interval in intervals:
        for row in interval.interfaces:
            if row.name == name:
                rate = rate_of(row, direction, suffix)
                if not times:
                    times.append(interval.elapsed - interval.seconds)
                    values.append(float("nan") if rate is None else rate)
                times.append(interval.elapsed)
                values.append(float("nan") if rate is None else rate)
    return times, values
