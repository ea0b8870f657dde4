"""``wirekit ping HOST``: ICMP echo over IPv4 or IPv6, with iputils' options and output."""

from __future__ import annotations

import socket
import sys
import time
from dataclasses import dataclass

import click

from wirekit.capture.engine import StopFlag, stop_on_signals
from wirekit.cli.common import print_json, print_json_line
from wirekit.errors import UsageError
from wirekit.link.ping import (
    Pinger,
    PingEvent,
    PingPlan,
    PingStatistics,
    check_privilege,
    format_rtt,
    parse_deadline,
    parse_pattern,
    parse_pmtu_discovery,
    parse_tos,
    resolve_host,
    run_ping,
)
from wirekit.link.privileges import drop_privileges


def _family(force4: bool, force6: bool) -> int:
    if force4 and force6:
        raise UsageError("-4 and -6 exclude each other")
    return socket.AF_INET if force4 else socket.AF_INET6 if force6 else socket.AF_UNSPEC


def _timestamp() -> str:
    """``-D``: iputils' ``[seconds.microseconds] `` (gettimeofday, when the line is printed)."""
    now = time.time()
    seconds = int(now)
    return f"[{seconds}.{int((now - seconds) * 1e6):06d}] "


@dataclass(frozen=True, slots=True)
class Output:
    """How to report: iputils text (with -q, -D, -O, -a, -f) or JSON."""

    quiet: bool = False
    timestamps: bool = False
    outstanding: bool = False
    audible: bool = False
    flood: bool = False
    timing: bool = True
    as_json: bool = False
    stream: bool = False

    def line(self, event: PingEvent, rtt: float | None, duplicate: bool) -> str | None:
        """The text line for ``event`` (None when this kind prints no line here)."""
        prefix = _timestamp() if self.timestamps else ""
        if event.kind == "no-answer":
            return f"{prefix}no answer yet for icmp_seq={event.seq}"
        if event.kind == "error":
            return f"{prefix}From {event.source} icmp_seq={event.seq} {event.message}"
        if event.kind != "reply":
            return None
        ttl = f" ttl={event.ttl}" if event.ttl is not None else ""
        timed = f" time={format_rtt(rtt or 0.0)} ms" if self.timing else ""
        dup = " (DUP!)" if duplicate else ""
        bell = "\a" if self.audible else ""
        return (f"{prefix}{event.size} bytes from {event.source}: icmp_seq={event.seq}"
                f"{ttl}{timed}{dup}{bell}")

    def report(self, event: PingEvent, rtt: float | None, duplicate: bool) -> None:
        if self.as_json:
            return
        if self.stream:
            if event.kind == "sent" or (event.kind == "no-answer" and not self.outstanding):
                return
            print_json_line({"type": event.kind, "seq": event.seq, "from": event.source,
                             "bytes": event.size, "ttl": event.ttl,
                             "rtt_ms": None if rtt is None else rtt * 1e3,
                             "duplicate": duplicate, "message": event.message})
            return
        if event.kind == "no-answer":
            # iputils prints these even under -q (and under -f).
            if self.outstanding:
                click.echo(self.line(event, rtt, duplicate))
            return
        if self.quiet:
            return
        if self.flood:
            marks = {"sent": ".", "reply": "\b \b" + ("\a" if self.audible else ""),
                     "error": "\bE", "local-error": "E", "send-error": "E"}
            sys.stdout.write(marks.get(event.kind, ""))
            sys.stdout.flush()
            return
        if event.kind == "local-error":
            click.echo(f"ping: local error: {event.message}", err=True)
        elif event.kind == "send-error":
            click.echo(f"ping: {event.message}", err=True)
        else:
            text = self.line(event, rtt, duplicate)
            if text is not None:
                click.echo(text)


@click.command(epilog="""\b
Examples:
  wirekit ping 10.0.0.2 -c 3
  wirekit ping -6 fd00::2 -c 5 -i 0.2
  wirekit ping 10.0.0.2 -c 10 -s 1400 -W 2 --json
  wirekit ping 10.0.0.2 -w 5 -D -O          # five seconds, timestamps, missing replies
  wirekit ping 10.0.0.2 -f -c 1000          # flood: '.' per request, backspace per reply
  wirekit ping 10.0.0.2 -M do -s 1472 -c 1  # does 1500 bytes pass without fragmenting?
  wirekit ping 10.0.0.2 -Q 0xb8 -p ff00 -c 3
""")
@click.argument("host")
@click.option("-c", "count", type=click.IntRange(min=1), help="Stop after N requests (with -w: "
              "after N replies).")
@click.option("-i", "interval", type=float,
              help="Seconds between requests.  [default: 1; none with -f]")
@click.option("-s", "size", type=click.IntRange(0, 65507), default=56, show_default=True,
              help="Data bytes in each request.")
@click.option("-W", "linger", type=float, default=10.0, show_default=True,
              help="Seconds to wait for a reply after the last request, when none came back "
              "yet (otherwise twice the longest RTT).")
@click.option("-w", "deadline", metavar="SECONDS",
              help="Exit after this many seconds, however many requests were sent or answered "
              "(0: no deadline).")
@click.option("-t", "ttl", type=click.IntRange(1, 255), help="IP time to live / hop limit.")
@click.option("-I", "interface", help="Send through this interface (SO_BINDTODEVICE).")
@click.option("-4", "force4", is_flag=True, help="Use IPv4.")
@click.option("-6", "force6", is_flag=True, help="Use IPv6.")
@click.option("-q", "quiet", is_flag=True, help="Only the header and the summary.")
@click.option("-D", "timestamps", is_flag=True,
              help="Print the UNIX time [seconds.microseconds] before each line.")
