"""ICMP echo, the way iputils ``ping`` does it.

:class:`PingStatistics` is sans-I/O: it is told what was sent and what came back (with the time
passed in) and computes loss, min/avg/max/mdev, the pipe and the ipg/ewma figures exactly as
iputils does: in whole microseconds, duplicates included in the times, ``mdev`` the population
standard deviation through iputils' integer square root, and every figure cut (not rounded) to
three decimals.

:class:`Pinger` is the socket half.  It prefers the unprivileged ICMP datagram socket
(``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)``, Linux 3.0; allowed when the process's group is
inside ``net.ipv4.ping_group_range``, which also governs ICMPv6): the kernel then fills in the
identifier and checksum and delivers only our replies.  Otherwise it needs CAP_NET_RAW for a
raw socket, where it builds the checksum itself and picks its replies out by identifier.

:func:`run_ping` is iputils' main loop: one request every interval (measured from the previous
send, never catching up), ``-w`` deadline, ``-c`` count, flood pacing (no interval: the next
request as soon as the last is answered, or after 10 ms), adaptive pacing (``-A``: the interval
follows the smoothed RTT) and the ``-W`` wait after the last request.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import select
import socket
import string
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
IP_TOS = 1
IP_RECVERR = 11
IP_MTU_DISCOVER = 10
IPV6_RECVERR = 25
IPV6_MTU_DISCOVER = 23
IPV6_TCLASS = 67
SO_EE_ORIGIN_LOCAL, SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 1, 2, 3
IP_RECVTTL = 12
IP_TTL = 2
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
#: ``-M``: IP_PMTUDISC_* and IPV6_PMTUDISC_* share these numbers (linux/in.h, linux/in6.h).
PMTU_DISCOVERY = {"dont": 0, "want": 1, "do": 2, "probe": 3}
#: iputils' biggest payload: 65535 - 20 (IPv4 header) - 8 (ICMP header).
MAX_SIZE = 65507
#: The longest -W: an hour, as for -i (a bounded wait, never an endless one).
MAX_LINGER = 3600.0
#: The longest -w: iputils' INT_MAX seconds.
MAX_DEADLINE = 2147483647.0
#: A ``struct timeval`` leads the data when it fits; shorter requests carry no time (iputils).
TIMEVAL_SIZE = 16
#: iputils' MIN_INTERVAL_MS: a flood never waits longer than this for a reply before sending.
FLOOD_WAIT = 0.010
#: iputils' MIN_USER_INTERVAL_MS: shorter intervals (and -f, whose interval is 0) need privilege.
MIN_USER_INTERVAL = 0.002
#: Send errors that mean "no room now, try again soon" (iputils slows down, then gives up).
_BUSY_ERRNOS = {errno.EAGAIN, errno.ENOBUFS, errno.ENOMEM}


def _micros(seconds: float) -> int:
    return round(seconds * 1e6)


def _cut3(micros: int) -> str:
    """iputils' ``%ld.%03ld`` of a microsecond count (milliseconds, truncated)."""
    return f"{micros // 1000}.{micros % 1000:03d}"


def _as_float32(value: float) -> float:
    """iputils casts the loss to ``float`` before ``%g``; do the same so the digits agree."""
    result: float = struct.unpack("=f", struct.pack("=f", value))[0]
    return result


