"""One running test: its streams, interval samples, omit period, end and local results.

Both roles use it: the client and each server session drive a :class:`TestRun` from their
control loop (``poll`` when an interval is due, ``finish`` at the end, ``drain`` before results).
The data moves in :mod:`wirekit.bench.engine` threads; this module only reads their counters.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass, field, replace

from wirekit.bench.engine import (
    ByteBudget,
    EngineConfig,
    Stream,
    Wakeup,
    start_worker,
    unacked_bytes,
)
from wirekit.bench.params import PeerResults, StreamResult, TestParams
from wirekit.bench.tcpinfo import TcpInfo, congestion_control, read_tcp_info

#: How long to wait for the peer to acknowledge everything sent before declaring the end.
DELIVERY_LIMIT = 1.0
#: ... and then for its application to read what its kernel acknowledged.
DELIVERY_GRACE = 0.02


def stream_ids() -> list[int]:
    """iperf3's stream ids: 1, then 3, 4, 5, ... (its counter starts at 2 and is bumped first)."""
    return [1, *range(3, 3 + 200)]


@dataclass(frozen=True, slots=True)
class RttSummary:
    """Round-trip times in milliseconds over one interval or the whole test."""

    samples: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: list[float]) -> RttSummary | None:
        if not seconds:
            return None
        ordered = sorted(seconds)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        return cls(len(ordered), pick(0.5), pick(0.9), pick(0.99), ordered[-1] * 1000)


@dataclass(frozen=True, slots=True)
class StreamSample:
    """One stream over one interval (or the whole test, for the end summary)."""

    stream_id: int
    fd: int
    sender: bool
    udp: bool
    start: float
    end: float
    bytes: int
    omitted: bool = False
    packets: int = 0
    retransmits: int = -1
    tcp: TcpInfo | None = None
    jitter_ms: float = 0.0
    lost: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    rtt: RttSummary | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def bits_per_second(self) -> float:
        return self.bytes * 8 / self.seconds if self.seconds > 0 else 0.0

    @property
    def lost_percent(self) -> float:
        return 100.0 * self.lost / self.packets if self.packets else 0.0


@dataclass(frozen=True, slots=True)
class IntervalReport:
    start: float
    end: float
    omitted: bool
    streams: tuple[StreamSample, ...]


@dataclass(slots=True)
class _Baseline:
    """Counter values at the start of the current interval, and since the omit boundary."""

    bytes: int = 0
    packets: int = 0
    retrans: int = 0
    lost: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    udp_packets: int = 0
    rtts: list[int] = field(default_factory=list)
    cwnd_max: int = 0
    snd_wnd_max: int = 0
    all_rtt: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CpuUsage:
    total: float
    user: float
    system: float


