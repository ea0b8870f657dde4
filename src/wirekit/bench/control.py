"""Socket plumbing shared by the client and the server: the control channel and stream setup.

:class:`ControlChannel` pairs a control socket with a sans-I/O machine: it writes what the
machine returns and feeds it what arrives, with absolute deadlines.  OSError is translated here,
once, into :class:`~wirekit.errors.NetworkError`.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from wirekit.bench.params import PeerResults, TestParams
from wirekit.bench.protocol import ClientControl, Event, ServerControl
from wirekit.bench.run import IntervalReport, TestRun
from wirekit.errors import NetworkError, RemoteProtocolError

#: TCP keepalive on control connections: probe after 5 s idle, every 1 s, give up after 3
#: (tcp(7)); TCP_USER_TIMEOUT drops a connection whose data stays unacknowledged 10 s.
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 1
KEEPALIVE_COUNT = 3
USER_TIMEOUT_MS = 10_000
#: Deadline for each setup step (parameters, each stream, the results exchange).
SETUP_TIMEOUT = 10.0
#: UDP receive buffer asked for by a UDP receiver: small datagrams at full speed overrun the
#: default 208 KiB between two recvmmsg calls.
UDP_RCVBUF = 8 * 1024 * 1024
#: socket(7) SO_MAX_PACING_RATE (Linux; Python's socket module does not name it).
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)


def harden_control(sock: socket.socket) -> None:
    """Keepalive and user timeout, so a vanished peer is noticed in seconds, not hours."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ControlChannel:
    """A control socket driven by a :class:`ClientControl` or :class:`ServerControl`."""

    def __init__(self, sock: socket.socket, machine: ClientControl | ServerControl) -> None:
        self.sock = sock
        self.machine = machine
        self._pending: deque[Event] = deque()
        sock.setblocking(True)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise NetworkError(f"control connection: {exc.strerror or exc}") from exc

    def next_event(self, timeout: float | None, wake: int = -1) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass without one.

        ``wake`` is an eventfd that the stream workers signal (:attr:`TestRun.wake_fd`); when
        it fires first, the count is consumed and None returned at once, so the caller looks at
        its streams now rather than at the next timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = self._readable(remaining, wake)
            if not ready:
                return None
            if self.sock not in ready:
                _consume_eventfd(wake)
                return None
            try:
                data = self.sock.recv(65536)
            except OSError as exc:
                raise NetworkError(f"control connection: {exc.strerror or exc}") from exc
            self._pending.extend(self.machine.receive_data(data))
        return self._pending.popleft()

    def expect(self, timeout: float, what: str) -> Event:
        event = self.next_event(timeout)
        if event is None:
            raise NetworkError(f"timed out after {timeout:g} s waiting for {what}")
        return event

    def _readable(self, timeout: float | None, wake: int) -> list[Any]:
        watched: list[Any] = [self.sock] if wake < 0 else [self.sock, wake]
        try:
            ready, _, _ = select.select(watched, [], [], timeout)
        except (OSError, ValueError) as exc:
            raise NetworkError("control connection closed") from exc
        return ready

    def close(self) -> None:
        self.sock.close()


def _consume_eventfd(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        os.eventfd_read(fd)


def configure_data_socket(sock: socket.socket, params: TestParams, *, receiver: bool) -> None:
    """The client's stream options on one data socket, on either side (iperf3's -w -C -M -N
    -S/--dscp --fq-rate).

    The client calls it before ``connect`` (MSS and the window scale are settled by the
    handshake, as in ``iperf_tcp_connect``), the server on each accepted stream.  iperf3 3.12's
    server gets window, MSS and Nagle onto its streams by re-creating its listener with them;
    TOS on IPv4-mapped streams and ``--fq-rate`` on its own (-R) streams it missed, fixed in
    3.13 (PR #1427) and 3.17 (PR #1667): wirekit's server does what those fixed versions do.
    """
    if params.window:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, params.window)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, params.window)
    elif params.udp and receiver:
        _grow_receive_buffer(sock)
    if params.tos:
        set_tos(sock, params.tos)
    if params.fqrate:
        set_pacing_rate(sock, params.fqrate)
    if params.udp:
        return
    if params.congestion:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION,
                            params.congestion.encode())
        except OSError as exc:
            raise NetworkError(f"congestion control {params.congestion!r}: "
                               f"{exc.strerror}") from exc
    if params.mss:
        # On an accepted (established) socket this only records the value: the MSS was
        # settled by the client's SYN, which already carried it.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, params.mss)
        except OSError as exc:
            raise NetworkError(f"unable to set TCP MSS {params.mss}: {exc.strerror}") from exc
    if params.nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def set_tos(sock: socket.socket, tos: int) -> None:
    """IP_TOS, or IPV6_TCLASS on an IPv6 socket, plus IP_TOS there as well: an IPv6 socket
    whose peer is IPv4-mapped sends IPv4 packets, which take their TOS from IP_TOS (iperf3's
    ``iperf_common_sockopts``; failure of that second one is ignored, as there)."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    except OSError as exc:
        raise NetworkError(f"unable to set IP TOS {tos}: {exc.strerror}") from exc


def set_pacing_rate(sock: socket.socket, bits_per_second: int) -> None:
    """``--fq-rate``: SO_MAX_PACING_RATE, in bytes per second (the kernel's unit).

    TCP paces itself to it (or the fq qdisc does); UDP only under fq.  iperf3 only warns when
    the kernel refuses, and so does nothing here: the test runs unpaced.  A rate that does not
    fit 32 bits is passed as 64 bits (iperf3 3.12 truncated it; 3.18 widened it too).
    """
    rate = bits_per_second // 8
    if rate <= 0:
        return
    value = struct.pack("I" if rate <= 0xFFFFFFFF else "Q", rate)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, value)


def _grow_receive_buffer(sock: socket.socket) -> None:
    # SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it SO_RCVBUF is
    # silently capped, which is still the best we may have.
    force = getattr(socket, "SO_RCVBUFFORCE", 33)
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, UDP_RCVBUF)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)


class Observer:
    """What a client or a server session reports while it runs; the CLI prints it."""

    def on_start(self, run: TestRun, start: dict[str, Any]) -> None:
        """The streams are connected and the test runs."""

    def on_interval(self, run: TestRun, report: IntervalReport) -> None:
        """One interval (or the omitted period) is over."""

    def on_end(self, run: TestRun, document: dict[str, Any],
               peer: PeerResults | None) -> None:
        """The test is over; ``document`` is the whole iperf3 ``-J`` object."""

    def on_error(self, message: str) -> None:
        """The test failed; ``message`` says why."""


@dataclass(frozen=True, slots=True)
class Peer:
    host: str
    port: int


def plain_host(host: str) -> str:
    """``::ffff:127.0.0.1`` (an IPv4 peer of a dual-stack socket) as ``127.0.0.1``."""
    return host[7:] if host.startswith("::ffff:") and "." in host else host


def peer_of(sock: socket.socket) -> Peer:
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return Peer("?", 0)
    return Peer(plain_host(str(host)), int(port))


def require_state_event(event: Event, expected: str) -> None:
    raise RemoteProtocolError(f"expected {expected}, got {event}")
