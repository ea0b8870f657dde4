"""``wirekit info [IFACE] [--json]``: interfaces, their addresses, driver and counters."""

from __future__ import annotations

import click
from rich.table import Table

from wirekit.cli.common import print_json
from wirekit.cli.tables import print_table
from wirekit.link.interfaces import (
    Interface,
    get_interface,
    interface_to_dict,
    list_interfaces,
)


def _unknown(value: object) -> str:
    return "unknown" if value is None else str(value)


def _speed(iface: Interface) -> str:
    return "unknown" if iface.speed_mbps is None else f"{iface.speed_mbps} Mb/s"


def _address_lines(iface: Interface) -> list[tuple[str, str]]:
    rows = []
    for address in iface.addresses:
        text = f"{address.cidr}"
        if address.netmask is not None:
            text += f"  netmask {address.netmask}"
        if address.broadcast:
            text += f"  broadcast {address.broadcast}"
        rows.append((address.family, f"{text}  scope {address.scope}"))
    return rows


def _counter_lines(iface: Interface) -> list[tuple[str, str]]:
    stats = iface.stats
    if stats is None:
        return []
    return [
        ("RX", f"{stats.rx_bytes:,} bytes  {stats.rx_packets:,} packets  "
               f"{stats.rx_errors:,} errors  {stats.rx_dropped:,} dropped"),
        ("TX", f"{stats.tx_bytes:,} bytes  {stats.tx_packets:,} packets  "
               f"{stats.tx_errors:,} errors  {stats.tx_dropped:,} dropped"),
    ]


#: ``ifi_type`` names (linux/if_arp.h ARPHRD_*), as ``ip link`` prints them.
_ARPHRD_NAMES = {1: "ether", 772: "loopback", 65534: "none", 768: "ipip", 776: "sit", 778: "gre",
                 823: "ip6gre", 769: "tunnel6", 512: "ppp", 32: "infiniband"}


def _link_type(iface: Interface) -> str:
    name = _ARPHRD_NAMES.get(iface.arphrd, f"arphrd {iface.arphrd}")
    return f"{name} ({iface.kind})" if iface.kind else name


def _detail(iface: Interface) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("state", f"{iface.operstate}  <{','.join(iface.flags)}>"),
        ("MAC", _unknown(iface.mac)),
        ("MTU", str(iface.mtu)),
        ("type", _link_type(iface)),
        ("driver", f"{_unknown(iface.driver)}  speed {_speed(iface)}  "
                   f"duplex {_unknown(iface.duplex)}"),
        ("queues", f"rx {_unknown(iface.rx_queues)}  tx {_unknown(iface.tx_queues)}  "
                   f"qdisc {_unknown(iface.qdisc)}"),
        *_address_lines(iface),
        *_counter_lines(iface),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def _overview(interfaces: list[Interface]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("#", "name", "state", "MAC", "MTU", "driver", "addresses"):
        table.add_column(column, justify="right" if column in ("#", "MTU") else "left")
    for iface in interfaces:
        addresses = "\n".join(a.cidr for a in iface.addresses) or "-"
        table.add_row(str(iface.index), iface.name, iface.operstate, iface.mac or "-",
                      str(iface.mtu), iface.driver or iface.kind or "-", addresses)
    return table


@click.command(epilog="""\b
Examples:
  wirekit info                 every interface, one line each
  wirekit info eth0            one interface in full
  wirekit info eth0 --json     the same as one JSON object
""")
@click.argument("iface", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(iface: str | None, as_json: bool) -> None:
    """Show network interfaces: state and flags, MAC, MTU, addresses, driver, queues, counters.

    Without IFACE every interface is listed; with IFACE that one is shown in full.  The data
    comes from netlink and SIOCETHTOOL, so no capability is needed.
    """
    if iface is None:
        interfaces = list_interfaces()
        if as_json:
            print_json([interface_to_dict(i) for i in interfaces])
        else:
            print_table(_overview(interfaces))
        return
    found = get_interface(iface)
    if as_json:
        print_json(interface_to_dict(found))
        return
    click.echo(f"{found.index}: {found.name}")
    print_table(_detail(found))
