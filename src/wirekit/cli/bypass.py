"""``wirekit bypass``: kernel-bypass (XDP, AF_XDP, DPDK) readiness of this host."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from wirekit.cli.common import print_json, stdout_console
from wirekit.tune import Host, Roots
from wirekit.tune.bypass import BypassStatus, Nic, bypass_status


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
    _print_nics(console, found)
    for line in _source_lines(found):
        console.print(f"[dim]{escape(line)}[/]")
    console.print(escape(found.summary))


#: AF_XDP when zero-copy is known either way: short, so the table fits 80 columns more often.
_AFXDP_CELL: dict[bool | None, str] = {True: "zero-copy", False: "copy mode"}
_NIC_HEADERS = ("interface", "kind", "driver", "PCI", "native XDP", "AF_XDP", "DPDK PMD")


def _print_nics(console: Console, found: BypassStatus) -> None:
    """A table when it fits the console whole, else one wrapped line per interface.

    rich fits a table that is too wide by narrowing its columns, which cuts or splits
    interface names and PCI addresses (and at worst drops a column), so a table that does
    not fit at its natural width is not printed at all.
    """
    table = _nic_table(found)
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
    else:
        for nic in found.nics:
            console.print(_nic_line(nic))


def _nic_cells(nic: Nic) -> tuple[str, ...]:
    return (escape(nic.name), escape(nic.kind), escape(nic.driver or "-"),
            escape(nic.pci_address or "-"), _yes_no(nic.native_xdp),
            _AFXDP_CELL.get(nic.afxdp_zero_copy, escape(nic.afxdp_mode)),
            escape(nic.dpdk_pmd or "-"))


def _nic_table(found: BypassStatus) -> Table:
    table = Table(*_NIC_HEADERS, box=None, header_style="bold", pad_edge=False)
    for nic in found.nics:
        table.add_row(*_nic_cells(nic))
    return table


def _nic_line(nic: Nic) -> str:
    """``eth0: physical, driver virtio_net, PCI 0000:00:03.0, native XDP yes, ...``"""
    name, *cells = _nic_cells(nic)
    pairs = ", ".join(f"{header} {cell}" for header, cell in zip(_NIC_HEADERS[2:], cells[1:],
                                                                   strict=True))
    return f"[bold]{name}[/]: {cells[0]}, {pairs}"


def _source_lines(found: BypassStatus) -> list[str]:
    """Where the XDP columns come from, said once under the table rather than in a column
    (one line when every interface has the same source, as when the kernel answers)."""
    by_source: dict[str, list[str]] = {}
    for nic in found.nics:
        by_source.setdefault(nic.xdp_source, []).append(nic.name)
    if len(by_source) == 1:
        return [f"XDP support decided by: {next(iter(by_source))}"]
    return [f"XDP support of {', '.join(names)} decided by: {source}"
            for source, names in by_source.items()]
