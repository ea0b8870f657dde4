"""The system being tuned: its root paths, file I/O with reasons, and the non-file backends.

Every path wirekit reads or writes for tuning goes through :class:`Host`, rooted at
:class:`Roots`, so tests (and anyone preparing an image) point it at a fake tree.  File errors
become a reason a person can act on (``EACCES: needs CAP_NET_ADMIN``), classified as
*unsupported* (the file does not exist here: ENOENT, EOPNOTSUPP) or *unreadable*/*failed*.

Two kinds of setting are not files: ethtool fields and swap.  They go through backends; the live
ones call :mod:`wirekit.link.ethtool` and ``swapon(2)``/``swapoff(2)``.  A host rooted anywhere
but ``/`` gets backends that refuse with *unsupported*, so a fake tree can never reach the real
kernel's interfaces or swap.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from wirekit.errors import InterfaceError, TuningError
from wirekit.link import ethtool as live_ethtool


class TargetProblem(TuningError):
    """A target could not be read or written; ``reason`` is the one-line explanation."""

    status = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unsupported(TargetProblem):
    """The target does not exist on this kernel, driver or namespace."""

    status = "unsupported"


class Unreadable(TargetProblem):
    """The target exists but cannot be read."""

    status = "unreadable"


class WriteFailed(TargetProblem):
    """The kernel refused the new value."""

    status = "failed"


#: errno values that mean "this does not exist here" rather than "you may not".
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EOPNOTSUPP, errno.ENODEV, errno.ENXIO})


def errno_name(code: int | None) -> str:
    """``EACCES`` for 13; ``E?`` when the code is unknown."""
    if code == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"  # errorcode[] picks the alias ENOTSUP, which nobody greps for
    return errno.errorcode.get(code or 0, "E?")


def reason_for(code: int | None, detail: str = "", capability: str = "") -> str:
    """``"EACCES: needs CAP_NET_ADMIN"`` / ``"ENOENT: not on this kernel"`` / ``"EIO: ..."``."""
    name = errno_name(code)
    if code in (errno.EPERM, errno.EACCES) and capability:
        return f"{name}: needs {capability}"
    return f"{name}: {detail or os.strerror(code or 0)}"


@dataclass(frozen=True, slots=True)
class Roots:
    """Where the system lives: ``/proc``, ``/sys`` and wirekit's state directory (the journal)."""

    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    state: Path = Path("/run/wirekit")

    @classmethod
    def under(cls, root: Path, state: Path | None = None) -> Roots:
        """A fake tree: ``root/proc``, ``root/sys`` and ``root/run/wirekit``."""
        return cls(proc=root / "proc", sys=root / "sys", state=state or root / "run" / "wirekit")

    @property
    def live(self) -> bool:
        """True when these are the running kernel's own ``/proc`` and ``/sys``."""
        return self.proc == Path("/proc") and self.sys == Path("/sys")


#: Inode of the initial network namespace (include/linux/proc_ns.h, 0xEFFFFFF9).
PROC_NET_INIT_INO = 0xEFFFFFF9
#: A sysctl the kernel registers in the initial network namespace only.
HOST_ONLY_SYSCTL = "proc/sys/net/core/netdev_max_backlog"


@dataclass(frozen=True, slots=True)
class NetnsIdentity:
    """Which network namespace wirekit runs in; ``initial`` is None when it cannot tell."""

    inode: int
    initial: bool | None
    name: str | None

    @property
    def label(self) -> str:
        if self.initial:
            return "the initial network namespace"
        if self.initial is None:
            return f"network namespace {self.inode} (initial or not: unknown)"
        return f"network namespace {self.name or self.inode}"


class EthtoolBackend(Protocol):
    """What tuning needs from ethtool (the live one is :mod:`wirekit.link.ethtool`)."""

    def driver(self, ifname: str) -> str | None: ...
    def rings(self, ifname: str) -> live_ethtool.Rings | None: ...
    def set_rings(self, ifname: str, *, rx: int | None = None, tx: int | None = None) -> None: ...
    def channels(self, ifname: str) -> live_ethtool.Channels | None: ...
    def set_channels(self, ifname: str, *, rx: int | None = None, tx: int | None = None,
                     combined: int | None = None) -> None: ...
    def coalesce(self, ifname: str) -> dict[str, int] | None: ...
    def set_coalesce(self, ifname: str, values: dict[str, int]) -> None: ...
    def features(self, ifname: str) -> dict[str, live_ethtool.Feature] | None: ...
    def set_features(self, ifname: str, wanted: dict[str, bool]) -> None: ...


