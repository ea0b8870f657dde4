"""``wirekit capture IFACE [FILTER...]``: live capture through a TPACKET_V3 ring."""

from __future__ import annotations

from pathlib import Path

import click

from wirekit.capture.engine import FILE_LIMIT
from wirekit.capture.rotation import Rotation, parse_file_size
from wirekit.capture.session import CaptureSession, OutputSpec
from wirekit.capture.source import DIRECTIONS, CaptureOptions
from wirekit.cli.options import link_level_option, time_style_option
from wirekit.errors import UsageError
from wirekit.link.afpacket import FANOUT_MODES
from wirekit.link.bpf import DEFAULT_SNAPLEN as MAX_SNAPLEN
from wirekit.link.bpf import compile_filter
from wirekit.link.ring import MAX_BLOCK_KIB, MAX_BUFFER_KIB, RingConfig
from wirekit.pcap.timestamps import TimeStyle


def _display(*, verbose: bool, hex_dump: bool, json_stream: bool, quiet: bool,
             writing: bool, also_print: bool) -> str:
    chosen = [name for name, flag in (("verbose", verbose), ("hex", hex_dump),
                                      ("json", json_stream)) if flag]
    if len(chosen) > 1:
        raise UsageError("choose one of -v, --hex and --json-stream")
    if chosen:
        return chosen[0]
    if quiet or (writing and not also_print):
        return "none"
    return "summary"


@click.command(epilog="""\b
Examples:
  wirekit capture eth0                          summary lines until Ctrl-C
  wirekit capture eth0 tcp port 443 -c 100      the first 100 HTTPS packets
  wirekit capture any -w all.pcapng             every interface, Linux cooked v2 framing
  wirekit capture eth0 -w big.pcap -B 262144 --workers 2
                                                256 MiB rings, two fanout workers
  wirekit capture eth0 -v icmp                  the full breakdown of each ICMP packet
  wirekit capture eth0 -d 'udp and not port 53' print the compiled BPF and exit
  wirekit capture eth0 -Q out -tttt tcp         what this host sends, with dates
  wirekit capture eth0 -w ring.pcap -C 100 -W 10
                                                a ring of ten 100 MB files: ring.pcap0..9
  wirekit capture eth0 -w 'dump-%H%M.pcap' -G 600 -W 6
                                                one file per 10 minutes, stop after an hour
""")
@click.argument("iface")
@click.argument("filter_words", nargs=-1, metavar="[FILTER]...")
@click.option("-c", "count", type=click.IntRange(min=1), help="Stop after N packets.")
@click.option("-w", "write_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write packets to FILE: pcapng when it ends in .pcapng, pcap otherwise.")
@click.option("-s", "snaplen", type=click.IntRange(0, MAX_SNAPLEN), default=MAX_SNAPLEN,
              show_default=True,
              help=f"Keep at most this many bytes of each packet; 0 means {MAX_SNAPLEN}, the "
                   "maximum (as tcpdump -s 0).")
@click.option("-v", "verbose", is_flag=True, help="Print every field of every packet.")
@click.option("--hex", "hex_dump", is_flag=True, help="Print each packet in hex and ASCII.")
@click.option("--json-stream", is_flag=True, help="Print one JSON object per packet.")
@click.option("--print", "also_print", is_flag=True,
              help="Print summary lines even while writing a file (as tcpdump --print).")
@click.option("-q", "quiet", is_flag=True, help="Print no packets, only the statistics.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Spread the capture over N processes (PACKET_FANOUT).")
@click.option("--fanout-mode", type=click.Choice(sorted(FANOUT_MODES)), default="hash",
              show_default=True, help="How the kernel spreads packets over the workers.")
@click.option("--no-promisc", is_flag=True, help="Do not put the interface in promiscuous mode.")
@click.option("-B", "buffer_kib", type=click.IntRange(8, MAX_BUFFER_KIB),
              help="Ring size in KiB per socket (default 65536 = 64 MiB; under 4 GiB).")
