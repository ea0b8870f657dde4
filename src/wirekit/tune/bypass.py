"""Kernel-bypass readiness: what XDP, AF_XDP and DPDK need, and whether this host has it.

The seed's ``setup_dpdk`` only checks for ``dpdk-devbind.py``.  DPDK also needs huge pages
reserved and mounted, a user-space I/O driver (vfio-pci, with an IOMMU or in no-IOMMU mode, or
uio_pci_generic/igb_uio), and a NIC with a DPDK poll-mode driver that the host can spare.  XDP
and AF_XDP need the kernel's BPF and XDP-socket support and, to be fast, a driver with native
XDP and zero-copy.  Every fact below comes from a file or netlink reply named in
``docs/tune.md``; :func:`summary` turns them into one plain paragraph.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wirekit.tune import xdp
from wirekit.tune.host import Host, TargetProblem

#: The kernel options that decide what can run.
CONFIG_KEYS = ("CONFIG_XDP_SOCKETS", "CONFIG_BPF_SYSCALL", "CONFIG_BPF_JIT", "CONFIG_HUGETLBFS",
               "CONFIG_VFIO", "CONFIG_VFIO_PCI", "CONFIG_VFIO_NOIOMMU", "CONFIG_UIO",
               "CONFIG_UIO_PCI_GENERIC", "CONFIG_IOMMU_SUPPORT")
#: User-space I/O drivers DPDK binds NICs to, and the option that builds each.
MODULES: dict[str, str | None] = {"vfio-pci": "CONFIG_VFIO_PCI", "uio": "CONFIG_UIO",
                                  "uio_pci_generic": "CONFIG_UIO_PCI_GENERIC", "igb_uio": None}
DPDK_TOOLS = ("dpdk-devbind.py", "dpdk-hugepages.py", "dpdk-testpmd", "dpdk-pmdinfo.py")
#: Options that must be set for the module's own option to appear in .config at all.
CONFIG_PARENTS: dict[str, str] = {"CONFIG_VFIO_PCI": "CONFIG_VFIO",
                                  "CONFIG_UIO_PCI_GENERIC": "CONFIG_UIO"}
#: Linux driver -> DPDK poll-mode driver for the same NIC (DPDK's supported NIC list).
DPDK_PMDS: dict[str, str] = {
    "virtio_net": "net_virtio", "ixgbe": "net_ixgbe", "ixgbevf": "net_ixgbe_vf",
    "i40e": "net_i40e", "iavf": "net_iavf", "ice": "net_ice", "igb": "net_e1000_igb",
    "e1000e": "net_e1000_em", "e1000": "net_e1000_em", "igc": "net_igc",
    "mlx5_core": "net_mlx5", "mlx4_en": "net_mlx4", "ena": "net_ena", "bnxt_en": "net_bnxt",
    "vmxnet3": "net_vmxnet3", "gve": "net_gve", "hv_netvsc": "net_netvsc", "qede": "net_qede",
    "sfc": "net_sfc", "nfp": "net_nfp", "cxgb4": "net_cxgbe", "enic": "net_enic",
    "idpf": "net_idpf", "atlantic": "net_atlantic", "txgbe": "net_txgbe", "ngbe": "net_ngbe",
}
#: Mellanox PMDs drive the NIC beside the kernel driver (bifurcated): no rebinding needed.
BIFURCATED = frozenset({"net_mlx5", "net_mlx4"})
_PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")


@dataclass(frozen=True, slots=True)
class HugepagePool:
    size_kb: int
    total: int
    free: int


@dataclass(frozen=True, slots=True)
class Iommu:
    enabled: bool
    groups: int
    units: tuple[str, ...]
    cmdline: tuple[str, ...]
    noiommu_mode: bool


@dataclass(frozen=True, slots=True)
class ModuleState:
    name: str
    available: bool
    how: str


@dataclass(frozen=True, slots=True)
class Nic:
    name: str
    ifindex: int
    kind: str
    driver: str | None
    pci_address: str | None
    pci_driver: str | None
    iommu_group: str | None
    native_xdp: bool | None
    afxdp_zero_copy: bool | None
    afxdp_mode: str
    xdp_flags: tuple[str, ...]
    xdp_source: str
    dpdk_pmd: str | None
    default_route: bool


@dataclass(frozen=True, slots=True)
class BypassStatus:
    kernel: str
    config_source: str | None
    config: dict[str, str | None]
    hugepages: tuple[HugepagePool, ...]
    hugetlbfs_mounts: tuple[str, ...]
    iommu: Iommu
    modules: tuple[ModuleState, ...]
    dpdk_tools: dict[str, str | None]
    nics: tuple[Nic, ...]
    summary: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_kernel_config(host: Host, fs_root: Path,
                       release: str) -> tuple[dict[str, str], str | None]:
    """CONFIG_* -> value ('y', 'm', ..., 'n' for "is not set") and where it came from."""
    candidates = [host.roots.proc / "config.gz", fs_root / "boot" / f"config-{release}"]
    for path in candidates:
        with contextlib.suppress(OSError, EOFError, gzip.BadGzipFile):
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode(errors="replace")
            return parse_kernel_config(text), str(path)
    return {}, None


def parse_kernel_config(text: str) -> dict[str, str]:
    """``CONFIG_X=y`` -> {"CONFIG_X": "y"}; ``# CONFIG_X is not set`` -> {"CONFIG_X": "n"}."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, _, value = line.partition("=")
            values[name] = value.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[2:-len(" is not set")]] = "n"
    return values


