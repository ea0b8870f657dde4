"""Stream engines: one thread per data stream, moving bytes as fast as the kernel allows.

System calls release the GIL, so a client and a server (or several streams) keep both cores
busy.  Sockets stay blocking for Python (no ``poll`` before every call) but carry kernel
``SO_SNDTIMEO``/``SO_RCVTIMEO`` timeouts, so a worker wakes up to look at its stop flag even
when the peer stops reading or writing.

Fast paths:
- TCP send: ``os.sendfile`` from a memfd holding one block (the kernel references the pages
  instead of copying them from user space) when the test is not paced; ``send`` otherwise.
- TCP receive: ``recv_into`` one reusable buffer.
- UDP: :class:`~wirekit.link.mmsg.MessageBatch` (``sendmmsg``/``recvmmsg``); headers are packed
  in place and parsed with one ``struct.iter_unpack`` per batch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wirekit.bench.udpheader import UdpReceiveStats, header_struct
from wirekit.link.mmsg import MessageBatch

#: How long a blocked send/recv waits before the worker looks at its stop flag again.
WAKE_INTERVAL = 0.05
#: After the test ends a receiver keeps reading until the stream is idle this long (or EOF):
#: bytes the sender counted as sent are still in flight in the socket buffers.
DRAIN_IDLE = 0.05
#: ... but never longer than this (a peer that keeps sending after TEST_END).
DRAIN_LIMIT = 2.0
#: How long a sender keeps trying to finish its last block after the stop.
BLOCK_GRACE = 2.0
#: Datagrams per sendmmsg/recvmmsg call.
UDP_BATCH = 64
#: Receive buffer for TCP streams: bigger reads mean fewer system calls than iperf3's one block.
TCP_READ_SIZE = 128 * 1024
#: A TCP sender without pacing reads the clock once per this many blocks (1 MiB of 128 KiB).
CLOCK_EVERY = 8
#: At most one UDP RTT echo per this many seconds (about 1000 samples a second).
ECHO_INTERVAL = 0.001
_MSG_WAITFORONE = 0x10000
_MSG_DONTWAIT = socket.MSG_DONTWAIT
_SIOCOUTQ = 0x5411  # TIOCOUTQ: bytes not yet acknowledged by the peer (tcp(7))
_RETRY_ERRNOS = frozenset({errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.EINTR})


class ByteBudget:
    """The shared ``-n BYTES`` budget of all sending streams of a test."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            granted = min(wanted, self.remaining)
            self.remaining -= granted
            return granted

    def give_back(self, amount: int) -> None:
        with self._lock:
            self.remaining += amount


class Pacer:
    """``-b RATE`` for one stream: how many units may go now to stay on the average rate.

    Like iperf3 the rate is an average since the start, so a sender that fell behind (a busy
    core) catches up with a burst, capped at one batch.
    """

    def __init__(self, bits_per_second: int, start: float) -> None:
        self.bytes_per_second = bits_per_second / 8
        self.start = start

    def allowed_bytes(self, sent: int, now: float) -> float:
        return self.bytes_per_second * (now - self.start) - sent

    def wait(self, sent: int, unit: int) -> None:
        """Sleep until ``unit`` more bytes fit the rate."""
        deficit = unit - self.allowed_bytes(sent, time.monotonic())
        if deficit > 0:
            time.sleep(deficit / self.bytes_per_second)


