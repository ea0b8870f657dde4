"""Every setting wirekit knows: where it lives, its scope, why it matters, how it expands.

A setting expands to targets (:mod:`wirekit.tune.targets`) on this host, and turns the profile's
requirement into one per target: ``max`` becomes the driver's maximum, ``spread`` one CPU per
queue IRQ, an idle-latency limit a ``1`` in each too-deep state's ``disable`` file.  Any sysctl
can be set through ``[sysctl]``; the ones below come with a reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from wirekit.link.ethtool import COALESCE_FIELDS
from wirekit.tune import irq
from wirekit.tune.host import Host, TargetProblem, Unsupported
from wirekit.tune.targets import (
    ChannelTarget,
    CoalesceTarget,
    CpuListTarget,
    FileTarget,
    OffloadTarget,
    RingTarget,
    SwapTarget,
    Target,
)
from wirekit.tune.values import Op, ProfileError, Requirement, numbers, parse_cpulist

#: Value forms a setting accepts besides literal words (``max``, ``on``): one integer, the
#: three integers of a min/default/max vector sysctl, or a single word (a governor's name).
NUMBER = "<number>"
TRIPLE = "<number> <number> <number>"
WORD = "<word>"
_FORMS = {NUMBER: "an integer", TRIPLE: "three integers (min default max)", WORD: "one word"}
_WORD = re.compile(r"[A-Za-z0-9_.-]+")


def _matches(form: str, value: str) -> bool:
    """Whether ``value`` has the form: a literal, a vector of ``<number>`` words, a word."""
    if form == WORD:
        return _WORD.fullmatch(value) is not None
    if set(form.split()) == {NUMBER}:
        found = numbers(value)
        # A shorter or longer vector is refused: the kernel would keep the missing elements
        # or reject the write, neither of which is what the profile asked.
        return found is not None and len(found) == len(form.split())
    return value == form


def _describe(forms: tuple[str, ...]) -> str:
    """``("max", "<number>")`` -> ``"max or an integer"`` (for the load-time error)."""
    words = [_FORMS.get(form, form) for form in forms]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


class Scope(enum.Enum):
    """``host``: one value for the whole machine; ``netns``: one per network namespace."""

    HOST = "host"
    NETNS = "netns"


@dataclass(frozen=True, slots=True)
class Context:
    """What expansion needs: the host, and the interface when one was given."""

    host: Host
    iface: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """A target and what this profile wants of it (None: shown, never changed)."""

    target: Target
    wanted: Requirement | None
    note: str = ""


@dataclass(frozen=True)
class Setting:
    """A named setting; subclasses say how it expands."""

    name: str
    section: str
    why: str
    scope: Scope = Scope.HOST
    needs_iface: bool = False
    values: tuple[str, ...] = field(default=())

    def validate(self, wanted: Requirement) -> None:
        """Reject a value this setting can never take (raised when the profile loads).

        An empty ``values`` accepts anything: a sysctl outside the catalogue may hold text.
        """
        if not self.values or any(_matches(form, wanted.value) for form in self.values):
            return
        raise ProfileError(f"{str(wanted)!r}: expected {_describe(self.values)}")

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        return [Resolved(target, wanted) for target in self.targets(ctx)]

    def targets(self, ctx: Context) -> list[Target]:
        raise NotImplementedError


@dataclass(frozen=True)
class SysctlSetting(Setting):
    """A file under /proc/sys; ``net.*`` ones may be per network namespace."""

    def targets(self, ctx: Context) -> list[Target]:
        capability = "CAP_NET_ADMIN" if self.name.startswith("net.") else "root"
        path = "proc/sys/" + self.name.replace(".", "/")
        return [FileTarget(key=self.name, path=path, capability=capability)]


@dataclass(frozen=True)
class GovernorSetting(Setting):
    """cpufreq governor of every policy (``scaling_governor``)."""

    def targets(self, ctx: Context) -> list[Target]:
        return list(self._files(ctx))

    def _files(self, ctx: Context) -> list[FileTarget]:
        base = "sys/devices/system/cpu/cpufreq"
        policies = [name for name in ctx.host.listdir(base) if name.startswith("policy")]
        if policies:
            return [FileTarget(key=f"{self.name}[{name}]", path=f"{base}/{name}/scaling_governor",
                               capability="root") for name in policies]
        cpus = "sys/devices/system/cpu"
        found = [FileTarget(key=f"{self.name}[{name}]", capability="root",
                            path=f"{cpus}/{name}/cpufreq/scaling_governor")
                 for name in _cpu_dirs(ctx.host)
                 if ctx.host.exists(f"{cpus}/{name}/cpufreq/scaling_governor")]
        if not found:
            raise Unsupported("ENOENT: no cpufreq driver; the CPU clock is not under this "
                              "kernel's control (usual in a virtual machine)")
        return found

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        targets = self._files(ctx)
        for target in targets if wanted is not None else []:
            offered = _read_words(ctx.host, target.path.replace(
                "scaling_governor", "scaling_available_governors"))
            if offered and wanted is not None and wanted.value not in offered:
                raise Unsupported(f"governor {wanted.value!r} not offered here "
                                  f"(available: {' '.join(offered)})")
        return [Resolved(target, wanted) for target in targets]


@dataclass(frozen=True)
class IdleSetting(Setting):
    """cpuidle: disable every state whose exit latency exceeds the limit (µs)."""

    def targets(self, ctx: Context) -> list[Target]:
        return [target for target, _ in self._states(ctx)]

    def _states(self, ctx: Context) -> list[tuple[Target, int]]:
        found: list[tuple[Target, int]] = []
        for cpu in _cpu_dirs(ctx.host):
            base = f"sys/devices/system/cpu/{cpu}/cpuidle"
            for state in ctx.host.listdir(base):
                if not state.startswith("state"):
                    continue
                name = " ".join(_read_words(ctx.host, f"{base}/{state}/name")) or state
                latency = numbers(" ".join(_read_words(ctx.host, f"{base}/{state}/latency")))
                target = FileTarget(key=f"{self.name}[{cpu}/{state}:{name}]", capability="root",
                                    path=f"{base}/{state}/disable")
                found.append((target, latency[0] if latency else 0))
        if not found:
            raise Unsupported("ENOENT: no cpuidle driver; idle states are the hypervisor's "
                              "or firmware's business here")
        return found

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        limit = numbers(wanted.value) if wanted else None
        resolved = []
        for target, latency in self._states(ctx):
            if limit is None or latency <= limit[0]:
                resolved.append(Resolved(target, None))
            else:
                resolved.append(Resolved(target, Requirement(Op.EXACT, "1"),
                                         f"exit latency {latency} µs > {limit[0]} µs"))
        return resolved


@dataclass(frozen=True)
class IrqSetting(Setting):
    """CPU affinity of the interface's queue IRQs: ``spread`` or a CPU list."""

    def targets(self, ctx: Context) -> list[Target]:
        if ctx.iface is None:
            raise Unsupported("needs --iface")
        return [CpuListTarget(key=f"{self.name}[irq{number}]", capability="root",
                              path=f"proc/irq/{number}/smp_affinity_list")
                for number in irq.queue_irqs(ctx.host, ctx.iface)]

    def validate(self, wanted: Requirement) -> None:
        if wanted.value != "spread":
            try:
                parse_cpulist(wanted.value)
            except ValueError as exc:
                raise ProfileError(f"{wanted.value!r} is neither 'spread' nor a CPU list "
                                   "like '0-3,8'") from exc

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        targets = self.targets(ctx)
        if wanted is None or wanted.value != "spread" or ctx.iface is None:
            return [Resolved(target, wanted) for target in targets]
        numbers_ = [int(t.key.rsplit("irq", 1)[1].rstrip("]")) for t in targets]
        placement = irq.spread(numbers_, irq.candidate_cpus(ctx.host, ctx.iface))
        return [Resolved(target, Requirement(Op.EXACT, placement[number]), "spread")
                for target, number in zip(targets, numbers_, strict=True)]


