"""Targets: the concrete values a setting expands to, and how each is read, written and compared.

A target's *raw* value is what the journal records and what ``revert`` writes back: a file's
exact text, or a canonical string for ethtool fields and swap.  ``display`` turns a raw value
into what a person reads; ``satisfied``/``desired`` compare it with a requirement.  Every target
round-trips through JSON (``to_json``/:func:`target_from_json`) so the journal can rebuild it
without the profile that created it.
"""

from __future__ import annotations

import errno
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from wirekit.link.ethtool import EthtoolRequestError
from wirekit.tune.host import (
    Host,
    TargetProblem,
    Unsupported,
    WriteFailed,
    read_only_reason,
    reason_for,
)
from wirekit.tune.values import (
    Requirement,
    desired,
    format_cpulist,
    normalise,
    on_off,
    parse_cpulist,
    satisfies,
)
from wirekit.tune.values import numbers as parse_numbers


@dataclass(frozen=True, slots=True)
class Target:
    """Base class: ``key`` is unique per host (``cpu.governor[policy0]``)."""

    kind: ClassVar[str] = ""
    key: str

    def read(self, host: Host) -> str:
        raise NotImplementedError

    def write(self, host: Host, raw: str) -> None:
        raise NotImplementedError

    def display(self, raw: str) -> str:
        return normalise(raw)

    def satisfied(self, raw: str, wanted: Requirement) -> bool:
        return satisfies(raw, wanted)

    def desired(self, raw: str, wanted: Requirement) -> str:
        """The raw value to write so ``wanted`` holds."""
        return desired(raw, wanted)

    def locked(self, host: Host, raw: str) -> str | None:
        """Why no one can change this target here (read-only, [fixed]), or None."""
        return None

    def restored(self, raw: str, original: str) -> bool:
        """True when ``raw`` is the journaled ``original`` again (byte for byte for files)."""
        return raw == original

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True, slots=True)
class FileTarget(Target):
    """A file under /proc or /sys: a sysctl, a governor, an idle state, hugepages."""

    kind: ClassVar[str] = "file"
    path: str = ""
    capability: str = ""

    def read(self, host: Host) -> str:
        return host.read(self.path)

    def locked(self, host: Host, raw: str) -> str | None:
        return read_only_reason(host, self.path)

    def write(self, host: Host, raw: str) -> None:
        host.write(self.path, raw if raw.endswith("\n") else raw + "\n", self.capability)


@dataclass(frozen=True, slots=True)
class CpuListTarget(FileTarget):
    """``/proc/irq/N/smp_affinity_list``: compared as a set of CPUs, not as text."""

    kind: ClassVar[str] = "cpulist"

    def satisfied(self, raw: str, wanted: Requirement) -> bool:
        try:
            return parse_cpulist(raw) == parse_cpulist(wanted.value)
        except ValueError:
            return False

    def desired(self, raw: str, wanted: Requirement) -> str:
        return raw if self.satisfied(raw, wanted) else format_cpulist(parse_cpulist(wanted.value))


def fixed_reason(iface: str) -> str:
    """Why an offload group cannot change: ``ethtool -k`` marks it ``[fixed]``."""
    return f"EOPNOTSUPP: {iface}'s driver does not let it change ([fixed])"


def _ethtool_failure(exc: EthtoolRequestError, driver: str | None) -> WriteFailed | Unsupported:
    if exc.errno == errno.EOPNOTSUPP:
        return Unsupported(reason_for(exc.errno, f"not supported by the {driver or '?'} driver"))
    return WriteFailed(reason_for(exc.errno, capability="CAP_NET_ADMIN"))


def _driver(host: Host, iface: str) -> str | None:
    try:
        return host.eth.driver(iface)
    except Exception:  # the driver's name only decorates a reason
        return None


@dataclass(frozen=True, slots=True)
class RingTarget(Target):
    """One descriptor ring size (``ethtool -g``): ``which`` is ``rx`` or ``tx``."""

    kind: ClassVar[str] = "rings"
    iface: str = ""
    which: str = "rx"

    def limits(self, host: Host) -> tuple[int, int | None]:
        found = host.eth.rings(self.iface)
        current = getattr(found, self.which, None) if found else None
        if found is None or current is None:
            raise Unsupported(reason_for(errno.EOPNOTSUPP, f"the {_driver(host, self.iface)} "
                                         "driver has no ring parameters"))
        return int(current), getattr(found, f"{self.which}_max", None)

    def read(self, host: Host) -> str:
        return str(self.limits(host)[0])

    def write(self, host: Host, raw: str) -> None:
        try:
            host.eth.set_rings(self.iface, **{self.which: int(raw)})
        except EthtoolRequestError as exc:
            raise _ethtool_failure(exc, _driver(host, self.iface)) from exc


