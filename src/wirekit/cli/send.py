"""``wirekit send tcp|udp|icmp|arp|raw``: craft frames and send them from one packet socket."""

from __future__ import annotations

from typing import Any

import click

from wirekit.cli.common import IP_ADDRESS, print_json
from wirekit.errors import UsageError
from wirekit.link.caps import require_capability
from wirekit.link.craft import (
    arp_frame,
    ethernet_interface,
    icmp_frame,
    link_path,
    parse_hex_frame,
    tcp_frame,
    udp_frame,
)
from wirekit.link.neighbour import loopback_caveat
from wirekit.link.sender import FrameSender

PORT = click.IntRange(0, 65535)


def _common(function: Any) -> Any:
    """Options every sub-command has."""
    for option in reversed((
        click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Send the frame this many times (batched with sendmmsg)."),
        click.option("--dst-mac", help="Use this destination MAC instead of resolving it."),
        click.option("-v", "verbose", is_flag=True, help="Show every field of the frame."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    )):
        function = option(function)
    return function


def _require(iface: str) -> None:
    """Check the capability first, before any name resolution sends an ARP request."""
    require_capability("CAP_NET_RAW", f"sending frames on {iface}")


def _warn_loopback(ifname: str, destination: str) -> None:
    caveat = loopback_caveat(ethernet_interface(ifname), destination)
    if caveat:
        click.echo(f"wirekit: warning: {caveat}", err=True)


def _emit(ifname: str, packet: Any, count: int, verbose: bool, as_json: bool) -> None:
    """Send ``count`` copies of ``packet`` and say what went out."""
    frame = bytes(packet)
    with FrameSender(ifname) as sender:
        if count == 1:
            sender.send(frame)
        else:
            sender.send_many([frame] * count)
        sent = sender.counters
    from wirekit.packet import Ether, parse

    shown = parse(frame)
    if as_json:
        print_json({"interface": ifname, "frames": sent.packets, "bytes": sent.bytes,
                    "frame_length": len(frame), "summary": shown.summary(),
                    "hex": frame.hex(), "packet": shown.to_dict()})
        return
    plural = "s" if sent.packets != 1 else ""
    ether = shown.getlayer(Ether)
    macs = f"{ether.src} > {ether.dst}, " if ether is not None else ""
    # Plain lines, not rich: a summary must not be wrapped or read as markup ("Flags [S]").
    click.echo(f"sent {sent.packets} frame{plural} ({len(frame)} bytes each) on {ifname}: "
               f"{macs}{shown.summary()}")
    if verbose:
        click.echo(shown.show_text().rstrip())


def _payload(text: str | None, hex_text: str | None) -> bytes:
    if text is not None and hex_text is not None:
        raise UsageError("give --payload or --payload-hex, not both")
    if hex_text is not None:
        try:
            return bytes.fromhex(hex_text.replace(" ", ""))
        except ValueError:
            raise UsageError("--payload-hex is not valid hex") from None
    return (text or "").encode()


@click.group(epilog="""\b
Examples:
  wirekit send tcp 10.0.0.1 10.0.0.2 40000 80 eth0 --flags S --seq 1000
  wirekit send udp 10.0.0.1 10.0.0.2 5000 53 eth0 --payload hello --count 100
  wirekit send icmp 10.0.0.1 10.0.0.2 eth0 --seq 1
  wirekit send arp eth0 --pdst 10.0.0.2
  wirekit send raw eth0 ffffffffffff020000000001080600...
""")
def send() -> None:
    """Craft frames and send them on an interface (needs CAP_NET_RAW).

    The source MAC is the interface's; the destination MAC comes from the neighbour table,
    or from an ARP request (neighbour solicitation for IPv6) when the entry is missing.
    Lengths and checksums are computed.  IPv6 addresses give IPv6 frames.
    """


@send.command("tcp")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("sport", type=PORT)
@click.argument("dport", type=PORT)
@click.argument("iface")
@click.option("--flags", default="S", show_default=True, help="TCP flags, e.g. S, SA, R, PA.")
@click.option("--seq", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--ack", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option("--window", type=PORT, default=65535, show_default=True)
@click.option("--ttl", type=click.IntRange(0, 255), default=64, show_default=True)
@click.option("--payload", help="Payload text.")
@click.option("--payload-hex", help="Payload as hex bytes.")
@_common
def send_tcp(*, src: str, dst: str, sport: int, dport: int, iface: str, flags: str, seq: int,
             ack: int, window: int, ttl: int, payload: str | None, payload_hex: str | None,
             count: int, dst_mac: str | None, verbose: bool, as_json: bool) -> None:
    """Send a TCP segment SRC:SPORT -> DST:DPORT out of IFACE (the seed's `tcp` command)."""
    _require(iface)
    _warn_loopback(iface, dst)
    path = link_path(iface, dst, source=src, destination_mac=dst_mac)
    packet = tcp_frame(path, src, dst, sport, dport, flags=flags, seq=seq, ack=ack,
                       window=window, payload=_payload(payload, payload_hex), ttl=ttl)
    _emit(iface, packet, count, verbose, as_json)


@send.command("udp")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("sport", type=PORT)
@click.argument("dport", type=PORT)
@click.argument("iface")
@click.option("--ttl", type=click.IntRange(0, 255), default=64, show_default=True)
@click.option("--payload", help="Payload text.")
@click.option("--payload-hex", help="Payload as hex bytes.")
@_common
def send_udp(*, src: str, dst: str, sport: int, dport: int, iface: str, ttl: int,
             payload: str | None, payload_hex: str | None, count: int, dst_mac: str | None,
             verbose: bool, as_json: bool) -> None:
    """Send a UDP datagram SRC:SPORT -> DST:DPORT out of IFACE."""
    _require(iface)
    _warn_loopback(iface, dst)
    path = link_path(iface, dst, source=src, destination_mac=dst_mac)
    packet = udp_frame(path, src, dst, sport, dport, payload=_payload(payload, payload_hex),
                       ttl=ttl)
    _emit(iface, packet, count, verbose, as_json)


@send.command("icmp")
@click.argument("src", type=IP_ADDRESS)
@click.argument("dst", type=IP_ADDRESS)
@click.argument("iface")
@click.option("--type", "icmp_type", type=click.IntRange(0, 255),
              help="ICMP type (default: echo request, 8; 128 for ICMPv6).")
@click.option("--code", type=click.IntRange(0, 255), default=0, show_default=True)
@click.option("--id", "ident", type=PORT, default=0, show_default=True)
@click.option("--seq", type=PORT, default=0, show_default=True)
@click.option("--ttl", type=click.IntRange(0, 255), default=64, show_default=True)
@click.option("--payload", help="Payload text.")
@click.option("--payload-hex", help="Payload as hex bytes.")
@_common
def send_icmp(*, src: str, dst: str, iface: str, icmp_type: int | None, code: int, ident: int,
              seq: int, ttl: int, payload: str | None, payload_hex: str | None, count: int,
              dst_mac: str | None, verbose: bool, as_json: bool) -> None:
    """Send an ICMP (ICMPv6 for IPv6 addresses) message SRC -> DST out of IFACE."""
    _require(iface)
    _warn_loopback(iface, dst)
    path = link_path(iface, dst, source=src, destination_mac=dst_mac)
    packet = icmp_frame(path, src, dst, icmp_type=icmp_type, code=code, ident=ident, seq=seq,
                        payload=_payload(payload, payload_hex), ttl=ttl)
    _emit(iface, packet, count, verbose, as_json)


@send.command("arp")
@click.argument("iface")
@click.option("--op", type=click.Choice(["request", "reply"]), default="request",
              show_default=True)
@click.option("--pdst", required=True, help="Target protocol (IPv4) address.")
@click.option("--psrc", help="Sender protocol address (default: the interface's IPv4).")
@click.option("--hwsrc", help="Sender hardware address (default: the interface's MAC).")
@click.option("--hwdst", help="Target hardware address (default: zeros for a request).")
@_common
def send_arp(*, iface: str, op: str, pdst: str, psrc: str | None, hwsrc: str | None,
             hwdst: str | None, count: int, dst_mac: str | None, verbose: bool,
             as_json: bool) -> None:
    """Send an ARP request (broadcast) or reply out of IFACE."""
    _require(iface)
    interface = ethernet_interface(iface)
    own = psrc or next((a.address for a in interface.ipv4()), None)
    if own is None:
        raise UsageError(f"{iface} has no IPv4 address; give --psrc")
    packet = arp_frame(interface, op=1 if op == "request" else 2, psrc=own, pdst=pdst,
                       hwsrc=hwsrc, hwdst=hwdst, destination_mac=dst_mac)
    _emit(iface, packet, count, verbose, as_json)


@send.command("raw")
@click.argument("iface")
@click.argument("hex_frame", metavar="HEX")
@_common
def send_raw(*, iface: str, hex_frame: str, count: int, dst_mac: str | None, verbose: bool,
             as_json: bool) -> None:
    """Send a ready-made Ethernet frame, given in hex, out of IFACE as it is."""
    _require(iface)
    if dst_mac is not None:
        raise UsageError("send raw sends the frame as given; --dst-mac does not apply")
    frame = parse_hex_frame(hex_frame)
    ethernet_interface(iface)
    from wirekit.packet import parse

    _emit(iface, parse(frame), count, verbose, as_json)
