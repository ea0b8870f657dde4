"""A fake /proc and /sys for tuning tests, fake ethtool and swap backends, and snapshots.

Host-wide settings (CPU governor, idle states, IRQ affinity, hugepages, vm.*, swap) are only
ever changed in such a tree: tests must never change the machine they run on.  ``host_snapshot``
reads the real host's values so privileged tests can prove they left them alone.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from wirekit.link.ethtool import Channels, EthtoolRequestError, Feature, Rings
from wirekit.tune import Host, Roots
from wirekit.tune.host import Unsupported

#: File contents of the fake tree, relative to its root (what a 4-CPU host might show).
FILES: dict[str, str] = {
    "proc/sys/vm/swappiness": "60\n",
    "proc/sys/vm/dirty_ratio": "20\n",
    "proc/sys/vm/dirty_background_ratio": "10\n",
    "proc/sys/kernel/numa_balancing": "1\n",
    "proc/sys/kernel/osrelease": "6.1.0-fake\n",
    "proc/sys/kernel/random/boot_id": "00000000-0000-0000-0000-000000000001\n",
    "proc/sys/net/core/rmem_max": "212992\n",
    "proc/sys/net/core/wmem_max": "212992\n",
    "proc/sys/net/core/rmem_default": "212992\n",
    "proc/sys/net/core/wmem_default": "212992\n",
    "proc/sys/net/core/netdev_max_backlog": "1000\n",
    "proc/sys/net/core/netdev_budget": "300\n",
    "proc/sys/net/core/somaxconn": "4096\n",
    "proc/sys/net/core/busy_poll": "0\n",
    "proc/sys/net/core/busy_read": "0\n",
    "proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t6291456\n",
    "proc/sys/net/ipv4/tcp_wmem": "4096\t16384\t4194304\n",
    "proc/sys/net/ipv4/tcp_congestion_control": "cubic\n",
    "proc/sys/net/ipv4/tcp_slow_start_after_idle": "1\n",
    "proc/sys/net/ipv4/tcp_fastopen": "1\n",
    "proc/sys/net/ipv4/tcp_notsent_lowat": "4294967295\n",
    "proc/swaps": "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                  "/swapfile                               file\t\t1048572\t\t10240\t\t-2\n",
    "proc/meminfo": "MemTotal:        8000000 kB\nMemAvailable:    6000000 kB\n",
    "proc/interrupts": "           CPU0       CPU1       CPU2       CPU3\n"
                       " 40:          0          0          0          0  PCI-MSIX  eth9-config\n"
                       " 41:         10          0          0          0  PCI-MSIX  eth9-TxRx-0\n"
                       " 42:          0         10          0          0  PCI-MSIX  eth9-TxRx-1\n"
                       " 43:          0          0         10          0  PCI-MSIX  eth9-TxRx-2\n",
    "sys/devices/system/cpu/online": "0-3\n",
    "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages": "0\n",
    "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages": "0\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages": "0\n",
    "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages": "0\n",
    "sys/devices/pci0000:00/0000:00:05.0/local_cpulist": "0-3\n",
    "sys/devices/pci0000:00/0000:00:05.0/net/eth9/ifindex": "9\n",
}
CPUS = 4
QUEUE_IRQS = (41, 42, 43)
#: cpuidle states: name, exit latency in µs.
IDLE_STATES = (("POLL", 0), ("C1", 2), ("C1E", 10), ("C6", 133))


def build_tree(root: Path) -> Path:
    """Create the fake tree under ``root`` and return ``root``."""
    for relative, text in FILES.items():
        _write(root / relative, text)
    for cpu in range(CPUS):
        policy = root / f"sys/devices/system/cpu/cpufreq/policy{cpu}"
        _write(policy / "scaling_governor", "powersave\n")
        _write(policy / "scaling_available_governors", "performance powersave\n")
        (root / f"sys/devices/system/cpu/cpu{cpu}").mkdir(parents=True, exist_ok=True)
        for index, (name, latency) in enumerate(IDLE_STATES):
            state = root / f"sys/devices/system/cpu/cpu{cpu}/cpuidle/state{index}"
            _write(state / "name", f"{name}\n")
            _write(state / "latency", f"{latency}\n")
            _write(state / "disable", "0\n")
    for irq in (40, *QUEUE_IRQS):
        _write(root / f"proc/irq/{irq}/smp_affinity_list", "0-3\n")
        (root / "sys/devices/pci0000:00/0000:00:05.0/msi_irqs").mkdir(parents=True, exist_ok=True)
        _write(root / f"sys/devices/pci0000:00/0000:00:05.0/msi_irqs/{irq}", "msix\n")
    net = root / "sys/class/net"
    net.mkdir(parents=True, exist_ok=True)
    (net / "eth9").symlink_to(root / "sys/devices/pci0000:00/0000:00:05.0/net/eth9")
    (root / "sys/devices/pci0000:00/0000:00:05.0/net/eth9/device").symlink_to(
        root / "sys/devices/pci0000:00/0000:00:05.0")
    return root


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file of a tree, byte for byte (symlinks are followed once, as paths)."""
    found: dict[str, bytes] = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


#: Real host files that no test may change (read before and after privileged tests).
HOST_PATHS = ("/proc/sys/vm", "/proc/sys/kernel/numa_balancing", "/proc/sys/net/core",
              "/proc/sys/net/ipv4", "/sys/kernel/mm/hugepages", "/proc/swaps")
_SKIP_WORDS = ("stat", "random", "flush", "_nr", "nr_", "free_hugepages", "resv_", "surplus",
               "drop_caches", "compact", "tcp_fastopen_key", "base_reachable")


