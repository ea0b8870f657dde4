"""Sending ready-made frames: one bound packet socket, batched with ``sendmmsg(2)``.

:class:`FrameSender` owns one AF_PACKET/SOCK_RAW socket bound to the interface with protocol 0
(so it never receives) and reuses it for every frame.  Small runs go through the foundation's
:class:`~wirekit.link.mmsg.MessageBatch`; large, repeated runs (replay) through a
:class:`FrameVector`: every frame packed once into one buffer, with the ``struct mmsghdr`` and
``struct iovec`` arrays built once and pointing into it, so a send of 1024 frames is one system
call and no Python work per frame.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from wirekit.errors import CaptureError, NetworkError, UsageError
from wirekit.link import afpacket
from wirekit.link.interfaces import Interface, get_interface
from wirekit.link.mmsg import MessageBatch

#: struct iovec (base, len) and struct mmsghdr (64 bytes on LP64 Linux): msghdr (name, namelen,
#: iov, iovlen, control, controllen, flags) and the msg_len the kernel fills in.
_IOVEC = struct.Struct("=QQ")
_MMSGHDR = struct.Struct("=QI4xQQQQi4xI4x")
#: UIO_MAXIOV: the kernel caps one sendmmsg at 1024 messages.
MAX_BATCH = 1024
#: Pause after ENOBUFS (device queue full) before retrying: about one queue drain at 1 Gbit/s.
ENOBUFS_BACKOFF = 0.0002
#: The longest single sleep of a paced send; the stop flag is looked at at least this often.
MAX_SLEEP = 0.05

_libc = ctypes.CDLL(None, use_errno=True)
_sendmmsg = _libc.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
_sendmmsg.restype = ctypes.c_int


class FrameVector:
    """Frames packed back to back, with prebuilt ``mmsghdr``/``iovec`` arrays over them.

    Frames are appended first (:meth:`append`), then :meth:`seal` builds the arrays; the data
    buffer never moves after that, so the pointers in the arrays stay valid.
    """

    def __init__(self, frames: Iterable[bytes | bytearray | memoryview] = ()) -> None:
        self.data = bytearray()
        self.offsets = array("Q")
        self.lengths = array("I")
        self.iovecs = bytearray()
        self.headers = bytearray()
        self._pinned: list[ctypes.Array[ctypes.c_char]] = []
        for frame in frames:
            self.append(frame)
        if self.offsets:
            self.seal()

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def total_bytes(self) -> int:
        return len(self.data)

    def append(self, frame: bytes | bytearray | memoryview) -> None:
        if self._pinned:
            raise RuntimeError("FrameVector is sealed")
        self.offsets.append(len(self.data))
        self.lengths.append(len(frame))
        self.data.extend(frame)

    def seal(self) -> None:
        """Build the ``iovec`` and ``mmsghdr`` arrays (once every frame is in)."""
        count = self.count
        self.iovecs = bytearray(_IOVEC.size * count)
        self.headers = bytearray(_MMSGHDR.size * count)
        data, iovecs = (self._pin(self.data), self._pin(self.iovecs))
        self._pin(self.headers)
        pack_iovec, pack_header = _IOVEC.pack_into, _MMSGHDR.pack_into
        for index in range(count):
            iovec = index * _IOVEC.size
            pack_iovec(self.iovecs, iovec, data + self.offsets[index], self.lengths[index])
            pack_header(self.headers, index * _MMSGHDR.size, 0, 0, iovecs + iovec, 1, 0, 0, 0, 0)

    def _pin(self, buffer: bytearray) -> int:
        pinned = (ctypes.c_char * max(1, len(buffer))).from_buffer(buffer or bytearray(1))
        self._pinned.append(pinned)
        return ctypes.addressof(pinned)

    def address(self, index: int) -> int:
        """Where the ``mmsghdr`` of frame ``index`` lives (for sendmmsg)."""
        return ctypes.addressof(self._pinned[2]) + index * _MMSGHDR.size

    def frame(self, index: int) -> bytes:
        start = self.offsets[index]
        return bytes(self.data[start:start + self.lengths[index]])


@dataclass(slots=True)
class SendCounters:
    """What a sender has done: tcpreplay's closing statistics."""

    packets: int = 0
    bytes: int = 0
    failed: int = 0
    retried_enobufs: int = 0
    retried_eagain: int = 0


