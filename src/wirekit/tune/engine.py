"""show, apply, revert and verify.

``inspect`` reads every target of every setting and compares it with the profile; the four
commands are built on it.  ``apply`` journals before its first write (see
:mod:`wirekit.tune.journal`), writes, reads each value back, then prunes the journal to what
really changed.  ``revert`` restores journaled values in reverse order, with a second pass for
values a dependency undid (re-enabling TX checksums can bring TSO back, and the other way
round).
"""

from __future__ import annotations

import collections
import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from wirekit.errors import UsageError
from wirekit.link.interfaces import interface_index, unknown_interface
from wirekit.tune.catalog import (
    CATALOG,
    SECTION_ORDER,
    Context,
    IdleSetting,
    Resolved,
    Setting,
    lookup,
)
from wirekit.tune.host import Host, TargetProblem
from wirekit.tune.profiles import Profile
from wirekit.tune.values import Requirement


class Status(enum.StrEnum):
    """How a setting compares with the profile (``show``, ``verify``)."""

    OK = "ok"
    DIFFERS = "differs"
    UNSUPPORTED = "unsupported"
    UNREADABLE = "unreadable"
    UNSET = "-"


class Outcome(enum.StrEnum):
    """What ``apply``/``revert`` did with one target."""

    APPLIED = "applied"
    RESTORED = "restored"
    ALREADY_OK = "already-ok"
    PLANNED = "planned"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class TargetState:
    """One target as read: display value, what is wanted, and how they compare."""

    key: str
    current: str | None
    wanted: str | None
    status: Status
    reason: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class SettingState:
    """One row of ``tune show``."""

    name: str
    section: str
    why: str
    scope: str
    profile_value: str | None
    current: str
    status: Status
    reason: str
    targets: tuple[TargetState, ...]