def host_snapshot() -> dict[str, bytes]:
    """The host's tunables, for a before/after comparison (counters and write-only skipped)."""
    found: dict[str, bytes] = {}
    for top in HOST_PATHS:
        base = Path(top)
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            if path.name != "nr_hugepages" and any(w in path.name for w in _SKIP_WORDS):
                continue
            try:
                found[str(path)] = path.read_bytes()
            except OSError:
                continue
    return found


@dataclass
class FakeSwap:
    """Swap areas as lines of the fake tree's proc/swaps; records every call."""

    root: Path
    calls: list[tuple[str, str, int | None]] = field(default_factory=list)

    def _lines(self) -> list[str]:
        return (self.root / "proc/swaps").read_text().splitlines(keepends=True)

    def swapoff(self, path: str) -> None:
        self.calls.append(("swapoff", path, None))
        lines = self._lines()
        kept = [line for line in lines[1:] if line.split()[0] != path]
        if len(kept) == len(lines) - 1:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)
        (self.root / "proc/swaps").write_text("".join([lines[0], *kept]))

    def swapon(self, path: str, priority: int | None) -> None:
        self.calls.append(("swapon", path, priority))
        with (self.root / "proc/swaps").open("a") as handle:
            handle.write(f"{path:<40}file\t\t1048572\t\t0\t\t{priority}\n")


TX_CSUM = ("tx-checksum-ipv4", "tx-checksum-ip-generic", "tx-checksum-ipv6")
TSO = ("tx-tcp-segmentation", "tx-tcp6-segmentation")


@dataclass
class FakeEthtool:
    """An interface ``eth9`` with rings, channels, coalescing and features.

    Like the kernel's netdev_fix_features(), TSO needs TX checksumming: turning every TX
    checksum off switches TSO off while TSO stays *wanted*, so it comes back on with them.
    """

    rings_state: Rings = field(default_factory=lambda: Rings(rx=256, tx=256, rx_max=4096,
                                                             tx_max=4096))
    channels_state: Channels = field(default_factory=lambda: Channels(
        rx=0, tx=0, combined=2, other=1, rx_max=0, tx_max=0, combined_max=8))
    coalesce_state: dict[str, int] = field(default_factory=lambda: {
        "rx_coalesce_usecs": 3, "tx_coalesce_usecs": 0, "use_adaptive_rx_coalesce": 1})
    wanted: dict[str, bool] = field(default_factory=lambda: {
        "rx-checksum": True, "tx-checksum-ipv4": False, "tx-checksum-ip-generic": True,
        "tx-checksum-ipv6": False, "tx-tcp-segmentation": True, "tx-tcp6-segmentation": True,
        "tx-generic-segmentation": True, "rx-gro": True, "rx-lro": False, "rx-hashing": True})
    fixed: frozenset[str] = frozenset({"tx-checksum-ipv4", "tx-checksum-ipv6", "rx-lro"})
    refuse: int | None = None
    calls: list[str] = field(default_factory=list)

    def _check(self, ifname: str, what: str) -> None:
        self.calls.append(what)
        self._exists(ifname)
        if self.refuse is not None:
            raise EthtoolRequestError(f"{what}: refused", errno_code=self.refuse)

    @staticmethod
    def _exists(ifname: str) -> None:
        """Like LiveEthtool: a missing interface is unsupported (ENODEV)."""
        if ifname != "eth9":
            raise Unsupported(f"ENODEV: no interface {ifname} here")

    def driver(self, ifname: str) -> str | None:
        self._exists(ifname)
        return "fake"

    def rings(self, ifname: str) -> Rings | None:
        self._exists(ifname)
        return self.rings_state

    def set_rings(self, ifname: str, *, rx: int | None = None, tx: int | None = None) -> None:
        self._check(ifname, "set_rings")
        for name, value in (("rx", rx), ("tx", tx)):
            if value is not None:
                if value > getattr(self.rings_state, f"{name}_max"):
                    raise EthtoolRequestError("too big", errno_code=errno.EINVAL)
                self.rings_state = dataclasses.replace(self.rings_state, **{name: value})

    def channels(self, ifname: str) -> Channels | None:
        self._exists(ifname)
        return self.channels_state

    def set_channels(self, ifname: str, *, rx: int | None = None, tx: int | None = None,
                     combined: int | None = None) -> None:
        self._check(ifname, "set_channels")
        if combined is not None:
            self.channels_state = dataclasses.replace(self.channels_state, combined=combined)

    def coalesce(self, ifname: str) -> dict[str, int] | None:
        self._exists(ifname)
        return dict(self.coalesce_state)

    def set_coalesce(self, ifname: str, values: dict[str, int]) -> None:
        self._check(ifname, "set_coalesce")
        from wirekit.link.ethtool import COALESCE_FIELDS

        for name, value in values.items():
            self.coalesce_state[COALESCE_FIELDS.get(name, name)] = value

    def _active(self) -> dict[str, bool]:
        active = dict(self.wanted)
        if not any(active[name] for name in TX_CSUM):
            for name in TSO:
                active[name] = False
        return active

    def features(self, ifname: str) -> dict[str, Feature] | None:
        self._exists(ifname)
        return {name: Feature(name, enabled, name not in self.fixed)
                for name, enabled in self._active().items()}

    def set_features(self, ifname: str, wanted: dict[str, bool]) -> None:
        self._check(ifname, "set_features")
        for name, enable in wanted.items():
            if name not in self.fixed:
                self.wanted[name] = enable


def fake_host(root: Path, ethtool: FakeEthtool | None = None,
              swap: FakeSwap | None = None) -> Host:
    """A Host on the fake tree with the fake backends."""
    return Host(Roots.under(root), ethtool=ethtool or FakeEthtool(),
                swap=swap or FakeSwap(root))