@dataclass(frozen=True)
class HugepagesSetting(Setting):
    """``nr_hugepages`` of one page size (``memory.hugepages.2048kB``)."""

    def targets(self, ctx: Context) -> list[Target]:
        size = self.name.rsplit(".", 1)[1]
        base = f"sys/kernel/mm/hugepages/hugepages-{size}"
        if not ctx.host.exists(base):
            raise Unsupported(f"ENOENT: no {size} huge pages on this CPU or kernel")
        return [FileTarget(key=self.name, path=f"{base}/nr_hugepages", capability="root")]


@dataclass(frozen=True)
class SwapSetting(Setting):
    def targets(self, ctx: Context) -> list[Target]:
        return [SwapTarget(key=self.name)]


@dataclass(frozen=True)
class RingSetting(Setting):
    def targets(self, ctx: Context) -> list[Target]:
        return [self._ring(ctx)]

    def _ring(self, ctx: Context) -> RingTarget:
        return RingTarget(key=f"{self.name}[{_iface(ctx)}]", iface=_iface(ctx),
                          which=self.name.rsplit(".", 1)[1])

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        target = self._ring(ctx)
        if wanted is None:
            return [Resolved(target, None)]
        return [_clamped(target, wanted, target.limits(ctx.host)[1])]


@dataclass(frozen=True)
class ChannelSetting(Setting):
    """Queue counts: whichever of combined/rx/tx the driver has (``max`` or a number)."""

    def targets(self, ctx: Context) -> list[Target]:
        return list(self._queues(ctx))

    def _queues(self, ctx: Context) -> list[ChannelTarget]:
        iface = _iface(ctx)
        found = ctx.host.eth.channels(iface)
        if found is None:
            ChannelTarget(key="", iface=iface).limits(ctx.host)  # raises with the driver's name
            return []
        kinds = [kind for kind in ("combined", "rx", "tx") if getattr(found, f"{kind}_max")]
        if not kinds:
            raise Unsupported(f"{iface}: the driver reports no adjustable queues")
        return [ChannelTarget(key=f"{self.name}.{kind}[{iface}]", iface=iface, which=kind)
                for kind in kinds]

    def expand(self, ctx: Context, wanted: Requirement | None) -> list[Resolved]:
        if wanted is None:
            return [Resolved(target, None) for target in self._queues(ctx)]
        return [_clamped(target, wanted, target.limits(ctx.host)[1])
                for target in self._queues(ctx)]


