"""AF_PACKET sockets (packet(7)): opening, binding, promiscuous mode, fanout, statistics.

The constants are those of linux/if_packet.h and linux/if_ether.h.  Opening a packet socket
needs CAP_NET_RAW; :func:`open_packet_socket` checks it first and names it when it is missing.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import struct
from dataclasses import dataclass

from wirekit.errors import CaptureError, InterfaceError
from wirekit.link.caps import privilege_error_from_oserror, require_capability

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_DROP_MEMBERSHIP = 2
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_RESERVE = 12
PACKET_TX_RING = 13
PACKET_FANOUT = 18
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23

PACKET_MR_PROMISC = 1

#: sll_pkttype values: to us, broadcast, multicast, to another host, sent by us.
PACKET_HOST = 0
PACKET_BROADCAST = 1
PACKET_MULTICAST = 2
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4

#: PACKET_FANOUT modes and flags.
FANOUT_MODES = {"hash": 0, "lb": 1, "cpu": 2, "rollover": 3, "random": 4, "qm": 5}
PACKET_FANOUT_FLAG_ROLLOVER = 0x1000
PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000
PACKET_FANOUT_FLAG_DEFRAG = 0x8000

#: struct packet_mreq: ifindex, type, address length, address[8].
_PACKET_MREQ = struct.Struct("iHH8s")
#: struct tpacket_stats_v3: packets (drops included), drops, freeze_q_cnt.
_TPACKET_STATS_V3 = struct.Struct("III")
#: struct sockaddr_ll: family, protocol (big-endian), ifindex, hatype, pkttype, halen, addr[8].
SOCKADDR_LL = struct.Struct("=H2siHBB8s")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.bind.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
_libc.bind.restype = ctypes.c_int


@dataclass(frozen=True, slots=True)
class PacketStatistics:
    """Kernel counters of one packet socket (PACKET_STATISTICS), accumulated over reads.

    ``received`` is what passed the socket filter (drops included, as the kernel reports it:
    tcpdump's "received by filter"); ``dropped`` found the ring full ("dropped by kernel").
    """

    received: int = 0
    dropped: int = 0
    freeze_count: int = 0

    def __add__(self, other: PacketStatistics) -> PacketStatistics:
        return PacketStatistics(self.received + other.received, self.dropped + other.dropped,
                                self.freeze_count + other.freeze_count)


def sockaddr_ll(ifindex: int, protocol: int = 0, hatype: int = 0, pkttype: int = 0,
                address: bytes = b"") -> bytes:
    """A packed ``struct sockaddr_ll`` (for bind and sendto/sendmmsg)."""
    return SOCKADDR_LL.pack(socket.AF_PACKET, struct.pack("!H", protocol), ifindex, hatype,
                            pkttype, len(address), address.ljust(8, b"\0"))


def open_packet_socket(kind: int = socket.SOCK_RAW, *, action: str = "open a packet socket",
                       protocol: int = 0) -> socket.socket:
    """A packet socket of ``kind`` (SOCK_RAW: with link header; SOCK_DGRAM: without).

    With ``protocol`` 0 the socket receives nothing until :func:`bind_packet_socket` names a
    protocol: filters and rings can be set up first, so no unfiltered frame slips in.
    """
    require_capability("CAP_NET_RAW", action)
    try:
        return socket.socket(socket.AF_PACKET, kind, socket.htons(protocol))
    except PermissionError as exc:
        raise privilege_error_from_oserror(exc, "CAP_NET_RAW", action) from exc
    except OSError as exc:
        raise CaptureError(f"cannot {action}: {exc.strerror}") from exc


def bind_packet_socket(sock: socket.socket, ifindex: int, protocol: int = ETH_P_ALL) -> None:
    """Bind to interface ``ifindex`` (0: every interface, the ``any`` device) for ``protocol``."""
    address = sockaddr_ll(ifindex, protocol)
    if _libc.bind(sock.fileno(), address, len(address)) != 0:
        err = ctypes.get_errno()
        if err in (errno.ENODEV, errno.ENXIO):
            raise InterfaceError(f"interface index {ifindex} is gone")
        if err == errno.ENETDOWN:
            raise InterfaceError(f"interface index {ifindex} is down")
        raise CaptureError(f"cannot bind the packet socket: {errno.errorcode.get(err, err)}")


def add_promiscuous_membership(sock: socket.socket, ifindex: int) -> None:
    """Make the interface promiscuous for as long as this socket lives (PACKET_ADD_MEMBERSHIP).

    Unlike setting IFF_PROMISC with SIOCSIFFLAGS, the kernel counts this membership and drops
    it itself when the socket closes, even if the process is killed.
    """
    request = _PACKET_MREQ.pack(ifindex, PACKET_MR_PROMISC, 0, b"")
    try:
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, request)
    except OSError as exc:
        raise CaptureError(f"cannot enter promiscuous mode: {exc.strerror}") from exc


def ignore_outgoing(sock: socket.socket) -> None:
    """Do not deliver frames this host sends (PACKET_IGNORE_OUTGOING, Linux 4.20)."""
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)


def join_fanout(sock: socket.socket, group: int, mode: str = "hash",
                ignore_outgoing_frames: bool = False) -> None:
    """Join fanout group ``group``: the kernel spreads the frames over its sockets.

    ``hash`` keeps each flow on one socket; IGNORE_OUTGOING keeps loopback frames from being
    delivered twice (once sent, once received).
    """
    flags = FANOUT_MODES[mode]
    if ignore_outgoing_frames:
        flags |= PACKET_FANOUT_FLAG_IGNORE_OUTGOING
    try:
        sock.setsockopt(SOL_PACKET, PACKET_FANOUT, (group & 0xFFFF) | flags << 16)
    except OSError as exc:
        raise CaptureError(f"cannot join fanout group {group}: {exc.strerror}") from exc


def read_statistics(sock: socket.socket) -> PacketStatistics:
    """Read and reset the socket's counters (the kernel zeroes them on every read)."""
    raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS_V3.size)
    packets, drops, freezes = _TPACKET_STATS_V3.unpack(raw.ljust(_TPACKET_STATS_V3.size, b"\0"))
    return PacketStatistics(packets, drops, freezes)