@dataclass(eq=False)
class Stream:
    """One data stream: its socket and the counters its worker thread updates.

    Only the worker writes the counters; the control thread reads them (an int read is atomic
    under the GIL) and asks for an omit reset through ``reset_requested``.
    """

    id: int
    sock: socket.socket
    sender: bool
    udp: bool
    bytes: int = 0
    packets: int = 0
    error: str = ""
    eof: bool = False
    udp_stats: UdpReceiveStats = field(default_factory=UdpReceiveStats)
    rtt_samples: list[float] = field(default_factory=list)
    reset_requested: bool = False
    stop: bool = False
    draining: bool = False
    thread: threading.Thread | None = None

    @property
    def fd(self) -> int:
        return self.sock.fileno() if self.sock.fileno() >= 0 else -1


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """What a worker needs from the test parameters."""

    length: int
    bandwidth: int = 0
    counters_64bit: bool = False
    zerocopy: bool = False
    rtt_echo: bool = False
    #: ``time.monotonic()`` at which a sender stops by itself (0: none, ``-n`` tests).  The
    #: test's planned end on this side's clock: a control thread that the machine's load keeps
    #: from running must not let its senders overshoot.  iperf3 does the sending and the
    #: control in one thread, so it stops at once; here an iperf3 -R client that sent TEST_END
    #: (and stopped counting) went on receiving for as long as our control thread waited for a
    #: core, up to 65 ms (7% of a 1 s test) with the two cores busy.
    deadline: float = 0.0


def set_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel-level send/receive timeouts (``socket(7)`` SO_SNDTIMEO / SO_RCVTIMEO)."""
    value = struct.pack("ll", int(seconds), int((seconds % 1) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)


def unacked_bytes(sock: socket.socket) -> int:
    """Bytes sent but not yet acknowledged by the peer (0 for a closed socket)."""
    try:
        raw = fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", raw)[0])


class Wakeup:
    """An eventfd a worker signals when it ends, so the control loop looks at once.

    A sender ends when its ``-n`` budget is sent, any worker on a reset or EOF; without this
    the control loop would notice only at its next timeout (up to 200 ms later), which for
    ``-n`` is added to the test's duration.  The lock keeps a late ``signal`` from writing to
    a closed (and perhaps reused) descriptor number.
    """

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()

    def signal(self) -> None:
        with self._lock:
            if self.fd >= 0:
                os.eventfd_write(self.fd, 1)

    def close(self) -> None:
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


Worker = Callable[["Stream", "EngineConfig", "ByteBudget | None"], None]


def start_worker(stream: Stream, config: EngineConfig, budget: ByteBudget | None,
                 wakeup: Wakeup | None = None) -> None:
    """Start the thread that moves this stream's data; ``wakeup`` is signalled when it ends."""
    set_timeouts(stream.sock, WAKE_INTERVAL)
    target = _pick_worker(stream)
    stream.thread = threading.Thread(target=_guarded,
                                     args=(target, stream, config, budget, wakeup),
                                     name=f"bench-stream-{stream.id}", daemon=True)
    stream.thread.start()


def _pick_worker(stream: Stream) -> Worker:
    if stream.udp:
        return _udp_send if stream.sender else _udp_receive
    return _tcp_send if stream.sender else _tcp_receive


def _guarded(worker: Worker, stream: Stream, config: EngineConfig,
             budget: ByteBudget | None, wakeup: Wakeup | None) -> None:
    """Run a worker; a socket error ends the stream and is recorded, never raised."""
    try:
        worker(stream, config, budget)
    except OSError as exc:
        if not stream.stop:
            stream.error = exc.strerror or str(exc)
    finally:
        if wakeup is not None:
            wakeup.signal()


# --- TCP ------------------------------------------------------------------------------------


def _payload(length: int) -> bytes:
    """Random payload, as iperf3 sends (compressible data would flatter a compressing link)."""
    return os.urandom(length)


def page_aligned_buffer(size: int, content: bytes = b"") -> mmap.mmap:
    """An anonymous mapping: page-aligned, unlike a bytearray.

    Measured on loopback: ``recv_into`` a bytearray ran at 4-5 Gbit/s where the same loop into
    an anonymous mapping ran at 15-20 Gbit/s; the kernel's copy to and from user memory is much
    faster with a page-aligned buffer.  (iperf3 also uses an mmap'd buffer.)
    """
    buffer = mmap.mmap(-1, size)
    if content:
        buffer[:len(content)] = content
    return buffer


