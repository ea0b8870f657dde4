"""``wirekit ping HOST``: ICMP echo over IPv4 or IPv6, with iputils' output."""

from __future__ import annotations

import socket
import time

import click

from wirekit.capture.engine import StopFlag, stop_on_signals
from wirekit.cli.common import print_json, print_json_line
from wirekit.errors import UsageError
from wirekit.link.ping import (
    Pinger,
    PingEvent,
    PingPlan,
    format_rtt,
    resolve_host,
    run_ping,
)
from wirekit.link.privileges import drop_privileges


def _family(force4: bool, force6: bool) -> int:
    if force4 and force6:
        raise UsageError("-4 and -6 exclude each other")
    return socket.AF_INET if force4 else socket.AF_INET6 if force6 else socket.AF_UNSPEC


def _event_line(event: PingEvent, rtt: float | None, duplicate: bool) -> str:
    if event.kind == "error":
        return f"From {event.source} icmp_seq={event.seq} {event.message}"
    ttl = f" ttl={event.ttl}" if event.ttl is not None else ""
    dup = " (DUP!)" if duplicate else ""
    return (f"{event.size} bytes from {event.source}: icmp_seq={event.seq}{ttl} "
            f"time={format_rtt(rtt or 0.0)} ms{dup}")


@click.command(epilog="""\b
Examples:
  wirekit ping 10.0.0.2 -c 3
  wirekit ping -6 fd00::2 -c 5 -i 0.2
  wirekit ping 10.0.0.2 -c 10 -s 1400 -W 2 --json
""")
@click.argument("host")
@click.option("-c", "count", type=click.IntRange(min=1), help="Stop after N requests.")
@click.option("-i", "interval", type=float, default=1.0, show_default=True,
              help="Seconds between requests.")
@click.option("-s", "size", type=click.IntRange(0, 65507), default=56, show_default=True,
              help="Data bytes in each request.")
@click.option("-W", "linger", type=float, default=10.0, show_default=True,
              help="Seconds to wait for replies after the last request.")
@click.option("-t", "ttl", type=click.IntRange(1, 255), help="IP time to live / hop limit.")
@click.option("-I", "interface", help="Send through this interface (SO_BINDTODEVICE).")
@click.option("-4", "force4", is_flag=True, help="Use IPv4.")
@click.option("-6", "force6", is_flag=True, help="Use IPv6.")
@click.option("-q", "quiet", is_flag=True, help="Only the summary.")
@click.option("-Z", "--drop-privileges", "user", metavar="USER",
              help="Switch to USER once the socket is open.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--json-stream", is_flag=True, help="One JSON line per reply, then the summary.")
def ping(*, host: str, count: int | None, interval: float, size: int, linger: float,
         ttl: int | None, interface: str | None, force4: bool, force6: bool, quiet: bool,
         user: str | None, as_json: bool, json_stream: bool) -> None:
    """Send ICMP echo requests to HOST and report replies, loss and round-trip times.

    Uses the unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows this
    process's group, and a raw socket (CAP_NET_RAW) otherwise.  Ctrl-C stops and prints the
    summary, as iputils ping does.
    """
    plan = PingPlan(count=count, interval=interval, size=size, linger=linger)
    family, address = resolve_host(host, _family(force4, force6))
    pinger = Pinger(address, family, ttl=ttl, interface=interface)
    try:
        if user is not None:
            drop_privileges(user)
        _run(pinger, plan, host, address, quiet=quiet or as_json, stream=json_stream,
             as_json=as_json)
    finally:
        pinger.close()


def _run(pinger: Pinger, plan: PingPlan, host: str, address: str, *, quiet: bool,
         stream: bool, as_json: bool) -> None:
    header_size = 40 if pinger.ipv6 else 20
    if not quiet and not stream:
        if pinger.ipv6:
            click.echo(f"PING {host}({address}) {plan.size} data bytes")
        else:
            click.echo(f"PING {host} ({address}) {plan.size}({plan.size + 8 + header_size}) "
                       "bytes of data.")

    def report(event: PingEvent, rtt: float | None, duplicate: bool) -> None:
        if stream:
            print_json_line({"type": event.kind, "seq": event.seq, "from": event.source,
                             "bytes": event.size, "ttl": event.ttl,
                             "rtt_ms": None if rtt is None else rtt * 1e3,
                             "duplicate": duplicate, "message": event.message})
        elif not quiet:
            click.echo(_event_line(event, rtt, duplicate))

    stop = StopFlag()
    started = time.monotonic()
    with stop_on_signals(stop):
        stats = run_ping(pinger, plan, stop=stop, on_event=report)
    elapsed = time.monotonic() - started
    rtt = stats.rtt_summary_ms()
    if as_json or stream:
        document = {"host": host, "address": address, "transmitted": stats.transmitted,
                    "received": stats.received, "duplicates": stats.duplicates,
                    "errors": stats.errors, "loss_percent": stats.loss_percent,
                    "time_ms": elapsed * 1e3, "socket": "datagram" if pinger.datagram else "raw",
                    "rtt_ms": None if rtt is None else dict(zip(("min", "avg", "max", "mdev"),
                                                                rtt, strict=True))}
        (print_json_line if stream else print_json)({"type": "summary", **document}
                                                    if stream else document)
    else:
        click.echo("")
        for line in stats.summary_lines(host, elapsed):
            click.echo(line)
    if stats.received == 0:
        raise click.exceptions.Exit(1)
