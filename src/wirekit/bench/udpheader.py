"""The iperf3 UDP payload header and the receiver's loss, order and jitter bookkeeping.

Header (``iperf_udp_send``/``iperf_udp_recv`` in iperf3's ``src/iperf_udp.c``)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                  send time, seconds (big-endian)              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                send time, microseconds (big-endian)           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     sequence number: 32 bits, or 64 bits when the client      |
    |        negotiated udp_counters_64bit; the first is 1          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Only the receiver interprets the header, so the bookkeeping lives here, pure: the engine hands
in sequence numbers and transit times.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from wirekit.errors import DecodeError

HEADER_32 = struct.Struct(">IIL")
HEADER_64 = struct.Struct(">IIQ")
#: How far back (in sequence numbers) a late packet can still be told from a duplicate.
REORDER_WINDOW = 4096


def header_struct(counters_64bit: bool) -> struct.Struct:
    return HEADER_64 if counters_64bit else HEADER_32


@dataclass(frozen=True, slots=True)
class UdpHeader:
    """Send time and sequence number at the start of every UDP datagram."""

    seconds: int
    microseconds: int
    sequence: int

    def encode(self, counters_64bit: bool = False) -> bytes:
        return header_struct(counters_64bit).pack(self.seconds, self.microseconds,
                                                  self.sequence)

    @classmethod
    def decode(cls, data: bytes | memoryview, counters_64bit: bool = False) -> UdpHeader:
        layout = header_struct(counters_64bit)
        if len(data) < layout.size:
            raise DecodeError(f"UDP payload of {len(data)} bytes is shorter than the "
                              f"{layout.size}-byte iperf3 header", layer="iperf3-udp",
                              offset=len(data))
        return cls(*layout.unpack_from(data))

    @property
    def sent_at(self) -> float:
        return self.seconds + self.microseconds / 1e6


class UdpReceiveStats:
    """Loss, out-of-order, duplicates and RFC 1889 jitter of one received UDP stream.

    Compatible with iperf3: ``highest`` (iperf3's packet_count) is the highest sequence number
    seen, a forward gap is counted as loss, and a packet that fills an earlier gap is counted as
    out-of-order and taken back off the loss.  Unlike iperf3, a sequence number seen before is a
    *duplicate* (not out-of-order, and no loss is taken back): the gaps of the last
    :data:`REORDER_WINDOW` numbers are remembered to tell the two apart.
    """

    __slots__ = ("_base", "_missing", "_prev_transit", "duplicates", "highest", "jitter", "lost",
                 "out_of_order", "received")

    def __init__(self) -> None:
        self._base = 0
        self.highest = 0
        self.lost = 0
        self.out_of_order = 0
        self.duplicates = 0
        self.received = 0
        self.jitter = 0.0
        self._prev_transit: float | None = None
        self._missing: set[int] = set()

    def record(self, sequence: int, transit: float) -> None:
        """One datagram: its sequence number and transit time (arrival - send, seconds)."""
        self.received += 1
        if sequence == self.highest + 1:
            self.highest = sequence
        elif sequence > self.highest:
            self._gap(sequence)
        else:
            self._late(sequence)
        self._jitter(transit)

    def record_batch(self, headers: Iterable[tuple[int, int, int]], arrival: float) -> None:
        """Datagrams received together (one ``recvmmsg``): ``(seconds, micros, sequence)``.

        All of them share the batch's arrival time.  The in-order case is inlined: at a few
        hundred thousand datagrams a second a method call per datagram is the bottleneck.
        """
        highest, jitter, previous, received = self.highest, self.jitter, self._prev_transit, 0
        for seconds, micros, sequence in headers:
            received += 1
            if sequence == highest + 1:
                highest = sequence
            else:
                self.highest = highest
                if sequence > highest:
                    self._gap(sequence)
                else:
                    self._late(sequence)
                highest = self.highest
            transit = arrival - seconds - micros * 1e-6
            if previous is None:
                previous = transit
            jitter += (abs(transit - previous) - jitter) * 0.0625  # RFC 1889: (|D| - J) / 16
            previous = transit
        self.highest, self.jitter, self._prev_transit = highest, jitter, previous
        self.received += received

    def _gap(self, sequence: int) -> None:
        self.lost += sequence - 1 - self.highest
        first = max(self.highest + 1, sequence - REORDER_WINDOW)
        self._missing.update(range(first, sequence))
        self.highest = sequence
        if len(self._missing) > REORDER_WINDOW:
            floor = sequence - REORDER_WINDOW
            self._missing = {s for s in self._missing if s >= floor}

    def _late(self, sequence: int) -> None:
        if sequence in self._missing:
            self._missing.discard(sequence)
            self.out_of_order += 1
            if self.lost > 0:
                self.lost -= 1
        elif sequence <= self.highest - REORDER_WINDOW:
            # Too old to tell apart: count it as iperf3 would.
            self.out_of_order += 1
            if self.lost > 0:
                self.lost -= 1
        else:
            self.duplicates += 1

    def _jitter(self, transit: float) -> None:
        # RFC 1889 section 6.3.1 / A.8: J += (|D(i-1,i)| - J) / 16
        if self._prev_transit is None:
            self._prev_transit = transit
        delta = abs(transit - self._prev_transit)
        self._prev_transit = transit
        self.jitter += (delta - self.jitter) / 16.0

    def reset(self) -> None:
        """Start counting afresh at the end of the omit period, keeping the sequence position.

        iperf3 does the same: packets and errors are reported relative to the omit boundary,
        and jitter starts again from zero.
        """
        self._base = self.highest
        self.lost = self.out_of_order = self.duplicates = self.received = 0
        self.jitter = 0.0
        self._prev_transit = None
        self._missing.clear()

    @property
    def packets(self) -> int:
        """Datagrams the sender sent since the last reset, as far as we can tell (iperf3's)."""
        return self.highest - self._base

    @property
    def lost_percent(self) -> float:
        return 100.0 * self.lost / self.packets if self.packets else 0.0
