"""``wirekit bypass``: kernel-bypass (XDP, AF_XDP, DPDK) readiness of this host."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from wirekit.cli.common import print_json, stdout_console
from wirekit.tune import Host, Roots
from wirekit.tune.bypass import BypassStatus, bypass_status


@click.group()
def bypass() -> None:
    """Kernel-bypass readiness: XDP, AF_XDP and DPDK.

    \b
    wirekit bypass status          # facts, per-NIC XDP support, and what can run here
    wirekit bypass status --json
    ip netns exec NS wirekit bypass status   # the interfaces of one namespace
    """


def _yes_no(value: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: "[dim]unknown[/]"}[value]


@bypass.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Read ROOT/proc and ROOT/sys instead of the live system (for tests).")
def status_command(*, as_json: bool, root: Path | None) -> None:
    """Huge pages, IOMMU, vfio-pci/uio, DPDK tools, CONFIG_XDP_SOCKETS, and for every
    interface its PCI address, driver, native XDP and AF_XDP zero-copy support.

    XDP support comes from the kernel itself (the netdev netlink family's xdp-features, Linux
    6.3+) or, on older kernels, from a table of drivers; the output says which.  Ends with a
    paragraph on what can run on this host.
    """
    host = Host(Roots.under(root)) if root else Host()
    found = bypass_status(host, fs_root=root or Path("/"))
    if as_json:
        print_json(found.to_json())
        return
    _print_status(found)


def _print_status(found: BypassStatus) -> None:
    console = stdout_console()
    facts = Table(box=None, show_header=False, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column()
    config = ", ".join(f"{key.removeprefix('CONFIG_')}={value or '(absent)'}"
                       for key, value in found.config.items())
    facts.add_row("kernel", f"{escape(found.kernel)}  (config: "
                  f"{escape(found.config_source or 'not found')})")
    facts.add_row("options", escape(config))
    pools = ", ".join(f"{p.size_kb} kB: {p.total} reserved, {p.free} free"
                      for p in found.hugepages) or "none"
    facts.add_row("huge pages", escape(pools))
    facts.add_row("hugetlbfs", escape(", ".join(found.hugetlbfs_mounts) or "not mounted"))
    iommu = found.iommu
    facts.add_row("IOMMU", f"{_yes_no(iommu.enabled)} ({iommu.groups} groups"
                  f"{'; ' + escape(' '.join(iommu.cmdline)) if iommu.cmdline else ''}"
                  f"{'; vfio no-IOMMU mode' if iommu.noiommu_mode else ''})")
    for module in found.modules:
        facts.add_row(module.name, f"{_yes_no(module.available)} {escape(module.how)}")
    tools = ", ".join(f"{name} ({path})" for name, path in found.dpdk_tools.items() if path)
    facts.add_row("DPDK tools", escape(tools or "none on PATH"))
    console.print(facts)
    console.print(_nic_table(found))
    console.print(escape(found.summary))


def _nic_table(found: BypassStatus) -> Table:
    table = Table("interface", "kind", "driver", "PCI", "native XDP", "AF_XDP", "DPDK PMD",
                  "decided by", header_style="bold")
    for nic in found.nics:
        table.add_row(escape(nic.name), escape(nic.kind), escape(nic.driver or "-"),
                      escape(nic.pci_address or "-"), _yes_no(nic.native_xdp),
                      escape(nic.afxdp_mode), escape(nic.dpdk_pmd or "-"),
                      escape(nic.xdp_source))
    return table