def _tcp_send(stream: Stream, config: EngineConfig, budget: ByteBudget | None) -> None:
    length = config.length
    view = memoryview(page_aligned_buffer(length, _payload(length)))
    if not (config.zerocopy or config.bandwidth or budget is not None):
        _tcp_send_unpaced(stream, view, config.deadline)
        return
    memfd = -1
    if config.zerocopy:
        memfd = os.memfd_create("wirekit-bench-block", os.MFD_CLOEXEC)
        os.write(memfd, _payload(length))
    pacer = Pacer(config.bandwidth, time.monotonic()) if config.bandwidth else None
    try:
        while not stream.stop and not _past(config.deadline):
            chunk = length if budget is None else budget.take(length)
            if chunk == 0:
                break
            if pacer is not None:
                pacer.wait(stream.bytes, chunk)
            sent = _send_block(stream, view[:chunk], memfd)
            stream.bytes += sent
            stream.packets += sent == chunk
            if sent < chunk:
                if budget is not None:
                    budget.give_back(chunk - sent)
                break
    finally:
        if memfd >= 0:
            os.close(memfd)


def _past(deadline: float) -> bool:
    return bool(deadline) and time.monotonic() >= deadline


def _tcp_send_unpaced(stream: Stream, block: memoryview, deadline: float) -> None:
    """The hot loop of a TCP test (no -b, -n or -Z): one ``send`` per block and the counters.

    py-spy puts 95% of a sender's samples inside ``send`` itself, so everything else per block
    is kept to a flag test and a few additions: no slicing, no pacer or budget, and the clock
    (for the deadline) once every :data:`CLOCK_EVERY` blocks.
    """
    send, length = stream.sock.send, len(block)
    countdown = CLOCK_EVERY
    while not stream.stop:
        try:
            sent = send(block)
        except (BlockingIOError, TimeoutError, InterruptedError):
            continue  # SO_SNDTIMEO: nothing went out; look at the stop flag again
        if sent < length:
            sent += _send_block(stream, block[sent:], -1)
        stream.bytes += sent
        if sent < length:
            return  # the peer stopped reading after the stop (see _send_block)
        stream.packets += 1
        countdown -= 1
        if not countdown:
            countdown = CLOCK_EVERY
            if _past(deadline):
                return


def _send_block(stream: Stream, block: memoryview, memfd: int) -> int:
    """Send one whole block, even across a stop request.

    iperf3 3.12's receiver reads whole blocks from a blocking socket (``Nread``), so a block cut
    short at the end would leave it waiting for the rest until the connection closes.  Only a
    peer that stops reading for :data:`BLOCK_GRACE` after the stop makes us give up mid-block.
    """
    sock, offset, total = stream.sock, 0, len(block)
    giving_up = 0.0
    while offset < total:
        try:
            if memfd >= 0:
                offset += os.sendfile(sock.fileno(), memfd, offset, total - offset)
            else:
                offset += sock.send(block[offset:])
        except (BlockingIOError, TimeoutError, InterruptedError):
            if stream.stop:
                giving_up = giving_up or time.monotonic() + BLOCK_GRACE
                if time.monotonic() > giving_up:
                    break
    return offset


def _tcp_receive(stream: Stream, config: EngineConfig, budget: ByteBudget | None) -> None:
    buffer = page_aligned_buffer(max(config.length, TCP_READ_SIZE))
    recv_into = stream.sock.recv_into
    drain_deadline = 0.0
    while True:
        try:
            got = recv_into(buffer)
        except (BlockingIOError, TimeoutError, InterruptedError):
            if stream.stop:
                return  # idle for WAKE_INTERVAL after the end: drained
            continue
        if got == 0:
            stream.eof = True
            return
        stream.bytes += got
        if stream.stop:
            drain_deadline = drain_deadline or time.monotonic() + DRAIN_LIMIT
            if time.monotonic() > drain_deadline:
                return


# --- UDP ------------------------------------------------------------------------------------


