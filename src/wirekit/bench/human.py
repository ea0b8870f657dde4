"""iperf3-style text: interval lines while the test runs, sender/receiver lines at the end.

The columns are iperf3's (``[ ID] Interval  Transfer  Bitrate  Retr  Cwnd`` for TCP senders,
``Jitter  Lost/Total Datagrams`` for UDP receivers), so people read wirekit's output the way they
read iperf3's.  ``--rtt`` appends an RTT column.
"""

from __future__ import annotations

from wirekit.bench.control import plain_host
from wirekit.bench.params import PeerResults
from wirekit.bench.report import (
    SEPARATOR,
    StreamPair,
    format_bytes,
    format_rate,
    pair_streams,
)
from wirekit.bench.run import IntervalReport, RttSummary, StreamSample, TestRun


def _role(sample: StreamSample, bidir: bool, is_client: bool) -> str:
    if not bidir:
        return ""
    return f"[{'TX' if sample.sender else 'RX'}-{'C' if is_client else 'S'}]"


def interval_header(run: TestRun, rtt: bool) -> str:
    role = "[Role]" if run.params.bidirectional else ""
    columns = f"[ ID]{role} Interval           Transfer     Bitrate"
    if run.params.udp:
        sender = any(s.sender for s in run.streams)
        columns += ("         Total Datagrams" if sender
                    else "         Jitter    Lost/Total Datagrams")
    elif any(s.sender for s in run.streams):
        columns += "         Retr  Cwnd"
    return columns + ("   RTT" if rtt else "")


def _line(label: str, sample: StreamSample, tail: str) -> str:
    return (f"{label} {sample.start:6.2f}-{sample.end:<6.2f} sec  "
            f"{format_bytes(sample.bytes):>11}  {format_rate(sample.bits_per_second):>15}"
            f"  {tail}").rstrip()


def _rtt_text(sample: StreamSample) -> str:
    if sample.udp:
        return _udp_rtt(sample.rtt)
    if sample.tcp is None or not sample.sender:
        return ""
    return f"  rtt {sample.tcp.rtt_us / 1000:.3f} ms"


def _udp_rtt(rtt: RttSummary | None) -> str:
    if rtt is None:
        return ""
    return f"  rtt p50 {rtt.p50:.3f} p99 {rtt.p99:.3f} ms"


def _interval_tail(sample: StreamSample) -> str:
    if sample.udp and sample.sender:
        return f"{sample.packets}"
    if sample.udp:
        return (f"{sample.jitter_ms:.3f} ms  {sample.lost}/{sample.packets} "
                f"({sample.lost_percent:.2g}%)")
    if sample.sender and sample.tcp is not None:
        return f"{max(0, sample.retransmits):4d}   {format_bytes(sample.tcp.snd_cwnd_bytes)}"
    return ""


def interval_lines(report: IntervalReport, run: TestRun, rtt: bool) -> list[str]:
    bidir, is_client = run.params.bidirectional, run.is_client
    omitted = "  (omitted)" if report.omitted else ""
    lines = []
    for sample in report.streams:
        label = f"[{sample.fd:3d}]{_role(sample, bidir, is_client)}"
        extra = _rtt_text(sample) if rtt else ""
        lines.append(_line(label, sample, _interval_tail(sample) + extra) + omitted)
    if len(report.streams) > 1 and not bidir:
        total = _sum_sample(list(report.streams))
        lines.append(_line("[SUM]", total, _interval_tail(total)) + omitted)
    if len(report.streams) > 1:
        lines.append(SEPARATOR)
    return lines


def _sum_sample(samples: list[StreamSample]) -> StreamSample:
    first = samples[0]
    packets = sum(s.packets for s in samples)
    return StreamSample(
        0, 0, first.sender, first.udp, min(s.start for s in samples),
        max(s.end for s in samples), sum(s.bytes for s in samples), packets=packets,
        retransmits=sum(max(0, s.retransmits) for s in samples),
        tcp=None, jitter_ms=sum(s.jitter_ms for s in samples) / len(samples),
        lost=sum(s.lost for s in samples))


def summary_lines(run: TestRun, peer: PeerResults | None, rtt: bool,
                  after_interval: bool = True) -> list[str]:
    """The block after the dashed line: each stream's sender and receiver line, then [SUM].

    ``after_interval`` says an interval block was printed before (a test shorter than one
    interval has none, and then the dashed line is printed here whatever the stream count).
    """
    bidir, is_client, udp = run.params.bidirectional, run.is_client, run.params.udp
    header = "[ ID]" + ("[Role]" if bidir else "") + " Interval           Transfer     Bitrate"
    header += "         Jitter    Lost/Total Datagrams" if udp else "         Retr"
    pairs = pair_streams(run, peer)
    # With several streams every interval already ends with the dashed line.
    lines = [SEPARATOR, header] if len(pairs) == 1 or not after_interval else [header]
    for pair in pairs:
        label = f"[{pair.local.fd:3d}]{_role(pair.local, bidir, is_client)}"
        lines += _pair_lines(label, pair, udp, rtt)
    if len(pairs) > 1 and not bidir:
        sent = _sum_sample([p.side(True) for p in pairs])
        received = _sum_sample([p.side(False) for p in pairs])
        both = _pair_lines("[SUM]", StreamPair(sent, None), udp, rtt, received)
        lines += both if peer is not None else both[:1] if sent.sender else both[1:]
    return lines


def _pair_lines(label: str, pair: StreamPair, udp: bool, rtt: bool,
                received: StreamSample | None = None) -> list[str]:
    lines = _both_lines(label, pair, udp, rtt, received)
    if pair.remote is None and received is None:
        # No results from the peer (a test the client terminated): only this side's own
        # line, as iperf3 prints it; the other would repeat our count under the peer's name.
        return [lines[0] if pair.local.sender else lines[1]]
    return lines


def _both_lines(label: str, pair: StreamPair, udp: bool, rtt: bool,
                received: StreamSample | None) -> list[str]:
    sent = pair.side(True)
    got = received or pair.side(False)
    if udp:
        lost = got.lost
        percent = 100.0 * lost / sent.packets if sent.packets else 0.0
        rtt_text = _udp_rtt(sent.rtt) if rtt else ""
        return [_line(label, sent, f"0.000 ms  0/{sent.packets} (0%)  sender{rtt_text}"),
                _line(label, got, f"{got.jitter_ms:.3f} ms  {lost}/{sent.packets} "
                                  f"({percent:.2g}%)  receiver")]
    retr = f"{max(0, sent.retransmits):4d}" if sent.retransmits >= 0 else "    "
    return [_line(label, sent, f"{retr}             sender"),
            _line(label, got, "                 receiver")]


def connected_lines(run: TestRun) -> list[str]:
    lines = []
    for stream in run.streams:
        try:
            local, remote = stream.sock.getsockname(), stream.sock.getpeername()
        except OSError:
            continue
        lines.append(f"[{stream.fd:3d}] local {plain_host(local[0])} port {local[1]} "
                     f"connected to {plain_host(remote[0])} port {remote[1]}")
    return lines
