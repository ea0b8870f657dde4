"""``apply`` and ``revert``: the two operations that write, both journaled.

Order in ``apply``: read everything, plan, journal the originals of every target about to be
written (fsynced), write one target at a time and read it back, prune the journal to what
changed.  A crash at any point after the journal is on disk leaves a journal that ``revert``
can use: it restores what differs and calls the rest already-ok.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from wirekit.tune import irq
from wirekit.tune import journal as journals
from wirekit.tune.catalog import offload_targets
from wirekit.tune.engine import (
    ChangeReport,
    Inspection,
    ItemResult,
    Observed,
    Outcome,
    inspect,
)
from wirekit.tune.host import Host, TargetProblem, Unsupported
from wirekit.tune.profiles import Profile
from wirekit.tune.targets import OffloadTarget, Target

#: revert passes: the second catches values a dependency undid during the first.
REVERT_PASSES = 2


@dataclass
class _Change:
    seen: Observed
    before: str
    after: str


def _outcome(problem: TargetProblem) -> Outcome:
    return Outcome.UNSUPPORTED if problem.status == "unsupported" else Outcome.FAILED


def _plan(seen: Observed) -> ItemResult | _Change | None:
    """None: nothing wanted; ItemResult: settled without writing; _Change: to write."""
    target, wanted = seen.resolved.target, seen.resolved.wanted
    name = seen.setting.name
    if wanted is None:
        return None
    if seen.problem is not None:
        return ItemResult(name, target.key, _outcome(seen.problem), wanted=str(wanted),
                          reason=seen.problem.reason)
    raw = seen.raw or ""
    if target.satisfied(raw, wanted):
        return ItemResult(name, target.key, Outcome.ALREADY_OK, before=target.display(raw),
                          wanted=str(wanted))
    try:
        if seen.locked:
            raise Unsupported(seen.locked)
        after = target.desired(raw, wanted)
    except TargetProblem as problem:
        return ItemResult(name, target.key, _outcome(problem), before=target.display(raw),
                          wanted=str(wanted), reason=problem.reason)
    return _Change(seen, raw, after)


def apply(host: Host, profile: Profile, *, iface: str | None = None, scope: str = "auto",
          dry_run: bool = False, journal_file: Path | None = None) -> ChangeReport:
    """Bring every setting of ``profile`` to its value, journaling first."""
    found = inspect(host, profile, iface=iface, scope=scope, everything=False)
    ordered: list[tuple[Observed | None, ItemResult | _Change]] = []
    for setting, wanted, observed, problem in found.rows:
        if problem is not None:
            ordered.append((None, ItemResult(setting.name, setting.name, _outcome(problem),
                                             wanted=wanted, reason=problem.reason)))
        for seen in observed:
            planned = _plan(seen)
            if planned is not None:
                ordered.append((seen, planned))
    changes = [item for _, item in ordered if isinstance(item, _Change)]
    path = journal_file or journals.journal_path(host)
    if dry_run or not changes:
        items = [_planned(i) if isinstance(i, _Change) else i for _, i in ordered]
        return _report("apply", found, dry_run, str(path) if changes else None, items)
    _journal_first(host, profile, iface, path, changes)
    written = [(seen, _write(host, i) if isinstance(i, _Change) else i) for seen, i in ordered]
    items = [_still_holds(host, seen, item) for seen, item in written]
    kept = _prune(host, journals.load(path), path)
    report = _report("apply", found, dry_run, str(path) if kept else None, items)
    return replace(report, notes=_irq_notes(host, items))


def _irq_notes(host: Host, items: list[ItemResult]) -> tuple[str, ...]:
    moved = any(i.setting == "iface.irq_affinity" and i.outcome is Outcome.APPLIED for i in items)
    if moved and irq.irqbalance_running(host):
        return ("irqbalance is running and may move these IRQs again: stop it, or ban them "
                "with IRQBALANCE_BANNED_CPULIST",)
    return ()


def _still_holds(host: Host, seen: Observed | None, item: ItemResult) -> ItemResult:
    """Re-read a satisfied item after every write: a later change may have undone it (TX
    checksums off switch TSO off in the kernel, whatever the profile says about TSO)."""
    if seen is None or item.outcome not in (Outcome.APPLIED, Outcome.ALREADY_OK):
        return item
    target, wanted = seen.resolved.target, seen.resolved.wanted
    try:
        raw = target.read(host)
    except TargetProblem as problem:
        return ItemResult(item.setting, item.key, _outcome(problem), before=item.before,
                          wanted=item.wanted, reason=problem.reason)
    if wanted is None or target.satisfied(raw, wanted):
        return item
    return ItemResult(item.setting, item.key, Outcome.FAILED, before=item.before,
                      after=target.display(raw), wanted=item.wanted,
                      reason="undone by another change of this profile (a kernel dependency "
                             "between settings)")


def _planned(change: _Change) -> ItemResult:
    target = change.seen.resolved.target
    return ItemResult(change.seen.setting.name, target.key, Outcome.PLANNED,
                      before=target.display(change.before), after=target.display(change.after),
                      wanted=str(change.seen.resolved.wanted))


def _report(action: str, found: Inspection, dry_run: bool, journal: str | None,
            items: list[ItemResult]) -> ChangeReport:
    return ChangeReport(action, found.profile, found.iface, found.scope, dry_run, journal,
                        tuple(items), tuple(found.skipped))


def _journal_first(host: Host, profile: Profile, iface: str | None, path: Path,
                   changes: list[_Change]) -> journals.Journal:
    """Merge every original about to change into the journal and make it durable."""
    journal = journals.load(path) or journals.Journal(
        profile=profile.name, iface=iface, boot_id=host.boot_id(),
        netns=str(host.netns().inode) if host.roots.live else "")
    journal.profile, journal.state = profile.name, "applying"
    if iface is not None:
        journal.iface = iface
    for change in changes:
        journal.add(change.seen.resolved.target, change.before)
    for target in _companions(changes):
        try:
            journal.add(target, target.read(host))
        except TargetProblem:
            continue  # a group this driver lacks cannot change either
    journals.save(journal, path)
    return journal


def _companions(changes: list[_Change]) -> list[Target]:
    """Offload groups of every interface whose offloads change: one can switch another."""
    interfaces = sorted({c.seen.resolved.target.iface for c in changes
                         if isinstance(c.seen.resolved.target, OffloadTarget)})
    return [target for iface in interfaces for target in offload_targets(iface)]


def _write(host: Host, change: _Change) -> ItemResult:
    target, wanted = change.seen.resolved.target, change.seen.resolved.wanted
    name = change.seen.setting.name
    before = target.display(change.before)
    try:
        target.write(host, change.after)
        raw = target.read(host)
    except TargetProblem as problem:
        return ItemResult(name, target.key, _outcome(problem), before=before,
                          after=target.display(change.after), wanted=str(wanted),
                          reason=problem.reason)
    if wanted is not None and target.satisfied(raw, wanted):
        return ItemResult(name, target.key, Outcome.APPLIED, before=before,
                          after=target.display(raw), wanted=str(wanted))
    return ItemResult(name, target.key, Outcome.FAILED, before=before,
                      after=target.display(raw), wanted=str(wanted),
                      reason=f"the kernel kept {target.display(raw)!r}")


def _prune(host: Host, journal: journals.Journal | None, path: Path) -> bool:
    """Keep only entries whose value really changed; remove the journal if none did."""
    if journal is None:
        return False
    kept = []
    for entry in journal.entries:
        try:
            if entry.target.restored(entry.target.read(host), entry.original):
                continue
        except TargetProblem:
            pass
        kept.append(entry)
    journal.entries = kept
    journal.state = "applied"
    if kept:
        journals.save(journal, path)
    else:
        journals.remove(path)
    return bool(kept)


def revert(host: Host, *, dry_run: bool = False,
           journal_file: Path | None = None) -> ChangeReport:
    """Restore every journaled value exactly, then remove the journal."""
    path = journal_file or journals.journal_path(host)
    journal = journals.load(path)
    if journal is None:
        return ChangeReport("revert", "", None, "all", dry_run, None, (),
                            notes=(f"nothing to revert: no journal at {path}",))
    if dry_run:
        planned = tuple(_revert_plan(host, entry) for entry in reversed(journal.entries))
        return ChangeReport("revert", journal.profile, journal.iface, "all", True, str(path),
                            planned)
    entries = list(journal.entries)
    results = _restore(host, entries)
    # An entry whose target is gone (its interface deleted) can never be restored: it is
    # reported as unsupported and dropped, so it does not pin the journal forever.
    kept = [entry for entry in entries if results[entry.target.key].outcome is Outcome.FAILED]
    notes = _boot_note(host, journal)
    if kept:
        journal.entries = kept
        journals.save(journal, path)
    else:
        journals.remove(path)
    items = tuple(results[entry.target.key] for entry in reversed(entries))
    return ChangeReport("revert", journal.profile, journal.iface, "all", False, str(path),
                        items, notes=notes)


def _revert_plan(host: Host, entry: journals.Entry) -> ItemResult:
    target = entry.target
    try:
        current = target.read(host)
    except TargetProblem as problem:
        return ItemResult(_setting_of(target), target.key, _outcome(problem),
                          after=target.display(entry.original), reason=problem.reason)
    outcome = Outcome.ALREADY_OK if target.restored(current, entry.original) else Outcome.PLANNED
    return ItemResult(_setting_of(target), target.key, outcome, before=target.display(current),
                      after=target.display(entry.original))


def _restore(host: Host, entries: list[journals.Entry]) -> dict[str, ItemResult]:
    """Write back every entry that differs, newest first; up to REVERT_PASSES passes."""
    results: dict[str, ItemResult] = {}
    first_seen: dict[str, str] = {}
    pending = list(reversed(entries))
    for _ in range(REVERT_PASSES):
        for entry in pending:
            results[entry.target.key] = _restore_one(host, entry, first_seen)
        settled = _settled_after_pass(host, pending, results)
        pending = [entry for entry in pending if entry.target.key not in settled]
        if not pending:
            break
    return results


def _restore_one(host: Host, entry: journals.Entry, first_seen: dict[str, str]) -> ItemResult:
    target = entry.target
    setting = _setting_of(target)
    try:
        current = target.read(host)
    except TargetProblem as problem:
        return ItemResult(setting, target.key, _outcome(problem),
                          after=target.display(entry.original), reason=problem.reason)
    first_seen.setdefault(target.key, current)
    before = target.display(first_seen[target.key])
    if target.restored(current, entry.original):
        outcome = Outcome.ALREADY_OK if first_seen[target.key] == current else Outcome.RESTORED
        return ItemResult(setting, target.key, outcome, before=before,
                          after=target.display(current))
    try:
        target.write(host, entry.original)
    except TargetProblem as problem:
        return ItemResult(setting, target.key, Outcome.FAILED, before=before,
                          after=target.display(entry.original), reason=problem.reason)
    return ItemResult(setting, target.key, Outcome.RESTORED, before=before,
                      after=target.display(entry.original))


def _settled_after_pass(host: Host, pending: list[journals.Entry],
                        results: dict[str, ItemResult]) -> set[str]:
    """Re-read every entry of the pass; those back at their original are settled."""
    settled = set()
    for entry in pending:
        target = entry.target
        result = results[target.key]
        try:
            current = target.read(host)
        except TargetProblem as problem:
            results[target.key] = ItemResult(result.setting, target.key, _outcome(problem),
                                             before=result.before, reason=problem.reason)
            continue
        if target.restored(current, entry.original):
            settled.add(target.key)
            if result.outcome is Outcome.FAILED:
                results[target.key] = ItemResult(result.setting, target.key, Outcome.RESTORED,
                                                 before=result.before,
                                                 after=target.display(current))
        elif result.outcome is not Outcome.FAILED:
            results[target.key] = ItemResult(
                result.setting, target.key, Outcome.FAILED, before=result.before,
                after=target.display(current),
                reason=f"the kernel kept {target.display(current)!r}, journaled "
                       f"{target.display(entry.original)!r}")
    return settled


def _setting_of(target: Target) -> str:
    return target.key.split("[", 1)[0]


def _boot_note(host: Host, journal: journals.Journal) -> tuple[str, ...]:
    if journal.boot_id and host.boot_id() and journal.boot_id != host.boot_id():
        return ("the journal was written before the last reboot; its values were restored "
                "anyway",)
    return ()