@dataclass(frozen=True, slots=True)
class ChannelTarget(Target):
    """One queue count (``ethtool -l``): ``which`` is ``combined``, ``rx`` or ``tx``."""

    kind: ClassVar[str] = "channels"
    iface: str = ""
    which: str = "combined"

    def limits(self, host: Host) -> tuple[int, int]:
        found = host.eth.channels(self.iface)
        if found is None:
            raise Unsupported(reason_for(errno.EOPNOTSUPP, f"the {_driver(host, self.iface)} "
                                         "driver has no channel parameters"))
        return int(getattr(found, self.which)), int(getattr(found, f"{self.which}_max"))

    def read(self, host: Host) -> str:
        return str(self.limits(host)[0])

    def write(self, host: Host, raw: str) -> None:
        try:
            host.eth.set_channels(self.iface, **{self.which: int(raw)})
        except EthtoolRequestError as exc:
            raise _ethtool_failure(exc, _driver(host, self.iface)) from exc


@dataclass(frozen=True, slots=True)
class CoalesceTarget(Target):
    """One interrupt coalescing parameter (``ethtool -c``), by its ``ethtool -C`` name."""

    kind: ClassVar[str] = "coalesce"
    iface: str = ""
    field: str = "rx-usecs"

    def read(self, host: Host) -> str:
        from wirekit.link.ethtool import COALESCE_FIELDS

        found = host.eth.coalesce(self.iface)
        if found is None:
            raise Unsupported(reason_for(errno.EOPNOTSUPP, f"the {_driver(host, self.iface)} "
                                         "driver has no interrupt coalescing"))
        value = found.get(COALESCE_FIELDS.get(self.field, self.field))
        if value is None:
            raise Unsupported(f"no coalescing parameter {self.field!r}")
        return str(value)

    def display(self, raw: str) -> str:
        if self.field.startswith("adaptive-"):
            return on_off(raw.strip() not in ("0", "off"))
        return normalise(raw)

    def satisfied(self, raw: str, wanted: Requirement) -> bool:
        return super(CoalesceTarget, self).satisfied(raw, _boolean_as_number(wanted))

    def desired(self, raw: str, wanted: Requirement) -> str:
        return super(CoalesceTarget, self).desired(raw, _boolean_as_number(wanted))

    def write(self, host: Host, raw: str) -> None:
        try:
            host.eth.set_coalesce(self.iface, {self.field: int(raw)})
        except EthtoolRequestError as exc:
            raise _ethtool_failure(exc, _driver(host, self.iface)) from exc


def _boolean_as_number(wanted: Requirement) -> Requirement:
    mapping = {"on": "1", "off": "0"}
    return Requirement(wanted.op, mapping.get(wanted.value, wanted.value))


@dataclass(frozen=True, slots=True)
class OffloadTarget(Target):
    """One ``ethtool -K`` group (``tso`` is four kernel features); raw is ``name=on|off[*]``.

    A ``*`` marks a feature the driver does not let anyone change ("[fixed]" in ethtool -k).
    ``on`` holds when every changeable member is on; a group with no changeable member that
    differs is unsupported.
    """

    kind: ClassVar[str] = "offload"
    iface: str = ""
    group: str = ""
    members: tuple[str, ...] = ()

    def read(self, host: Host) -> str:
        found = host.eth.features(self.iface)
        if found is None:
            raise Unsupported(reason_for(errno.EOPNOTSUPP, "the driver reports no features"))
        present = [found[name] for name in self.members if name in found]
        if not present:
            raise Unsupported(f"the {_driver(host, self.iface)} driver has no {self.group} "
                              "offload")
        return " ".join(f"{feature.name}={on_off(feature.enabled)}"
                        f"{'' if feature.changeable else '*'}" for feature in present)

    @staticmethod
    def states(raw: str) -> list[tuple[str, bool, bool]]:
        """(name, enabled, changeable) for each member in a raw value."""
        result = []
        for word in raw.split():
            name, _, state = word.partition("=")
            result.append((name, state.rstrip("*") == "on", not state.endswith("*")))
        return result

    def display(self, raw: str) -> str:
        states = self.states(raw)
        relevant = [s for s in states if s[2]] or states
        values = {enabled for _, enabled, _ in relevant}
        text = on_off(values.pop()) if len(values) == 1 else "mixed"
        return text if any(s[2] for s in states) else f"{text} [fixed]"

    def satisfied(self, raw: str, wanted: Requirement) -> bool:
        return self.display(raw).split()[0] == wanted.value

    def changeable(self, raw: str) -> bool:
        return any(changeable for _, _, changeable in self.states(raw))

    def locked(self, host: Host, raw: str) -> str | None:
        return None if self.changeable(raw) else fixed_reason(self.iface)

    def desired(self, raw: str, wanted: Requirement) -> str:
        enable = wanted.value == "on"
        return " ".join(f"{name}={on_off(enable if changeable else enabled)}"
                        f"{'' if changeable else '*'}"
                        for name, enabled, changeable in self.states(raw))

    def write(self, host: Host, raw: str) -> None:
        wanted = {name: enabled for name, enabled, changeable in self.states(raw) if changeable}
        try:
            host.eth.set_features(self.iface, wanted)
        except EthtoolRequestError as exc:
            failure = _ethtool_failure(exc, _driver(host, self.iface))
            # The driver may refuse part of a request and still apply the rest: the caller reads
            # the group back, so only a refusal that is not "not supported" is final here.
            if not isinstance(failure, Unsupported):
                raise failure from exc