@click.option("-O", "outstanding", is_flag=True,
              help="Report 'no answer yet for icmp_seq=N' before sending the next request.")
@click.option("-f", "flood", is_flag=True,
              help="Flood: no interval (next request once the last is answered, or after "
              "10 ms); '.' per request, backspace per reply.  Needs -c or -w; below 2 ms "
              "between requests needs CAP_NET_RAW.")
@click.option("-A", "adaptive", is_flag=True,
              help="Adaptive: the interval follows the smoothed RTT (2 ms at least without "
              "CAP_NET_RAW).  Needs -c or -w.")
@click.option("-p", "pattern", metavar="HEX",
              help="Fill the data with this pattern of up to 16 bytes (32 hex digits).")
@click.option("-Q", "tos", metavar="TOS",
              help="IPv4 TOS / IPv6 traffic class byte, decimal or 0x-hex (0-255).")
@click.option("-M", "pmtu", metavar="do|want|dont|probe",
              help="Path MTU discovery (IP_MTU_DISCOVER): do = never fragment (DF set, "
              "too-large requests fail locally), want, dont (DF clear), probe.")
@click.option("-n", "numeric", is_flag=True,
              help="Numeric output (accepted for iputils: wirekit never looks names up in its "
              "output).")
@click.option("-a", "audible", is_flag=True, help="Ring the bell (\\a) with each reply.")
@click.option("-Z", "--drop-privileges", "user", metavar="USER",
              help="Switch to USER once the socket is open.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--json-stream", is_flag=True, help="One JSON line per reply, then the summary.")
def ping(*, host: str, count: int | None, interval: float | None, size: int, linger: float,
         deadline: str | None, ttl: int | None, interface: str | None, force4: bool,
         force6: bool, quiet: bool, timestamps: bool, outstanding: bool, flood: bool,
         adaptive: bool, pattern: str | None, tos: str | None, pmtu: str | None, numeric: bool,
         audible: bool, user: str | None, as_json: bool, json_stream: bool) -> None:
    """Send ICMP echo requests to HOST and report replies, loss and round-trip times.

    Uses the unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows this
    process's group, and a raw socket (CAP_NET_RAW) otherwise.  Ctrl-C stops and prints the
    summary, as iputils ping does.  Exit 1 when no reply came back (with -w and -c: fewer
    than -c), 0 otherwise.
    """
    del numeric  # always numeric
    family_wanted = _family(force4, force6)
    plan = PingPlan(count=count, interval=interval, size=size, linger=linger,
                    deadline=parse_deadline(deadline) if deadline is not None else 0.0,
                    flood=flood, adaptive=adaptive,
                    pattern=parse_pattern(pattern) if pattern is not None else None)
    tos_value = parse_tos(tos) if tos is not None else None
    pmtu_value = parse_pmtu_discovery(pmtu) if pmtu is not None else None
    privileged = check_privilege(plan)
    family, address = resolve_host(host, family_wanted)
    pinger = Pinger(address, family, ttl=ttl, interface=interface, tos=tos_value,
                    pmtu_discovery=pmtu_value)
    output = Output(quiet=quiet or as_json, timestamps=timestamps, outstanding=outstanding,
                    audible=audible, flood=flood, timing=size >= 16, as_json=as_json,
                    stream=json_stream)
    try:
        if user is not None:
            drop_privileges(user)
        _run(pinger, plan, host, address, output=output, privileged=privileged)
    finally:
        pinger.close()


def _run(pinger: Pinger, plan: PingPlan, host: str, address: str, *, output: Output,
         privileged: bool) -> None:
    header_size = 40 if pinger.ipv6 else 20
    if not output.as_json and not output.stream:
        if plan.pattern is not None and not output.quiet:
            click.echo("PATTERN: 0x" + plan.pattern.hex())
        if pinger.ipv6:
            click.echo(f"PING {host}({address}) {plan.size} data bytes")
        else:
            click.echo(f"PING {host} ({address}) {plan.size}({plan.size + 8 + header_size}) "
                       "bytes of data.")

    stop = StopFlag()
    with stop_on_signals(stop):
        stats = run_ping(pinger, plan, stop=stop, on_event=output.report, privileged=privileged)
    _summary(stats, plan, host, address, output=output,
             kind="datagram" if pinger.datagram else "raw")
    code = plan.exit_code(stats)
    if code:
        raise click.exceptions.Exit(code)


def _summary(stats: PingStatistics, plan: PingPlan, host: str, address: str, *,
             output: Output, kind: str) -> None:
    elapsed = stats.elapsed()
    if output.as_json or output.stream:
        rtt = stats.rtt_summary_ms()
        document = {"host": host, "address": address, "transmitted": stats.transmitted,
                    "received": stats.received, "duplicates": stats.duplicates,
                    "errors": stats.errors, "loss_percent": stats.loss_percent,
                    "time_ms": elapsed * 1e3, "pipe": stats.pipesize, "socket": kind,
                    "rtt_ms": None if rtt is None else dict(zip(("min", "avg", "max", "mdev"),
                                                                rtt, strict=True))}
        if output.stream:
            print_json_line({"type": "summary", **document})
        else:
            print_json(document)
        return
    click.echo("")
    for line in stats.summary_lines(host, elapsed, rates=plan.flood or plan.adaptive):
        click.echo(line)
