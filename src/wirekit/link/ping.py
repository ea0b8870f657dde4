"""ICMP echo, the way iputils ``ping`` does it.

:class:`PingStatistics` is sans-I/O: it is told what was sent and what came back (with the time
passed in) and computes loss and min/avg/max/mdev exactly as iputils does (``mdev`` is the
population standard deviation, sqrt(mean(rtt^2) - mean(rtt)^2)).

:class:`Pinger` is the socket half.  It prefers the unprivileged ICMP datagram socket
(``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)``, Linux 3.0; allowed when the process's group is
inside ``net.ipv4.ping_group_range``, which also governs ICMPv6): the kernel then fills in the
identifier and checksum and delivers only our replies.  Otherwise it needs CAP_NET_RAW for a
raw socket, where it builds the checksum itself and picks its replies out by identifier.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wirekit.errors import NetworkError, PrivilegeError, UsageError
from wirekit.link.caps import has_capability

ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST = 0, 8
ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY = 128, 129
#: ICMP errors that quote our request (RFC 792, RFC 4443): unreachable, time exceeded, ...
ICMP_ERRORS = {3: "Destination Unreachable", 11: "Time to live exceeded",
               12: "Parameter Problem", 5: "Redirect"}
ICMP6_ERRORS = {1: "Destination unreachable", 3: "Time exceeded", 4: "Parameter problem",
                2: "Packet too big"}
UNREACHABLE_CODES = {0: "Destination Net Unreachable", 1: "Destination Host Unreachable",
                     2: "Destination Protocol Unreachable", 3: "Destination Port Unreachable",
                     4: "Frag needed", 13: "Communication prohibited by filter"}
IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3
IP_RECVTTL = 12
IP_TTL = 2
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
#: iputils' biggest payload: 65535 - 20 (IPv4 header) - 8 (ICMP header).
MAX_SIZE = 65507
#: The longest -W: an hour, as for -i (a bounded wait, never an endless one).
MAX_LINGER = 3600.0


@dataclass(slots=True)
class PingStatistics:
    """Counts and round-trip times of one ping run (sans-I/O; times in seconds)."""

    transmitted: int = 0
    received: int = 0
    duplicates: int = 0
    errors: int = 0
    rtts: list[float] = field(default_factory=list)
    _pending: dict[int, float] = field(default_factory=dict)
    _answered: set[int] = field(default_factory=set)

    def sent(self, seq: int, now: float) -> None:
        self.transmitted += 1
        self._pending[seq] = now
        self._answered.discard(seq)

    def reply(self, seq: int, now: float) -> tuple[float | None, bool]:
        """Record an echo reply: (rtt in seconds or None if we never sent it, duplicate?)."""
        sent_at = self._pending.get(seq)
        if sent_at is None:
            return None, False
        rtt = now - sent_at
        if seq in self._answered:
            self.duplicates += 1
            return rtt, True
        self._answered.add(seq)
        self.received += 1
        self.rtts.append(rtt)
        return rtt, False

    def error(self) -> None:
        self.errors += 1

    def outstanding(self) -> int:
        """Requests with no answer yet (an ICMP error is an answer too)."""
        return max(0, self.transmitted - self.received - self.errors)

    @property
    def loss_percent(self) -> float:
        if not self.transmitted:
            return 0.0
        return (self.transmitted - self.received) * 100.0 / self.transmitted

    def rtt_summary_ms(self) -> tuple[float, float, float, float] | None:
        """(min, avg, max, mdev) in milliseconds, as iputils computes them."""
        if not self.rtts:
            return None
        count = len(self.rtts)
        mean = sum(self.rtts) / count
        mean_square = sum(r * r for r in self.rtts) / count
        mdev = math.sqrt(max(0.0, mean_square - mean * mean))
        return (min(self.rtts) * 1e3, mean * 1e3, max(self.rtts) * 1e3, mdev * 1e3)

    def summary_lines(self, host: str, elapsed: float) -> list[str]:
        """iputils' closing block."""
        extra = ""
        if self.duplicates:
            extra += f", +{self.duplicates} duplicates"
        if self.errors:
            extra += f", +{self.errors} errors"
        lines = [f"--- {host} ping statistics ---",
                 f"{self.transmitted} packets transmitted, {self.received} received{extra}, "
                 f"{self.loss_percent:g}% packet loss, time {elapsed * 1e3:.0f}ms"]
        rtt = self.rtt_summary_ms()
        if rtt is not None:
            lines.append("rtt min/avg/max/mdev = " + "/".join(f"{v:.3f}" for v in rtt) + " ms")
        return lines


