"""Results as iperf3 prints them: the ``-J`` document and the human lines.

The JSON keys and nesting are iperf3 3.12's (``start``, ``intervals[].streams`` and ``sum``,
``end.sum_sent``/``sum_received`` for TCP, ``end.sum`` with jitter and loss for UDP), so tools
that parse iperf3 output parse wirekit's.  wirekit's own additions sit under keys iperf3 does
not use (``rtt_ms``, ``duplicates``) and never change the meaning of an iperf3 key.
"""

from __future__ import annotations

import platform
import socket
import time
from dataclasses import dataclass
from typing import Any

from wirekit import __version__
from wirekit.bench.control import plain_host
from wirekit.bench.params import PeerResults, StreamResult, TestParams
from wirekit.bench.run import IntervalReport, RttSummary, StreamSample, TestRun

SEPARATOR = "- - - - - - - - - - - - - - - - - - - - - - - - -"


def _scaled(value: float, base: int, units: str) -> str:
    """iperf3's unit_snprintf: three significant digits, K/M/G/T steps of ``base``."""
    index = 0
    while value >= base * 0.9995 if index == 0 else value >= base:
        if index == len(units) - 1:
            break
        value /= base
        index += 1
    digits = "%4.2f" if value < 9.995 else "%4.1f" if value < 99.95 else "%4.0f"
    return (digits % value) + " " + units[index].strip()


def format_bytes(count: float) -> str:
    """``514 MBytes`` (1024-based, as iperf3)."""
    return _scaled(count, 1024, " KMGT") + "Bytes"


def format_rate(bits_per_second: float) -> str:
    """``4.28 Gbits/sec`` (1000-based, as iperf3)."""
    return _scaled(bits_per_second, 1000, " KMGT") + "bits/sec"


def _round(value: float) -> float:
    return round(value, 6)


# --- JSON -----------------------------------------------------------------------------------


def _rtt_json(rtt: RttSummary | None) -> dict[str, Any] | None:
    if rtt is None:
        return None
    return {"samples": rtt.samples, "p50": rtt.p50, "p90": rtt.p90, "p99": rtt.p99,
            "max": rtt.max}


def interval_stream_json(sample: StreamSample, rtt: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"socket": sample.fd, "start": _round(sample.start),
                           "end": _round(sample.end), "seconds": sample.seconds,
                           "bytes": sample.bytes, "bits_per_second": sample.bits_per_second}
    if not sample.udp and sample.sender and sample.tcp is not None:
        info = sample.tcp
        doc.update(retransmits=sample.retransmits, snd_cwnd=info.snd_cwnd_bytes,
                   snd_wnd=info.snd_wnd, rtt=info.rtt_us, rttvar=info.rttvar_us,
                   pmtu=info.pmtu)
    elif sample.udp and sample.sender:
        doc["packets"] = sample.packets
    elif sample.udp:
        doc.update(jitter_ms=sample.jitter_ms, lost_packets=sample.lost,
                   packets=sample.packets, lost_percent=sample.lost_percent)
        doc["out_of_order"] = sample.out_of_order
        doc["duplicates"] = sample.duplicates
    if rtt and sample.udp and sample.sender:
        doc["rtt_ms"] = _rtt_json(sample.rtt)
    doc.update(omitted=sample.omitted, sender=sample.sender)
    return doc


def _sum_json(samples: list[StreamSample], sender: bool, omitted: bool | None,
              udp: bool, retransmits: bool = False) -> dict[str, Any]:
    start = min((s.start for s in samples), default=0.0)
    end = max((s.end for s in samples), default=0.0)
    seconds = end - start
    total = sum(s.bytes for s in samples)
    doc: dict[str, Any] = {"start": _round(start), "end": _round(end), "seconds": seconds,
                           "bytes": total,
                           "bits_per_second": total * 8 / seconds if seconds > 0 else 0.0}
    if not udp and (sender or retransmits):
        doc["retransmits"] = sum(max(0, s.retransmits) for s in samples)
    if udp:
        packets = sum(s.packets for s in samples)
        lost = sum(s.lost for s in samples)
        doc.update(jitter_ms=(sum(s.jitter_ms for s in samples) / len(samples)
                              if samples and not sender else 0.0),
                   lost_packets=lost, packets=packets,
                   lost_percent=100.0 * lost / packets if packets else 0.0)
    if omitted is not None:
        doc["omitted"] = omitted
    doc["sender"] = sender
    return doc


