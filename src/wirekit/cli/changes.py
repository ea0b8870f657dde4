"""How ``tune`` and ``bypass`` print a :class:`~wirekit.tune.ChangeReport`: one line per item
(outcome, key, what changed), the outcome counts, and the exit through ``TuningError`` (exit 10)
when an item failed."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from wirekit.cli.common import print_json
from wirekit.errors import TuningError
from wirekit.tune import ChangeReport, ItemResult, Outcome

OUTCOME_STYLE = {Outcome.APPLIED: "green", Outcome.RESTORED: "green", Outcome.ALREADY_OK: "dim",
                 Outcome.PLANNED: "cyan", Outcome.UNSUPPORTED: "dim", Outcome.FAILED: "red"}


def print_items(console: Console, report: ChangeReport,
                detail: Callable[[ItemResult], str]) -> None:
    """``  applied      key  before -> after``, keys aligned."""
    width = max((len(item.key) for item in report.items), default=10)
    for item in report.items:
        style = OUTCOME_STYLE[item.outcome]
        console.print(f"  [{style}]{item.outcome.value:<12}[/] {escape(f'{item.key:<{width}}')}  "
                      f"{escape(detail(item))}", soft_wrap=True, highlight=False)


def outcome_counts(report: ChangeReport) -> str:
    """``2 applied, 1 already ok``, in the order the outcomes first appear."""
    counts: dict[str, int] = {}
    for item in report.items:
        counts[item.outcome.value] = counts.get(item.outcome.value, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in counts.items()) or "nothing to do"


def finish(report: ChangeReport, as_json: bool, print_changes: Callable[[ChangeReport], None],
           *, kept_in_journal: bool) -> None:
    """Print the report (JSON or lines); failed items end the command with exit code 10."""
    if as_json:
        print_json(report.to_json())
    else:
        print_changes(report)
    if report.failed:
        raise TuningError(f"{len(report.failed)} item(s) failed; each is listed with its reason"
                          + ("; they stay in the journal" if kept_in_journal else ""))
