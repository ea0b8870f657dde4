"""Kernel-bypass readiness from a fake tree: every fact, both XDP sources, the paragraph."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.support.tune_tree import build_tree
from wirekit.tune import Host, Roots
from wirekit.tune.bypass import bypass_status, module_state, parse_kernel_config
from wirekit.tune.xdp import DRIVER_TABLE, decode_flags, xdp_support

CONFIG = """\
CONFIG_XDP_SOCKETS=y
CONFIG_BPF_SYSCALL=y
# CONFIG_VFIO is not set
CONFIG_UIO=m
CONFIG_UIO_PCI_GENERIC=m
CONFIG_HUGETLBFS=y
CONFIG_LOCALVERSION="-fake"
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = build_tree(tmp_path / "root")
    (root / "proc/config.gz").write_bytes(gzip.compress(CONFIG.encode()))
    return root


def _host(tree: Path) -> Host:
    return Host(Roots.under(tree))


def test_parse_kernel_config() -> None:
    config = parse_kernel_config(CONFIG)
    assert config["CONFIG_XDP_SOCKETS"] == "y"
    assert config["CONFIG_VFIO"] == "n"
    assert config["CONFIG_UIO"] == "m"
    assert config["CONFIG_LOCALVERSION"] == "-fake"


def test_decode_flags() -> None:
    assert decode_flags(0x23) == ("basic", "redirect", "rx-sg")     # a veth
    assert decode_flags(0x2B) == ("basic", "redirect", "xsk-zerocopy", "rx-sg")


def test_kernel_bits_win_over_the_table() -> None:
    veth = xdp_support(2, "veth", {2: 0x23})
    assert (veth.native, veth.zero_copy, veth.afxdp_mode) == (True, False, "copy mode only")
    assert veth.source == "kernel (netdev xdp-features)"
    table = xdp_support(2, "i40e", None)
    assert (table.native, table.zero_copy) == DRIVER_TABLE["i40e"]
    assert "driver table" in table.source
    unknown = xdp_support(2, "mystery", None)
    assert unknown.native is None and "unknown driver mystery" in unknown.source


def test_modules_from_sysfs_builtin_list_and_config(tree: Path, tmp_path: Path) -> None:
    host = _host(tree)
    config = parse_kernel_config(CONFIG)
    modules = tmp_path / "lib/modules/6.1.0-fake"
    modules.mkdir(parents=True)
    (modules / "modules.dep").write_text("kernel/drivers/uio/uio.ko.zst:\n")
    (modules / "modules.builtin").write_text("")
    assert module_state(host, "vfio-pci", config, modules).how == \
        "not in this kernel: CONFIG_VFIO is not set"
    uio = module_state(host, "uio", config, modules)
    assert uio.available and uio.how == "module file present (modprobe uio)"
    generic = module_state(host, "uio_pci_generic", config, modules)
    assert not generic.available and "CONFIG_UIO_PCI_GENERIC=m but no module file" in generic.how
    (tree / "sys/module/uio_pci_generic").mkdir(parents=True)
    (tree / "sys/module/uio_pci_generic/initstate").write_text("live\n")
    assert module_state(host, "uio_pci_generic", config, modules).how == "loaded"


def test_status_and_paragraph_when_dpdk_cannot_run(tree: Path) -> None:
    status = bypass_status(_host(tree), fs_root=tree, kernel_bits={9: 0x2B})
    assert status.config["CONFIG_XDP_SOCKETS"] == "y"
    assert status.config_source == str(tree / "proc/config.gz")
    assert [(p.size_kb, p.total) for p in status.hugepages] == [(2048, 0), (1048576, 0)]
    assert status.iommu.enabled is False
    nic = status.nics[0]
    assert (nic.name, nic.pci_address, nic.native_xdp, nic.afxdp_zero_copy) == (
        "eth9", "0000:00:05.0", True, True)
    assert "eth9 (" in status.summary and "native XDP, AF_XDP zero-copy" in status.summary
    assert "AF_XDP sockets are in this kernel (CONFIG_XDP_SOCKETS=y)" in status.summary
    assert "DPDK cannot run here" in status.summary
    assert "no huge pages are reserved" in status.summary
    assert "No DPDK-capable NIC" in status.summary   # the fake driver has no DPDK PMD


def test_paragraph_when_everything_is_there(tree: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").write_text("1024\n")
    (tree / "proc/mounts").write_text("nodev /mnt/huge hugetlbfs rw,pagesize=2M 0 0\n")
    for group in ("0", "1"):
        (tree / f"sys/kernel/iommu_groups/{group}").mkdir(parents=True)
    (tree / "sys/module/vfio_pci").mkdir(parents=True)
    (tree / "sys/module/vfio_pci/initstate").write_text("live\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "dpdk-devbind.py"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    driver = tree / "sys/bus/pci/drivers/ixgbe"
    driver.mkdir(parents=True)
    (tree / "sys/bus/pci/devices").mkdir(parents=True)
    function = tree / "sys/devices/pci0000:00/0000:00:05.0"
    (tree / "sys/bus/pci/devices/0000:00:05.0").symlink_to(function)
    (tree / "sys/devices/pci0000:00/0000:00:05.0/driver").symlink_to(driver)
    status = bypass_status(_host(tree), fs_root=tree, kernel_bits=None)
    nic = status.nics[0]
    assert (nic.driver, nic.dpdk_pmd, nic.pci_driver) == ("ixgbe", "net_ixgbe", "ixgbe")
    assert nic.xdp_source.startswith("driver table")
    assert status.hugetlbfs_mounts == ("/mnt/huge (pagesize=2M)",)
    assert status.iommu.groups == 2
    assert "DPDK can run. eth9 has a DPDK poll-mode driver (net_ixgbe)." in status.summary