@click.option("--block-size", "block_kib", type=click.IntRange(4, MAX_BLOCK_KIB),
              help="Ring block size in KiB, a power of two (default 2048).")
@click.option("--nano", is_flag=True, help="Nanosecond timestamps (file and display).")
@time_style_option
@link_level_option
@click.option("-C", "file_size", metavar="SIZE",
              help="With -w: start a new file once this one is larger than SIZE millions of "
                   "bytes (tcpdump -C; 512k, 64m, 1g: binary units).  Files after the first "
                   "get a number after the name: file1, file2...")
@click.option("-G", "rotate_seconds", type=click.IntRange(1, 10 ** 7),
              help="With -w: start a new file every N seconds; the -w name goes through "
                   "strftime (dump-%H%M%S.pcap), as in tcpdump -G.")
@click.option("-W", "file_count", type=click.IntRange(1, 10 ** 6),
              help="With -C: keep a ring of N files, overwriting the oldest (names padded: "
                   "file0, file1...).  With -G alone: stop after N files.")
@click.option("-Q", "--direction", type=click.Choice(DIRECTIONS), default="inout",
              show_default=True,
              help="Keep only frames received (in) or sent (out) by this host, as tcpdump "
                   "-Q.  On loopback every frame is an incoming one, so `-Q out` shows none.")
@click.option("-d", "dump", is_flag=True, help="Print the compiled BPF program and exit.")
@click.option("-Z", "--drop-privileges", "user", metavar="USER",
              help="Switch to USER once the sockets are open (as tcpdump -Z).")
def capture(*, iface: str, filter_words: tuple[str, ...], count: int | None,
            write_file: Path | None, snaplen: int, verbose: bool, hex_dump: bool,
            json_stream: bool, also_print: bool, quiet: bool, workers: int, fanout_mode: str,
            no_promisc: bool, buffer_kib: int | None, block_kib: int | None, nano: bool,
            time_style: int, direction: str, link_level: bool, file_size: str | None,
            rotate_seconds: int | None, file_count: int | None, dump: bool,
            user: str | None) -> None:
    """Capture packets on IFACE (or `any`) with an optional tcpdump-syntax FILTER.

    The filter is compiled by libpcap and runs in the kernel; frames are read in place from
    a TPACKET_V3 memory-mapped ring.  On -c, Ctrl-C or SIGTERM the capture stops, the file
    is completed, and tcpdump's three statistics lines are printed on stderr.
    Needs CAP_NET_RAW.
    """
    expression = " ".join(filter_words)
    snaplen = snaplen or MAX_SNAPLEN  # tcpdump habit: -s 0 is "the whole packet"
    display = _display(verbose=verbose, hex_dump=hex_dump, json_stream=json_stream, quiet=quiet,
                       writing=write_file is not None, also_print=also_print)
    options = CaptureOptions(
        interface=iface, expression=expression, snaplen=snaplen, promiscuous=not no_promisc,
        ring=RingConfig.from_kib(buffer_kib, block_kib), count=count, workers=workers,
        fanout_mode=fanout_mode, direction=direction)
    if dump:
        from wirekit.capture.source import resolve_device

        click.echo(compile_filter(expression, resolve_device(iface).link,
                                  snaplen=snaplen).dump())
        return
    style = TimeStyle(min(time_style, TimeStyle.SINCE_FIRST))
    rotation = Rotation(size=parse_file_size(file_size) if file_size is not None else 0,
                        seconds=rotate_seconds or 0, files=file_count or 0)
    session = CaptureSession(options, OutputSpec(write_file, display, nano, style, rotation,
                                                 link_level))
    try:
        if user is not None:
            session.drop_privileges(user)
        session.check_output()
        click.echo(session.banner(), err=True)
        result = session.run()
    finally:
        session.close()
    if display != "none":
        click.echo("", err=True)
    if result.reason == FILE_LIMIT:
        click.echo(f"Maximum file limit reached: {rotation.files}", err=True)
    for line in result.report_lines():
        click.echo(line, err=True)
    if result.error is not None:
        raise result.error