class TestRun:
    """The streams of one test and everything measured about them."""

    def __init__(self, params: TestParams, *, is_client: bool, interval: float = 1.0,
                 zerocopy: bool = False) -> None:
        self.params = params
        self.is_client = is_client
        self.interval = interval
        self.streams: list[Stream] = []
        self._ids = iter(stream_ids())
        self._budget = self._make_budget()
        self._config = EngineConfig(length=params.length, bandwidth=params.bandwidth,
                                    counters_64bit=params.udp_counters_64bit,
                                    zerocopy=zerocopy, rtt_echo=params.wirekit_rtt)
        self._interval_base: dict[int, _Baseline] = {}
        self._test_base: dict[int, _Baseline] = {}
        self.started = 0.0
        self.measure_start = 0.0
        self.omitting = params.omit > 0
        self._next_report = 0.0
        self.ended = 0.0
        self._cpu_start = os.times()
        self.cpu = CpuUsage(0.0, 0.0, 0.0)
        #: Signalled by a worker when it ends; the control loop waits on it with its socket.
        self.wakeup = Wakeup()
        #: Client: seconds from the end of the test to TEST_END (see :meth:`finish`).
        self.end_wait = 0.0
        self._receive_end_shift = 0.0

    def _make_budget(self) -> ByteBudget | None:
        """``-n`` bytes or ``-k`` blocks (as bytes: whole blocks are taken from it)."""
        total = self.params.byte_budget
        return ByteBudget(total) if total else None

    # --- setting up --------------------------------------------------------------------------

    def sender_plan(self) -> list[bool]:
        """Whether each stream, in creation order, is sent by this side.

        The client creates its sending streams first in bidirectional mode; the server accepts
        them in the same order, so its first streams are its receiving ones.
        """
        count, params = self.params.parallel, self.params
        if params.bidirectional:
            first = self.is_client
            return [first] * count + [not first] * count
        client_sends = not params.reverse
        return [client_sends if self.is_client else not client_sends] * count

    def add_stream(self, sock: socket.socket, sender: bool) -> Stream:
        stream = Stream(next(self._ids), sock, sender, self.params.udp)
        self.streams.append(stream)
        return stream

    def start(self) -> None:
        """Start the clock and every worker (the client at TEST_RUNNING, the server after it)."""
        now = time.monotonic()
        self.started = self.measure_start = now
        self._next_report = now + self.interval
        self._cpu_start = os.times()
        planned = self.params.omit + self.params.duration
        config = replace(self._config, deadline=now + planned if self.params.duration else 0.0)
        for stream in self.streams:
            self._interval_base[stream.id] = _Baseline()
            self._test_base[stream.id] = _Baseline()
            start_worker(stream, config, self._budget if stream.sender else None, self.wakeup)

    # --- while running -----------------------------------------------------------------------

    def poll_period(self) -> float:
        """How long the control loop may sleep between looks at the streams.

        A sender that ends signals :attr:`wakeup`, but a ``-n`` receiver (``-R -n``) has
        only its count to show that the budget arrived, so it is looked at every 10 ms.
        """
        if self.params.byte_budget and any(not s.sender for s in self.streams):
            return 0.01
        return 0.2

    def next_wakeup(self) -> float:
        """Seconds until something is due (an interval, the end of the omit period, the end)."""
        deadlines = [self._next_report]
        if self.omitting:
            deadlines.append(self.started + self.params.omit)
        if self.params.duration:
            deadlines.append(self.started + self.params.omit + self.params.duration)
        return max(0.0, min(deadlines) - time.monotonic())

    def poll(self) -> list[IntervalReport]:
        """The intervals that are due now; at the end of the omit period, start counting afresh."""
        now = time.monotonic()
        reports = []
        if self.omitting and now >= self.started + self.params.omit:
            reports.append(self._sample(now, omitted=True))
            self._end_omit(now)
        elif self.interval and now >= self._next_report:
            reports.append(self._sample(now, omitted=self.omitting))
            self._next_report += self.interval * (1 + int((now - self._next_report)
                                                          / self.interval))
        return reports

    def _end_omit(self, now: float) -> None:
        self.omitting = False
        self.measure_start = now
        self._next_report = now + self.interval
        self._cpu_start = os.times()
        for stream in self.streams:
            base = self._snapshot(stream)
            if stream.udp and not stream.sender:
                # The worker zeroes the loss/order counters on its next batch (it owns them).
                base.lost = base.out_of_order = base.duplicates = base.udp_packets = 0
                stream.reset_requested = True
            self._interval_base[stream.id] = base
            self._test_base[stream.id] = _Baseline(bytes=base.bytes, packets=base.packets,
                                                   retrans=base.retrans)

    def time_is_up(self) -> bool:
        if not self.params.duration:
            return False
        return time.monotonic() >= self.started + self.params.omit + self.params.duration

    def budget_done(self) -> bool:
        """``-n``/``-k``: all bytes sent (forward), received (reverse), or both (bidirectional).

        A UDP receiver counts a datagram lost on the way as arrived (its sequence number was
        passed), or one lost datagram would keep the test from ever ending.
        """
        total = self.params.byte_budget
        if not total or self.omitting:
            return False
        sent = sum(s.bytes for s in self.streams if s.sender)
        received = sum(max(s.bytes, s.udp_stats.highest * self.params.length) if s.udp
                       else s.bytes for s in self.streams if not s.sender)
        has_sender = any(s.sender for s in self.streams)
        has_receiver = any(not s.sender for s in self.streams)
        return (not has_sender or sent >= total) and (not has_receiver or received >= total)

    def failure(self) -> str | None:
        """Why a stream died (reset, or EOF while the test runs), if one did."""
        for stream in self.streams:
            if stream.error:
                return f"stream {stream.id}: {stream.error}"
            if stream.eof and not stream.stop:
                return f"stream {stream.id}: closed by the peer during the test"
        return None

    # --- the end -----------------------------------------------------------------------------

    def finish(self) -> IntervalReport | None:
        """Stop the senders, let the peer read what they sent, close the last interval."""
        now = time.monotonic()
        self.ended = now
        for stream in self.streams:
            if stream.sender:
                stream.stop = True
        self._wait_senders()
        self._cpu_end()
        last = None
        # Like iperf3, a last interval shorter than a tenth of the interval is not reported
        # on its own; its bytes are in the summary.
        if not self.omitting and now - self._interval_start() > 0.1 * (self.interval or 1):
            last = self._sample(now, omitted=False)
        return last

    def _interval_start(self) -> float:
        return self._next_report - self.interval

    def _wait_senders(self) -> None:
        senders = [s for s in self.streams if s.sender]
        for stream in senders:
            if stream.thread is not None:
                stream.thread.join(DELIVERY_LIMIT)
        deadline = time.monotonic() + DELIVERY_LIMIT
        tcp = [s.sock for s in senders if not s.udp]
        while tcp and time.monotonic() < deadline and any(unacked_bytes(s) for s in tcp):
            time.sleep(0.002)
        if senders:
            time.sleep(DELIVERY_GRACE)

    def drain(self) -> None:
        """Stop the receivers once they have read what is still in flight; join every worker."""
        for stream in self.streams:
            stream.stop = True
        for stream in self.streams:
            if stream.thread is not None:
                stream.thread.join(3.0)

    def end_streams(self) -> None:
        """Send FIN on every TCP stream once it is drained, as iperf3's server does at TEST_END.

        iperf3's server closes every data socket when TEST_END arrives
        (``iperf_handle_message_server``), and its client relies on it: after sending TEST_END
        an iperf3 3.12 client makes its sockets blocking again and keeps "draining" the streams
        it receives with whole-block reads (``iperf_run_client``).  Its earlier non-blocking
        reads were cut at arbitrary points, so the last block it waits for is never completed
        by data, only by EOF; without the FIN it sits in ``read()`` and never sees
        EXCHANGE_RESULTS.  ``shutdown`` (not ``close``) keeps the socket for ``TCP_INFO``.
        """
        for stream in self.streams:
            if not stream.udp:
                with contextlib.suppress(OSError):
                    stream.sock.shutdown(socket.SHUT_WR)

    def _cpu_end(self) -> None:
        end = os.times()
        wall = (time.monotonic() - self.measure_start) or 1e-9
        user = (end.user - self._cpu_start.user) / wall * 100
        system = (end.system - self._cpu_start.system) / wall * 100
        self.cpu = CpuUsage(user + system, user, system)

    def close(self) -> None:
        for stream in self.streams:
            stream.stop = True
            stream.sock.close()
        self.wakeup.close()

    # --- measuring ---------------------------------------------------------------------------

    def _snapshot(self, stream: Stream) -> _Baseline:
        info = read_tcp_info(stream.sock) if not stream.udp else None
        stats = stream.udp_stats
        return _Baseline(bytes=stream.bytes, packets=stream.packets,
                         retrans=info.total_retrans if info else 0, lost=stats.lost,
                         out_of_order=stats.out_of_order, duplicates=stats.duplicates,
                         udp_packets=stats.packets)

    def _sample(self, now: float, *, omitted: bool) -> IntervalReport:
        start = max(self._interval_start(), self.measure_start) - self.measure_start
        samples = tuple(self._sample_stream(s, start, now - self.measure_start, omitted)
                        for s in self.streams)
        return IntervalReport(start, now - self.measure_start, omitted, samples)

    def _sample_stream(self, stream: Stream, start: float, end: float,
                       omitted: bool) -> StreamSample:
        base = self._interval_base[stream.id]
        info = read_tcp_info(stream.sock) if not stream.udp else None
        stats = stream.udp_stats
        rtt_samples, stream.rtt_samples = stream.rtt_samples, []
        total = self._test_base[stream.id]
        total.all_rtt.extend(rtt_samples)
        if info is not None and stream.sender:
            total.rtts.append(info.rtt_us)
            total.cwnd_max = max(total.cwnd_max, info.snd_cwnd_bytes)
            total.snd_wnd_max = max(total.snd_wnd_max, info.snd_wnd)
        udp_receiver = stream.udp and not stream.sender
        packets = (stats.packets - base.udp_packets if udp_receiver
                   else stream.packets - base.packets)
        sample = StreamSample(
            stream.id, stream.fd, stream.sender, stream.udp, start, end,
            stream.bytes - base.bytes, omitted, packets=packets,
            retransmits=(info.total_retrans - base.retrans) if info and stream.sender else -1,
            tcp=info, jitter_ms=stats.jitter * 1000, lost=max(0, stats.lost - base.lost),
            out_of_order=stats.out_of_order - base.out_of_order,
            duplicates=stats.duplicates - base.duplicates, rtt=RttSummary.of(rtt_samples))
        self._interval_base[stream.id] = _Baseline(
            bytes=stream.bytes, packets=stream.packets,
            retrans=info.total_retrans if info else 0, lost=stats.lost,
            out_of_order=stats.out_of_order, duplicates=stats.duplicates,
            udp_packets=stats.packets)
        return sample

    def discount_peer_wait(self, seconds: float) -> None:
        """Server: the client ended the test ``seconds`` before it sent TEST_END.

        A wirekit client waits for its data to be delivered before TEST_END (an iperf3 server
        stops counting there) and says how long in its results.  Our receiving streams got
        that data meanwhile, so their test ended that much before TEST_END arrived here;
        without this a -n 64M test (25 ms of data) reported half its rate.  A peer's figure
        never makes the measured time zero or negative.
        """
        measured = (self.ended or time.monotonic()) - self.measure_start
        self._receive_end_shift = max(0.0, min(seconds, measured - 0.001))

    def totals(self) -> list[StreamSample]:
        """Each stream over the whole measured test (after the omit period)."""
        end = (self.ended or time.monotonic()) - self.measure_start
        return [self._total(stream, end if stream.sender else end - self._receive_end_shift)
                for stream in self.streams]

    def _total(self, stream: Stream, end: float) -> StreamSample:
        base = self._test_base[stream.id]
        stats = stream.udp_stats
        info = read_tcp_info(stream.sock) if not stream.udp and stream.sender else None
        udp_receiver = stream.udp and not stream.sender
        retrans = info.total_retrans - base.retrans if info else -1
        return StreamSample(
            stream.id, stream.fd, stream.sender, stream.udp, 0.0, end,
            stream.bytes - base.bytes,
            packets=stats.packets if udp_receiver else stream.packets - base.packets,
            retransmits=retrans, tcp=info, jitter_ms=stats.jitter * 1000, lost=stats.lost,
            out_of_order=stats.out_of_order, duplicates=stats.duplicates,
            rtt=RttSummary.of(base.all_rtt))

    def tcp_rtt_range(self, stream_id: int) -> tuple[int, int, int, int, int]:
        """(max cwnd, max snd_wnd, max/min/mean rtt) of a TCP sender: iperf3's end keys."""
        base = self._test_base[stream_id]
        rtts = base.rtts or [0]
        return (base.cwnd_max, base.snd_wnd_max, max(rtts), min(rtts),
                sum(rtts) // len(rtts))

    def congestion(self) -> str:
        tcp = [s.sock for s in self.streams if not s.udp]
        return congestion_control(tcp[0]) if tcp else ""

    def results(self) -> PeerResults:
        """This side's results document for the exchange."""
        streams = tuple(self._result(total) for total in self.totals())
        has_retrans = 1 if any(s.sender and not s.udp for s in self.streams) else -1
        return PeerResults(self.cpu.total, self.cpu.user, self.cpu.system, has_retrans,
                           streams, congestion_used=self.congestion(), end_wait=self.end_wait)

    @staticmethod
    def _result(total: StreamSample) -> StreamResult:
        receiver = not total.sender
        return StreamResult(
            id=total.stream_id, bytes=total.bytes, retransmits=total.retransmits,
            jitter=total.jitter_ms / 1000 if receiver else 0.0,
            errors=total.lost if receiver else 0, packets=total.packets,
            start_time=0.0, end_time=round(total.end, 6),
            out_of_order=total.out_of_order, duplicates=total.duplicates)
