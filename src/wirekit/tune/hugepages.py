"""Huge pages for kernel bypass: reserve and release them, mount and unmount hugetlbfs.

What ``dpdk-hugepages.py`` does (``-r``, ``-c``, ``-m``, ``-u``, ``-p``, ``-n``), journaled like
``wirekit tune apply`` so that ``wirekit bypass revert`` puts every pool size, mount and
directory back.  The kernel's interface, from Documentation/admin-guide/mm/hugetlbpage.rst:

- each page size the kernel offers has a directory ``/sys/kernel/mm/hugepages/hugepages-<kB>kB``;
  writing its ``nr_hugepages`` resizes that size's persistent pool, and "on a NUMA platform,
  the kernel will attempt to distribute the huge page pool over all the set of allowed nodes"
  (all on-line nodes with memory, for a task with the default memory policy);
- ``/sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/nr_hugepages`` sizes one
  node's share (what ``dpdk-hugepages.py -n N`` writes);
- the pool only grows as far as physically contiguous memory allows, so the value read back
  after the write is what was reserved ("administrators can verify the number of huge pages
  actually allocated");
- shrinking a pool below the pages in use turns the excess into surplus pages, freed when
  their users let go; ``nr_hugepages`` counts them until then (``surplus_hugepages`` says how
  many);
- ``mount -t hugetlbfs -o pagesize=<bytes> none DIR``: "if pagesize is not specified the
  platform's default huge page size and associated pool will be used".  wirekit always passes
  it, so the mount and the pool it reserved cannot disagree.

Mounts go through ``mount(2)``/``umount2(2)`` (libc), never the mount program, and only ever
touch hugetlbfs: a directory holding any other mount is refused, both ways.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from wirekit.errors import PrivilegeError, TuningError, UsageError
from wirekit.link.caps import require_capability
from wirekit.tune import journal as journals
from wirekit.tune.changes import revert as revert_journal
from wirekit.tune.engine import ChangeReport, ItemResult, Outcome
from wirekit.tune.host import Host, TargetProblem, Unsupported, WriteFailed, reason_for
from wirekit.tune.targets import TARGET_KINDS, FileTarget, Target

#: The bypass journal, beside the tune journals.  Huge pages and mounts belong to the host (and
#: its mount namespace), not to a network namespace, so there is one, whatever the namespace.
JOURNAL_NAME = "bypass-journal.json"
#: systemd's mount point for huge pages (dev-hugepages.mount), and dpdk-hugepages.py's.
DEFAULT_MOUNT = Path("/dev/hugepages")
POOLS = "sys/kernel/mm/hugepages"
NODES = "sys/devices/system/node"
#: The label journal entries and reports carry.
LABEL = "bypass"

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt])(?:i?b)?\s*$", re.IGNORECASE)
_UNITS_KB = {"k": 1, "m": 1024, "g": 1024 ** 2, "t": 1024 ** 3}


# --- sizes -------------------------------------------------------------------------------------

def parse_size(text: str) -> int:
    """``"2M"``, ``"2MB"``, ``"2MiB"``, ``"1G"``, ``"2048K"``, ``"2048kB"`` -> kB (binary units,
    as ``dpdk-hugepages.py`` and the kernel's ``hugepages-2048kB`` directories use)."""
    match = _SIZE.match(text)
    if match is None:
        raise UsageError(f"bad size {text!r}: use a number with K, M or G (2M, 1G, 2048K)")
    return int(match.group(1)) * _UNITS_KB[match.group(2).lower()]


def format_size(kb: int) -> str:
    """2048 -> ``"2M"``, 1048576 -> ``"1G"``, 64 -> ``"64K"`` (exact units only)."""
    for unit, factor in (("G", 1024 ** 2), ("M", 1024), ("K", 1)):
        if kb >= factor and kb % factor == 0:
            return f"{kb // factor}{unit}"
    return f"{kb}K"


def parse_amount(text: str, page_kb: int) -> int:
    """A page count (``"512"``) or an amount of memory (``"1G"``, as ``dpdk-hugepages.py -r``
    takes it) -> pages of ``page_kb``; memory must be a whole number of pages."""
    if text.strip().isascii() and text.strip().isdigit():  # not "²", which int() refuses
        return int(text)
    kb = parse_size(text)
    if kb % page_kb:
        raise UsageError(f"{text} is not a whole number of {format_size(page_kb)} pages")
    return kb // page_kb


def offered_sizes(host: Host) -> tuple[int, ...]:
    """The huge page sizes this kernel offers, in kB, smallest first."""
    sizes = [name.removeprefix("hugepages-").removesuffix("kB")
             for name in host.listdir(POOLS)]
    return tuple(sorted(int(size) for size in sizes if size.isdigit()))


def default_size(host: Host) -> int | None:
    """The default huge page size (``Hugepagesize`` in /proc/meminfo), in kB."""
    with contextlib.suppress(TargetProblem):
        for line in host.read("proc/meminfo").splitlines():
            if line.startswith("Hugepagesize:"):
                words = line.split()
                return int(words[1]) if len(words) > 1 and words[1].isdigit() else None
    return None


def choose_size(host: Host, text: str | None) -> int:
    """``--pagesize`` (or the kernel's default) as kB; a size this kernel lacks is an error."""
    offered = offered_sizes(host)
    if not offered:
        raise TuningError("this kernel offers no huge pages (no /sys/kernel/mm/hugepages: "
                          "CONFIG_HUGETLBFS is not set)")
    if text is None:
        size = default_size(host) or (offered[0] if len(offered) == 1 else None)
        if size is None:
            raise UsageError("no default huge page size in /proc/meminfo: give --pagesize")
    else:
        size = parse_size(text)
    if size not in offered:
        sizes = ", ".join(format_size(kb) for kb in offered)
        raise UsageError(f"this kernel offers no {format_size(size)} huge pages (sizes here: "
                         f"{sizes})")
    return size


def numa_nodes(host: Host) -> tuple[int, ...]:
    """On-line NUMA nodes that have huge page pools."""
    names = [name.removeprefix("node") for name in host.listdir(NODES)
             if name.startswith("node")]
    return tuple(sorted(int(name) for name in names
                        if name.isdigit() and host.exists(f"{NODES}/node{name}/hugepages")))


def pool_directory(size_kb: int, node: int | None = None) -> str:
    base = f"{NODES}/node{node}/hugepages" if node is not None else POOLS
    return f"{base}/hugepages-{size_kb}kB"


def pool_target(size_kb: int, node: int | None = None) -> FileTarget:
    """The ``nr_hugepages`` file of one size (of one node); the journal keeps its text."""
    where = f"[node{node}]" if node is not None else ""
    return FileTarget(key=f"hugepages.{size_kb}kB{where}",
                      path=f"{pool_directory(size_kb, node)}/nr_hugepages", capability="root")


# --- the mount table -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of /proc/mounts."""

    source: str
    point: str
    fstype: str
    options: tuple[str, ...]


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def mount_table(host: Host) -> list[MountEntry]:
    """This mount namespace's mounts (``/proc/mounts`` is ``/proc/self/mounts``)."""
    try:
        text = host.read("proc/mounts")
    except TargetProblem:
        return []
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            entries.append(MountEntry(_unescape(fields[0]), _unescape(fields[1]), fields[2],
                                      tuple(fields[3].split(","))))
    return entries


def mount_at(host: Host, point: Path | str) -> MountEntry | None:
    """The mount on top at ``point`` (the last one listed there), or None."""
    found = None
    for entry in mount_table(host):
        if entry.point == str(point):
            found = entry
    return found


def hugetlbfs_points(host: Host) -> list[str]:
    return [entry.point for entry in mount_table(host) if entry.fstype == "hugetlbfs"]


# --- mount(2) -----------------------------------------------------------------------------------

#: mount(2) flags (include/uapi/linux/mount.h) for the generic options /proc/mounts shows.
MOUNT_FLAGS = {"ro": 0x1, "nosuid": 0x2, "nodev": 0x4, "noexec": 0x8, "noatime": 0x400,
               "nodiratime": 0x800, "relatime": 0x200000}
#: hugetlbfs's own options (fs/hugetlbfs/inode.c, hugetlb_fs_parameters): the mount data.
HUGETLBFS_OPTIONS = ("uid", "gid", "mode", "size", "min_size", "nr_inodes", "pagesize")
UNMOUNTED = "unmounted"


class MountBackend(Protocol):
    """``mount(2)`` and ``umount2(2)``; both raise OSError with the kernel's errno."""

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None: ...
    def umount(self, target: str) -> None: ...


class LiveMount:
    """The running kernel, through libc: both calls need CAP_SYS_ADMIN."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        if self._libc.mount(os.fsencode(source), os.fsencode(target), os.fsencode(fstype),
                            ctypes.c_ulong(flags), data.encode() or None) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), target)

    def umount(self, target: str) -> None:
        if self._libc.umount2(os.fsencode(target), 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), target)


class NoMount:
    """Mounts for a fake tree: refused, so a test tree can never mount on the real host."""

    REASON = "mounts need the live kernel (not available under --root)"

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        raise Unsupported(self.REASON)

    def umount(self, target: str) -> None:
        raise Unsupported(self.REASON)


def mount_backend(host: Host) -> MountBackend:
    """The live backend for the live host, else one that refuses (tests replace this)."""
    return LiveMount() if host.roots.live else NoMount()


def _mount_words(raw: str) -> tuple[str, dict[str, str]]:
    """``"hugetlbfs rw,pagesize=2M"`` -> (``"hugetlbfs"``, {"rw": "", "pagesize": "2M"})."""
    fstype, _, options = raw.partition(" ")
    words = {}
    for option in filter(None, options.split(",")):
        name, _, value = option.partition("=")
        words[name] = value
    return fstype, words


def _option_kb(value: str) -> int | None:
    """A size option as the kernel parses it (memparse: a bare number is bytes) -> kB."""
    if value.isdigit():
        return int(value) // 1024
    try:
        return parse_size(value)
    except UsageError:
        return None  # "size=50%" and the like: compared as text


def _canonical(raw: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A mount's raw value compared by meaning: ``pagesize=1024M`` is ``pagesize=1G`` is
    ``pagesize=1073741824``."""
    fstype, words = _mount_words(raw)
    for name in ("pagesize", "size", "min_size"):
        kb = _option_kb(words.get(name, ""))
        if kb is not None:
            words[name] = str(kb)
    return fstype, tuple(sorted(words.items()))


@dataclass(frozen=True, slots=True)
class MountTarget(Target):
    """What is mounted at ``path``: ``unmounted``, or ``hugetlbfs`` and the options that
    matter (``ro`` and hugetlbfs's own), or another file system's type and options."""

    kind: ClassVar[str] = "hugetlbfs-mount"
    path: str = ""

    def read(self, host: Host) -> str:
        entry = mount_at(host, self.path)
        if entry is None:
            return UNMOUNTED
        if entry.fstype != "hugetlbfs":
            return f"{entry.fstype} {','.join(entry.options)}"
        kept = [option for option in entry.options
                if option == "ro" or option.partition("=")[0] in HUGETLBFS_OPTIONS]
        return f"hugetlbfs {','.join(kept)}".rstrip()

    def display(self, raw: str) -> str:
        if raw == UNMOUNTED:
            return raw
        fstype, words = _mount_words(raw)
        kb = _option_kb(words.get("pagesize", ""))
        if kb:
            words["pagesize"] = format_size(kb)
        options = ",".join(f"{name}={value}" if value else name for name, value in words.items())
        return f"{fstype} ({options})" if options else fstype

    def restored(self, raw: str, original: str) -> bool:
        return _canonical(raw) == _canonical(original)

    def write(self, host: Host, raw: str) -> None:
        current = mount_at(host, self.path)
        if raw == UNMOUNTED:
            if current is None:
                return
            if current.fstype != "hugetlbfs":
                raise WriteFailed(f"{self.path} holds a {current.fstype} mount now; wirekit "
                                  "unmounts only hugetlbfs")
            self._call(host, lambda backend: backend.umount(self.path))
            return
        fstype, words = _mount_words(raw)
        if fstype != "hugetlbfs":
            raise WriteFailed(f"wirekit mounts only hugetlbfs, not {fstype}")
        if current is not None:
            raise WriteFailed(f"{self.path} is already a mount point ({current.fstype})")
        flags = sum(MOUNT_FLAGS.get(name, 0) for name in words)
        data = ",".join(f"{name}={value}" for name, value in words.items()
                        if name in HUGETLBFS_OPTIONS)
        self._call(host, lambda backend: backend.mount("hugetlbfs", self.path, "hugetlbfs",
                                                       flags, data))

    def _call(self, host: Host, call: Callable[[MountBackend], None]) -> None:
        try:
            call(mount_backend(host))
        except OSError as exc:
            raise WriteFailed(_mount_reason(exc, self.path)) from exc


def _mount_reason(exc: OSError, path: str) -> str:
    if exc.errno == errno.EBUSY:
        return f"EBUSY: {path} is in use (a process still maps or opens files there)"
    if exc.errno == errno.EINVAL:
        return reason_for(exc.errno, "the kernel refused the mount options")
    return reason_for(exc.errno, capability="CAP_SYS_ADMIN")


@dataclass(frozen=True, slots=True)
class DirectoryTarget(Target):
    """A directory wirekit created for a mount point: ``present`` or ``absent``."""

    kind: ClassVar[str] = "directory"
    path: str = ""

    def read(self, host: Host) -> str:
        return "present" if os.path.lexists(self.path) else "absent"

    def write(self, host: Host, raw: str) -> None:
        try:
            if raw == "absent" and os.path.lexists(self.path):
                Path(self.path).rmdir()
            elif raw == "present" and not os.path.lexists(self.path):
                Path(self.path).mkdir(0o755)
        except OSError as exc:
            detail = "not empty: left in place" if exc.errno == errno.ENOTEMPTY else ""
            raise WriteFailed(reason_for(exc.errno, detail, "root")) from exc


# The journal rebuilds targets by kind (wirekit.tune.targets.target_from_json).
TARGET_KINDS.setdefault(MountTarget.kind, MountTarget)
TARGET_KINDS.setdefault(DirectoryTarget.kind, DirectoryTarget)


# --- checks made before anything changes ----------------------------------------------------------

def _require_writable(host: Host, target: FileTarget) -> None:
    """nr_hugepages is root's file (mode 0644): without the right to write it, say so before
    the journal is written rather than fail half way."""
    path = host.path(target.path)
    if path.exists() and not os.access(path, os.W_OK, effective_ids=True):
        raise PrivilegeError(f"resizing the huge page pool writes {path}, which needs root "
                             "(CAP_DAC_OVERRIDE)", capability="CAP_DAC_OVERRIDE")


def mount_namespace_is_private(proc: Path = Path("/proc")) -> bool:
    """True when no other process shares this process's mount namespace.

    ``ip netns exec`` runs each command in a mount namespace of its own (to mount the
    namespace's /sys), which dies with the command: a mount made there is gone when wirekit
    exits, and an unmount there leaves the host's mount in place.  A container's or
    ``unshare -m`` shell's namespace is shared with its other processes and lives on.
    Processes whose namespace cannot be read (another user's) are not counted either way.
    """
    try:
        mine = (proc / "self" / "ns" / "mnt").stat()
        entries = list(proc.iterdir())
    except OSError:
        return False  # cannot tell: let the kernel's answer stand
    me = os.getpid()
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            other = (entry / "ns" / "mnt").stat()
            if (other.st_dev, other.st_ino) == (mine.st_dev, mine.st_ino):
                return False
    return True


def _require_mount_rights(host: Host, action: str, *, dry_run: bool = False) -> None:
    """CAP_SYS_ADMIN (not for a dry run, which only reads) and a mount namespace that outlives
    wirekit."""
    if not host.roots.live:
        return  # a fake tree's backend refuses by itself; tests replace it
    if not dry_run:
        require_capability("CAP_SYS_ADMIN", action)
    if mount_namespace_is_private(host.roots.proc):
        raise TuningError(f"cannot {action} from here: wirekit is the only process in its "
                          "mount namespace (ip netns exec gives each command one of its own), "
                          "which ends when it exits, so the host's mounts would not change; "
                          "run it outside ip netns exec")


# --- doing it, journaled -------------------------------------------------------------------------

@dataclass
class _Step:
    """One change: ``target`` from raw ``before`` to raw ``after``."""

    target: Target
    before: str
    after: str

    @property
    def needed(self) -> bool:
        return not self.target.restored(self.before, self.after)


@dataclass
class _Run:
    """What one command did, for the report."""

    items: list[ItemResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def journal_file(host: Host) -> Path:
    """``<state>/tune/bypass-journal.json`` (state: /run/wirekit unless --state-dir)."""
    return host.roots.state / "tune" / JOURNAL_NAME


def _setting(target: Target) -> str:
    return target.key.split("[", 1)[0]


def _item(step: _Step, outcome: Outcome, after: str | None = None,
          reason: str = "") -> ItemResult:
    target = step.target
    return ItemResult(_setting(target), target.key, outcome, before=target.display(step.before),
                      after=target.display(step.after if after is None else after),
                      wanted=target.display(step.after), reason=reason)


def _execute(host: Host, action: str, steps: Sequence[_Step], *, dry_run: bool,
             journal_path: Path | None) -> ChangeReport:
    """Journal the originals, make each change and read it back; a change that raises undoes
    this command's earlier ones (newest first), so nothing is left half done."""
    path = journal_path or journal_file(host)
    run = _Run()
    todo = [step for step in steps if step.needed]
    if dry_run or not todo:
        outcome = Outcome.PLANNED if dry_run else Outcome.ALREADY_OK
        run.items = [_item(step, outcome if step.needed else Outcome.ALREADY_OK,
                           after=None if step.needed else step.before) for step in steps]
        return _report(action, dry_run, None, run)
    journal = journals.load(path) or journals.Journal(profile=LABEL, iface=None,
                                                      boot_id=host.boot_id(), netns="")
    journal.state = "applying"
    for step in todo:
        journal.add(step.target, step.before)
    journals.save(journal, path)
    done: list[_Step] = []
    for step in steps:
        if not step.needed:
            run.items.append(_item(step, Outcome.ALREADY_OK, after=step.before))
            continue
        try:
            step.target.write(host, step.after)
            now = step.target.read(host)
        except TargetProblem as problem:
            run.items.append(_item(step, Outcome.FAILED, after=step.before,
                                   reason=problem.reason))
            run.items.extend(_undo(host, done))
            break
        done.append(step)
        run.items.append(_checked(host, step, now, run))
    kept = _prune(host, path)
    return _report(action, False, str(path) if kept else None, run)


def _checked(host: Host, step: _Step, now: str, run: _Run) -> ItemResult:
    """The outcome of one write, read back.  A pool may hold fewer pages than asked (not
    enough contiguous memory) or more (pages still in use stay as surplus until freed)."""
    target = step.target
    if target.restored(now, step.after):
        return _item(step, Outcome.APPLIED, after=now)
    if not isinstance(target, FileTarget) or not now.strip().isdigit():
        return _item(step, Outcome.FAILED, after=now,
                     reason=f"the kernel kept {target.display(now)!r}")
    got, wanted = int(now), int(step.after)
    surplus = _surplus(host, target)
    if got > wanted and got - surplus <= wanted:
        run.notes.append(f"{target.key}: {got - wanted} page(s) still in use stay until their "
                         "users free them (surplus_hugepages); the pool then shrinks to "
                         f"{wanted}")
        return _item(step, Outcome.APPLIED, after=now)
    return _item(step, Outcome.FAILED, after=now,
                 reason=f"the kernel reserved only {got} of {wanted} pages: not enough free "
                        "contiguous memory (reserve early, before memory fragments, or at "
                        "boot with hugepagesz= hugepages=)")


def _surplus(host: Host, target: FileTarget) -> int:
    path = target.path.rsplit("/", 1)[0] + "/surplus_hugepages"
    with contextlib.suppress(TargetProblem, ValueError):
        return int(host.read(path).strip() or 0)
    return 0


def _undo(host: Host, done: list[_Step]) -> list[ItemResult]:
    """Put back what this command changed before a step failed, newest first."""
    results = []
    for step in reversed(done):
        try:
            step.target.write(host, step.before)
            results.append(ItemResult(_setting(step.target), step.target.key, Outcome.RESTORED,
                                      before=step.target.display(step.after),
                                      after=step.target.display(step.before),
                                      reason="undone: a later step failed"))
        except TargetProblem as problem:
            results.append(ItemResult(_setting(step.target), step.target.key, Outcome.FAILED,
                                      before=step.target.display(step.after),
                                      after=step.target.display(step.before),
                                      reason=f"could not undo: {problem.reason}"))
    return results


def _prune(host: Host, path: Path) -> bool:
    """Drop journal entries that are back at their original; remove an empty journal."""
    journal = journals.load(path)
    if journal is None:
        return False
    kept = []
    for entry in journal.entries:
        with contextlib.suppress(TargetProblem):
            if entry.target.restored(entry.target.read(host), entry.original):
                continue
        kept.append(entry)
    journal.entries, journal.state = kept, "applied"
    if kept:
        journals.save(journal, path)
    else:
        journals.remove(path)
    return bool(kept)


def _report(action: str, dry_run: bool, journal: str | None, run: _Run) -> ChangeReport:
    return ChangeReport(action, LABEL, None, "host", dry_run, journal, tuple(run.items),
                        notes=tuple(run.notes))


def _pool_steps(host: Host, pages: int, size_kb: int, nodes: Sequence[int], *,
                dry_run: bool) -> list[_Step]:
    targets = [pool_target(size_kb, node) for node in nodes] or [pool_target(size_kb)]
    steps = []
    for target in targets:
        if not dry_run:
            _require_writable(host, target)
        steps.append(_Step(target, target.read(host), f"{pages}\n"))
    return steps


def memory_total_kb(host: Host) -> int | None:
    """``MemTotal`` of /proc/meminfo in kB, or None when it cannot be read."""
    try:
        for line in host.read("proc/meminfo").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_memory(host: Host, wanted_kb: int) -> None:
    """Refuse a reservation larger than the machine's memory before writing it: the kernel
    would take as many pages as it can find, leaving nothing for anything else
    (hugetlbpage.rst: pages are taken from the buddy allocator at once)."""
    total = memory_total_kb(host)
    if total is not None and wanted_kb > total:
        raise UsageError(f"{wanted_kb / 1024 ** 2:.1f} GiB of huge pages is more than this "
                         f"machine's memory ({total / 1024 ** 2:.1f} GiB)")


def check_nodes(host: Host, nodes: Sequence[int], size_kb: int) -> None:
    present = numa_nodes(host)
    for node in nodes:
        if node not in present or not host.exists(pool_directory(size_kb, node)):
            listed = ", ".join(map(str, present)) or "none"
            raise UsageError(f"no NUMA node {node} with {format_size(size_kb)} huge pages here "
                             f"(nodes: {listed})")


def reserve(host: Host, pages: int, size_kb: int, nodes: Sequence[int] = (), *,
            dry_run: bool = False, journal_path: Path | None = None) -> ChangeReport:
    """Make the pool of ``size_kb`` pages hold ``pages`` pages: host-wide (the kernel spreads
    them over the nodes), or that many on each of ``nodes``."""
    if pages < 0:
        raise UsageError("the number of pages cannot be negative")
    check_nodes(host, nodes, size_kb)
    _check_memory(host, pages * size_kb * max(1, len(nodes)))
    return _execute(host, "reserve", _pool_steps(host, pages, size_kb, nodes, dry_run=dry_run),
                    dry_run=dry_run, journal_path=journal_path)


def release(host: Host, sizes: Sequence[int], nodes: Sequence[int] = (), *,
            dry_run: bool = False, journal_path: Path | None = None) -> ChangeReport:
    """Empty the pools of ``sizes`` (host-wide, or on ``nodes``), like ``dpdk-hugepages.py -c``."""
    steps = []
    for size_kb in sizes:
        check_nodes(host, nodes, size_kb)
        steps.extend(_pool_steps(host, 0, size_kb, nodes, dry_run=dry_run))
    return _execute(host, "release", steps, dry_run=dry_run, journal_path=journal_path)


def mount_point(directory: Path | str) -> Path:
    """The absolute path with symlinks resolved: what /proc/mounts will show."""
    return Path(os.path.realpath(directory))


def mount(host: Host, directory: Path | str, size_kb: int, *, dry_run: bool = False,
          journal_path: Path | None = None) -> ChangeReport:
    """Mount hugetlbfs for ``size_kb`` pages at ``directory``, creating it (and missing parents)
    when needed; the journal records the directories so revert removes them again."""
    point = mount_point(directory)
    if point.exists() and not point.is_dir():
        raise UsageError(f"{point} is not a directory")
    current = mount_at(host, point)
    if current is not None:
        hint = (f"wirekit bypass unmount {point}" if current.fstype == "hugetlbfs"
                else "unmount it")
        raise UsageError(f"{point} is already a mount point ({current.fstype}, "
                         f"{','.join(current.options)}): {hint} first, or choose another "
                         "directory")
    _require_mount_rights(host, f"mount hugetlbfs at {point}", dry_run=dry_run)
    missing = []
    for path in (point, *point.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    steps = [_Step(DirectoryTarget(key=f"directory[{path}]", path=str(path)), "absent",
                   "present") for path in reversed(missing)]
    mount_target = MountTarget(key=f"hugetlbfs[{point}]", path=str(point))
    # pagesize in bytes, as hugetlbpage.rst gives it; /proc/mounts shows it as "2M"
    steps.append(_Step(mount_target, UNMOUNTED, f"hugetlbfs pagesize={size_kb * 1024}"))
    return _execute(host, "mount", steps, dry_run=dry_run, journal_path=journal_path)


def unmount(host: Host, directories: Sequence[Path | str], *, dry_run: bool = False,
            journal_path: Path | None = None) -> ChangeReport:
    """Unmount hugetlbfs at each of ``directories`` (only hugetlbfs: anything else is refused);
    revert mounts it again with the options it had."""
    steps, points = [], []
    for directory in directories:
        point = mount_point(directory)
        points.append(str(point))
        current = mount_at(host, point)
        if current is None:
            raise UsageError(f"{point} is not a mount point")
        if current.fstype != "hugetlbfs":
            raise UsageError(f"{point} holds a {current.fstype} mount, not hugetlbfs: wirekit "
                             "bypass unmount leaves it alone")
        target = MountTarget(key=f"hugetlbfs[{point}]", path=str(point))
        steps.append(_Step(target, target.read(host), UNMOUNTED))
    if steps:
        _require_mount_rights(host, f"unmount hugetlbfs at {', '.join(points)}",
                              dry_run=dry_run)
    return _execute(host, "unmount", steps, dry_run=dry_run, journal_path=journal_path)


def revert(host: Host, *, dry_run: bool = False,
           journal_path: Path | None = None) -> ChangeReport:
    """Undo every reservation, mount, unmount and directory in the bypass journal, newest
    first (the tune engine's revert, on this journal)."""
    path = journal_path or journal_file(host)
    journal = journals.load(path)
    if journal is not None and any(isinstance(entry.target, MountTarget | DirectoryTarget)
                                   for entry in journal.entries):
        _require_mount_rights(host, "revert hugetlbfs mounts", dry_run=dry_run)
    return revert_journal(host, dry_run=dry_run, journal_file=path)
