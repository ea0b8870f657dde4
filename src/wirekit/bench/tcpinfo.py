"""``getsockopt(TCP_INFO)``: the kernel's view of a TCP connection (``struct tcp_info``).

Offsets are those of ``include/uapi/linux/tcp.h``: eight one-byte fields, then 32-bit fields from
``tcpi_rto`` (offset 8) on.  Older kernels return a shorter structure; fields past its end read
as 0.  iperf3 reports ``snd_cwnd`` in bytes (segments times ``tcpi_snd_mss``), ``rtt`` and
``rttvar`` in microseconds, and retransmits from ``tcpi_total_retrans``; so does wirekit.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_FULL_SIZE = 232
_U32 = struct.Struct("=I")
_OFFSETS = {"snd_mss": 16, "pmtu": 60, "rtt": 68, "rttvar": 72, "snd_cwnd": 80,
            "total_retrans": 100, "rcv_rtt": 92, "min_rtt": 148, "snd_wnd": 228}


@dataclass(frozen=True, slots=True)
class TcpInfo:
    """The fields iperf3's reports use, and the receiver-side RTT estimate."""

    rtt_us: int
    rttvar_us: int
    snd_cwnd_bytes: int
    total_retrans: int
    pmtu: int
    snd_wnd: int
    min_rtt_us: int
    rcv_rtt_us: int

    @classmethod
    def parse(cls, raw: bytes) -> TcpInfo:
        def field(name: str) -> int:
            offset = _OFFSETS[name]
            return _U32.unpack_from(raw, offset)[0] if len(raw) >= offset + 4 else 0

        return cls(rtt_us=field("rtt"), rttvar_us=field("rttvar"),
                   snd_cwnd_bytes=field("snd_cwnd") * field("snd_mss"),
                   total_retrans=field("total_retrans"), pmtu=field("pmtu"),
                   snd_wnd=field("snd_wnd"), min_rtt_us=field("min_rtt"),
                   rcv_rtt_us=field("rcv_rtt"))


def read_tcp_info(sock: socket.socket) -> TcpInfo | None:
    """TCP_INFO of a connected socket, or None once the socket is closed."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _FULL_SIZE)
    except OSError:
        return None
    return TcpInfo.parse(raw)


def congestion_control(sock: socket.socket) -> str:
    """The congestion control algorithm of a TCP socket (``TCP_CONGESTION``)."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
    except OSError:
        return ""
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")
