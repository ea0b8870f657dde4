"""``--plot FILE.png``: the rates of the run as a time series, through matplotlib.

matplotlib is the optional ``plot`` extra and takes over a second to import, so it is imported
only here and only when a plot is written; :func:`require_matplotlib` checks that it is
installed before the run starts, so a missing extra never costs a long measurement.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wirekit.errors import UsageError, WirekitError
from wirekit.monitor.rates import Interval, rates_of
from wirekit.monitor.view import rate_of

INSTALL_HINT = "pip install 'wirekit[plot]'"

#: (axis title, counter suffix, scale, unit) of the three panels.
PANELS: tuple[tuple[str, tuple[str, ...], float, str], ...] = (
    ("throughput", ("bytes",), 1e6, "Mbit/s"),
    ("packets", ("packets",), 1.0, "packets/s"),
    ("errors and drops", ("errors", "dropped"), 1.0, "per second"),
)


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
                panel: tuple[str, tuple[str, ...], float, str]) -> None:
    title, suffixes, scale, unit = panel
    for name in names:
        rows = rates_of(intervals, name)
        times = [interval.elapsed for interval in intervals
                 if any(row.name == name for row in interval.interfaces)]
        for suffix in suffixes:
            for direction in ("rx", "tx"):
                values = [_scaled(rate_of(row, direction, suffix), scale) for row in rows]
                label = f"{name} {direction.upper()}" + (f" {suffix}" if len(suffixes) > 1 else "")
                axis.plot(times, values, label=label, marker=".", linewidth=1)
    axis.set_title(title, loc="left", fontsize="medium")
    axis.set_ylabel(unit)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small", loc="upper right", ncols=2)


def _scaled(value: float | None, scale: float) -> float:
    """Missing rates (interface gone) become NaN: matplotlib leaves a gap there."""
    return float("nan") if value is None else value / scale
