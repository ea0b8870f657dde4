"""``wirekit bypass``: kernel-bypass (XDP, AF_XDP, DPDK) readiness of this host, and the
huge pages DPDK needs: reserve/release them, mount/unmount hugetlbfs, revert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from wirekit.cli.changes import finish, outcome_counts, print_items
from wirekit.cli.common import print_json, stdout_console
from wirekit.errors import UsageError
from wirekit.tune import ChangeReport, Host, ItemResult, Outcome, Roots, hugepages
from wirekit.tune.bypass import BypassStatus, Nic, bypass_status

F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def bypass() -> None:
    """Kernel-bypass readiness (XDP, AF_XDP, DPDK), and huge pages for DPDK.

    \b
    wirekit bypass status          # facts, per-NIC XDP support, and what can run here
    wirekit bypass status --json
    ip netns exec NS wirekit bypass status   # the interfaces of one namespace
    wirekit bypass reserve 1024 -p 2M        # 1024 pages of 2 MiB (or: reserve 2G)
    wirekit bypass reserve 4 -p 1G --node 0  # 4 pages of 1 GiB on NUMA node 0
    wirekit bypass mount                     # hugetlbfs at /dev/hugepages
    wirekit bypass unmount; wirekit bypass release
    wirekit bypass revert                    # undo every reservation and mount above

    Like dpdk-hugepages.py (-r, -c, -m, -u, -p, -n), with a journal: before its first
    change each command records the original values in /run/wirekit/tune/bypass-journal.json
    (fsynced), and revert puts them back.
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


# --- huge pages ----------------------------------------------------------------------------------



def _change_options(function: F) -> F:
    """--dry-run, --json, --state-dir and --root, shared by the commands that change things."""
    function = click.option("--json", "as_json", is_flag=True,
                            help="Print one JSON object instead of lines.")(function)
    function = click.option(
        "--state-dir", type=click.Path(file_okay=False, readable=False, path_type=Path),
        envvar="WIREKIT_STATE_DIR",
        help="Where the journal lives (default /run/wirekit; env WIREKIT_STATE_DIR).")(function)
    function = click.option(
        "--root", type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Treat ROOT/proc and ROOT/sys as the system (for tests); mounts need the live "
             "kernel and are unsupported there.")(function)
    return click.option("--dry-run", "-n", is_flag=True,
                        help="Print the plan; change nothing.")(function)


def _pagesize_option(text: str) -> Callable[[F], F]:
    return click.option("--pagesize", "-p", metavar="SIZE", help=text)


def _node_option(function: F) -> F:
    return click.option(
        "--node", "nodes", multiple=True, metavar="N",
        help="NUMA node (repeatable, or 'all'): its own pool, COUNT pages on each node "
             "named, as dpdk-hugepages.py -n.  Default: the host-wide pool, which the kernel "
             "spreads over the nodes.")(function)


def _host(root: Path | None, state_dir: Path | None) -> Host:
    if root is not None:
        return Host(Roots.under(root, state_dir))
    return Host(Roots(state=state_dir) if state_dir else Roots())


def _nodes(host: Host, names: tuple[str, ...]) -> list[int]:
    if "all" in names:
        return list(hugepages.numa_nodes(host))
    try:
        return sorted({int(name) for name in names})
    except ValueError:
        raise UsageError(f"--node takes a node number or 'all', got {' '.join(names)}") from None


@bypass.command("reserve")
@click.argument("amount", metavar="COUNT")
@_pagesize_option("Huge page size: 2M, 1G... (default: the kernel's default, Hugepagesize "
                  "in /proc/meminfo).")
@_node_option
@_change_options
def reserve_command(*, amount: str, pagesize: str | None, nodes: tuple[str, ...],
                    dry_run: bool, root: Path | None, state_dir: Path | None,
                    as_json: bool) -> None:
    """Make the pool of one huge page size hold COUNT pages.

    COUNT is a number of pages (1024) or an amount of memory (2G, as dpdk-hugepages.py -r).
    The pool is set to COUNT, up or down.  The kernel may find fewer free contiguous pages
    than asked: what it reserved is read back, and a shortfall exits with 10 (the pages it
    did reserve stay, journaled).  Missing privileges exit with 77, a size this kernel does
    not offer with 2.
    """
    host = _host(root, state_dir)
    size = hugepages.choose_size(host, pagesize)
    pages = hugepages.parse_amount(amount, size)
    report = hugepages.reserve(host, pages, size, _nodes(host, nodes), dry_run=dry_run)
    _finish(report, as_json)


