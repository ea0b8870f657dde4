"""The AF_PACKET TPACKET_V3 receive ring: frames read in place from shared memory.

With TPACKET_V3 (packet(7), Documentation/networking/packet_mmap.rst) the kernel fills whole
blocks of variable-sized frames and hands a block to user space when it is full or when its
retire timer fires.  The reader polls the socket, walks the frames of every block it owns by
``tp_next_offset``, and gives each block back (``TP_STATUS_KERNEL``) as soon as its frames have
been used.  Nothing is copied: a frame is a ``memoryview`` into the mapping, valid until its
block is released.

Layouts (linux/if_packet.h)::

    struct tpacket_block_desc { u32 version; u32 offset_to_priv;
        struct tpacket_hdr_v1 { u32 block_status; u32 num_pkts; u32 offset_to_first_pkt;
            u32 blk_len; u64 seq_num; struct tpacket_bd_ts ts_first_pkt, ts_last_pkt; } }
    struct tpacket3_hdr { u32 tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status;
        u16 tp_mac, tp_net; u32 tp_rxhash, tp_vlan_tci; u16 tp_vlan_tpid, tp_padding;
        u8 tp_padding[8]; }                       /* then struct sockaddr_ll at TPACKET_ALIGN(48) */
"""

from __future__ import annotations

import contextlib
import errno
import gc
import mmap
import os
import select
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wirekit.errors import CaptureError, InterfaceError, UsageError
from wirekit.link.afpacket import (
    ETH_P_8021Q,
    PACKET_OUTGOING,
    PACKET_RESERVE,
    PACKET_RX_RING,
    PACKET_VERSION,
    SOL_PACKET,
)

TPACKET_V3 = 2
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
#: Where ``struct sockaddr_ll`` sits after the frame header: TPACKET_ALIGN(sizeof tpacket3_hdr).
SOCKADDR_LL_OFFSET = 48
#: Headroom reserved before each frame so a stripped VLAN tag can be put back in place.
VLAN_TAG_LEN = 4
SLL2_HEADER_LEN = 20
KIB = 1024
MIB = 1024 * KIB
DEFAULT_BLOCK_SIZE = 2 * MIB
DEFAULT_BLOCK_COUNT = 32
#: The kernel takes the ring geometry as u32 fields and refuses a ring of 4 GiB or more
#: (packet_set_ring checks block size x block count against UINT_MAX).
MAX_RING_SIZE = 2**32 - 1
#: The largest ``-B`` in KiB, and the largest block that still leaves room for two blocks.
MAX_BUFFER_KIB = MAX_RING_SIZE // KIB
MAX_BLOCK_KIB = 2**30 // KIB