def hugepage_pools(host: Host) -> tuple[HugepagePool, ...]:
    pools = []
    for name in host.listdir("sys/kernel/mm/hugepages"):
        size = name.removeprefix("hugepages-").removesuffix("kB")
        base = f"sys/kernel/mm/hugepages/{name}"
        if size.isdigit():
            pools.append(HugepagePool(int(size), _int(host, f"{base}/nr_hugepages"),
                                      _int(host, f"{base}/free_hugepages")))
    return tuple(sorted(pools, key=lambda pool: pool.size_kb))


def hugetlbfs_mounts(host: Host) -> tuple[str, ...]:
    """Mount points of hugetlbfs (with their pagesize option when given)."""
    found = []
    for line in _text(host, "proc/mounts").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "hugetlbfs":
            size = next((o for o in fields[3].split(",") if o.startswith("pagesize=")), "")
            found.append(f"{fields[1]} ({size})" if size else fields[1])
    return tuple(found)


def iommu_state(host: Host) -> Iommu:
    groups = [g for g in host.listdir("sys/kernel/iommu_groups") if g.isdigit()]
    words = _text(host, "proc/cmdline").split()
    flags = tuple(w for w in words if w.split("=")[0] in ("intel_iommu", "amd_iommu", "iommu"))
    noiommu = _text(host, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode").strip()
    return Iommu(enabled=bool(groups), groups=len(groups),
                 units=tuple(host.listdir("sys/class/iommu")), cmdline=flags,
                 noiommu_mode=noiommu in ("Y", "1"))


def module_state(host: Host, name: str, config: dict[str, str], modules_dir: Path) -> ModuleState:
    """Loaded, built in, present as a module file, or why not."""
    sysname = name.replace("-", "_")
    if host.exists(f"sys/module/{sysname}"):
        loaded = host.exists(f"sys/module/{sysname}/initstate")
        return ModuleState(name, True, "loaded" if loaded else "built in")
    variants = {f"/{name}.ko", f"/{sysname}.ko"}
    if _listed(modules_dir / "modules.builtin", variants):
        return ModuleState(name, True, "built in")
    if _listed(modules_dir / "modules.dep", variants):
        return ModuleState(name, True, f"module file present (modprobe {name})")
    option = MODULES.get(name)
    if option is None:
        return ModuleState(name, False, "not found (an out-of-tree module, built with DPDK)")
    value = config.get(option)
    parent = CONFIG_PARENTS.get(option, "")
    if value is None and config.get(parent) == "n":
        option, value = parent, "n"
    if value == "y":
        return ModuleState(name, True, f"built in ({option}=y)")
    if value == "m":
        return ModuleState(name, False, f"{option}=m but no module file in {modules_dir}")
    if value == "n":
        return ModuleState(name, False, f"not in this kernel: {option} is not set")
    return ModuleState(name, False, "not found (no kernel config to tell why)")


def _listed(path: Path, variants: set[str]) -> bool:
    try:
        text = path.read_text()
    except OSError:
        return False
    return any(variant in text for variant in variants) or any(
        variant.replace(".ko", ".ko.") in text for variant in variants)


def nics(host: Host, kernel_bits: dict[int, int] | None) -> tuple[Nic, ...]:
    """Every interface of this namespace except loopback."""
    kinds = _link_kinds() if host.roots.live else {}
    default = _default_route_iface(host)
    found = []
    for name in host.listdir("sys/class/net"):
        if name == "lo" or not host.exists(f"sys/class/net/{name}/ifindex"):
            continue
        found.append(_nic(host, name, kinds.get(name), kernel_bits, name == default))
    return tuple(found)


def _nic(host: Host, name: str, kind: str | None, kernel_bits: dict[int, int] | None,
         default_route: bool) -> Nic:
    ifindex = _int(host, f"sys/class/net/{name}/ifindex")
    driver = _driver(host, name)
    pci = _pci_address(host, name)
    support = xdp.xdp_support(ifindex, driver or kind, kernel_bits)
    pci_base = f"sys/bus/pci/devices/{pci}" if pci else ""
    return Nic(name=name, ifindex=ifindex, kind=kind or ("physical" if pci else "virtual"),
               driver=driver, pci_address=pci,
               pci_driver=_link_name(host, f"{pci_base}/driver") if pci else None,
               iommu_group=_link_name(host, f"{pci_base}/iommu_group") if pci else None,
               native_xdp=support.native, afxdp_zero_copy=support.zero_copy,
               afxdp_mode=support.afxdp_mode, xdp_flags=support.flags, xdp_source=support.source,
               dpdk_pmd=DPDK_PMDS.get(driver or "") if pci else None, default_route=default_route)


def _driver(host: Host, name: str) -> str | None:
    with contextlib.suppress(Exception):
        found = host.eth.driver(name)
        if found:
            return found
    return _link_name(host, f"sys/class/net/{name}/device/driver")


def _pci_address(host: Host, name: str) -> str | None:
    device = host.path(f"sys/class/net/{name}/device")
    if not device.exists():
        return None
    for part in reversed(device.resolve().parts):
        if _PCI_ADDRESS.match(part):
            return part
    return None


def _link_name(host: Host, relative: str) -> str | None:
    path = host.path(relative)
    return path.resolve().name if path.exists() else None


def _link_kinds() -> dict[str, str]:
    """Interface name -> rtnetlink kind (``veth``, ``bridge``...), as ``ip -d link`` shows."""
    from pyroute2 import IPRoute

    kinds: dict[str, str] = {}
    with IPRoute() as ipr:
        for link in ipr.get_links():
            info = link.get_attr("IFLA_LINKINFO")
            kind = info.get_attr("IFLA_INFO_KIND") if info else None
            if kind:
                kinds[str(link.get_attr("IFLA_IFNAME"))] = str(kind)
    return kinds


def _default_route_iface(host: Host) -> str | None:
    for line in _text(host, "proc/net/route").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[1] == "00000000" and fields[7] == "00000000":
            return fields[0]
    return None


def _text(host: Host, relative: str) -> str:
    try:
        return host.read(relative)
    except TargetProblem:
        return ""


def _int(host: Host, relative: str) -> int:
    text = _text(host, relative).strip()
    return int(text) if text.lstrip("-").isdigit() else 0


def bypass_status(host: Host | None = None, *, fs_root: Path = Path("/"),
                  kernel_bits: dict[int, int] | bool | None = True) -> BypassStatus:
    """Gather every fact; ``kernel_bits=True`` asks the netdev netlink family (live hosts)."""
    host = host or Host()
    release = _text(host, "proc/sys/kernel/osrelease").strip()
    config, source = read_kernel_config(host, fs_root, release)
    if kernel_bits is True:
        kernel_bits = xdp.kernel_xdp_features() if host.roots.live else None
    modules_dir = fs_root / "lib" / "modules" / release
    status = BypassStatus(
        kernel=release, config_source=source,
        config={key: config.get(key) for key in CONFIG_KEYS},
        hugepages=hugepage_pools(host), hugetlbfs_mounts=hugetlbfs_mounts(host),
        iommu=iommu_state(host),
        modules=tuple(module_state(host, name, config, modules_dir) for name in MODULES),
        dpdk_tools={tool: shutil.which(tool) for tool in DPDK_TOOLS},
        nics=nics(host, kernel_bits if isinstance(kernel_bits, dict) else None), summary="")
    return BypassStatus(**{**_fields(status), "summary": summary(status)})


def _fields(status: BypassStatus) -> dict[str, Any]:
    return {name: getattr(status, name) for name in BypassStatus.__dataclass_fields__}


def summary(status: BypassStatus) -> str:
    """One plain paragraph: what can run on this host and what is missing."""
    sentences = [_nic_sentence(nic) for nic in status.nics]
    sentences.append(_afxdp_sentence(status))
    sentences.append(_dpdk_sentence(status))
    return " ".join(sentence for sentence in sentences if sentence)


def _nic_sentence(nic: Nic) -> str:
    label = nic.driver or nic.kind
    where = f", PCI {nic.pci_address}" if nic.pci_address else ""
    if nic.native_xdp is None:
        return f"{nic.name} ({label}{where}): XDP support unknown ({nic.xdp_source})."
    xdp_text = "native XDP" if nic.native_xdp else "generic (skb) XDP only"
    return f"{nic.name} ({label}{where}): {xdp_text}, AF_XDP {nic.afxdp_mode}."


def _afxdp_sentence(status: BypassStatus) -> str:
    value = status.config.get("CONFIG_XDP_SOCKETS")
    if value == "y":
        return "AF_XDP sockets are in this kernel (CONFIG_XDP_SOCKETS=y)."
    if value is None:
        return "Whether AF_XDP sockets are in this kernel is unknown (no kernel config found)."
    return "AF_XDP sockets are not in this kernel (CONFIG_XDP_SOCKETS is not set)."


def _dpdk_sentence(status: BypassStatus) -> str:
    candidates = [nic for nic in status.nics if nic.pci_address and nic.dpdk_pmd]
    nic_text = "; ".join(_dpdk_nic(nic) for nic in candidates) or "No DPDK-capable NIC"
    missing = _dpdk_missing(status)
    if missing:
        listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
        return f"DPDK cannot run here: {listed}. {nic_text}."
    return f"DPDK can run. {nic_text}."


def _dpdk_nic(nic: Nic) -> str:
    text = f"{nic.name} has a DPDK poll-mode driver ({nic.dpdk_pmd})"
    if nic.dpdk_pmd in BIFURCATED:
        text += " that works beside the kernel driver"
    if nic.default_route:
        text += ", but it carries this host's default route: binding it would cut the host off"
    return text


def _dpdk_missing(status: BypassStatus) -> list[str]:
    missing = []
    io_drivers = [m for m in status.modules if m.available]
    if not io_drivers:
        why = [m.how.split(": ", 1)[1] for m in status.modules
               if m.name in ("vfio-pci", "uio") and ": " in m.how]
        missing.append("no vfio-pci or uio driver" + (f" ({', '.join(why)})" if why else ""))
    elif not status.iommu.enabled and not status.iommu.noiommu_mode and all(
            m.name == "vfio-pci" for m in io_drivers):
        missing.append("vfio-pci needs an IOMMU (none is enabled) or vfio no-IOMMU mode")
    if not any(pool.total for pool in status.hugepages):
        missing.append("no huge pages are reserved (wirekit bypass reserve 1024, or wirekit "
                       "tune apply bypass)")
    elif not status.hugetlbfs_mounts:
        missing.append("hugetlbfs is not mounted (wirekit bypass mount)")
    if not any(status.dpdk_tools.values()):
        missing.append("the DPDK tools are not installed")
    return missing