def _udp_send(stream: Stream, config: EngineConfig, budget: ByteBudget | None) -> None:
    length = config.length
    batch = MessageBatch(UDP_BATCH, length)
    payload = _payload(length)
    for index in range(UDP_BATCH):
        batch.fill(index, payload)
    header = header_struct(config.counters_64bit)
    pack_into, buffer, sock = header.pack_into, batch.buffer, stream.sock
    rate_per_second = config.bandwidth / 8 / length if config.bandwidth else 0.0
    start = time.monotonic()
    echo = _EchoReader(stream, header) if config.rtt_echo else None
    while not stream.stop and not _past(config.deadline):
        want = UDP_BATCH
        if rate_per_second:
            want = min(want, int(rate_per_second * (time.monotonic() - start)) - stream.packets)
            if want <= 0:
                time.sleep(min(-want + 1, UDP_BATCH) / rate_per_second)
                continue
        if budget is not None:
            want = budget.take(want * length) // length
            if want == 0:
                break
        now = time.time()
        seconds = int(now)
        micros = int((now - seconds) * 1e6)
        first = stream.packets + 1
        for index in range(want):
            pack_into(buffer, index * length, seconds, micros, first + index)
        sent = _send_batch(batch, sock, want)
        if budget is not None and sent < want:
            budget.give_back((want - sent) * length)
        stream.packets += sent
        stream.bytes += sent * length
        if echo is not None:
            echo.poll()


def _send_batch(batch: MessageBatch, sock: socket.socket, count: int) -> int:
    try:
        return batch.send(sock, count)
    except OSError as exc:
        # ENOBUFS (qdisc full) and ECONNREFUSED (an ICMP error from an earlier datagram) are
        # transient for a UDP blaster; iperf3 ignores them the same way.
        if exc.errno in _RETRY_ERRNOS:
            return 0
        raise


class _EchoReader:
    """The sender's half of wirekit's UDP RTT extension: read echoed headers, keep RTTs."""

    def __init__(self, stream: Stream, header: struct.Struct) -> None:
        self.stream = stream
        self.header = header
        self.buffer = bytearray(64)

    def poll(self) -> None:
        sock, now = self.stream.sock, time.time()
        while True:
            try:
                got = sock.recv_into(self.buffer, 0, _MSG_DONTWAIT)
            except OSError:
                return
            if got < self.header.size:
                return
            seconds, micros, _ = self.header.unpack_from(self.buffer)
            self.stream.rtt_samples.append(now - seconds - micros / 1e6)


def _udp_receive(stream: Stream, config: EngineConfig, budget: ByteBudget | None) -> None:
    slot = max(config.length, header_struct(config.counters_64bit).size)
    batch = MessageBatch(UDP_BATCH, slot)
    header = header_struct(config.counters_64bit)
    layout = struct.Struct(f"{header.format}{slot - header.size}x")
    view, sock, stats = memoryview(batch.buffer), stream.sock, stream.udp_stats
    last_echo = 0.0
    drain_deadline = 0.0
    while True:
        got = _receive_batch(batch, sock)
        if got == 0:
            if stream.stop:
                return
            continue
        arrival = time.time()
        if stream.reset_requested:
            stats.reset()
            stream.reset_requested = False
        lengths = batch.received_lengths(got)
        stream.bytes += sum(lengths)
        stream.packets += got
        stats.record_batch(layout.iter_unpack(view[:got * slot]), arrival)
        if config.rtt_echo and arrival - last_echo >= ECHO_INTERVAL:
            last_echo = arrival
            _echo(sock, view[(got - 1) * slot:(got - 1) * slot + header.size])
        if stream.stop:
            drain_deadline = drain_deadline or time.monotonic() + DRAIN_LIMIT
            if time.monotonic() > drain_deadline:
                return


def _receive_batch(batch: MessageBatch, sock: socket.socket) -> int:
    try:
        return batch.receive(sock, flags=_MSG_WAITFORONE)
    except OSError as exc:
        if exc.errno in _RETRY_ERRNOS:
            return 0
        raise


def _echo(sock: socket.socket, header: memoryview) -> None:
    with contextlib.suppress(OSError):  # an echo is a best-effort sample
        sock.send(header, _MSG_DONTWAIT)