@bypass.command("release")
@_pagesize_option("Only this huge page size (default: every size).")
@_node_option
@_change_options
def release_command(*, pagesize: str | None, nodes: tuple[str, ...], dry_run: bool,
                    root: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """Empty huge page pools (dpdk-hugepages.py -c).  Pages still in use are freed by the
    kernel when their users let go; `wirekit bypass revert` reserves the pages again."""
    host = _host(root, state_dir)
    sizes = [hugepages.choose_size(host, pagesize)] if pagesize else list(
        hugepages.offered_sizes(host))
    report = hugepages.release(host, sizes, _nodes(host, nodes), dry_run=dry_run)
    _finish(report, as_json)


def _not_empty(directory: str) -> None:
    """An empty DIRECTORY is an unset shell variable, not the current directory (which
    click's Path would make of it)."""
    if not directory:
        raise UsageError("DIRECTORY is empty; give a path (or none, for "
                         f"{hugepages.DEFAULT_MOUNT})")


@bypass.command("mount")
@click.argument("directory", required=False, type=click.Path(readable=False),
                default=str(hugepages.DEFAULT_MOUNT))
@_pagesize_option("Page size of the mount's pool: 2M, 1G... (default: the kernel's "
                  "default).")
@_change_options
def mount_command(*, directory: str, pagesize: str | None, dry_run: bool, root: Path | None,
                  state_dir: Path | None, as_json: bool) -> None:
    """Mount hugetlbfs at DIRECTORY (default /dev/hugepages), creating it if needed.

    Refused with exit code 2 when DIRECTORY is not a directory or already a mount point, 77
    without CAP_SYS_ADMIN, and 10 inside `ip netns exec` (its private mount namespace would
    take the mount away when wirekit exits).
    """
    _not_empty(directory)
    host = _host(root, state_dir)
    size = hugepages.choose_size(host, pagesize)
    _finish(hugepages.mount(host, Path(directory), size, dry_run=dry_run), as_json)


@bypass.command("unmount")
@click.argument("directories", nargs=-1, metavar="[DIRECTORY]...",
                type=click.Path(readable=False))
@click.option("--all", "every", is_flag=True, help="Every hugetlbfs mount.")
@_change_options
def unmount_command(*, directories: tuple[str, ...], every: bool, dry_run: bool,
                    root: Path | None, state_dir: Path | None, as_json: bool) -> None:
    """Unmount hugetlbfs at DIRECTORY (default /dev/hugepages), or every hugetlbfs with --all.

    Anything but hugetlbfs is left alone (exit code 2); a mount still in use is reported
    with EBUSY (exit code 10).
    """
    for directory in directories:
        _not_empty(directory)
    host = _host(root, state_dir)
    if every and directories:
        raise UsageError("give directories or --all, not both")
    targets: list[Path | str] = [Path(d) for d in directories] or [hugepages.DEFAULT_MOUNT]
    if every:
        targets = list(hugepages.hugetlbfs_points(host))
    _finish(hugepages.unmount(host, targets, dry_run=dry_run), as_json)


@bypass.command("revert")
@_change_options
def revert_command(*, dry_run: bool, root: Path | None, state_dir: Path | None,
                   as_json: bool) -> None:
    """Put back every pool size, mount and directory the bypass journal holds, newest first,
    then remove the journal.  What cannot be restored stays in it (exit code 10)."""
    _finish(hugepages.revert(_host(root, state_dir), dry_run=dry_run), as_json)


def _finish(report: ChangeReport, as_json: bool) -> None:
    finish(report, as_json, _print_changes, kept_in_journal=report.action == "revert")


def _print_changes(report: ChangeReport) -> None:
    console = stdout_console()
    head = f"[bold]{report.action}[/] huge pages"
    if report.dry_run:
        head += "  [cyan]dry run: nothing changed[/]"
    console.print(head, soft_wrap=True)
    print_items(console, report, _detail)
    for note in report.notes:
        console.print(f"[dim]{escape(note)}[/]", soft_wrap=True)
    console.print(outcome_counts(report), soft_wrap=True)
    if report.journal and report.action != "revert" and not report.dry_run:
        console.print(f"journal: {escape(report.journal)}  (undo with: wirekit bypass revert)",
                      soft_wrap=True)


def _detail(item: ItemResult) -> str:
    if item.outcome is Outcome.ALREADY_OK:
        text = item.before or item.after or ""
    else:
        text = f"{item.before} -> {item.after}" if item.before is not None else item.after or ""
    return f"{text}: {item.reason}" if item.reason else text