class LiveEthtool:
    """The running kernel's ethtool, through pyroute2 and SIOCETHTOOL (never the program).

    An interface that has gone (its namespace deleted since apply) is *unsupported*, so a
    revert reports it instead of stopping; refusals keep their errno (EthtoolRequestError).
    """

    def driver(self, ifname: str) -> str | None:
        info = _present(ifname, lambda: live_ethtool.driver_info(ifname))
        return info.driver if info else None

    def rings(self, ifname: str) -> live_ethtool.Rings | None:
        return _present(ifname, lambda: live_ethtool.rings(ifname))

    def set_rings(self, ifname: str, *, rx: int | None = None, tx: int | None = None) -> None:
        _present(ifname, lambda: live_ethtool.set_rings(ifname, rx=rx, tx=tx))

    def channels(self, ifname: str) -> live_ethtool.Channels | None:
        return _present(ifname, lambda: live_ethtool.channels(ifname))

    def set_channels(self, ifname: str, *, rx: int | None = None, tx: int | None = None,
                     combined: int | None = None) -> None:
        _present(ifname, lambda: live_ethtool.set_channels(ifname, rx=rx, tx=tx,
                                                           combined=combined))

    def coalesce(self, ifname: str) -> dict[str, int] | None:
        return _present(ifname, lambda: live_ethtool.coalesce(ifname))

    def set_coalesce(self, ifname: str, values: dict[str, int]) -> None:
        _present(ifname, lambda: live_ethtool.set_coalesce(ifname, values))

    def features(self, ifname: str) -> dict[str, live_ethtool.Feature] | None:
        return _present(ifname, lambda: live_ethtool.features(ifname))

    def set_features(self, ifname: str, wanted: dict[str, bool]) -> None:
        _present(ifname, lambda: live_ethtool.set_features(ifname, wanted))


T = TypeVar("T")


def _present(ifname: str, call: Callable[[], T]) -> T:
    """Run an ethtool call; a missing interface becomes Unsupported (ENODEV)."""
    try:
        return call()
    except live_ethtool.EthtoolRequestError:
        raise
    except InterfaceError as exc:
        raise Unsupported(reason_for(errno.ENODEV, f"no interface {ifname} here")) from exc


class NoEthtool:
    """Ethtool for a fake tree: every request is unsupported (there is no device behind it)."""

    REASON = "ethtool settings need the live kernel (not available under --root)"

    def __getattr__(self, name: str) -> object:
        def refuse(*_args: object, **_kwargs: object) -> None:
            raise Unsupported(self.REASON)

        return refuse


class SwapBackend(Protocol):
    """Turning swap devices off and on (``swapoff(2)``, ``swapon(2)``)."""

    def swapoff(self, path: str) -> None: ...
    def swapon(self, path: str, priority: int | None) -> None: ...


# linux/swap.h: a priority is honoured only with SWAP_FLAG_PREFER.
SWAP_FLAG_PREFER = 0x8000
SWAP_FLAG_PRIO_MASK = 0x7FFF


class LiveSwap:
    """swapoff(2)/swapon(2) through libc; both need CAP_SYS_ADMIN."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def swapoff(self, path: str) -> None:
        if self._libc.swapoff(os.fsencode(path)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)

    def swapon(self, path: str, priority: int | None) -> None:
        flags = 0
        if priority is not None and priority >= 0:
            flags = SWAP_FLAG_PREFER | (priority & SWAP_FLAG_PRIO_MASK)
        if self._libc.swapon(os.fsencode(path), flags) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)


class NoSwap:
    """Swap control for a fake tree: refused, so tests never turn the host's swap off."""

    REASON = "swap changes need the live kernel (not available under --root)"

    def swapoff(self, path: str) -> None:
        raise Unsupported(self.REASON)

    def swapon(self, path: str, priority: int | None) -> None:
        raise Unsupported(self.REASON)


