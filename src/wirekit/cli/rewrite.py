"""``wirekit rewrite IN OUT``: edit a capture file's frames, as tcprewrite does.

The same edit options are on ``wirekit replay`` (as tcpreplay-edit has them); both build one
:class:`wirekit.rewrite.Rewrite` through :func:`rewrite_options`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from wirekit.cli.common import discard_partial
from wirekit.errors import UsageError
from wirekit.rewrite import Rewrite

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--enet-smac", metavar="MAC", help="Set the Ethernet source of every frame."),
    click.option("--enet-dmac", metavar="MAC",
                 help="Set the Ethernet destination of every frame."),
    click.option("-S", "--srcipmap", metavar="FROM:TO[,...]",
                 help="Move source addresses inside network FROM to network TO, keeping "
                      "their host bits (10.0.0.0/8:172.16.0.0/12; IPv6 in brackets: "
                      "[2001:db8::/32]:[fd00::/32]).  The first matching pair wins."),
    click.option("-D", "--dstipmap", metavar="FROM:TO[,...]",
                 help="The same for destination addresses."),
    click.option("--ttl", metavar="N|+N|-N",
                 help="Set, raise or lower the IPv4 TTL / IPv6 hop limit (kept in 1-255)."),
    click.option("--mtu", type=click.IntRange(68, 65535), default=1500, show_default=True,
                 help="The MTU that --mtu-trunc cuts to (bytes of IP packet)."),
    click.option("--mtu-trunc", is_flag=True,
                 help="Cut IP packets longer than --mtu and set their IP length to match."),
    click.option("-C", "--fixcsum", is_flag=True,
                 help="Recompute every IPv4, TCP, UDP, ICMP and ICMPv6 checksum (edits "
                      "alone update only what they touch, so a bad checksum stays bad)."),
)


def rewrite_options(command: F) -> F:
    """Add the edit options (tcprewrite's names) to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def rewrite_from(options: dict[str, Any]) -> Rewrite:
    """The :class:`Rewrite` the edit options ask for (removed from ``options``)."""
    names = ("enet_smac", "enet_dmac", "srcipmap", "dstipmap", "ttl", "mtu", "mtu_trunc",
             "fixcsum")
    return Rewrite.from_options(**{name: options.pop(name) for name in names})


@click.command(epilog="""\b
Examples:
  wirekit rewrite in.pcap out.pcap --enet-dmac 02:00:00:00:00:02
  wirekit rewrite in.pcap out.pcap -S 10.0.0.0/8:172.16.0.0/12 -D 192.168.1.0/24:10.9.9.0/24
  wirekit rewrite in.pcapng out.pcapng --ttl +5 --fixcsum
  wirekit rewrite in.pcap out.pcap --mtu 1000 --mtu-trunc
  wirekit replay in.pcap eth0 --enet-dmac 02:00:00:00:00:02   the same edits, while replaying
""")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@rewrite_options
def rewrite(source: Path, target: Path, **options: Any) -> None:
    """Copy the capture file IN to OUT with its frames edited (tcprewrite's options).

    OUT is pcapng when its name ends in .pcapng, pcap otherwise; timestamps, original
    lengths, and (pcapng) interfaces, comments and flags are kept.  Checksums an edit touches
    are updated incrementally (RFC 1624); --fixcsum recomputes them all.  Prints how many
    frames were edited.
    """
    edit = rewrite_from(options)
    if source.resolve() == target.resolve():
        raise UsageError("IN and OUT are the same file")
    from wirekit.pcap import Reader, Writer

    with Reader(str(source)) as reader:
        link = reader.link
        if link is None:
            raise UsageError(f"{source} holds no interface to copy")
        header = reader.header
        interfaces = reader.interfaces
        writer = Writer(str(target), link, nanosecond=bool(header and header.nanosecond),
                        snaplen=reader.snaplen or 262144,
                        interface_name=interfaces[0].name if interfaces else None)
        frames = edited = 0
        try:
            with writer:
                for record in reader:
                    frames += 1
                    if edit.active:
                        before = record.packet
                        after = edit.apply(before)
                        if after is not before:
                            record.packet = after
                        edited += after.edited
                    writer.write_packet(record)
        except BaseException:
            # A damaged record, a full disk or Ctrl-C: no half-copied OUT is left behind.
            discard_partial(target)
            raise
        if reader.truncation is not None:
            click.echo(f"warning: {reader.truncation}", err=True)
    click.echo(f"{frames} frames written to {target}, {edited} edited", err=True)