@dataclass(frozen=True)
class CoalesceSetting(Setting):
    def targets(self, ctx: Context) -> list[Target]:
        name = self.name.rsplit(".", 1)[1]
        return [CoalesceTarget(key=f"{self.name}[{_iface(ctx)}]", iface=_iface(ctx), field=name)]


#: ethtool -K groups -> kernel feature names (ethtool's own off_flag table, ethtool.c).
OFFLOAD_GROUPS: dict[str, tuple[str, ...]] = {
    "rx": ("rx-checksum",),
    "tx": ("tx-checksum-ipv4", "tx-checksum-ip-generic", "tx-checksum-ipv6",
           "tx-checksum-fcoe-crc", "tx-checksum-sctp"),
    "sg": ("tx-scatter-gather", "tx-scatter-gather-fraglist"),
    "tso": ("tx-tcp-segmentation", "tx-tcp-ecn-segmentation", "tx-tcp-mangleid-segmentation",
            "tx-tcp6-segmentation", "tx-tcp-accecn-segmentation"),
    "gso": ("tx-generic-segmentation",),
    "gro": ("rx-gro",),
    "gro-hw": ("rx-gro-hw",),
    "lro": ("rx-lro",),
    "rxhash": ("rx-hashing",),
}


@dataclass(frozen=True)
class OffloadSetting(Setting):
    def targets(self, ctx: Context) -> list[Target]:
        group = self.name.rsplit(".", 1)[1]
        return [OffloadTarget(key=f"{self.name}[{_iface(ctx)}]", iface=_iface(ctx), group=group,
                              members=OFFLOAD_GROUPS[group])]


def offload_targets(iface: str) -> list[Target]:
    """Every offload group of an interface (journaled together: they depend on each other)."""
    return [OffloadTarget(key=f"iface.offload.{group}[{iface}]", iface=iface, group=group,
                          members=members) for group, members in OFFLOAD_GROUPS.items()]


def _clamped(target: Target, wanted: Requirement, maximum: int | None) -> Resolved:
    """``max`` -> the maximum; numbers above the maximum -> the maximum, with a note."""
    if wanted.value == "max":
        if maximum is None:
            raise Unsupported("the driver does not report a maximum")
        return Resolved(target, Requirement(Op.EXACT, str(maximum)), "driver maximum")
    asked = numbers(wanted.value)
    if maximum and asked and asked[0] > maximum and wanted.op is not Op.AT_MOST:
        return Resolved(target, Requirement(wanted.op, str(maximum)),
                        f"clamped to the driver's maximum {maximum}")
    return Resolved(target, wanted)


def _iface(ctx: Context) -> str:
    if ctx.iface is None:
        raise Unsupported("needs --iface")
    return ctx.iface


def _cpu_dirs(host: Host) -> list[str]:
    names = host.listdir("sys/devices/system/cpu")
    return [name for name in names if name.startswith("cpu") and name[3:].isdigit()]


def _read_words(host: Host, relative: str) -> list[str]:
    try:
        return host.read(relative).split()
    except TargetProblem:
        return []


CPU, MEMORY, BUFFERS, TCP, BUSY, IFACE = ("CPU", "Memory", "Socket buffers and queues", "TCP",
                                          "Busy polling", "Interface")
