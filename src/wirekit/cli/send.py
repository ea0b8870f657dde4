"""``wirekit send tcp|udp|icmp|arp|raw``: craft frames and send them from one packet socket.

The options come in groups that every sub-command which can use them shares (one definition
each, applied by a decorator): output (count, pacing, ``-w``, ``-v``, ``--json``), link (MACs,
VLAN), IP (TTL, TOS, identification, DF, fragmentation, options), payload, ``--inc`` and, for
TCP, the TCP options.  Their values are checked in :mod:`wirekit.link.craft` before anything is
opened or resolved, so a bad one is one line and exit 2.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from wirekit.capture.engine import StopFlag, stop_on_signals
from wirekit.cli.common import IP_ADDRESS, discard_partial, print_json
from wirekit.errors import EXIT_INTERRUPTED, InterfaceError, UsageError
from wirekit.link.caps import require_capability
from wirekit.link.craft import (
    Increment,
    IPFields,
    LinkPath,
    TCPOptions,
    VlanTag,
    arp_frame,
    check_frag_size,
    datagram_length,
    ethernet_interface,
    fragment,
    icmp_frame,
    link_path,
    offline_path,
    parse_hex_frame,
    parse_ip,
    parse_ip_options,
    parse_mac,
    parse_timestamp,
    payload_from,
    stepped,
    tcp_frame,
    udp_frame,
)
from wirekit.link.interfaces import Interface
from wirekit.link.neighbour import ZERO_MAC, loopback_caveat


class _Integer(click.types.IntParamType):
    """An integer in decimal or with a 0x/0o/0b prefix (``--tos 0xb8``), within a range.

    Built on the integer type, whose base class is generic only in newer clicks.
    """

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip(), 0)
            except ValueError:
                self.fail(f"{value!r} is not an integer.", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"{value} is not in the range {self.low}-{self.high}.", param, ctx)
        return number


PORT = click.IntRange(0, 65535)
#: The longest gap --interval (or --rate) may ask for: 10**7 s, about 116 days, the bound of
#: replay --duration and capture -G as well; -w stamps datagram k at k * interval.
MAX_INTERVAL = 10 ** 7
U32 = click.IntRange(0, 2**32 - 1)
#: The frames of datagram ``n`` of ``--count`` (one frame, or its fragments).
Maker = Callable[[int], list[bytes]]
Decorator = Callable[[Any], Any]


def _group(*options: Decorator) -> Decorator:
    """One decorator applying ``options`` in the order given (as they appear in --help)."""

    def apply(function: Any) -> Any:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


_output_options = _group(
    click.option("-c", "--count", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Send this many datagrams (frames, or fragment trains with "
                      "--frag-size); without pacing they are batched with sendmmsg."),
    click.option("--interval", type=float, metavar="SECONDS",
                 help="Pace: one datagram every SECONDS (absolute schedule, no drift)."),
    click.option("--rate", type=float, metavar="PPS",
                 help="Pace: PPS datagrams per second (the same as --interval 1/PPS)."),
    click.option("-w", "--write", "write_file", metavar="FILE",
                 type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                 help="Write the frames to FILE (pcap; pcapng for .pcapng; - for stdout) "
                      "instead of sending them: needs no CAP_NET_RAW and asks nothing of the "
                      "network."),
    click.option("-v", "verbose", is_flag=True, help="Show every field of the first frame."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
)

_link_options = _group(
    click.option("--dst-mac", metavar="MAC", help="Destination MAC (default: resolved)."),
    click.option("--src-mac", metavar="MAC", help="Source MAC (default: the interface's)."),
    click.option("--vlan", metavar="ID[:PRIO]",
                 help="Add an 802.1Q tag: VLAN ID 0-4094, priority 0-7 (default 0)."),
)

_ip_options = _group(
    click.option("--ttl", type=click.IntRange(0, 255), default=64, show_default=True,
                 help="IPv4 TTL / IPv6 hop limit."),
    click.option("--tos", type=_Integer(0, 255), default=0,
                 help="IPv4 TOS / IPv6 traffic class byte (DSCP << 2 | ECN), e.g. 0xb8."),
    click.option("--ip-id", type=_Integer(0, 2**32 - 1),
                 help="IPv4 identification (default 1); for IPv6 the Fragment header's "
                      "(with --frag-size; default: a CRC-32 of the packet)."),
    click.option("--df", is_flag=True, help="Set IPv4 Don't Fragment."),
    click.option("--frag-size", type=int, metavar="N",
                 help="Fragment (IPv4 and IPv6) so that each fragment carries at most N "
                      "bytes of IP payload, transport header included; N a multiple of 8."),
    click.option("--ip-options", metavar="HEX",
                 help="Raw IPv4 options, padded to 4 bytes (e.g. 94040000: router alert)."),
)

_payload_options = _group(
    click.option("--payload", metavar="TEXT", help="Payload text."),
    click.option("--payload-hex", metavar="HEX", help="Payload as hex bytes."),
    click.option("--payload-file", metavar="PATH",
                 type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="Payload: the bytes of this file."),
    click.option("--payload-size", type=click.IntRange(min=0), metavar="N",
                 help="Payload: N zero bytes (or --payload-pattern repeated)."),
    click.option("--payload-pattern", metavar="HEX",
                 help="With --payload-size: fill with these bytes repeated (ping -p)."),
)

_tcp_options = _group(
    click.option("--mss", type=PORT, help="TCP option: maximum segment size."),
    click.option("--wscale", type=click.IntRange(0, 255),
                 help="TCP option: window scale shift (RFC 7323 allows up to 14)."),
    click.option("--sack-perm", is_flag=True, help="TCP option: SACK permitted."),
    click.option("--timestamp", metavar="TSVAL[:TSECR]", help="TCP option: timestamps."),
)


def _inc_option(*fields: str) -> Decorator:
    return click.option(
        "--inc", "increments", multiple=True, metavar="FIELD[:STEP]",
        help=f"Add STEP (default 1) to FIELD in each next datagram of --count; repeatable. "
             f"FIELD: {', '.join(fields)}.")


# -- settings out of the options ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Output:
    count: int
    interval: float
    write: Path | None
    verbose: bool
    as_json: bool

    @property
    def to_stdout(self) -> bool:
        return self.write is not None and str(self.write) == "-"


def _output(options: dict[str, Any]) -> _Output:
    interval, rate = options.pop("interval"), options.pop("rate")
    if interval is not None and rate is not None:
        raise UsageError("give --interval or --rate, not both")
    for name, value in (("--interval", interval), ("--rate", rate)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name} must be a number greater than 0, not {value:g}")
    gap = interval if interval is not None else (1.0 / rate if rate is not None else 0.0)
    if gap > MAX_INTERVAL:
        given = f"--interval {interval:g}" if interval is not None else f"--rate {rate:g}"
        raise UsageError(f"{given}: at most {MAX_INTERVAL} s between datagrams "
                         f"(--rate at least {1 / MAX_INTERVAL:g})")
    output = _Output(options.pop("count"), gap, options.pop("write_file"),
                     options.pop("verbose"), options.pop("as_json"))
    if output.to_stdout and output.as_json:
        raise UsageError("-w - writes the capture to standard output; --json cannot share it")
    return output


@dataclass(frozen=True, slots=True)
class _Link:
    dst_mac: str | None
    src_mac: str | None
    vlan: VlanTag | None


def _link(options: dict[str, Any]) -> _Link:
    dst, src, vlan = options.pop("dst_mac"), options.pop("src_mac"), options.pop("vlan")
    return _Link(None if dst is None else parse_mac(dst, "--dst-mac"),
                 None if src is None else parse_mac(src, "--src-mac"),
                 None if vlan is None else VlanTag.parse(vlan))


@dataclass(frozen=True, slots=True)
class _IPPlan:
    """The IP header of every datagram, how to fragment it, and what ``--inc`` steps there."""

    fields: IPFields
    version: int
    frag_size: int | None
    increments: tuple[Increment, ...]

    @property
    def steps_ident(self) -> bool:
        return any(increment.field == "ip-id" for increment in self.increments)

    def fields_for(self, index: int) -> IPFields:
        if not self.steps_ident or self.version == 6:
            return self.fields
        base = 1 if self.fields.ident is None else self.fields.ident
        return replace(self.fields, ident=stepped(base, self.increments, "ip-id", index, 16))

    def frames(self, packet: Any, index: int) -> list[bytes]:
        """The frames of datagram ``index``: whole, or fragmented (checked once: every
        datagram of a run has the first one's length)."""
        if index == 0:
            datagram_length(bytes(packet))
        ident = self.fields.ident
        if self.version == 6 and self.steps_ident:
            ident = stepped(1 if ident is None else ident, self.increments, "ip-id", index, 32)
        return fragment(packet, self.frag_size, ident=ident)


def _ip_plan(options: dict[str, Any], destination: str,
             increments: tuple[Increment, ...]) -> _IPPlan:
    frag_size = options.pop("frag_size")
    if frag_size is not None:
        check_frag_size(frag_size)
    raw_options = options.pop("ip_options")
    fields = IPFields(ttl=options.pop("ttl"), tos=options.pop("tos"), ident=options.pop("ip_id"),
                      df=options.pop("df"),
                      options=b"" if raw_options is None else parse_ip_options(raw_options))
    version = parse_ip(destination, "destination").version
    fields.check(version, fragmenting=frag_size is not None)
    plan = _IPPlan(fields, version, frag_size, increments)
    if version == 6 and plan.steps_ident and frag_size is None:
        raise UsageError("--inc ip-id with IPv6 steps the Fragment header's identification: "
                         "it needs --frag-size")
    return plan


def _payload(options: dict[str, Any]) -> bytes:
    return payload_from(text=options.pop("payload"), hex_text=options.pop("payload_hex"),
                        file=options.pop("payload_file"), size=options.pop("payload_size"),
                        pattern=options.pop("payload_pattern"))


def _increments(options: dict[str, Any], fields: Iterable[str]) -> tuple[Increment, ...]:
    allowed = list(fields)
    return tuple(Increment.parse(text, allowed) for text in options.pop("increments"))


def _tcp_settings(options: dict[str, Any]) -> TCPOptions:
    stamp = options.pop("timestamp")
    return TCPOptions(mss=options.pop("mss"), wscale=options.pop("wscale"),
                      sack_perm=options.pop("sack_perm"),
                      timestamp=None if stamp is None else parse_timestamp(stamp))


# -- where the frames go -----------------------------------------------------------------------

def _require(iface: str) -> None:
    """Check the capability first, before any name resolution sends an ARP request."""
    require_capability("CAP_NET_RAW", f"sending frames on {iface}")


def _warn_loopback(ifname: str, destination: str) -> None:
    caveat = loopback_caveat(ethernet_interface(ifname), destination)
    if caveat:
        click.echo(f"wirekit: warning: {caveat}", err=True)


@dataclass(frozen=True, slots=True)
class _Datagram:
    """What tcp, udp and icmp read from the shared option groups, in one order (so that with
    several bad options the first one reported is always the same)."""

    output: _Output
    increments: tuple[Increment, ...]
    plan: _IPPlan
    payload: bytes
    path: LinkPath
    extra: Any = None


def _datagram(options: dict[str, Any], iface: str, source: str, destination: str,
              fields: tuple[str, ...], *, extra: Callable[[dict[str, Any]], Any] | None = None,
              ) -> _Datagram:
    """Output, link, increments of ``fields``, IP plan, payload, ``extra`` (the TCP options),
    then the MACs of the path."""
    output, link = _output(options), _link(options)
    increments = _increments(options, fields)
    plan = _ip_plan(options, destination, increments)
    payload = _payload(options)
    parsed = extra(options) if extra is not None else None
    path = _path(iface, source, destination, link, output)
    return _Datagram(output, increments, plan, payload, path, parsed)


def _path(iface: str, source: str, destination: str, link: _Link, output: _Output) -> LinkPath:
    """The MACs: resolved for sending, or (``-w``) given, or read without asking anyone."""
    parse_ip(source, "source")
    parse_ip(destination, "destination")
    if output.write is not None:
        return offline_path(iface, destination, destination_mac=link.dst_mac,
                            source_mac=link.src_mac, vlan=link.vlan)
    _require(iface)
    _warn_loopback(iface, destination)
    return link_path(iface, destination, source=source, destination_mac=link.dst_mac,
                     source_mac=link.src_mac, vlan=link.vlan)


def _units(make: Maker, count: int, varies: bool) -> tuple[list[bytes], Iterator[list[bytes]]]:
    """The first datagram's frames, and an iterator over all ``count`` (built lazily)."""
    first = make(0)
    if not varies:
        return first, itertools.repeat(first, count)
    return first, itertools.chain([first], (make(index) for index in range(1, count)))


def _emit(iface: str, make: Maker, output: _Output, *, varies: bool = False) -> None:
    """Build the datagrams, send (or write) them, and say what happened."""
    first, units = _units(make, output.count, varies)
    stop = StopFlag()
    with stop_on_signals(stop):
        if output.write is not None:
            tally = _write(iface, output, units, stop)
        else:
            tally = _send(iface, output, units, stop)
    _report(iface, output, first, tally)
    if tally.datagrams < output.count:  # only a signal ends a run early
        click.echo(f"wirekit: interrupted ({stop.reason}) after {tally.datagrams} of "
                   f"{output.count} datagrams", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)


@dataclass(frozen=True, slots=True)
class _Tally:
    """What went out (or into the file)."""

    datagrams: int
    frames: int
    bytes: int


def _send(iface: str, output: _Output, units: Iterator[list[bytes]],
          stop: StopFlag) -> _Tally:
    from wirekit.link.sender import FrameSender, send_units

    with FrameSender(iface) as sender:
        done = send_units(sender, units, interval=output.interval, stop=lambda: bool(stop))
        return _Tally(done, sender.counters.packets, sender.counters.bytes)


def _write(iface: str, output: _Output, units: Iterator[list[bytes]],
           stop: StopFlag) -> _Tally:
    """Frames into the file; with pacing, datagram k is stamped k * interval after the first."""
    from wirekit.pcap import LinkType, Writer

    assert output.write is not None
    done = frames = size = 0
    start, step = time.time_ns(), round(output.interval * 1e9)
    writer = Writer(str(output.write), LinkType.ETHERNET, interface_name=iface,
                    nanosecond=step % 1000 != 0)
    try:
        with writer:
            for index, unit in enumerate(units):
                if stop:  # a signal: the frames so far stay, in a valid file
                    break
                for frame in unit:
                    writer.write(frame, start + index * step)
                    size += len(frame)
                frames += len(unit)
                done += 1
    except Exception:
        # An error (a timestamp past 2106, a full disk): no file of some of the datagrams.
        discard_partial(output.write)
        raise
    return _Tally(done, frames, size)


def _reassembled(fragments: list[bytes]) -> Any:
    """The datagram the fragments make, for its summary line (what the peer will see)."""
    from wirekit.packet import IPv4, parse, reassemble_ipv4, reassemble_ipv6

    pieces = [parse(frame) for frame in fragments]
    return (reassemble_ipv4 if IPv4 in pieces[0] else reassemble_ipv6)(pieces)


def _report(iface: str, output: _Output, first: list[bytes], tally: _Tally) -> None:
    """One line (or a JSON object): what went where; the summary is the first datagram's
    (reassembled when fragmented), ``-v``, ``hex`` and ``packet`` show its first frame."""
    from wirekit.packet import Ether, parse

    done, frames = tally.datagrams, tally.frames
    shown = parse(first[0])
    datagram = _reassembled(first) if len(first) > 1 else shown
    lengths = sorted({len(frame) for frame in first})
    where = f"to {output.write}" if output.write is not None else f"on {iface}"
    if output.as_json:
        document: dict[str, Any] = {
            "interface": iface, "frames": frames, "bytes": tally.bytes, "datagrams": done,
            "requested": output.count, "fragments": len(first),
            "frame_length": len(first[0]), "summary": datagram.summary(),
            "hex": first[0].hex(),
            "packet": shown.to_dict(), "interrupted": done < output.count}
        if output.write is not None:
            document["file"] = str(output.write)
        print_json(document)
        return
    verb = "wrote" if output.write is not None else "sent"
    plural = "s" if frames != 1 else ""
    if len(first) > 1:
        shape = f"{done} datagram{'s' * (done != 1)}, {len(first)} fragments each, " \
                f"{lengths[0]}-{lengths[-1]} bytes"
    else:
        shape = f"{lengths[0]} bytes each"
    ether = shown.getlayer(Ether)
    macs = f"{ether.src} > {ether.dst}, " if ether is not None else ""
    # Plain lines, not rich: a summary must not be wrapped or read as markup ("Flags [S]").
    click.echo(f"{verb} {frames} frame{plural} ({shape}) {where}: {macs}{datagram.summary()}",
               err=output.to_stdout)
    if output.verbose:
        click.echo(shown.show_text().rstrip(), err=output.to_stdout)


@click.group(epilog="""\b
Examples:
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 --flags S --seq 1000
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 --mss 1460 --sack-perm \\
      --timestamp 100 --wscale 7                          a Linux-like SYN
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 -c 100 --rate 10 --inc sport
  wirekit send udp 10.0.0.1 10.0.0.2 5000 53 eth0 --payload hello --count 100
  wirekit send udp 10.0.0.1 10.0.0.2 5000 9 eth0 --payload-size 3000 --frag-size 1024
  wirekit send udp 10.0.0.1 10.0.0.2 5000 9 eth0 --vlan 100:5 --dst-mac 02:00:00:00:00:02
  wirekit send icmp 10.0.0.1 10.0.0.2 eth0 --seq 1 --tos 0xb8 --df
  wirekit send arp eth0 --pdst 10.0.0.2
  wirekit send raw eth0 ffffffffffff020000000001080600...
  wirekit send udp 10.0.0.1 10.0.0.2 1 2 x -w test.pcap \\
      --src-mac 02:00:00:00:00:01 --dst-mac 02:00:00:00:00:02   offline, to a file

Ctrl-C (or SIGTERM) stops after the current batch: the report says how many
datagrams went (or were written; the file stays valid) and the exit code is 130.
""")
def send() -> None:
    """Craft frames and send them on an interface (needs CAP_NET_RAW), or write them to a
    capture file with -w (needs nothing).

    The source MAC is the interface's; the destination MAC comes from the neighbour table,
    or from an ARP request (neighbour solicitation for IPv6) when the entry is missing.
    Lengths and checksums are computed.  IPv6 addresses give IPv6 frames.  Every
    sub-command takes --count, --interval/--rate, -w, -v and --json; tcp, udp and icmp share
    the link, IP, payload and --inc options; see each one's --help.
    """


@send.command("tcp", epilog="""\b
Examples:
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 --flags PA --payload hi --seq 1000
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 --mss 1460 --sack-perm --timestamp 1:0
  wirekit send tcp 10.0.0.1 10.0.0.2 1024 80 eth0 -c 1000 --inc sport --rate 100
""")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("sport", type=PORT)
@click.argument("dport", type=PORT)
@click.argument("iface")
@click.option("--flags", default="S", show_default=True, help="TCP flags, e.g. S, SA, R, PA.")
@click.option("--seq", type=U32, default=0, show_default=True)
@click.option("--ack", type=U32, default=0, show_default=True)
@click.option("--window", type=PORT, default=65535, show_default=True)
@_tcp_options
@_ip_options
@_payload_options
@_link_options
@_inc_option("sport", "dport", "seq", "ack", "ip-id")
@_output_options
def send_tcp(*, src: str, dst: str, sport: int, dport: int, iface: str, flags: str, seq: int,
             ack: int, window: int, **options: Any) -> None:
    """Send a TCP segment SRC:SPORT -> DST:DPORT out of IFACE."""
    job = _datagram(options, iface, src, dst, ("sport", "dport", "seq", "ack", "ip-id"),
                    extra=_tcp_settings)
    increments, plan = job.increments, job.plan

    def make(index: int) -> list[bytes]:
        packet = tcp_frame(job.path, src, dst, stepped(sport, increments, "sport", index, 16),
                           stepped(dport, increments, "dport", index, 16), flags=flags,
                           seq=stepped(seq, increments, "seq", index, 32),
                           ack=stepped(ack, increments, "ack", index, 32), window=window,
                           payload=job.payload, ip=plan.fields_for(index), options=job.extra)
        return plan.frames(packet, index)

    _emit(iface, make, job.output, varies=bool(increments))


@send.command("udp", epilog="""\b
Examples:
  wirekit send udp 10.0.0.1 10.0.0.2 5000 53 eth0 --payload-file query.bin
  wirekit send udp fd00::1 fd00::2 5000 9 eth0 --payload-size 4000 --frag-size 1232
  wirekit send udp 10.0.0.1 10.0.0.2 5000 9 eth0 -c 50 --inc dport --interval 0.1
""")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("sport", type=PORT)
@click.argument("dport", type=PORT)
@click.argument("iface")
@_ip_options
@_payload_options
@_link_options
@_inc_option("sport", "dport", "ip-id")
@_output_options
def send_udp(*, src: str, dst: str, sport: int, dport: int, iface: str,
             **options: Any) -> None:
    """Send a UDP datagram SRC:SPORT -> DST:DPORT out of IFACE."""
    job = _datagram(options, iface, src, dst, ("sport", "dport", "ip-id"))
    increments, plan = job.increments, job.plan

    def make(index: int) -> list[bytes]:
        packet = udp_frame(job.path, src, dst, stepped(sport, increments, "sport", index, 16),
                           stepped(dport, increments, "dport", index, 16),
                           payload=job.payload, ip=plan.fields_for(index))
        return plan.frames(packet, index)

    _emit(iface, make, job.output, varies=bool(increments))


@send.command("icmp", epilog="""\b
Examples:
  wirekit send icmp 10.0.0.1 10.0.0.2 eth0 --id 7 -c 10 --inc seq --interval 1
  wirekit send icmp 10.0.0.1 10.0.0.2 eth0 --payload-size 1472 --df    path MTU probe
""")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("iface")
@click.option("--type", "icmp_type", type=click.IntRange(0, 255),
              help="ICMP type (default: echo request, 8; 128 for ICMPv6).")
@click.option("--code", type=click.IntRange(0, 255), default=0, show_default=True)
@click.option("--id", "ident", type=PORT, default=0, show_default=True,
              help="ICMP identifier (the IP one is --ip-id).")
@click.option("--seq", type=PORT, default=0, show_default=True, help="ICMP sequence number.")
@_ip_options
@_payload_options
@_link_options
@_inc_option("seq", "id", "ip-id")
@_output_options
def send_icmp(*, src: str, dst: str, iface: str, icmp_type: int | None, code: int, ident: int,
              seq: int, **options: Any) -> None:
    """Send an ICMP (ICMPv6 for IPv6 addresses) message SRC -> DST out of IFACE."""
    job = _datagram(options, iface, src, dst, ("seq", "id", "ip-id"))
    increments, plan = job.increments, job.plan

    def make(index: int) -> list[bytes]:
        packet = icmp_frame(job.path, src, dst, icmp_type=icmp_type, code=code,
                            ident=stepped(ident, increments, "id", index, 16),
                            seq=stepped(seq, increments, "seq", index, 16),
                            payload=job.payload, ip=plan.fields_for(index))
        return plan.frames(packet, index)

    _emit(iface, make, job.output, varies=bool(increments))


@send.command("arp", epilog="""\b
Examples:
  wirekit send arp eth0 --pdst 10.0.0.2
  wirekit send arp eth0 --op reply --psrc 10.0.0.1 --pdst 10.0.0.2 --hwdst 02:00:00:00:00:02
  wirekit send arp eth0 --pdst 10.0.0.2 --vlan 100
""")
@click.argument("iface")
@click.option("--op", type=click.Choice(["request", "reply"]), default="request",
              show_default=True)
@click.option("--pdst", required=True, help="Target protocol (IPv4) address.")
@click.option("--psrc", help="Sender protocol address (default: the interface's IPv4).")
@click.option("--hwsrc", help="Sender hardware address (default: the source MAC).")
@click.option("--hwdst", help="Target hardware address (default: zeros for a request).")
@_link_options
@_output_options
def send_arp(*, iface: str, op: str, pdst: str, psrc: str | None, hwsrc: str | None,
             hwdst: str | None, **options: Any) -> None:
    """Send an ARP request (broadcast) or reply out of IFACE."""
    output, link = _output(options), _link(options)
    interface: Interface | None = None
    if output.write is None:
        _require(iface)
        interface = ethernet_interface(iface)
    elif psrc is None or link.src_mac is None:
        try:
            interface = ethernet_interface(iface)
        except InterfaceError:
            raise UsageError(f"there is no interface {iface} to take addresses from; give "
                             "--psrc and --src-mac to write ARP frames offline") from None
    own = psrc
    if own is None and interface is not None:
        own = next((a.address for a in interface.ipv4()), None)
    if own is None:
        raise UsageError(f"{iface} has no IPv4 address; give --psrc")
    source_mac = link.src_mac or (interface.mac if interface is not None else None) or ZERO_MAC
    frame = bytes(arp_frame(source_mac, op=1 if op == "request" else 2, psrc=own, pdst=pdst,
                            hwsrc=hwsrc, hwdst=hwdst, destination_mac=link.dst_mac,
                            vlan=link.vlan))
    _emit(iface, lambda _index: [frame], output)


@send.command("raw", epilog="""\b
Examples:
  wirekit send raw eth0 ffffffffffff020000000001080600...
  wirekit send raw eth0 "$(cat frame.hex)" -c 1000 --rate 100
""")
@click.argument("iface")
@click.argument("hex_frame", metavar="HEX")
@_output_options
def send_raw(*, iface: str, hex_frame: str, **options: Any) -> None:
    """Send a ready-made Ethernet frame, given in hex, out of IFACE as it is."""
    output = _output(options)
    frame = parse_hex_frame(hex_frame)
    if output.write is None:
        _require(iface)
        ethernet_interface(iface)
    _emit(iface, lambda _index: [frame], output)
