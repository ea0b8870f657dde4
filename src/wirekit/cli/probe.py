"""``wirekit probe HOST PORTS``: a TCP SYN probe (open / closed / filtered)."""

from __future__ import annotations

import socket

import click
from rich.table import Table

from wirekit.capture.engine import StopFlag, stop_on_signals
from wirekit.cli.common import FiniteFloatRange, print_json
from wirekit.cli.tables import print_table
from wirekit.link.caps import require_capability
from wirekit.link.neighbour import loopback_caveat
from wirekit.link.ping import resolve_host
from wirekit.link.privileges import drop_privileges
from wirekit.link.probe import (
    MAX_RATE,
    MAX_TIMEOUT,
    MIN_RATE,
    MIN_TIMEOUT,
    SynProber,
    check_timing,
    pacing_gap,
    parse_ports,
    plan_target,
)


@click.command(epilog="""\b
Examples:
  wirekit probe 10.0.0.2 22,80,443
  wirekit probe 10.0.0.2 8000-8100 --iface eth0 --timeout 0.5 --retries 1
  wirekit probe fd00::2 22 --json

Probe only hosts you are allowed to probe.
""")
@click.argument("host")
@click.argument("ports")
@click.option("--iface", help="Send through this interface (default: the route's).")
@click.option("--timeout", type=FiniteFloatRange(MIN_TIMEOUT, MAX_TIMEOUT), default=1.0,
              show_default=True, help="Seconds to wait for an answer before sending again.")
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="How often an unanswered SYN is sent again before 'filtered'.")
@click.option("--rate", type=FiniteFloatRange(0, MAX_RATE), default=0.0,
              help=f"At most this many SYNs per second: 0 for no limit, otherwise at least "
                   f"{MIN_RATE:g}.")
@click.option("-4", "force4", is_flag=True, help="Use IPv4.")
@click.option("-6", "force6", is_flag=True, help="Use IPv6.")
@click.option("-Z", "--drop-privileges", "user", metavar="USER",
              help="Switch to USER once the sockets are open.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def probe(*, host: str, ports: str, iface: str | None, timeout: float, retries: int, rate: float,
          force4: bool, force6: bool, user: str | None, as_json: bool) -> None:
    """Send TCP SYNs to PORTS of HOST and report each port open, closed or filtered.

    PORTS is a list such as 22,80,8000-8010.  Replies are matched by address, ports and
    acknowledgment number; an open port gets a RST after its SYN-ACK.  Needs CAP_NET_RAW.
    """
    wanted = parse_ports(ports)
    # Before any route lookup or ARP: NaN and rates too slow to stop slip past click's ranges.
    check_timing(timeout, retries)
    pacing_gap(rate)
    require_capability("CAP_NET_RAW", "a SYN probe")
    family = socket.AF_INET if force4 else socket.AF_INET6 if force6 else socket.AF_UNSPEC
    _, address = resolve_host(host, family)
    target = plan_target(host, address, iface)
    caveat = loopback_caveat(target.interface, address)
    if caveat:
        click.echo(f"wirekit: warning: {caveat}", err=True)
    prober = SynProber(target, timeout=timeout, retries=retries, rate=rate)
    stop = StopFlag()
    try:
        if user is not None:
            drop_privileges(user)
        with stop_on_signals(stop):
            results = prober.run(wanted, stop=lambda: bool(stop))
    finally:
        prober.close()
    if as_json:
        print_json({"host": host, "address": address, "interface": target.interface.name,
                    "source": f"{target.source}:{prober.sport}",
                    "ports": [{"port": r.port, "state": r.state, "reason": r.reason,
                               "rtt_ms": r.rtt_ms, "attempts": r.attempts} for r in results]})
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("PORT", "STATE", "REASON", "RTT"):
        table.add_column(column)
    for result in results:
        rtt = "-" if result.rtt_ms is None else f"{result.rtt_ms:.2f} ms"
        table.add_row(f"{result.port}/tcp", result.state, result.reason, rtt)
    click.echo(f"SYN probe of {host} ({address}) from {target.source}:{prober.sport} "
               f"on {target.interface.name}")
    print_table(table)
    counts = {state: sum(r.state == state for r in results)
              for state in ("open", "closed", "filtered")}
    click.echo(", ".join(f"{n} {state}" for state, n in counts.items()))