def interval_json(report: IntervalReport, run: TestRun, rtt: bool) -> dict[str, Any]:
    """One element of ``intervals``: per-stream objects and their sum (two sums with --bidir).

    ``sum`` is the test's main direction (client to server unless -R) and ``sum_bidir_reverse``
    the other, on both sides, as iperf3 writes them.
    """
    params = run.params
    streams = list(report.streams)
    doc: dict[str, Any] = {"streams": [interval_stream_json(s, rtt) for s in streams]}
    if params.bidirectional:
        local = _forward_sender(run)
        forward = [s for s in streams if s.sender == local]
        backward = [s for s in streams if s.sender != local]
        doc["sum"] = _sum_json(forward, local, report.omitted, params.udp)
        doc["sum_bidir_reverse"] = _sum_json(backward, not local, report.omitted, params.udp)
    else:
        sender = bool(streams and streams[0].sender)
        doc["sum"] = _sum_json(streams, sender, report.omitted, params.udp)
    return doc


@dataclass(frozen=True, slots=True)
class StreamPair:
    """One stream at the end: what its sender and its receiver reported."""

    local: StreamSample
    remote: StreamResult | None

    def side(self, sender: bool) -> StreamSample:
        """The stream as seen by its sender (``sender=True``) or its receiver."""
        if self.local.sender == sender or self.remote is None:
            return self.local
        remote = self.remote
        return StreamSample(
            self.local.stream_id, self.local.fd, self.local.sender, self.local.udp,
            remote.start_time, remote.end_time, remote.bytes, packets=remote.packets,
            retransmits=remote.retransmits, jitter_ms=remote.jitter * 1000, lost=remote.errors,
            out_of_order=remote.out_of_order, duplicates=remote.duplicates)


def pair_streams(run: TestRun, peer: PeerResults | None) -> list[StreamPair]:
    return [StreamPair(total, peer.stream(total.stream_id) if peer else None)
            for total in run.totals()]


def _end_tcp_stream(pair: StreamPair, run: TestRun) -> dict[str, Any]:
    sent, received = pair.side(True), pair.side(False)
    sender_doc = _end_entry(sent, pair.local.sender)
    sender_doc["retransmits"] = max(0, sent.retransmits)
    cwnd, wnd, rtt_max, rtt_min, rtt_mean = (run.tcp_rtt_range(sent.stream_id)
                                             if pair.local.sender else (0, 0, 0, 0, 0))
    sender_doc.update(max_snd_cwnd=cwnd, max_snd_wnd=wnd, max_rtt=rtt_max, min_rtt=rtt_min,
                      mean_rtt=rtt_mean)
    sender_doc["sender"] = pair.local.sender
    return {"sender": sender_doc, "receiver": _end_entry(received, pair.local.sender)}


def _end_entry(sample: StreamSample, sender: bool) -> dict[str, Any]:
    seconds = sample.seconds
    return {"socket": sample.fd, "start": _round(sample.start), "end": _round(sample.end),
            "seconds": _round(seconds), "bytes": sample.bytes,
            "bits_per_second": sample.bytes * 8 / seconds if seconds > 0 else 0.0,
            "sender": sender}


def _end_udp_stream(pair: StreamPair, rtt: bool) -> dict[str, Any]:
    sent, received = pair.side(True), pair.side(False)
    doc = _end_entry(sent, pair.local.sender)
    del doc["sender"]
    doc.update(jitter_ms=received.jitter_ms, lost_packets=received.lost,
               packets=sent.packets,
               lost_percent=100.0 * received.lost / sent.packets if sent.packets else 0.0,
               out_of_order=received.out_of_order, duplicates=received.duplicates)
    if rtt:
        doc["rtt_ms"] = _rtt_json(sent.rtt)
    doc["sender"] = pair.local.sender
    return {"udp": doc}


def end_json(run: TestRun, peer: PeerResults | None, *, rtt: bool) -> dict[str, Any]:
    """The ``end`` object: per-stream sender/receiver views, sums, CPU use, congestion."""
    params = run.params
    pairs = pair_streams(run, peer)
    doc: dict[str, Any] = {}
    if params.udp:
        doc["streams"] = [_end_udp_stream(pair, rtt) for pair in pairs]
    else:
        doc["streams"] = [_end_tcp_stream(pair, run) for pair in pairs]
    forward = _forward_sender(run)
    groups = [("", [p for p in pairs if p.local.sender == forward])]
    if params.bidirectional:
        groups.append(("_bidir_reverse", [p for p in pairs if p.local.sender != forward]))
    for suffix, group in groups:
        is_local_sender = bool(group and group[0].local.sender)
        sent = [p.side(True) for p in group]
        received = [p.side(False) for p in group]
        if params.udp and not suffix:
            doc["sum"] = _udp_sum(sent, received, is_local_sender)
        doc["sum_sent" + suffix] = _sum_json(sent, is_local_sender, None, params.udp,
                                             retransmits=True)
        doc["sum_received" + suffix] = _sum_json(received, is_local_sender, None, params.udp)
        if params.udp:
            doc["sum_sent" + suffix]["sender"] = True
            doc["sum_received" + suffix]["sender"] = False
    doc["cpu_utilization_percent"] = _cpu_json(run, peer)
    if not params.udp:
        doc.update(_congestion_json(run, peer))
    return doc


