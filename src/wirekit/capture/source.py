"""A live capture source: one packet socket with its filter, ring, promiscuous mode and fanout.

Set-up order matters (it is libpcap's order too): the socket is created with protocol 0, so it
receives nothing; the filter is attached and the ring mapped; only then is it bound to the
interface with ETH_P_ALL, so no unfiltered frame reaches the ring.  Promiscuous membership and
fanout need a bound socket and come last.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field

from wirekit.errors import CaptureError, UsageError
from wirekit.link import afpacket
from wirekit.link.afpacket import PacketStatistics
from wirekit.link.bpf import FilterProgram, attach_filter, compile_filter, for_cooked_socket
from wirekit.link.interfaces import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    get_interface,
    interface_index,
)
from wirekit.link.ring import Block, RingConfig, RxRing
from wirekit.packet.linktype import LinkType

#: The pseudo-interface that captures on every interface, as in tcpdump.
ANY = "any"
#: ``-Q``: which frames to keep, by direction (tcpdump's names).
DIRECTIONS = ("in", "out", "inout")


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """What to capture and how (``wirekit capture``'s options)."""

    interface: str
    expression: str = ""
    snaplen: int = 262144
    promiscuous: bool = True
    ring: RingConfig = field(default_factory=RingConfig)
    count: int | None = None
    workers: int = 1
    fanout_mode: str = "hash"
    direction: str = "inout"

    def __post_init__(self) -> None:
        if not 1 <= self.snaplen <= 262144:
            raise UsageError(f"snaplen must be between 1 and 262144, not {self.snaplen}")
        if self.count is not None and self.count < 1:
            raise UsageError("the packet count must be at least 1")
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")
        if self.fanout_mode not in afpacket.FANOUT_MODES:
            raise UsageError(f"unknown fanout mode {self.fanout_mode!r} "
                             f"(one of {', '.join(afpacket.FANOUT_MODES)})")
        if self.direction not in DIRECTIONS:
            raise UsageError(f"unknown direction {self.direction!r} "
                             f"(one of {', '.join(DIRECTIONS)})")


@dataclass(frozen=True, slots=True)
class Device:
    """The interface as the capture sees it: index, frame type, whether it is loopback."""

    name: str
    ifindex: int  # 0 for "any"
    link: LinkType
    cooked: bool  # SOCK_DGRAM + SLL2 headers
    loopback_ifindex: int | None  # frames sent on this index are skipped (seen twice otherwise)


def _needs_user_space(expression: str) -> bool:
    """Filters on VLAN tags cannot run in the kernel after pcap_open_dead (see docs/link.md)."""
    words = expression.replace("(", " ").replace(")", " ").split()
    return "vlan" in words


def resolve_device(name: str) -> Device:
    """Map an interface name to its capture framing (Ethernet, or SLL2 for ``any`` and L3)."""
    lo_index = _loopback_index()
    if name == ANY:
        return Device(ANY, 0, LinkType.LINUX_SLL2, True, lo_index)
    iface = get_interface(name, with_ethtool=False)
    if iface.arphrd in (ARPHRD_ETHER, ARPHRD_LOOPBACK):
        loop = iface.index if iface.is_loopback else None
        return Device(name, iface.index, LinkType.ETHERNET, False, loop)
    return Device(name, iface.index, LinkType.LINUX_SLL2, True, None)


def _loopback_index() -> int | None:
    with contextlib.suppress(Exception):
        return interface_index("lo")
    return None


class LiveSource:
    """One capture socket and its ring; :meth:`statistics` accumulates the kernel counters."""

    def __init__(self, options: CaptureOptions, *, fanout_group: int | None = None,
                 device: Device | None = None) -> None:
        self.options = options
        self.device = device or resolve_device(options.interface)
        self.link = self.device.link
        self.program, self.user_filter = self._filters()
        self._stats = PacketStatistics()
        kind = socket.SOCK_DGRAM if self.device.cooked else socket.SOCK_RAW
        self.sock = afpacket.open_packet_socket(
            kind, action=f"capture on {options.interface}")
        try:
            self.ring = self._set_up(fanout_group)
        except BaseException:
            self.sock.close()
            raise

    def _filters(self) -> tuple[FilterProgram, FilterProgram | None]:
        """(program for the kernel, program for user space or None)."""
        snaplen = self.options.snaplen
        wanted = compile_filter(self.options.expression, self.link, snaplen=snaplen)
        accept_all = compile_filter("", self.link, snaplen=snaplen)
        if self.options.expression and _needs_user_space(self.options.expression):
            return accept_all, wanted
        if self.device.cooked:
            kernel = for_cooked_socket(wanted)
            return (accept_all, wanted) if kernel is None else (kernel, None)
        return wanted, None

    def _set_up(self, fanout_group: int | None) -> RxRing:
        attach_filter(self.sock, self.program)
        incoming_only = self.options.direction == "in"
        if incoming_only and fanout_group is None:
            # -Q in: the kernel does not even queue frames this host sends (Linux 4.20);
            # a fanout group gets the same from its flag below.
            try:
                afpacket.ignore_outgoing(self.sock)
            except OSError as exc:
                raise CaptureError(f"-Q in needs PACKET_IGNORE_OUTGOING (Linux 4.20): "
                                   f"{exc.strerror}") from exc
        skip = None if fanout_group is not None else self.device.loopback_ifindex
        ring = RxRing(self.sock, self.options.ring, cooked=self.device.cooked,
                      snaplen=self.options.snaplen, skip_outgoing_ifindex=skip,
                      outgoing_only=self.options.direction == "out")
        try:
            afpacket.bind_packet_socket(self.sock, self.device.ifindex)
            if self.options.promiscuous and self.device.ifindex:
                afpacket.add_promiscuous_membership(self.sock, self.device.ifindex)
            if fanout_group is not None:
                loopback = self.device.ifindex in (self.device.loopback_ifindex, 0)
                afpacket.join_fanout(self.sock, fanout_group, self.options.fanout_mode,
                                     ignore_outgoing_frames=loopback or incoming_only)
        except BaseException:
            ring.close()
            raise
        return ring

    def next_block(self, timeout_ms: int) -> Block | None:
        return self.ring.next_block(timeout_ms)

    def statistics(self) -> PacketStatistics:
        """Kernel counters since the socket was opened (each read resets the kernel's copy)."""
        self._stats = self._stats + afpacket.read_statistics(self.sock)
        return self._stats

    def close(self) -> None:
        self.ring.close()
        self.sock.close()