@dataclass(frozen=True, slots=True)
class SwapTarget(Target):
    """Active swap areas; raw is ``off`` or ``path:priority`` words (``/swapfile:-2``)."""

    kind: ClassVar[str] = "swap"
    #: Keep this much of MemAvailable free after swapoff pulls pages back in.
    HEADROOM: ClassVar[float] = 1.25

    def areas(self, host: Host) -> list[tuple[str, int, int]]:
        """(path, used KiB, priority) per active area from /proc/swaps."""
        text = host.read("proc/swaps")
        result = []
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 5:
                path = fields[0].replace("\\040", " ")
                result.append((path, int(fields[3]), int(fields[4])))
        return result

    def read(self, host: Host) -> str:
        areas = self.areas(host)
        return " ".join(f"{path}:{priority}" for path, _, priority in areas) or "off"

    def display(self, raw: str) -> str:
        count = len(raw.split()) if raw != "off" else 0
        return "off" if count == 0 else f"on ({count} area{'s' * (count > 1)}: {raw})"

    def satisfied(self, raw: str, wanted: Requirement) -> bool:
        return (raw == "off") == (wanted.value == "off")

    def desired(self, raw: str, wanted: Requirement) -> str:
        if wanted.value != "off":
            raise Unsupported("a profile can only turn swap off; revert turns it back on")
        return "off"

    def write(self, host: Host, raw: str) -> None:
        wanted = {} if raw == "off" else _swap_words(raw)
        active = {path: priority for path, _, priority in self.areas(host)}
        for path in active:
            if path not in wanted:
                self._check_memory(host, path)
                self._call(host.swapctl.swapoff, path)
        for path, priority in wanted.items():
            if path not in active:
                self._call(host.swapctl.swapon, path, priority)

    def _check_memory(self, host: Host, path: str) -> None:
        used = {p: kib for p, kib, _ in self.areas(host)}.get(path, 0)
        available = _meminfo(host).get("MemAvailable", 0)
        if used * self.HEADROOM > available:
            raise WriteFailed(f"ENOMEM: {used // 1024} MiB in use on {path}, only "
                              f"{available // 1024} MiB available to take it back")

    @staticmethod
    def _call(function: Any, *args: Any) -> None:
        try:
            function(*args)
        except OSError as exc:
            raise WriteFailed(reason_for(exc.errno, capability="CAP_SYS_ADMIN")) from exc


def _swap_words(raw: str) -> dict[str, int]:
    result = {}
    for word in raw.split():
        path, _, priority = word.rpartition(":")
        result[path] = int(priority)
    return result


def _meminfo(host: Host) -> dict[str, int]:
    values = {}
    try:
        text = host.read("proc/meminfo")
    except TargetProblem:
        return {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        found = parse_numbers(rest.replace("kB", ""))
        if found:
            values[name] = found[0]
    return values


TARGET_KINDS: dict[str, type[Target]] = {
    cls.kind: cls for cls in (FileTarget, CpuListTarget, RingTarget, ChannelTarget,
                              CoalesceTarget, OffloadTarget, SwapTarget)
}


def target_from_json(document: dict[str, Any]) -> Target:
    """Rebuild a target from its journal entry."""
    fields = dict(document)
    cls = TARGET_KINDS.get(str(fields.pop("kind", "")))
    if cls is None:
        raise Unsupported(f"unknown target kind in journal: {document.get('kind')!r}")
    if "members" in fields:
        fields["members"] = tuple(fields["members"])
    return cls(**fields)