def _forward_sender(run: TestRun) -> bool:
    """Whether this side sends on the test's main direction (the client's, unless -R)."""
    client_sends = not run.params.reverse or run.params.bidirectional
    return client_sends if run.is_client else not client_sends


def _udp_sum(sent: list[StreamSample], received: list[StreamSample],
             local_sender: bool) -> dict[str, Any]:
    doc = _sum_json(received, local_sender, None, True)
    doc["bytes"] = sum(s.bytes for s in sent)
    packets = sum(s.packets for s in sent)
    doc["packets"] = packets
    doc["lost_percent"] = 100.0 * doc["lost_packets"] / packets if packets else 0.0
    doc["jitter_ms"] = (sum(s.jitter_ms for s in received) / len(received)) if received else 0.0
    seconds = doc["seconds"]
    doc["bits_per_second"] = doc["bytes"] * 8 / seconds if seconds > 0 else 0.0
    doc["sender"] = local_sender
    return doc


def _cpu_json(run: TestRun, peer: PeerResults | None) -> dict[str, float]:
    return {"host_total": run.cpu.total, "host_user": run.cpu.user,
            "host_system": run.cpu.system,
            "remote_total": peer.cpu_total if peer else 0.0,
            "remote_user": peer.cpu_user if peer else 0.0,
            "remote_system": peer.cpu_system if peer else 0.0}


def _congestion_json(run: TestRun, peer: PeerResults | None) -> dict[str, str]:
    local = run.congestion()
    remote = peer.congestion_used if peer else ""
    if run.params.bidirectional or (run.is_client != run.params.reverse):
        return {"sender_tcp_congestion": local, "receiver_tcp_congestion": remote or local}
    return {"sender_tcp_congestion": remote or local, "receiver_tcp_congestion": local}


def start_json(run: TestRun, *, cookie: bytes, peer: tuple[str, int], is_client: bool,
               control: socket.socket | None) -> dict[str, Any]:
    """The ``start`` object: connections, version, host, cookie, test parameters."""
    params = run.params
    connected = [_connected(stream.sock, stream.fd) for stream in run.streams]
    now = time.time()
    doc: dict[str, Any] = {
        "connected": connected, "version": f"wirekit {__version__} (iperf 3.12 protocol)",
        "system_info": " ".join(platform.uname()),
        "timestamp": {"time": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)),
                      "timesecs": int(now)}}
    key = "connecting_to" if is_client else "accepted_connection"
    doc[key] = {"host": peer[0], "port": peer[1]}
    doc["cookie"] = cookie.rstrip(b"\0").decode("ascii", "replace")
    if not params.udp and params.mss:
        doc["tcp_mss"] = params.mss  # iperf3: the -M value replaces the default's key
    elif not params.udp:
        doc["tcp_mss_default"] = _mss(run)
    doc["target_bitrate"] = params.bandwidth
    doc.update(_buffers(run))
    doc["test_start"] = {
        "protocol": params.protocol_name, "num_streams": params.parallel,
        "blksize": params.length, "omit": _int(params.omit), "duration": _int(params.duration),
        "bytes": params.bytes, "blocks": params.blocks, "reverse": int(params.reverse),
        "tos": params.tos, "target_bitrate": params.bandwidth}
    return doc


def document_extras(params: TestParams) -> dict[str, str]:
    """``-T/--title`` and ``--extra-data``: iperf3 puts them last in the top level of its -J
    document (``iperf_json_finish``), on both sides, the server having them from the
    client's parameters."""
    extras = {"title": params.title, "extra_data": params.extra_data}
    return {key: value for key, value in extras.items() if value}


def _int(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _connected(sock: socket.socket, fd: int) -> dict[str, Any]:
    try:
        local, remote = sock.getsockname(), sock.getpeername()
    except OSError:
        local = remote = ("", 0)
    return {"socket": fd, "local_host": plain_host(local[0]), "local_port": local[1],
            "remote_host": plain_host(remote[0]), "remote_port": remote[1]}


def _mss(run: TestRun) -> int:
    for stream in run.streams:
        try:
            return int(stream.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))
        except OSError:
            continue
    return 0


def _buffers(run: TestRun) -> dict[str, int]:
    sndbuf = rcvbuf = 0
    if run.streams:
        sock = run.streams[0].sock
        try:
            sndbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            pass
    return {"sock_bufsize": run.params.window, "sndbuf_actual": sndbuf,
            "rcvbuf_actual": rcvbuf}
