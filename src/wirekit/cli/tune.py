"""``wirekit tune``: audit, apply and revert host tuning profiles (the library is wirekit.tune)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from wirekit.cli.changes import finish, outcome_counts, print_items
from wirekit.cli.common import print_json, stdout_console
from wirekit.errors import TuningError
from wirekit.tune import (
    ChangeReport,
    Host,
    Outcome,
    Roots,
    SettingState,
    ShowReport,
    Status,
    apply,
    journal_path,
    list_profiles,
    load_profile,
    revert,
    show,
    verify,
)
from wirekit.tune import journal as journals
from wirekit.tune.profiles import ProfileInfo

F = TypeVar("F", bound=Callable[..., Any])

STATUS_STYLE = {Status.OK: "green", Status.DIFFERS: "yellow", Status.UNSUPPORTED: "dim",
                Status.UNREADABLE: "red", Status.UNSET: "dim"}
DEFAULT_PROFILE = "throughput"


def _system_options(function: F) -> F:
    """--root, --state-dir and --json, shared by every sub-command."""
    function = click.option("--json", "as_json", is_flag=True,
                            help="Print one JSON object instead of the table.")(function)
    function = click.option(
        "--state-dir", type=click.Path(file_okay=False, readable=False, path_type=Path),
        envvar="WIREKIT_STATE_DIR",
        help="Where the journal lives (default /run/wirekit; env WIREKIT_STATE_DIR).")(function)
    return click.option(
        "--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Treat ROOT/proc and ROOT/sys as the system (a fake tree for tests or an image). "
             "ethtool and swap changes need the live kernel and are unsupported there.")(function)


def _scope_option(function: F) -> F:
    return click.option(
        "--scope", type=click.Choice(["auto", "all", "netns", "host"]), default="auto",
        show_default=True,
        help="Which settings: 'netns' = per-network-namespace ones only (net.* sysctls, the "
             "interface); 'host' = host-wide ones; 'auto' = netns inside a child network "
             "namespace, else all.")(function)


def _host(root: Path | None, state_dir: Path | None) -> Host:
    if root is not None:
        return Host(Roots.under(root, state_dir))
    return Host(Roots(state=state_dir) if state_dir else Roots())


def _active_profile(host: Host) -> list[str] | None:
    found = journals.load(journal_path(host))
    return found.profile.split("+") if found and found.profile else None


@click.group()
def tune() -> None:
    """Audit, apply and revert host tuning profiles (tuned-style, journaled, reversible).

    \b
    wirekit tune show --iface eth0               # every setting: current, profile, status, why
    wirekit tune apply throughput --dry-run      # the plan, nothing changed
    wirekit tune apply throughput capture --iface eth0
    wirekit tune verify                          # like tuned-adm verify
    wirekit tune revert                          # put every journaled value back, exactly
    ip netns exec NS wirekit tune apply latency  # inside a namespace: its settings only

    Profiles are TOML files (`wirekit tune list` shows where); values can be exact, '>N'
    (raise only) or '<N' (lower only).  Before its first change, apply writes a journal of
    every original value (fsynced) to /run/wirekit/tune/; revert uses it, also after a crash.
    """


@tune.command("list")
@_system_options
def list_command(*, root: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """List the profiles: built in, /etc/wirekit/profiles, $WIREKIT_PROFILE_PATH."""
    found = list_profiles()
    if as_json:
        print_json({"profiles": [asdict(info) for info in found]})
        return
    _print_profiles(found)


def _print_profiles(found: list[ProfileInfo]) -> None:
    """Name and summary, then the file on a line of its own, whole: it is there to be copied,
    so rich must neither cut it nor break it into lines (the terminal may wrap it)."""
    console = stdout_console()
    width = max((len(info.name) for info in found), default=0)
    for info in found:
        row = Table.grid(padding=(0, 2))
        row.add_column(width=width, no_wrap=True, style="bold")
        row.add_column()
        row.add_row(escape(info.name), escape(info.summary))
        console.print(row)
        console.print(" " * (width + 2) + escape(info.path), soft_wrap=True)


@tune.command("show")
@click.option("--profile", "-p", "profiles", multiple=True, metavar="NAME",
              help="Profile(s) to compare with (repeatable; default: the applied one, else "
                   "throughput).")
@click.option("--iface", "-i", metavar="IF", help="Interface for ring, offload, channel, "
              "coalescing and IRQ settings.")
@_scope_option
@_system_options
def show_command(*, profiles: tuple[str, ...], iface: str | None, scope: str, root: Path | None,
                 state_dir: Path | None, as_json: bool) -> None:
    """Every setting: current value, profile value, status, and why it matters.

    Status is ok, differs, unsupported (not on this kernel, driver or namespace) or
    unreadable; '-' marks a setting the profile leaves alone.  Changes nothing.
    """
    host = _host(root, state_dir)
    names = list(profiles) or _active_profile(host) or [DEFAULT_PROFILE]
    report = show(host, load_profile(names), iface=iface, scope=scope)
    if as_json:
        print_json(report.to_json())
        return
    _print_show(report)


def _print_show(report: ShowReport) -> None:
    console = stdout_console()
    console.print(f"[bold]profile[/] {escape(report.profile)}   [bold]interface[/] "
                  f"{escape(report.iface or '-')}   [bold]scope[/] {report.scope} "
                  f"({escape(report.namespace)})")
    table = Table(header_style="bold", show_lines=False, expand=False)
    longest = max((len(row.name) for row in report.settings), default=20)
    _add_show_columns(table, console.width, longest)
    section = ""
    for row in report.settings:
        if row.section != section:
            section = row.section
            table.add_section()
            table.add_row(f"[bold underline]{escape(section)}[/]", "", "", "")
        table.add_row(*_show_cells(row))
    console.print(table)
    _print_skipped(report.skipped)


#: The status column is the point of `tune show`: it is as wide as its longest word, always.
STATUS_WIDTH = max(len(status.value) for status in Status)
#: What the table's frame takes: 5 rules, and a space either side of each of the 4 cells.
SHOW_FRAME = 13
#: The narrowest setting column the why text still reads well in.
NAME_WIDTH = 24
#: current and profile at most (values wrap at spaces beyond), and at least on a narrow
#: console ("performance", "134217728" stay whole).
VALUE_WIDTHS = (20, 22)
MIN_VALUE_WIDTH = 11


def _add_show_columns(table: Table, total: int, longest: int) -> None:
    """setting, current, profile and status, the status column whole (down to ~54 columns).

    Left to itself rich measures the why text as the widest column, and on a narrow console
    it crops the last column (status) rather than shrink one below its min_width.  So when
    the natural layout does not fit, every width is fixed here: the values give way first,
    then a setting name longer than its column folds (never "…": the name is needed whole).
    """
    widths = _show_widths(total, longest)
    if widths is None:  # wide enough: names on one line, values wrap at spaces past their max
        table.add_column("setting / why it matters", min_width=max(longest, NAME_WIDTH))
        table.add_column("current", max_width=VALUE_WIDTHS[0], overflow="fold")
        table.add_column("profile", max_width=VALUE_WIDTHS[1], overflow="fold")
    else:
        name, current, profile = widths
        table.add_column("setting / why it matters", width=name, overflow="fold")
        table.add_column("current", width=current, overflow="fold")
        table.add_column("profile", width=profile, overflow="fold")
    table.add_column("status", width=STATUS_WIDTH, overflow="fold")


def _show_widths(total: int, longest: int) -> tuple[int, int, int] | None:
    """Fixed widths of setting, current and profile on a ``total``-column console, or None
    when the natural layout (name on one line, values up to VALUE_WIDTHS) fits."""
    room = total - SHOW_FRAME - STATUS_WIDTH
    name = max(longest, NAME_WIDTH)
    if name + sum(VALUE_WIDTHS) <= room:
        return None
    value = max(MIN_VALUE_WIDTH, min(VALUE_WIDTHS[0], (room - name) // 2))
    # Below about 54 columns even that does not fit; rich then narrows every column.
    return max(room - 2 * value, MIN_VALUE_WIDTH), value, value


def _show_cells(row: SettingState) -> tuple[str, str, str, str]:
    style = STATUS_STYLE[row.status]
    name = f"{escape(row.name)}\n[dim]{escape(row.why)}[/]"
    if row.reason:
        name += f"\n[{style}]{escape(row.reason)}[/]"
    notes = sorted({t.note for t in row.targets if t.note and t.note != "spread"})
    profile = escape(row.profile_value or "-") + "".join(f"\n[dim]{escape(n)}[/]" for n in notes)
    return name, escape(row.current or "-"), profile, f"[{style}]{row.status.value}[/]"


def _print_skipped(skipped: tuple[tuple[str, str], ...]) -> None:
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped:
        by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        stdout_console().print(f"[dim]skipped ({escape(reason)}): {escape(', '.join(names))}[/]",
                               soft_wrap=True)


@tune.command("apply")
@click.argument("profiles", nargs=-1, required=True, metavar="PROFILE...")
@click.option("--iface", "-i", metavar="IF", help="Interface for ring, offload, channel, "
              "coalescing and IRQ settings (skipped without it).")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan; change nothing.")
@_scope_option
@_system_options
def apply_command(*, profiles: tuple[str, ...], iface: str | None, dry_run: bool, scope: str,
                  root: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """Apply one or more profiles (later ones win), journaling every original value first.

    Each item is reported as applied, already-ok, unsupported or failed with the kernel's
    reason.  Applying twice changes nothing the second time.  Exit code 10 if any item failed.

    \b
    wirekit tune apply throughput --iface eth0
    wirekit tune apply ./my-profile.toml --dry-run
    """
    host = _host(root, state_dir)
    report = apply(host, load_profile(profiles), iface=iface, scope=scope, dry_run=dry_run)
    _finish(report, as_json)


@tune.command("all")
@click.option("--iface", "-i", metavar="IF", required=True, help="The interface to tune.")
@click.option("--dry-run", "-n", is_flag=True, help="Print the plan; change nothing.")
@_scope_option
@_system_options
def all_command(*, iface: str, dry_run: bool, scope: str, root: Path | None,
                state_dir: Path | None, as_json: bool) -> None:
    """The seed's `all`: apply throughput and capture to IFACE (same as `apply throughput
    capture --iface IFACE`)."""
    host = _host(root, state_dir)
    report = apply(host, load_profile(["throughput", "capture"]), iface=iface, scope=scope,
                   dry_run=dry_run)
    _finish(report, as_json)


@tune.command("revert")
@click.option("--dry-run", "-n", is_flag=True, help="Print what would be restored.")
@_system_options
def revert_command(*, dry_run: bool, root: Path | None, state_dir: Path | None,
                   as_json: bool) -> None:
    """Restore exactly the journaled values, then remove the journal.

    Works after a crash in the middle of apply: values that never changed are reported
    already-ok.  Values that cannot be restored stay in the journal (exit code 10).
    """
    report = revert(_host(root, state_dir), dry_run=dry_run)
    _finish(report, as_json)


def _finish(report: ChangeReport, as_json: bool) -> None:
    finish(report, as_json, _print_changes, kept_in_journal=report.action != "apply")


def _print_changes(report: ChangeReport) -> None:
    console = stdout_console()
    head = f"[bold]{report.action}[/] {escape(report.profile or '-')}"
    if report.iface:
        head += f" on {escape(report.iface)}"
    if report.action == "apply":
        head += f" (scope {report.scope})"
    if report.dry_run:
        head += "  [cyan]dry run: nothing changed[/]"
    console.print(head, soft_wrap=True)
    print_items(console, report, _item_detail)
    _print_skipped(report.skipped)
    for note in report.notes:
        console.print(f"[dim]{escape(note)}[/]", soft_wrap=True)
    _print_summary(report)


def _item_detail(item: Any) -> str:
    if item.outcome in (Outcome.APPLIED, Outcome.PLANNED, Outcome.RESTORED) and item.after:
        text = f"{item.before} -> {item.after}"
    elif item.outcome is Outcome.ALREADY_OK:
        text = str(item.before or item.after or "")
    else:
        text = f"{item.before} -> {item.after or item.wanted}" if item.before else ""
    if item.reason:
        text = f"{text}: {item.reason}" if text else item.reason
    return text


def _print_summary(report: ChangeReport) -> None:
    console = stdout_console()
    console.print(outcome_counts(report), soft_wrap=True)
    if report.journal and report.action == "apply" and not report.dry_run:
        console.print(f"journal: {escape(report.journal)}  (undo with: wirekit tune revert)",
                      soft_wrap=True)


@tune.command("verify")
@click.argument("profiles", nargs=-1, metavar="[PROFILE...]")
@click.option("--iface", "-i", metavar="IF", help="Interface for the interface settings.")
@click.option("--ignore-missing", is_flag=True,
              help="Do not count unsupported or unreadable settings as failures "
                   "(tuned-adm verify --ignore-missing).")
@_scope_option
@_system_options
def verify_command(*, profiles: tuple[str, ...], iface: str | None, ignore_missing: bool,
                   scope: str, root: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """Check the system against a profile, like `tuned-adm verify` (exit 0: all match).

    Without PROFILE, the profile recorded by the last apply is verified.
    """
    host = _host(root, state_dir)
    names = list(profiles) or _active_profile(host)
    if not names:
        raise TuningError("no profile applied here (no journal); name one: "
                          "wirekit tune verify throughput")
    profile = load_profile(names)
    report, mismatches = verify(host, profile, iface=iface, scope=scope,
                                ignore_missing=ignore_missing)
    if as_json:
        print_json({**report.to_json(), "verified": not mismatches,
                    "mismatches": [row.name for row in mismatches]})
    else:
        _print_verify(profile.name, report, mismatches)
    if mismatches:
        raise TuningError(f"verification failed: {len(mismatches)} setting(s) do not match "
                          f"the profile {profile.name}")


def _print_verify(name: str, report: ShowReport, mismatches: list[SettingState]) -> None:
    console = stdout_console()
    for row in mismatches:
        detail = row.reason or f"current {row.current!r}, profile {row.profile_value!r}"
        console.print(f"[{STATUS_STYLE[row.status]}]{row.status.value:<11}[/] "
                      f"{escape(row.name)}: {escape(detail)}", soft_wrap=True)
    _print_skipped(report.skipped)
    if not mismatches:
        matching = sum(row.status is Status.OK for row in report.settings)
        ignored = len(report.settings) - matching
        console.print(f"Verification succeeded: {matching} settings match the profile "
                      f"{escape(name)}" + (f" ({ignored} unsupported or unreadable here, ignored)"
                                           if ignored else "") + ".", soft_wrap=True)