NET = Scope.NETNS
ONOFF = ("on", "off")
INTEGER = (NUMBER,)

CATALOG: tuple[Setting, ...] = (
    GovernorSetting("cpu.governor", CPU, "'performance' keeps cores at full clock; ondemand and "
                    "powersave ramp up too late for packet bursts.", values=(WORD,)),
    IdleSetting("cpu.idle.max_latency_us", CPU, "Waking from a deep C-state takes tens to "
                "hundreds of µs, added to the first packet that arrives.", values=INTEGER),
    IrqSetting("iface.irq_affinity", CPU, "Each queue's IRQ on its own core spreads softirq "
               "work; all IRQs on CPU 0 (the seed) makes one core the bottleneck.",
               needs_iface=True),
    SysctlSetting("kernel.numa_balancing", CPU, "NUMA balancing unmaps pages to sample their "
                  "use: extra page faults and jitter in busy network processes.", values=INTEGER),
    SwapSetting("memory.swap", CPU, "A swapped-out buffer or process costs milliseconds to fault "
                "back in.", values=("off",)),
    SysctlSetting("vm.dirty_ratio", MEMORY, "Dirty memory (% of RAM) at which writers block; a "
                  "capture writer that blocks drops packets.", values=INTEGER),
    SysctlSetting("vm.dirty_background_ratio", MEMORY, "Dirty memory (% of RAM) at which "
                  "background writeback starts: earlier is smoother.", values=INTEGER),
    SysctlSetting("vm.swappiness", MEMORY, "How readily anonymous memory (socket buffers, "
                  "rings) is swapped instead of dropping page cache.", values=INTEGER),
    HugepagesSetting("memory.hugepages.2048kB", MEMORY, "DPDK and AF_XDP packet buffers live in "
                     "huge pages; reserve them before memory fragments.",
                     values=INTEGER),
    SysctlSetting("net.core.rmem_max", BUFFERS, "Largest SO_RCVBUF a socket may ask for; bounds "
                  "what iperf3 -w and capture tools get.", NET, values=INTEGER),
    SysctlSetting("net.core.wmem_max", BUFFERS, "Largest SO_SNDBUF a socket may ask for.", NET,
                  values=INTEGER),
    SysctlSetting("net.core.rmem_default", BUFFERS, "Receive buffer of every new socket that "
                  "does not set one (UDP, packet sockets).", NET, values=INTEGER),
    SysctlSetting("net.core.wmem_default", BUFFERS, "Send buffer of every new socket that does "
                  "not set one.", NET, values=INTEGER),
    SysctlSetting("net.core.netdev_max_backlog", BUFFERS, "Per-CPU queue between driver and "
                  "stack; overflow is the 'dropped' column of /proc/net/softnet_stat.", NET,
                  values=INTEGER),
    SysctlSetting("net.core.netdev_budget", BUFFERS, "Packets one NET_RX softirq may handle "
                  "before yielding; too low and 'time_squeeze' climbs.", NET, values=INTEGER),
    SysctlSetting("net.core.somaxconn", BUFFERS, "Ceiling on a listen() backlog; a burst of "
                  "connections beyond it is dropped.", NET, values=INTEGER),
    SysctlSetting("net.ipv4.tcp_rmem", BUFFERS, "TCP receive buffer min/default/max; the max "
                  "bounds the window, and throughput <= window / RTT.", NET, values=(TRIPLE,)),
    SysctlSetting("net.ipv4.tcp_wmem", BUFFERS, "TCP send buffer min/default/max; bounds the "
                  "data a sender keeps in flight.", NET, values=(TRIPLE,)),
    SysctlSetting("net.ipv4.tcp_congestion_control", TCP, "Sets the sending rate; BBR keeps "
                  "throughput up on long or lossy paths.", NET, values=(WORD,)),
    SysctlSetting("net.ipv4.tcp_slow_start_after_idle", TCP, "With 1, a connection idle for one "
                  "RTO restarts from slow start and loses its window.", NET, values=INTEGER),
    SysctlSetting("net.ipv4.tcp_fastopen", TCP, "3 lets clients and servers carry data in the "
                  "SYN: one round trip less per connection.", NET, values=INTEGER),
    SysctlSetting("net.ipv4.tcp_notsent_lowat", TCP, "Caps unsent bytes in the socket so fresh "
                  "data is not queued behind stale data.", NET, values=INTEGER),
    SysctlSetting("net.core.busy_poll", BUSY, "µs poll()/select() spin on the device queue "
                  "instead of sleeping until an interrupt.", NET, values=INTEGER),
    SysctlSetting("net.core.busy_read", BUSY, "µs a blocking read spins on the device queue: "
                  "a core traded for lower latency.", NET, values=INTEGER),
    RingSetting("iface.rings.rx", IFACE, "RX descriptors the NIC fills while the CPU is busy; "
                "a full ring drops packets.", NET, True, ("max", NUMBER)),
    RingSetting("iface.rings.tx", IFACE, "TX descriptors queued to the NIC; too few and the "
                "qdisc backs up.", NET, True, ("max", NUMBER)),
    ChannelSetting("iface.channels", IFACE, "Queue count; each queue has its own IRQ and core, "
                   "so RSS spreads flows.", NET, True, ("max", NUMBER)),
    OffloadSetting("iface.offload.rx", IFACE, "The NIC verifies checksums instead of the CPU.",
                   NET, True, ONOFF),
    OffloadSetting("iface.offload.tx", IFACE, "The NIC computes checksums; TSO needs it.", NET,
                   True, ONOFF),
    OffloadSetting("iface.offload.sg", IFACE, "Scatter-gather DMA; TSO and zero-copy send need "
                   "it.", NET, True, ONOFF),
    OffloadSetting("iface.offload.tso", IFACE, "The NIC cuts 64 KiB sends into segments: far "
                   "fewer packets through the stack.", NET, True, ONOFF),
    OffloadSetting("iface.offload.gso", IFACE, "Segmentation in software as late as possible, "
                   "where TSO is missing.", NET, True, ONOFF),
    OffloadSetting("iface.offload.gro", IFACE, "Merges received segments: cheaper receive, but "
                   "a capture sees merged packets, not the wire.", NET, True, ONOFF),
    OffloadSetting("iface.offload.gro-hw", IFACE, "GRO done by the NIC; same trade-off as GRO.",
                   NET, True, ONOFF),
    OffloadSetting("iface.offload.lro", IFACE, "NIC-side TCP merging; breaks forwarding and "
                   "alters captured packets.", NET, True, ONOFF),
    OffloadSetting("iface.offload.rxhash", IFACE, "The NIC's flow hash steers RSS/RPS, keeping a "
                   "flow on one CPU.", NET, True, ONOFF),
    CoalesceSetting("iface.coalesce.rx-usecs", IFACE, "How long the NIC waits before an RX "
                    "interrupt: higher saves CPU, lower cuts latency.", NET, True,
                    INTEGER),
    CoalesceSetting("iface.coalesce.tx-usecs", IFACE, "How long the NIC waits before a TX "
                    "completion interrupt.", NET, True, INTEGER),
    CoalesceSetting("iface.coalesce.adaptive-rx", IFACE, "Lets the driver move rx-usecs with "
                    "load; off makes latency predictable.", NET, True, ONOFF),
)