@dataclass
class Host:
    """File access below :class:`Roots` plus the ethtool and swap backends."""

    roots: Roots = field(default_factory=Roots)
    ethtool: EthtoolBackend | None = None
    swap: SwapBackend | None = None

    def __post_init__(self) -> None:
        if self.ethtool is None:
            self.ethtool = LiveEthtool() if self.roots.live else NoEthtool()  # type: ignore[assignment]
        if self.swap is None:
            self.swap = LiveSwap() if self.roots.live else NoSwap()

    @property
    def eth(self) -> EthtoolBackend:
        if self.ethtool is None:  # pragma: no cover - set in __post_init__
            raise TuningError("no ethtool backend")
        return self.ethtool

    @property
    def swapctl(self) -> SwapBackend:
        if self.swap is None:  # pragma: no cover - set in __post_init__
            raise TuningError("no swap backend")
        return self.swap

    def path(self, relative: str) -> Path:
        """``"proc/sys/vm/swappiness"`` -> the file under this host's roots."""
        top, _, rest = relative.partition("/")
        base = {"proc": self.roots.proc, "sys": self.roots.sys}.get(top)
        if base is None:
            raise TuningError(f"path outside /proc and /sys: {relative}")
        return base / rest

    def relative(self, path: Path) -> str:
        """The inverse of :meth:`path`: a host path as ``proc/...`` or ``sys/...``."""
        for top, base in (("proc", self.roots.proc), ("sys", self.roots.sys)):
            with contextlib.suppress(ValueError):
                return f"{top}/{path.relative_to(base)}"
        raise TuningError(f"path outside /proc and /sys: {path}")

    def read(self, relative: str) -> str:
        """A file's whole text, exactly (trailing newline included)."""
        try:
            return self.path(relative).read_text()
        except OSError as exc:
            problem = Unsupported if exc.errno in _ABSENT else Unreadable
            raise problem(reason_for(exc.errno, _absent_detail(relative, exc.errno))) from exc

    def exists(self, relative: str) -> bool:
        return self.path(relative).exists()

    def listdir(self, relative: str) -> list[str]:
        """Entry names of a directory in natural order (cpu2 before cpu10); [] if absent."""
        try:
            names = [entry.name for entry in self.path(relative).iterdir()]
        except OSError:
            return []
        return sorted(names, key=_natural_key)

    def write(self, relative: str, text: str, capability: str = "") -> None:
        """Write ``text`` in one ``write(2)``, as ``echo >`` does; errors carry their reason."""
        target = self.path(relative)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_TRUNC)
        except OSError as exc:
            if exc.errno in _ABSENT:
                raise Unsupported(reason_for(exc.errno, _absent_detail(relative, exc.errno))) \
                    from exc
            if exc.errno == errno.EACCES and _read_only(target):
                raise Unsupported(reason_for(exc.errno, _read_only_detail(relative))) from exc
            raise WriteFailed(reason_for(exc.errno, capability=capability)) from exc
        try:
            os.write(fd, text.encode())
        except OSError as exc:
            raise WriteFailed(reason_for(exc.errno, _write_detail(relative, exc.errno),
                                         capability)) from exc
        finally:
            os.close(fd)

    def netns(self) -> NetnsIdentity:
        """This process's network namespace and whether it is the initial one.

        PID 1's namespace is the reference when it can be read.  In a container it often cannot
        (ptrace access mode), so two kernel facts decide instead: the initial namespace has the
        fixed inode ``PROC_NET_INIT_INO`` (include/linux/proc_ns.h), and host-only sysctls such
        as ``net.core.netdev_max_backlog`` are registered in the initial namespace alone.
        """
        try:
            mine = (self.roots.proc / "self" / "ns" / "net").stat()
        except OSError:
            return NetnsIdentity(inode=0, initial=None, name=None)
        initial: bool | None
        try:
            initial = mine.st_ino == (self.roots.proc / "1" / "ns" / "net").stat().st_ino
        except OSError:
            initial = mine.st_ino == PROC_NET_INIT_INO or self.exists(HOST_ONLY_SYSCTL)
        return NetnsIdentity(inode=mine.st_ino, initial=initial, name=_netns_name(mine))

    def boot_id(self) -> str:
        try:
            return self.read("proc/sys/kernel/random/boot_id").strip()
        except TargetProblem:
            return ""


def _netns_name(mine: os.stat_result) -> str | None:
    """The ``ip netns`` name bound to this namespace (``ip netns identify`` does the same)."""
    directory = Path("/run/netns")
    with contextlib.suppress(OSError):
        for entry in sorted(directory.iterdir()):
            with contextlib.suppress(OSError):
                found = entry.stat()
                if (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino):
                    return entry.name
    return None


def _natural_key(name: str) -> tuple[object, ...]:
    digits = "".join(ch for ch in name if ch.isdigit())
    prefix = name.rstrip("0123456789")
    return (prefix, int(digits) if digits and name.endswith(digits) else -1, name)


def _absent_detail(relative: str, code: int | None) -> str:
    if code == errno.ENOENT and relative.startswith("proc/sys/net/"):
        return "not on this kernel, or not per-namespace"
    if code == errno.ENOENT:
        return "not on this kernel or hardware"
    return ""


def read_only_reason(host: Host, relative: str) -> str | None:
    """Why nobody can write this file here, or None when its mode allows writing."""
    if _read_only(host.path(relative)):
        return reason_for(errno.EACCES, _read_only_detail(relative))
    return None


def _read_only(path: Path) -> bool:
    """True when no one may write the file (mode r--r--r--), whatever their privileges."""
    try:
        return not path.stat().st_mode & 0o222
    except OSError:
        return False


def _read_only_detail(relative: str) -> str:
    if relative.startswith("proc/sys/net/"):
        return "read-only in a child network namespace (the initial one sets it)"
    return "read-only file"


def _write_detail(relative: str, code: int | None) -> str:
    if code == errno.EIO and relative.startswith("proc/irq/"):
        return "the kernel manages this IRQ's affinity"
    if code == errno.EINVAL:
        return "value rejected by the kernel"
    return ""