def format_rtt(seconds: float) -> str:
    """iputils' ``time=`` value: three significant digits, fewer decimals for larger times."""
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


@dataclass(frozen=True, slots=True)
class PingEvent:
    """One thing that came back: an echo reply or an ICMP error about one of our requests."""

    kind: str  # "reply" or "error"
    seq: int
    source: str
    size: int  # ICMP bytes (header + data), what iputils prints as "N bytes from"
    ttl: int | None = None
    message: str = ""


def echo_payload(size: int, now: float) -> bytes:
    """iputils' data: a ``struct timeval`` first when it fits, then bytes counting up."""
    body = bytes(i & 0xFF for i in range(size))
    if size >= 16:
        seconds = int(now)
        body = struct.pack("=qq", seconds, int((now - seconds) * 1e6)) + body[16:]
    return body


def resolve_host(host: str, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
    """(address family, numeric address) of ``host`` (a name or an address literal)."""
    try:
        found = socket.getaddrinfo(host, None, family, socket.SOCK_RAW)
    except socket.gaierror as exc:
        raise NetworkError(f"{host}: {exc.strerror}") from exc
    family_found, _, _, _, address = found[0]
    return int(family_found), str(address[0])


class Pinger:
    """One echo socket towards one destination."""

    def __init__(self, destination: str, family: int, *, ttl: int | None = None,
                 interface: str | None = None) -> None:
        self.destination = destination
        self.family = family
        self.ipv6 = family == socket.AF_INET6
        self.identifier = os.getpid() & 0xFFFF
        self.sock, self.datagram = self._open()
        try:
            self._configure(ttl, interface)
        except BaseException:
            self.sock.close()
            raise

    def _open(self) -> tuple[socket.socket, bool]:
        proto = socket.IPPROTO_ICMPV6 if self.ipv6 else socket.IPPROTO_ICMP
        with contextlib.suppress(PermissionError):
            return socket.socket(self.family, socket.SOCK_DGRAM, proto), True
        if not has_capability("CAP_NET_RAW"):
            raise PrivilegeError(
                "ping needs CAP_NET_RAW, or a group inside net.ipv4.ping_group_range for the "
                "unprivileged ICMP socket", capability="CAP_NET_RAW")
        try:
            return socket.socket(self.family, socket.SOCK_RAW, proto), False
        except PermissionError as exc:
            raise PrivilegeError(f"ping needs CAP_NET_RAW: {exc.strerror}",
                                 capability="CAP_NET_RAW") from exc

    def _configure(self, ttl: int | None, interface: str | None) -> None:
        if self.ipv6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            if ttl is not None:
                self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        else:
            self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            if ttl is not None:
                self.sock.setsockopt(socket.IPPROTO_IP, IP_TTL, ttl)
        if interface is not None:
            self._bind_to_device(interface)
        if self.datagram:
            # The kernel assigns the identifier: it is the socket's local "port".
            self.sock.bind(("::", 0) if self.ipv6 else ("0.0.0.0", 0))
            self.identifier = self.sock.getsockname()[1]
            # ICMP errors about our requests reach a datagram socket only through its error
            # queue (ip(7) IP_RECVERR), as iputils reads them.
            if self.ipv6:
                self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            else:
                self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)

    def _bind_to_device(self, interface: str) -> None:
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                # The same error, exit code and list of names as capture, send and monitor.
                from wirekit.link.interfaces import unknown_interface

                raise unknown_interface(interface) from exc
            raise UsageError(f"cannot bind to interface {interface}: {exc.strerror}") from exc

    def close(self) -> None:
        self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def request(self, seq: int, payload: bytes) -> bytes:
        """The ICMP echo request (header and data) for ``seq``."""
        from wirekit.packet import ICMP, ICMPv6

        if self.ipv6:
            return bytes(ICMPv6(type=ICMP6_ECHO_REQUEST, code=0, id=self.identifier,
                                seq=seq & 0xFFFF) / payload)
        return bytes(ICMP(type=ICMP_ECHO_REQUEST, code=0, id=self.identifier,
                          seq=seq & 0xFFFF) / payload)

    def send(self, seq: int, payload: bytes) -> None:
        try:
            self.sock.sendto(self.request(seq, payload), (self.destination, 0))
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                raise NetworkError(f"connect: {exc.strerror}") from exc
            raise NetworkError(f"sendmsg: {exc.strerror}") from exc

    def receive(self, timeout: float) -> Iterator[PingEvent]:
        """Every event that arrives within ``timeout`` seconds (stops at the first wait)."""
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        ready = poller.poll(max(0.0, timeout) * 1000)
        if not ready:
            return
        if self.datagram and any(events & select.POLLERR for _fd, events in ready):
            yield from self._queued_errors()
        while True:
            try:
                data, ancillary, _flags, address = self.sock.recvmsg(
                    65535, socket.CMSG_SPACE(4), socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            event = self._decode(data, _cmsg_ttl(ancillary), str(address[0]))
            if event is not None:
                yield event

    def _queued_errors(self) -> Iterator[PingEvent]:
        """ICMP errors from the socket's error queue: ``struct sock_extended_err`` in the
        ancillary data (origin, type, code, then the offender's address), our request as data."""
        from wirekit.packet import ICMP, ICMPv6, parse

        while True:
            try:
                data, ancillary, _flags, _address = self.sock.recvmsg(
                    65535, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            for level, kind, value in ancillary:
                if (level, kind) not in ((socket.IPPROTO_IP, IP_RECVERR),
                                         (socket.IPPROTO_IPV6, IPV6_RECVERR)):
                    continue
                _errno, origin, icmp_type, code = struct.unpack_from("=IBBB", value)
                if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                    continue
                request: Any = parse(data, ICMPv6 if self.ipv6 else ICMP).getlayer(
                    ICMPv6 if self.ipv6 else ICMP)
                errors = ICMP6_ERRORS if self.ipv6 else ICMP_ERRORS
                text = UNREACHABLE_CODES.get(code, errors.get(icmp_type, f"ICMP {icmp_type}")) \
                    if icmp_type == 3 and not self.ipv6 else errors.get(icmp_type,
                                                                        f"ICMP {icmp_type}")
                yield PingEvent("error", int(request.seq) if request is not None else 0,
                                _offender(value[16:], self.ipv6), len(data), None, text)

    def _decode(self, data: bytes, ttl: int | None, source: str) -> PingEvent | None:
        from wirekit.packet import ICMP, ICMPv6, IPv4, parse

        if self.ipv6 or self.datagram:
            # Datagram and ICMPv6 raw sockets hand over the message without the IP header.
            return self._match(parse(data, ICMPv6 if self.ipv6 else ICMP), ttl, source,
                               len(data))
        packet = parse(data, IPv4)
        header = packet.getlayer(IPv4)
        if header is None:
            return None
        return self._match(packet, int(header.ttl), source, len(data) - int(header.ihl) * 4)

    def _match(self, packet: Any, ttl: int | None, source: str, size: int) -> PingEvent | None:
        """Our echo reply, or an error quoting our request; None for anything else."""
        from wirekit.packet import ICMP, ICMPv6

        layer = ICMPv6 if self.ipv6 else ICMP
        icmp = packet.getlayer(layer)
        if icmp is None:
            return None
        kind = int(icmp.type)
        if kind == (ICMP6_ECHO_REPLY if self.ipv6 else ICMP_ECHO_REPLY):
            if not self.datagram and int(icmp.id) != self.identifier:
                return None
            return PingEvent("reply", int(icmp.seq), source, size, ttl)
        errors = ICMP6_ERRORS if self.ipv6 else ICMP_ERRORS
        quoted = packet.getlayer(layer, nb=2)  # the request the error quotes
        if kind not in errors or quoted is None or int(quoted.type) not in (
                ICMP_ECHO_REQUEST, ICMP6_ECHO_REQUEST):
            return None
        if not self.datagram and int(quoted.id) != self.identifier:
            return None
        code = int(icmp.code)
        text = UNREACHABLE_CODES.get(code, errors[kind]) if kind == 3 and not self.ipv6 \
            else errors[kind]
        return PingEvent("error", int(quoted.seq), source, size, None, text)


def _offender(address: bytes, ipv6: bool) -> str:
    """The address in the ``struct sockaddr_in(6)`` that follows ``sock_extended_err``."""
    if ipv6 and len(address) >= 24:
        return socket.inet_ntop(socket.AF_INET6, address[8:24])
    if len(address) >= 8:
        return socket.inet_ntop(socket.AF_INET, address[4:8])
    return "?"


def _cmsg_ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, value in ancillary:
        if (level, kind) in ((socket.IPPROTO_IP, IP_TTL), (socket.IPPROTO_IPV6, IPV6_HOPLIMIT)):
            return int.from_bytes(value[:4], "little") if len(value) >= 4 else value[0]
    return None


@dataclass(frozen=True, slots=True)
class PingPlan:
    """What to send: how many (None: until stopped), how often, how big, how long to wait."""

    count: int | None = None
    interval: float = 1.0
    size: int = 56
    linger: float = 10.0  # -W: how long to wait for replies after the last request

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError("-c must be at least 1")
        if not 0.001 <= self.interval <= 3600:
            raise UsageError("-i must be between 0.001 and 3600 seconds")
        if not 0 <= self.size <= MAX_SIZE:
            raise UsageError(f"-s must be between 0 and {MAX_SIZE}")
        if not 0 <= self.linger <= MAX_LINGER:  # so that NaN and infinity are refused too
            raise UsageError(f"-W must be between 0 and {MAX_LINGER:g} seconds")


def run_ping(pinger: Pinger, plan: PingPlan, *, stop: object,
             on_event: Callable[[PingEvent, float | None, bool], None]) -> PingStatistics:
    """Send echo requests by ``plan`` until done or ``stop`` is truthy; report every event.

    ``on_event(event, rtt_seconds, duplicate)`` is called for each reply and error.
    """
    stats = PingStatistics()
    seq = 0
    next_send = time.monotonic()
    last_sent = None
    while not stop:
        now = time.monotonic()
        done_sending = plan.count is not None and seq >= plan.count
        if done_sending and (stats.outstanding() == 0 or
                             (last_sent is not None and now - last_sent >= plan.linger)):
            break
        if not done_sending and now >= next_send:
            seq += 1
            stats.sent(seq & 0xFFFF, now)  # the ICMP field is 16 bits; iputils wraps too
            pinger.send(seq & 0xFFFF, echo_payload(plan.size, time.time()))
            last_sent = now
            next_send += plan.interval
            continue
        wake = (last_sent or now) + plan.linger if done_sending else next_send
        for event in pinger.receive(min(wake - now, 0.1)):
            _account(stats, event, on_event)
    return stats


def _account(stats: PingStatistics, event: PingEvent,
             on_event: Callable[[PingEvent, float | None, bool], None]) -> None:
    if event.kind == "error":
        stats.error()
        on_event(event, None, False)
        return
    rtt, duplicate = stats.reply(event.seq, time.monotonic())
    if rtt is not None:
        on_event(event, rtt, duplicate)