_BY_NAME: dict[str, Setting] = {setting.name: setting for setting in CATALOG}
SYSCTL_ROOTS = frozenset({"abi", "crypto", "debug", "dev", "fs", "kernel", "net", "sunrpc",
                          "user", "vm"})

_PATTERNS: tuple[tuple[str, Callable[[str], Setting | None]], ...] = (
    ("memory.hugepages.", lambda name: HugepagesSetting(
        name, MEMORY, "Huge pages of this size, for kernel-bypass buffers.",
        values=INTEGER) if name.endswith("kB") else None),
    ("iface.coalesce.", lambda name: CoalesceSetting(
        name, IFACE, "Interrupt coalescing parameter.", NET, True,
        (NUMBER, *ONOFF)) if name.rsplit(".", 1)[1] in COALESCE_FIELDS else None),
)


def lookup(name: str) -> Setting:
    """The setting called ``name``: from the catalogue, a pattern, or any sysctl."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    for prefix, make in _PATTERNS:
        if name.startswith(prefix):
            found = make(name)
            if found is not None:
                return found
    if name.split(".", 1)[0] in SYSCTL_ROOTS and "." in name:
        scope = Scope.NETNS if name.startswith("net.") else Scope.HOST
        return SysctlSetting(name, _sysctl_section(name), "Set by the profile.", scope)
    raise ProfileError(f"unknown setting {name!r} (see `wirekit tune show` for the names)")


def _sysctl_section(name: str) -> str:
    if name.startswith("net.ipv4.tcp_"):
        return TCP
    if name.startswith("net."):
        return BUFFERS
    return MEMORY if name.startswith("vm.") else CPU


SECTION_ORDER = (CPU, MEMORY, BUFFERS, TCP, BUSY, IFACE)