_BLOCK_HEADER = struct.Struct("=IIIIII")  # version, offset_to_priv, status, num_pkts, first, len
_FRAME_HEADER = struct.Struct("=IIIIIIHHIIH")  # ... tp_mac, tp_net, rxhash, vlan_tci, vlan_tpid
_FRAME_START = struct.Struct("=IIIIIIH")  # the hot loop needs only up to tp_mac
_SOCKADDR_LL = struct.Struct("=H2siHBB8s")
_SLL2 = struct.Struct("!2sHIHBB8s")  # protocol (already big-endian), reserved, ifindex, ...
_VLAN_TAG = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class RingConfig:
    """Size and timing of the ring.

    The defaults hold about 0.2 s of 60-byte frames at 2.5 Mpps, enough to ride out a
    scheduler hiccup of the reading process at the rates a veth or a 10G NIC delivers; the
    retire timeout bounds how long a frame waits in a half-full block (latency when idle).
    """

    block_size: int = DEFAULT_BLOCK_SIZE
    block_count: int = DEFAULT_BLOCK_COUNT
    frame_size: int = 2048
    retire_timeout_ms: int = 50

    def __post_init__(self) -> None:
        # Checked here so a bad geometry is a usage error, not struct.error from request().
        if self.block_size < mmap.PAGESIZE or self.block_size & (self.block_size - 1):
            raise UsageError(f"block size must be a power of two of at least "
                             f"{mmap.PAGESIZE // KIB} KiB, not {self.block_size} bytes")
        if self.block_count < 1 or self.total_size > MAX_RING_SIZE:
            raise UsageError(f"a ring of {self.block_count} blocks of {self.block_size} bytes "
                             "is not between one block and 4 GiB (the kernel's limit)")
        if not 0 < self.frame_size <= self.block_size:
            raise UsageError(f"frame size {self.frame_size} does not fit a "
                             f"{self.block_size}-byte block")
        if not 0 <= self.retire_timeout_ms <= MAX_RING_SIZE:
            raise UsageError(f"retire timeout {self.retire_timeout_ms} ms is out of range")

    @classmethod
    def from_kib(cls, buffer_kib: int | None, block_kib: int | None,
                 retire_timeout_ms: int = 50) -> RingConfig:
        """The config for ``-B KiB`` (total) and ``--block-size KiB``, validated."""
        # None or 0 means the default, as before; the limits keep every field within a u32.
        if buffer_kib is not None and not 0 <= buffer_kib <= MAX_BUFFER_KIB:
            raise UsageError(f"-B must be a size in KiB of at most {MAX_BUFFER_KIB} (a ring "
                             f"is smaller than 4 GiB), not {buffer_kib}")
        if block_kib is not None and not 0 <= block_kib <= MAX_BLOCK_KIB:
            raise UsageError(f"--block-size must be a size in KiB of at most {MAX_BLOCK_KIB} "
                             f"(two blocks must fit in 4 GiB), not {block_kib}")
        block = (block_kib or DEFAULT_BLOCK_SIZE // KIB) * KIB
        if block < mmap.PAGESIZE or block & (block - 1):
            raise UsageError(f"block size must be a power of two of at least "
                             f"{mmap.PAGESIZE // KIB} KiB, not {block // KIB} KiB")
        total = (buffer_kib * KIB) if buffer_kib else DEFAULT_BLOCK_SIZE * DEFAULT_BLOCK_COUNT
        count = max(2, total // block)
        return cls(block_size=block, block_count=count, retire_timeout_ms=retire_timeout_ms)

    @property
    def total_size(self) -> int:
        return self.block_size * self.block_count

    def request(self) -> bytes:
        """``struct tpacket_req3``."""
        frames = self.block_size // self.frame_size * self.block_count
        return struct.pack("7I", self.block_size, self.block_count, self.frame_size, frames,
                           self.retire_timeout_ms, 0, 0)


class Block:
    """One block owned by user space: iterate its frames, then :meth:`release` it."""

    __slots__ = ("_ring", "count", "offset")

    def __init__(self, ring: RxRing, offset: int, count: int) -> None:
        self._ring = ring
        self.offset = offset
        self.count = count

    def frames(self) -> Iterator[tuple[int, memoryview, int]]:
        """``(timestamp_ns, data, orig_len)`` for every frame, in arrival order."""
        return self._ring.walk(self.offset, self.count)

    def deliver(self, write: Callable[[memoryview, int, int], object], allowed: int) -> int:
        """Call ``write(data, timestamp_ns, orig_len)`` for up to ``allowed`` frames.

        The same frames as :meth:`frames`, without a generator and a tuple per frame: the
        path ``capture -w`` takes at hundreds of thousands of frames per second.
        """
        return self._ring.deliver(self.offset, self.count, write, allowed)

    def release(self) -> None:
        """Hand the block back to the kernel; its frames must not be used afterwards."""
        self._ring.release(self.offset)


class RxRing:
    """A mapped TPACKET_V3 RX ring on a packet socket (bind the socket after creating this).

    ``cooked`` says the socket is SOCK_DGRAM (the ``any`` device): every frame then gets a
    Linux cooked v2 (SLL2) header, written into the headroom in front of it.
    ``skip_outgoing_ifindex`` drops frames the host sent on that interface (loopback), which
    would otherwise be seen twice.  ``outgoing_only`` keeps only frames the host sent
    (``capture -Q out``); "incoming only" needs no help here, the socket's
    PACKET_IGNORE_OUTGOING does it in the kernel.
    """

    def __init__(self, sock: socket.socket, config: RingConfig, *, cooked: bool = False,
                 snaplen: int = 262144, skip_outgoing_ifindex: int | None = None,
                 outgoing_only: bool = False) -> None:
        self.sock = sock
        self.config = config
        self.cooked = cooked
        self.snaplen = snaplen
        self.skip_outgoing_ifindex = skip_outgoing_ifindex
        self.outgoing_only = outgoing_only
        #: frames that need _adjust: cooked ones, and any whose direction must be checked
        self._special = cooked or skip_outgoing_ifindex is not None or outgoing_only
        self.skipped = 0
        self._next = 0
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN | select.POLLERR)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            sock.setsockopt(SOL_PACKET, PACKET_RESERVE, VLAN_TAG_LEN)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, config.request())
        except OSError as exc:
            raise CaptureError(f"cannot set up a {config.total_size // MIB} MiB TPACKET_V3 "
                               f"ring ({config.block_count} x {config.block_size // KIB} KiB "
                               f"blocks): {exc.strerror}") from exc
        try:
            self._map = mmap.mmap(sock.fileno(), config.total_size, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            raise CaptureError(f"cannot map the capture ring: {exc.strerror}") from exc
        self._view = memoryview(self._map)

    def close(self) -> None:
        """Unmap the ring (the socket is closed by its owner).

        A decoder may still hold a slice of the mapping in a reference cycle that only the
        garbage collector frees; collect once, and if a slice is still alive, leave the
        unmapping to the moment the last one dies rather than fail the capture's ending.
        """
        self._view.release()
        try:
            self._map.close()
        except BufferError:
            gc.collect()
            with contextlib.suppress(BufferError):
                self._map.close()

    def _ready(self, offset: int) -> bool:
        return bool(self._map[offset + 8] & TP_STATUS_USER)

    def next_block(self, timeout_ms: int) -> Block | None:
        """The next block owned by user space, waiting up to ``timeout_ms`` (poll) for it."""
        offset = self._next * self.config.block_size
        if not self._ready(offset):
            for _fd, events in self._poll.poll(timeout_ms):
                if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    self._raise_socket_error(events)
            if not self._ready(offset):
                return None
        self._next = (self._next + 1) % self.config.block_count
        count = _BLOCK_HEADER.unpack_from(self._map, offset)[3]
        return Block(self, offset, count)

    def _raise_socket_error(self, events: int) -> None:
        """The interface went down or away: stop, as libpcap does, instead of spinning."""
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err == errno.ENETDOWN:
            raise InterfaceError("the interface went down")
        if err in (errno.ENODEV, errno.ENXIO) or events & (select.POLLHUP | select.POLLNVAL):
            raise InterfaceError("the interface disappeared")
        if err:
            raise CaptureError(f"capture socket error: {os.strerror(err)}")

    def release(self, offset: int) -> None:
        struct.pack_into("=I", self._map, offset + 8, TP_STATUS_KERNEL)

    def walk(self, block: int, count: int) -> Iterator[tuple[int, memoryview, int]]:
        """The frames of the block at ``block``: the hot loop of every capture."""
        mem = self._map
        view = self._view
        unpack = _FRAME_HEADER.unpack_from
        position = block + _BLOCK_HEADER.unpack_from(mem, block)[4]
        special = self._special
        snaplen = self.snaplen
        for _ in range(count):
            next_offset, sec, nsec, caplen, length, status, mac = unpack(mem, position)[:7]
            start = position + mac
            if special or status & TP_STATUS_VLAN_VALID:
                adjusted = self._adjust(position, start, caplen, length)
                if adjusted is None:
                    self.skipped += 1
                    position += next_offset
                    continue
                start, caplen, length = adjusted
            yield (sec * 1_000_000_000 + nsec, view[start:start + min(caplen, snaplen)], length)
            position += next_offset

    def deliver(self, block: int, count: int, write: Callable[[memoryview, int, int], object],
                allowed: int) -> int:
        """Hand frames of the block at ``block`` to ``write``; return how many were handed."""
        mem = self._map
        view = self._view
        unpack = _FRAME_START.unpack_from
        position = block + _BLOCK_HEADER.unpack_from(mem, block)[4]
        special = self._special
        snaplen = self.snaplen
        delivered = 0
        for _ in range(count):
            if delivered == allowed:
                break
            next_offset, sec, nsec, caplen, length, status, mac = unpack(mem, position)
            start = position + mac
            if special or status & TP_STATUS_VLAN_VALID:
                adjusted = self._adjust(position, start, caplen, length)
                if adjusted is None:
                    self.skipped += 1
                    position += next_offset
                    continue
                start, caplen, length = adjusted
            if caplen > snaplen:  # noqa: PLR1730 - a comparison costs less than a call to min()
                caplen = snaplen
            write(view[start:start + caplen], sec * 1_000_000_000 + nsec, length)
            delivered += 1
            position += next_offset
        return delivered

    def _adjust(self, header: int, start: int, caplen: int,
                length: int) -> tuple[int, int, int] | None:
        """Put a stripped VLAN tag back, add the SLL2 header, or skip (None) a looped frame."""
        status, _mac, _net, _hash, tci, tpid = _FRAME_HEADER.unpack_from(self._map, header)[5:]
        (_family, protocol, ifindex, hatype, pkttype, halen,
         address) = _SOCKADDR_LL.unpack_from(self._map, header + SOCKADDR_LL_OFFSET)
        if pkttype == PACKET_OUTGOING:
            # libpcap's order (pcap-linux.c): a frame sent on loopback is skipped even with
            # -Q out, since its incoming copy is the one shown; so "lo -Q out" shows nothing.
            if ifindex == self.skip_outgoing_ifindex:
                return None
        elif self.outgoing_only:
            return None
        if self.cooked:
            start -= SLL2_HEADER_LEN
            _SLL2.pack_into(self._map, start, protocol, 0, ifindex, hatype, pkttype, halen,
                            address)
            return start, caplen + SLL2_HEADER_LEN, length + SLL2_HEADER_LEN
        if status & TP_STATUS_VLAN_VALID and caplen >= 12:
            # libpcap does the same: move both MAC addresses 4 bytes left, tag after them.
            self._map.move(start - VLAN_TAG_LEN, start, 12)
            start -= VLAN_TAG_LEN
            tag_type = tpid if status & TP_STATUS_VLAN_TPID_VALID and tpid else ETH_P_8021Q
            _VLAN_TAG.pack_into(self._map, start + 12, tag_type, tci)
            return start, caplen + VLAN_TAG_LEN, length + VLAN_TAG_LEN
        return start, caplen, length