class FrameSender:
    """One packet socket on one interface, used for every frame sent there."""

    def __init__(self, ifname: str, *, qdisc_bypass: bool = False,
                 action: str | None = None) -> None:
        self.interface: Interface = get_interface(ifname, with_ethtool=False)
        self.sock = afpacket.open_packet_socket(
            socket.SOCK_RAW, action=action or f"send frames on {ifname}")
        try:
            afpacket.bind_packet_socket(self.sock, self.interface.index, protocol=0)
            if qdisc_bypass:
                self.sock.setsockopt(afpacket.SOL_PACKET, afpacket.PACKET_QDISC_BYPASS, 1)
        except BaseException:
            self.sock.close()
            raise
        self.counters = SendCounters()
        self._batch: MessageBatch | None = None

    def __enter__(self) -> FrameSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    @property
    def mac(self) -> str:
        """The interface's own MAC address (the source of every frame we build)."""
        return self.interface.mac or "00:00:00:00:00:00"

    def send(self, frame: bytes | bytearray | memoryview) -> None:
        """Send one frame now."""
        try:
            sent = self.sock.send(frame)
        except OSError as exc:
            raise self._error(exc, len(frame)) from exc
        self.counters.packets += 1
        self.counters.bytes += sent

    def send_many(self, frames: Sequence[bytes | bytearray | memoryview]) -> int:
        """Send every frame with as few ``sendmmsg`` calls as fit; return how many went."""
        if not frames:
            return 0
        size = max(len(frame) for frame in frames)
        slots = min(len(frames), 256)
        if self._batch is None or self._batch.size < size or self._batch.count < slots:
            self._batch = MessageBatch(slots, max(size, 2048))
        for start in range(0, len(frames), self._batch.count):
            self._send_chunk(self._batch, frames[start:start + self._batch.count])
        return len(frames)

    def _send_chunk(self, batch: MessageBatch,
                    chunk: Sequence[bytes | bytearray | memoryview]) -> None:
        """Send one chunk, resuming after a partial send, retrying a full device queue."""
        pending = list(chunk)
        while pending:
            for index, frame in enumerate(pending):
                batch.fill(index, frame)
            try:
                sent = batch.send(self.sock, len(pending))
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise self._error(exc, len(pending[0])) from exc
                self.counters.retried_enobufs += 1
                time.sleep(ENOBUFS_BACKOFF)
                continue
            if sent == 0:
                self.counters.retried_eagain += 1
                continue
            self.counters.packets += sent
            self.counters.bytes += sum(len(frame) for frame in pending[:sent])
            pending = pending[sent:]

    def send_vector(self, vector: FrameVector, start: int, count: int) -> int:
        """Send frames ``start .. start+count`` of ``vector``; return how many the kernel took.

        ENOBUFS (a full device queue) and EAGAIN count as retries and return 0 so the caller
        can try again; a frame the device refuses (too big) is counted as failed and skipped.
        """
        count = min(count, MAX_BATCH, vector.count - start)
        sent = _sendmmsg(self.sock.fileno(), vector.address(start), count, 0)
        if sent >= 0:
            return int(sent)
        err = ctypes.get_errno()
        if err == errno.ENOBUFS:
            self.counters.retried_enobufs += 1
            return 0
        if err in (errno.EAGAIN, errno.EINTR):
            self.counters.retried_eagain += 1
            return 0
        if err in (errno.EMSGSIZE, errno.EINVAL):
            self.counters.failed += 1
            return -1
        raise self._error(OSError(err, os.strerror(err)), vector.lengths[start])

    def _error(self, exc: OSError, length: int) -> CaptureError | NetworkError | UsageError:
        name = self.interface.name
        if exc.errno == errno.EMSGSIZE:
            return UsageError(f"a {length}-byte frame does not fit the MTU of {name} "
                              f"({self.interface.mtu})")
        if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
            return NetworkError(f"interface {name} is down or gone: {exc.strerror}")
        return CaptureError(f"sending on {name} failed: {exc.strerror}")


class BatchSender(Protocol):
    """What :func:`send_units` needs of a sender (a :class:`FrameSender`, or a test's fake)."""

    def send_many(self, frames: Sequence[bytes | bytearray | memoryview]) -> int: ...


def send_units(sender: BatchSender, units: Iterable[Sequence[bytes]], *,
               interval: float = 0.0, stop: Callable[[], bool] = lambda: False,
               clock: Callable[[], float] = time.perf_counter,
               sleep: Callable[[float], None] = time.sleep) -> int:
    """Send each unit (a frame, or the fragments of one datagram) and return how many went.

    The frames of a unit always leave together.  Without ``interval`` the units are packed
    into batches of up to :data:`MAX_BATCH` frames, one ``sendmmsg`` each (a unit is never
    split between two batches unless it is larger than one).  With ``interval``, unit ``k``
    is due ``k * interval`` seconds after the first: an absolute schedule, so a late wake-up
    sends every unit that has become due in one batch and the average rate does not drift.
    ``stop`` is checked before each unit and during every wait; a unit already built but not
    yet due when it turns true is not sent.  ``units`` may be a generator: each unit is built
    only when it is about to be sent.
    """
    sent = 0
    batch: list[bytes] = []
    in_batch = 0

    def flush() -> None:
        nonlocal sent, batch, in_batch
        if batch:
            sender.send_many(batch)
            sent += in_batch
        batch, in_batch = [], 0

    start = clock()
    for index, unit in enumerate(units):
        if stop():
            break
        if interval > 0 and index:
            due = start + index * interval
            if clock() < due:
                flush()
                while not stop():
                    left = due - clock()
                    if left <= 0:
                        break
                    sleep(min(left, MAX_SLEEP))
                if stop():
                    break
        if len(batch) + len(unit) > MAX_BATCH:
            flush()
        batch.extend(unit)
        in_batch += 1
    flush()
    return sent