@dataclass(frozen=True, slots=True)
class ShowReport:
    """What ``tune show`` and ``tune verify`` print."""

    profile: str
    iface: str | None
    scope: str
    namespace: str
    settings: tuple[SettingState, ...]
    skipped: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One line of ``tune apply``/``tune revert``."""

    setting: str
    key: str
    outcome: Outcome
    before: str | None = None
    after: str | None = None
    wanted: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChangeReport:
    """What ``tune apply`` and ``tune revert`` print."""

    action: str
    profile: str
    iface: str | None
    scope: str
    dry_run: bool
    journal: str | None
    items: tuple[ItemResult, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> list[ItemResult]:
        return [item for item in self.items if item.outcome is Outcome.FAILED]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "failed": len(self.failed)}


@dataclass
class Observed:
    """Internal: a resolved target with the raw value read (or the problem reading it)."""

    setting: Setting
    resolved: Resolved
    raw: str | None = None
    problem: TargetProblem | None = None
    locked: str | None = None


@dataclass
class Inspection:
    profile: str
    iface: str | None
    scope: str
    namespace: str
    rows: list[tuple[Setting, str | None, list[Observed], TargetProblem | None]]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def effective_scope(host: Host, requested: str) -> tuple[str, str]:
    """``auto`` -> ``netns`` inside a child network namespace, else ``all``; and its label."""
    identity = host.netns() if host.roots.live else None
    label = identity.label if identity else f"the tree under {host.roots.proc.parent}"
    if requested not in ("auto", "all", "netns", "host"):
        raise UsageError(f"--scope must be auto, all, netns or host, not {requested!r}")
    if requested == "auto":
        # Unknown counts as a child namespace: changing the host by mistake is the worse error.
        requested = "all" if identity is None or identity.initial is True else "netns"
    return requested, label


def _in_scope(setting: Setting, scope: str) -> bool:
    return scope in ("all", setting.scope.value)


def _settings_for(profile: Profile, everything: bool) -> list[Setting]:
    names = [s.name for s in CATALOG] if everything else []
    names += [name for name in profile.names() if name not in names]
    settings = [lookup(name) for name in names]
    order = {name: index for index, name in enumerate(s.name for s in CATALOG)}
    return sorted(settings, key=lambda s: (SECTION_ORDER.index(s.section),
                                           order.get(s.name, len(order)), s.name))


def _check_iface(host: Host, iface: str | None) -> None:
    """An unknown --iface is an InterfaceError listing the interfaces, as in capture or send."""
    if iface is None:
        return
    if host.roots.live:
        interface_index(iface)  # this network namespace's links, as every other command sees
    elif not host.exists(f"sys/class/net/{iface}"):
        raise unknown_interface(iface, host.listdir("sys/class/net"))


def inspect(host: Host, profile: Profile, *, iface: str | None = None, scope: str = "auto",
            everything: bool = True) -> Inspection:
    """Read every target of every setting (all catalogue settings with ``everything``)."""
    _check_iface(host, iface)
    scope, label = effective_scope(host, scope)
    ctx = Context(host, iface)
    result = Inspection(profile.name, iface, scope, label, [])
    for setting in _settings_for(profile, everything):
        wanted = profile.get(setting.name)
        if not _in_scope(setting, scope):
            result.skipped.append((setting.name, f"{setting.scope.value}-wide, scope is {scope}"))
        elif setting.needs_iface and iface is None:
            result.skipped.append((setting.name, "needs --iface"))
        else:
            result.rows.append(_observe(ctx, setting, wanted))
    return result


def _observe(ctx: Context, setting: Setting, wanted: Requirement | None) -> tuple[
        Setting, str | None, list[Observed], TargetProblem | None]:
    try:
        resolved = setting.expand(ctx, wanted)
    except TargetProblem as problem:
        return setting, str(wanted) if wanted else None, [], problem
    observed = []
    for item in resolved:
        try:
            raw = item.target.read(ctx.host)
            locked = item.target.locked(ctx.host, raw) if item.wanted is not None else None
            observed.append(Observed(setting, item, raw=raw, locked=locked))
        except TargetProblem as problem:
            observed.append(Observed(setting, item, problem=problem))
    return setting, str(wanted) if wanted else None, observed, None


def _target_state(seen: Observed) -> TargetState:
    target, wanted = seen.resolved.target, seen.resolved.wanted
    wanted_text = str(wanted) if wanted else None
    note = seen.resolved.note
    if seen.problem is not None:
        status = Status.UNSUPPORTED if seen.problem.status == "unsupported" else Status.UNREADABLE
        return TargetState(target.key, None, wanted_text, status, seen.problem.reason, note)
    raw = seen.raw or ""
    current = target.display(raw)
    if wanted is None:
        return TargetState(target.key, current, None, Status.UNSET)
    if target.satisfied(raw, wanted):
        return TargetState(target.key, current, wanted_text, Status.OK, note=note)
    if seen.locked:
        return TargetState(target.key, current, wanted_text, Status.UNSUPPORTED, seen.locked,
                           note)
    return TargetState(target.key, current, wanted_text, Status.DIFFERS, note=note)


_SEVERITY = (Status.DIFFERS, Status.UNREADABLE, Status.UNSUPPORTED, Status.OK, Status.UNSET)


def _setting_state(setting: Setting, wanted: str | None, observed: list[Observed],
                   problem: TargetProblem | None) -> SettingState:
    if problem is not None:
        status = Status.UNREADABLE if problem.status == "unreadable" else Status.UNSUPPORTED
        return SettingState(setting.name, setting.section, setting.why, setting.scope.value,
                            wanted, "", status, problem.reason, ())
    states = tuple(_target_state(seen) for seen in observed)
    judged = [s.status for s in states if s.wanted is not None or s.status is not Status.UNSET]
    status = min(judged, key=_SEVERITY.index) if judged else Status.UNSET
    if wanted is not None and status is Status.UNSET:
        status = Status.OK  # e.g. no idle state is deeper than the limit: nothing to require
    reasons = sorted({s.reason for s in states if s.reason})
    return SettingState(setting.name, setting.section, setting.why, setting.scope.value, wanted,
                        _summarise(setting, states), status, "; ".join(reasons), states)


def _summarise(setting: Setting, states: tuple[TargetState, ...]) -> str:
    if isinstance(setting, IdleSetting):
        enabled = {s.key.rsplit(":", 1)[1].rstrip("]") for s in states if s.current == "0"}
        return "enabled: " + " ".join(sorted(enabled)) if enabled else "all disabled"
    counts = collections.Counter(s.current for s in states if s.current is not None)
    if len(counts) <= 1:
        return next(iter(counts), "")
    return ", ".join(f"{value} x{count}" for value, count in counts.most_common())


def show(host: Host, profile: Profile, *, iface: str | None = None, scope: str = "auto",
         everything: bool = True) -> ShowReport:
    """Every setting's current value against the profile; changes nothing."""
    found = inspect(host, profile, iface=iface, scope=scope, everything=everything)
    rows = tuple(_setting_state(*row) for row in found.rows)
    return ShowReport(found.profile, found.iface, found.scope, found.namespace, rows,
                      tuple(found.skipped))


def verify(host: Host, profile: Profile, *, iface: str | None = None, scope: str = "auto",
           ignore_missing: bool = False) -> tuple[ShowReport, list[SettingState]]:
    """``tuned-adm verify``: the profile's settings and those that do not match it."""
    report = show(host, profile, iface=iface, scope=scope, everything=False)
    tolerated = {Status.OK} | ({Status.UNSUPPORTED, Status.UNREADABLE} if ignore_missing
                               else set())
    return report, [row for row in report.settings if row.status not in tolerated]