@dataclass(slots=True)
class PingStatistics:
    """Counts and round-trip times of one ping run (sans-I/O; times in seconds).

    ``timing`` is False when the requests are too short to carry a timestamp (``-s`` below
    16): iputils then prints no ``time=`` and no rtt line.  ``rtts`` holds every timed reply,
    duplicates included (iputils counts them in min/avg/max/mdev, not in the loss).
    """

    transmitted: int = 0
    received: int = 0
    duplicates: int = 0
    errors: int = 0
    rtts: list[float] = field(default_factory=list)
    timing: bool = True
    #: The most requests that were out at once when one was answered (iputils' "pipe N").
    pipesize: int = 0
    started: float | None = None
    last_sent: float | None = None
    _ewma8: int = 0  # iputils' rts->rtt: 8 x the smoothed RTT in microseconds
    _tsum: float = 0.0
    _tsum2: float = 0.0
    _tmin: int = 0
    _tmax: int = 0
    _acked: int = 0  # the highest request (counted from 1, not wrapped) answered so far
    _pending: dict[int, float] = field(default_factory=dict)
    _answered: set[int] = field(default_factory=set)

    def start(self, now: float) -> None:
        self.started = now

    def sent(self, seq: int, now: float) -> None:
        if self.started is None:
            self.started = now
        self.transmitted += 1
        self.last_sent = now
        self._pending[seq] = now
        self._answered.discard(seq)

    def _acknowledge(self, seq: int) -> None:
        """iputils' ``acknowledge``: track the pipe and the newest answered request."""
        behind = (self.transmitted - seq) & 0xFFFF
        if behind <= 0x7FFF:
            self.pipesize = max(self.pipesize, behind + 1)
            self._acked = max(self._acked, self.transmitted - behind)

    def reply(self, seq: int, now: float) -> tuple[float | None, bool]:
        """Record an echo reply: (rtt in seconds or None if we never sent it, duplicate?)."""
        sent_at = self._pending.get(seq)
        if sent_at is None:
            return None, False
        rtt = now - sent_at
        self._acknowledge(seq)
        if self.timing:
            self._time(rtt)
        if seq in self._answered:
            self.duplicates += 1
            return rtt, True
        self._answered.add(seq)
        self.received += 1
        return rtt, False

    def _time(self, rtt: float) -> None:
        micros = max(0, _micros(rtt))
        self.rtts.append(rtt)
        self._tsum += micros
        self._tsum2 += float(micros * micros)
        self._tmin = micros if len(self.rtts) == 1 else min(self._tmin, micros)
        self._tmax = max(self._tmax, micros)
        self._ewma8 = micros * 8 if not self._ewma8 else self._ewma8 + micros - self._ewma8 // 8

    def error(self, seq: int | None = None) -> None:
        """Count an error; an ICMP error about request ``seq`` also answers it (the pipe)."""
        self.errors += 1
        if seq is not None:
            self._acknowledge(seq)

    def answered(self, seq: int) -> bool:
        """Whether request ``seq`` got an echo reply (``-O`` asks before the next request)."""
        return seq in self._answered

    def outstanding(self) -> int:
        """Requests with no answer yet (an ICMP error is an answer too)."""
        return max(0, self.transmitted - self.received - self.errors)

    def in_flight(self) -> int:
        """Requests sent after the newest one answered (iputils' ``in_flight``)."""
        return max(0, self.transmitted - self._acked)

    def max_rtt(self) -> float:
        return self._tmax / 1e6

    def adaptive_interval(self, privileged: bool) -> float:
        """``-A``: the smoothed RTT rounded to whole milliseconds (iputils' update_interval);
        never below 2 ms without privilege."""
        millis = (self._ewma8 // 8 + 500) // 1000
        if not privileged:
            millis = max(millis, int(MIN_USER_INTERVAL * 1000))
        return millis / 1000

    def elapsed(self) -> float:
        """iputils' ``time``: from the start to the last request sent."""
        if self.started is None or self.last_sent is None:
            return 0.0
        return max(0.0, self.last_sent - self.started)

    @property
    def loss_percent(self) -> float:
        if not self.transmitted:
            return 0.0
        return (self.transmitted - self.received) * 100.0 / self.transmitted

    def _rtt_micros(self) -> tuple[int, int, int, int] | None:
        if not self.received or not self.timing or not self.rtts:
            return None
        total = self.received + self.duplicates
        average = int(self._tsum / total)
        if self._tsum < 2**31 - 1:
            variance = int((self._tsum2 - (self._tsum * self._tsum) / total) / total)
        else:
            variance = int(self._tsum2 / total - average * average)
        return self._tmin, average, self._tmax, math.isqrt(max(0, variance))

    def rtt_summary_ms(self) -> tuple[float, float, float, float] | None:
        """(min, avg, max, mdev) in milliseconds, as iputils computes them."""
        micros = self._rtt_micros()
        if micros is None:
            return None
        low, mean, high, mdev = micros
        return low / 1e3, mean / 1e3, high / 1e3, mdev / 1e3

    def summary_lines(self, host: str, elapsed: float, *, rates: bool = False) -> list[str]:
        """iputils' closing block (``finish``), its last line possibly empty as iputils prints.

        ``rates`` adds ``ipg/ewma`` (flood, adaptive): the mean gap between requests and the
        smoothed RTT.
        """
        counts = f"{self.transmitted} packets transmitted, {self.received} received"
        if self.duplicates:
            counts += f", +{self.duplicates} duplicates"
        if self.errors:
            counts += f", +{self.errors} errors"
        if self.transmitted:
            counts += (f", {_as_float32(self.loss_percent):g}% packet loss, "
                       f"time {int(elapsed * 1e3 + 0.5)}ms")
        extra = []
        rtt = self._rtt_micros()
        if rtt is not None:
            extra.append("rtt min/avg/max/mdev = " + "/".join(_cut3(v) for v in rtt) + " ms")
        if self.pipesize > 1:
            extra.append(f"pipe {self.pipesize}")
        if rates and self.received and self.transmitted > 1:
            gap = int(_micros(elapsed) / (self.transmitted - 1))
            extra.append(f"ipg/ewma {_cut3(gap)}/{_cut3(self._ewma8 // 8)} ms")
        return [f"--- {host} ping statistics ---", counts, ", ".join(extra)]


def format_rtt(seconds: float) -> str:
    """iputils' ``time=`` value: three significant digits, fewer decimals for larger times."""
    micros = _micros(seconds)
    if micros >= 100000 - 50:
        return f"{(micros + 500) // 1000}"
    if micros >= 10000 - 5:
        return f"{(micros + 50) // 1000}.{(micros + 50) % 1000 // 100}"
    if micros >= 1000:
        return f"{(micros + 5) // 1000}.{(micros + 5) % 1000 // 10:02d}"
    return _cut3(micros)


@dataclass(frozen=True, slots=True)
class PingEvent:
    """Something to report.

    ``kind`` is "reply" or "error" (an ICMP error about one of our requests), "local-error"
    (the kernel refused to send, e.g. ``message too long, mtu=1400``: counted as an error),
    "send-error" (another failed send, counted as sent only), "sent" (a request went out) or
    "no-answer" (the previous request is still unanswered when the next one goes, ``-O``).
    """

    kind: str
    seq: int
    source: str
    size: int  # ICMP bytes (header + data), what iputils prints as "N bytes from"
    ttl: int | None = None
    message: str = ""


def parse_pattern(text: str) -> bytes:
    """``-p``: hex digits, read two at a time, at most 16 bytes (iputils' ``fill``)."""
    for index, char in enumerate(text):
        if char not in string.hexdigits:
            raise UsageError(f"patterns must be specified as hex digits: {text[index:]}")
    if not text:
        raise UsageError("patterns must be specified as hex digits: (empty)")
    return bytes(int(text[i:i + 2], 16) for i in range(0, min(len(text), 32), 2))


def parse_tos(text: str) -> int:
    """``-Q``: decimal, or hex after ``0x`` (iputils' ``parsetos``), 0 to 255."""
    hexadecimal = text[:2] in ("0x", "0X")
    digits = text[2:] if hexadecimal else text
    allowed = string.hexdigits if hexadecimal else string.digits
    if not digits or any(char not in allowed for char in digits):
        raise UsageError(f"bad TOS value: {text}")
    value = int(digits, 16 if hexadecimal else 10)
    if value > 255:
        raise UsageError(f"the decimal value of TOS bits must be in range 0-255: {value}")
    return value


def parse_pmtu_discovery(text: str) -> int:
    """``-M do|want|dont|probe`` → the IP_MTU_DISCOVER / IPV6_MTU_DISCOVER value."""
    try:
        return PMTU_DISCOVERY[text]
    except KeyError:
        raise UsageError(f"invalid -M argument: {text} (do, want, dont or probe)") from None


_SECONDS = re.compile(r"(\d+(\.\d*)?|\.\d+)")


def parse_deadline(text: str) -> float:
    """``-w``: seconds, 0 (no deadline) to INT_MAX; fractions allowed (iputils: whole only)."""
    if not _SECONDS.fullmatch(text) or float(text) > MAX_DEADLINE:
        raise UsageError(f"invalid -w argument: {text!r} (seconds, 0 to {MAX_DEADLINE:.0f})")
    return float(text)


def echo_payload(size: int, now: float, pattern: bytes | None = None) -> bytes:
    """iputils' data: a ``struct timeval`` first when it fits, then bytes counting up (or the
    ``-p`` pattern, repeated from the first data byte, under the timestamp too)."""
    if pattern:
        body = (pattern * (size // len(pattern) + 1))[:size]
    else:
        body = bytes(i & 0xFF for i in range(size))
    if size >= TIMEVAL_SIZE:
        seconds = int(now)
        body = struct.pack("=qq", seconds, int((now - seconds) * 1e6)) + body[16:]
    return body


def resolve_host(host: str, family: int = socket.AF_UNSPEC) -> tuple[int, str]:
    """(address family, numeric address) of ``host`` (a name or an address literal)."""
    try:
        found = socket.getaddrinfo(host, None, family, socket.SOCK_RAW)
    except socket.gaierror as exc:
        raise NetworkError(f"{host}: {exc.strerror}") from exc
    except UnicodeError as exc:  # the IDNA codec: a label over 63 characters, bad bytes
        raise NetworkError(f"{host}: Name or service not known ({exc})") from exc
    family_found, _, _, _, address = found[0]
    return int(family_found), str(address[0])


class SendBusy(Exception):
    """The request was not sent: no buffer space now (ENOBUFS, EAGAIN); try again shortly."""


class Pinger:
    """One echo socket towards one destination.

    ``tos`` sets IP_TOS (IPv4) or IPV6_TCLASS (IPv6); ``pmtu_discovery`` one of
    :data:`PMTU_DISCOVERY`'s values, as IP_MTU_DISCOVER / IPV6_MTU_DISCOVER.
    """

    def __init__(self, destination: str, family: int, *, ttl: int | None = None,
                 interface: str | None = None, tos: int | None = None,
                 pmtu_discovery: int | None = None) -> None:
        self.destination = destination
        self.family = family
        self.ipv6 = family == socket.AF_INET6
        self.identifier = os.getpid() & 0xFFFF
        self.sock, self.datagram = self._open()
        try:
            self._configure(ttl, interface)
            self._set_quality(tos, pmtu_discovery)
        except BaseException:
            self.sock.close()
            raise
        self._poller = select.poll()
        self._poller.register(self.sock.fileno(), select.POLLIN)
        self._backlog: list[PingEvent] = []  # ICMP errors read from the queue by send()

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
        # ICMP errors about our requests reach a datagram socket only through its error queue
        # (ip(7) IP_RECVERR), as iputils reads them; on both kinds of socket the queue also
        # carries local errors such as "message too long" under -M do, with the MTU.
        if self.ipv6:
            self.sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)

    def _set_quality(self, tos: int | None, pmtu_discovery: int | None) -> None:
        level = socket.IPPROTO_IPV6 if self.ipv6 else socket.IPPROTO_IP
        if tos is not None:
            try:
                self.sock.setsockopt(level, IPV6_TCLASS if self.ipv6 else IP_TOS, tos)
            except OSError as exc:
                raise UsageError(f"cannot set -Q {tos}: {exc.strerror}") from exc
        if pmtu_discovery is not None:
            try:
                self.sock.setsockopt(level, IPV6_MTU_DISCOVER if self.ipv6 else IP_MTU_DISCOVER,
                                     pmtu_discovery)
            except OSError as exc:
                raise UsageError(f"cannot set -M: {exc.strerror}") from exc

    def _bind_to_device(self, interface: str) -> None:
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                 os.fsencode(interface))
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

    def send(self, seq: int, payload: bytes) -> PingEvent | None:
        """Send request ``seq``: None when it went out, a "local-error" or "send-error" event
        when the kernel refused it (iputils then counts it as sent); :class:`SendBusy` when it
        should be tried again shortly."""
        try:
            self.sock.sendto(self.request(seq, payload), (self.destination, 0))
        except OSError as exc:
            if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                raise NetworkError(f"connect: {exc.strerror}") from exc
            if exc.errno in _BUSY_ERRNOS:
                raise SendBusy(exc.strerror) from exc
            # As iputils: the error queue says more (EMSGSIZE: the MTU) when it has an entry.
            local = None
            for event in self._queued_errors(seq):
                if event.kind == "local-error" and local is None:
                    local = event
                else:
                    self._backlog.append(event)  # for the next receive()
            return local or PingEvent("send-error", seq & 0xFFFF, "", 0,
                                      message=f"sendmsg: {exc.strerror}")
        return None

    def receive(self, timeout: float) -> Iterator[PingEvent]:
        """Every event that arrives within ``timeout`` seconds (stops at the first wait)."""
        if self._backlog:
            backlog, self._backlog = self._backlog, []
            yield from backlog
            timeout = 0.0
        ready = self._poller.poll(max(0.0, timeout) * 1000)
        if not ready:
            return
        if any(events & select.POLLERR for _fd, events in ready):
            yield from self._queued_errors()
        drained = False
        while True:
            try:
                data, ancillary, _flags, address = self.sock.recvmsg(
                    65535, socket.CMSG_SPACE(4), socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # A pending socket error (an ICMP error with IP_RECVERR on): reading the error
                # queue reports it and clears it.  Once per call, so this cannot spin.
                if drained:
                    return
                drained = True
                yield from self._queued_errors()
                continue
            event = self._decode(data, _cmsg_ttl(ancillary), str(address[0]))
            if event is not None:
                yield event

    def _queued_errors(self, seq: int = 0) -> Iterator[PingEvent]:
        """Errors from the socket's error queue: ``struct sock_extended_err`` in the ancillary
        data (errno, origin, type, code, pad, info, data, then the offender's address), the
        request as data.  Local errors (origin LOCAL) are reported on both kinds of socket;
        ICMP errors only on the datagram socket (a raw socket reads them as packets)."""
        from wirekit.packet import ICMP, ICMPv6, parse

        while True:
            try:
                data, ancillary, _flags, _address = self.sock.recvmsg(
                    65535, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                return
            for level, kind, value in ancillary:
                if (level, kind) not in ((socket.IPPROTO_IP, IP_RECVERR),
                                         (socket.IPPROTO_IPV6, IPV6_RECVERR)):
                    continue
                error_number, origin, icmp_type, code, _pad, info = struct.unpack_from(
                    "=IBBBBI", value)
                if origin == SO_EE_ORIGIN_LOCAL:
                    yield PingEvent("local-error", seq & 0xFFFF, "", 0,
                                    message=_local_error(error_number, info, self.ipv6))
                    continue
                if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6) or not self.datagram:
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


def _local_error(error_number: int, info: int, ipv6: bool) -> str:
    """iputils' text after "local error" (ping4 writes ``mtu=``, ping6 ``mtu: ``)."""
    if error_number == errno.EMSGSIZE:
        return f"message too long, mtu{': ' if ipv6 else '='}{info}"
    return os.strerror(error_number)


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
    """What to send: how many (None: until stopped), how often, how big, how long to wait.

    ``interval`` None means iputils' default: one second, or none at all with ``flood``.
    ``deadline`` (``-w``) ends the run after that many seconds whatever was sent (0: no
    deadline); with ``count`` too, the run sends past the count until ``count`` answers came
    back.  ``flood`` and ``adaptive`` must be bounded by ``count`` or ``deadline``.
    """

    count: int | None = None
    interval: float | None = None
    size: int = 56
    linger: float = 10.0  # -W: how long to wait for a reply after the last request
    deadline: float = 0.0
    flood: bool = False
    adaptive: bool = False
    pattern: bytes | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError("-c must be at least 1")
        if self.interval is not None and not 0.001 <= self.interval <= 3600:
            raise UsageError("-i must be between 0.001 and 3600 seconds")
        if not 0 <= self.size <= MAX_SIZE:
            raise UsageError(f"-s must be between 0 and {MAX_SIZE}")
        if not 0 <= self.linger <= MAX_LINGER:  # so that NaN and infinity are refused too
            raise UsageError(f"-W must be between 0 and {MAX_LINGER:g} seconds")
        if not 0 <= self.deadline <= MAX_DEADLINE:
            raise UsageError(f"-w must be between 0 and {MAX_DEADLINE:.0f} seconds")
        if self.pattern is not None and not 1 <= len(self.pattern) <= 16:
            raise UsageError("-p takes 1 to 16 bytes")
        for flag, name in ((self.flood, "-f"), (self.adaptive, "-A")):
            if flag and self.count is None and not self.deadline:
                raise UsageError(f"{name} needs -c COUNT or -w DEADLINE: it is never unbounded")

    @property
    def gap(self) -> float:
        """Seconds between requests: -i, else 0 for a flood, else one second."""
        if self.interval is not None:
            return self.interval
        return 0.0 if self.flood else 1.0

    def needs_privilege(self) -> bool:
        """iputils lets only the super-user go below 2 ms between requests (-f is 0)."""
        return self.gap < MIN_USER_INTERVAL

    def exit_code(self, stats: PingStatistics) -> int:
        """iputils: 1 when nothing came back, or with -w and -c when fewer than -c did."""
        short = bool(self.deadline) and self.count is not None and stats.received < self.count
        return 1 if stats.received == 0 or short else 0


def check_privilege(plan: PingPlan) -> bool:
    """Whether this process may go below 2 ms (CAP_NET_RAW); refuse a plan that needs it.

    iputils checks for uid 0; wirekit checks the capability, as everywhere else.
    """
    privileged = has_capability("CAP_NET_RAW")
    if plan.needs_privilege() and not privileged:
        what = "flood" if plan.flood and plan.interval is None else f"use -i {plan.gap:g}"
        raise PrivilegeError(f"cannot {what}; the shortest interval without CAP_NET_RAW is "
                             f"{MIN_USER_INTERVAL * 1000:g} ms", capability="CAP_NET_RAW")
    return privileged


def run_ping(pinger: Pinger, plan: PingPlan, *, stop: object,
             on_event: Callable[[PingEvent, float | None, bool], None],
             privileged: bool = True) -> PingStatistics:
    """Send echo requests by ``plan`` until done or ``stop`` is truthy; report every event.

    ``on_event(event, rtt_seconds, duplicate)`` is called for each reply and error, and for
    each request sent ("sent"), each request still unanswered when the next goes
    ("no-answer") and each local error.  ``privileged`` lets ``-A`` go below 2 ms.
    """
    stats = PingStatistics(timing=plan.size >= TIMEVAL_SIZE)
    clock = time.monotonic
    started = clock()
    stats.start(started)
    deadline_at = started + plan.deadline if plan.deadline else None
    gap = plan.gap
    next_send = started
    exit_at: float | None = None  # iputils' __schedule_exit, armed once the count is sent
    busy_since: float | None = None
    hold_until = started  # after a busy send: no new try before this
    while not stop:
        now = clock()
        if deadline_at is not None and now >= deadline_at:
            break
        if plan.count is not None and stats.received + stats.errors >= plan.count:
            break
        if deadline_at is not None and stats.errors:
            break
        if exit_at is not None and now >= exit_at:
            break
        sending = exit_at is None and (plan.count is None or deadline_at is not None
                                       or stats.transmitted < plan.count)
        due = next_send
        if sending and gap == 0 and stats.last_sent is not None:
            # A flood sends as soon as nothing is in flight, else after 10 ms (iputils).
            due = now if stats.in_flight() == 0 else stats.last_sent + FLOOD_WAIT
        due = max(due, hold_until)
        if sending and now >= due:
            seq = (stats.transmitted + 1) & 0xFFFF
            if stats.transmitted and not stats.answered(stats.transmitted & 0xFFFF):
                on_event(PingEvent("no-answer", stats.transmitted & 0xFFFF, "", 0), None, False)
            try:
                failure = pinger.send(seq, echo_payload(plan.size, time.time(), plan.pattern))
            except SendBusy as exc:
                # No room in the queue: not sent.  Retry shortly; after -W of that, give up
                # on this request as iputils does (counted as sent, reported).
                busy_since = now if busy_since is None else busy_since
                if now - busy_since < max(plan.linger, FLOOD_WAIT):
                    hold_until = now + min(max(gap / 2, FLOOD_WAIT), 0.5)
                    continue
                failure = PingEvent("send-error", seq, "", 0, message=f"sendmsg: {exc}")
            busy_since = None
            stats.sent(seq, now)  # a refused request counts as sent, as in iputils
            if failure is None:
                on_event(PingEvent("sent", seq, "", 0), None, False)
            else:
                if failure.kind == "local-error":
                    stats.error()
                on_event(failure, None, False)
            next_send = now + gap
            if plan.count is not None and deadline_at is None and stats.transmitted >= plan.count:
                # iputils waits for the last answers: -W when nothing came back yet, else twice
                # the longest RTT (at least one interval).
                wait = max(2 * stats.max_rtt(), gap) if stats.received else plan.linger
                exit_at = now + wait
            continue
        wakes = [t for t in (due if sending else None, deadline_at, exit_at) if t is not None]
        timeout = min(min(wakes, default=now + 0.1) - now, 0.1)
        for event in pinger.receive(timeout):
            _account(stats, event, on_event)
            if plan.adaptive and event.kind == "reply" and stats.timing:
                gap = stats.adaptive_interval(privileged)
                next_send = (stats.last_sent or now) + gap
    return stats


def _account(stats: PingStatistics, event: PingEvent,
             on_event: Callable[[PingEvent, float | None, bool], None]) -> None:
    if event.kind in ("error", "local-error"):
        stats.error(event.seq if event.kind == "error" else None)
        on_event(event, None, False)
        return
    rtt, duplicate = stats.reply(event.seq, time.monotonic())
    if rtt is not None:
        on_event(event, rtt, duplicate)
