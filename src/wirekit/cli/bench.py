"""``wirekit bench server|client``: iperf3-compatible throughput tests."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import Any

import click

from wirekit.bench import BenchClient, BenchServer, ClientOptions, ServerOptions, TestParams
from wirekit.bench.control import Observer
from wirekit.bench.human import connected_lines, interval_header, interval_lines, summary_lines
from wirekit.bench.params import (
    DEFAULT_TCP_BLOCK,
    MAX_MSS,
    MIN_MSS,
    PeerResults,
    parse_count,
    parse_dscp,
    parse_mss,
    parse_port,
    parse_rate,
    parse_size,
    parse_tos,
)
from wirekit.bench.report import document_extras, interval_json
from wirekit.bench.run import IntervalReport, TestRun
from wirekit.cli.common import FiniteFloatRange, print_json, print_json_line, stdout_console
from wirekit.errors import BenchError, UsageError, WirekitError


class HumanObserver(Observer):
    """iperf3-style lines on stdout; ``prefix`` tells concurrent server tests apart."""

    def __init__(self, rtt: bool = False, prefix: str = "", is_client: bool = True) -> None:
        self.console = stdout_console()
        self.rtt = rtt
        self.prefix = prefix
        self.is_client = is_client
        self._lock = threading.Lock()
        #: tests (by id) that printed an interval block: their summary needs no dashed line
        self._with_intervals: set[int] = set()

    def emit(self, lines: list[str]) -> None:
        with self._lock:
            for line in lines:
                self.console.print(self.prefix + line, markup=False, highlight=False,
                                   soft_wrap=True)

    def on_start(self, run: TestRun, start: dict[str, Any]) -> None:
        self.emit([*connected_lines(run), interval_header(run, self.rtt)])

    def on_interval(self, run: TestRun, report: IntervalReport) -> None:
        self._with_intervals.add(id(run))
        self.emit(interval_lines(report, run, self.rtt))

    def on_end(self, run: TestRun, document: dict[str, Any], peer: PeerResults | None) -> None:
        printed = id(run) in self._with_intervals
        self._with_intervals.discard(id(run))
        self.emit(summary_lines(run, peer, self.rtt, after_interval=printed))
        if "error" in document:  # a test the client ended with CLIENT_TERMINATE
            self.emit([str(document["error"])])
        if peer is not None and peer.server_output_text is not None:
            self.emit(["", "Server output:", *peer.server_output_text.rstrip("\n").split("\n")])
        elif peer is not None and peer.server_output_json is not None:
            self.emit(["", "Server JSON output:",
                       json.dumps(peer.server_output_json, indent=4)])

    def on_error(self, message: str) -> None:
        self.emit([f"error: {message}"])


class JsonObserver(Observer):
    """``-J``: the whole iperf3-shaped document at the end (and an ``error`` key on failure).

    ``extras`` (the client's ``title`` and ``extra_data``) also go into the error document:
    iperf3 adds them to whatever document it prints.
    """

    def __init__(self, extras: dict[str, str] | None = None) -> None:
        self.error = ""
        self.extras = extras or {}

    def on_end(self, run: TestRun, document: dict[str, Any], peer: PeerResults | None) -> None:
        print_json(document)

    def on_error(self, message: str) -> None:
        print_json({"start": {}, "intervals": [], "end": {}, "error": message, **self.extras})


class JsonStreamObserver(Observer):
    """``--json-stream``: one line per event while the test runs."""

    def __init__(self, rtt: bool = False, test: int | None = None,
                 extras: dict[str, str] | None = None) -> None:
        self.rtt = rtt
        self.test = test
        self.extras = extras or {}

    def _line(self, event: str, data: Any) -> None:
        line: dict[str, Any] = {"event": event, "data": data}
        if self.test is not None:
            line["test"] = self.test
        line.update(self.extras)
        print_json_line(line)

    def on_start(self, run: TestRun, start: dict[str, Any]) -> None:
        # -T / --extra-data (the server learns them from the client's parameters): on every
        # line, as -T prefixes every line of text output.
        self.extras = document_extras(run.params)
        self._line("start", start)

    def on_interval(self, run: TestRun, report: IntervalReport) -> None:
        self._line("interval", interval_json(report, run, self.rtt))

    def on_end(self, run: TestRun, document: dict[str, Any], peer: PeerResults | None) -> None:
        self._line("end", document["end"])
        for key in ("server_output_json", "server_output_text"):
            if key in document:
                self._line(key, document[key])

    def on_error(self, message: str) -> None:
        self._line("error", message)


def _on_signals(handler: Callable[[], None]) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        handler()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


@click.group()
def bench() -> None:
    """iperf3-compatible throughput tests (iperf3 3.12's protocol, both directions).

    Either side can be a real iperf3: `wirekit bench server` serves `iperf3 -c`, and
    `wirekit bench client` tests against `iperf3 -s`.  Output looks like iperf3's; -J
    prints iperf3's JSON document.

    \b
    Examples:
      wirekit bench server                      # serve on port 5201 until Ctrl-C
      wirekit bench client 127.0.0.1 -t 5       # TCP, 5 seconds
      wirekit bench client 127.0.0.1 -P 4       # four parallel streams
      wirekit bench client 127.0.0.1 -u -b 1G   # UDP at 1 Gbit/s
      wirekit bench client 127.0.0.1 -R -J      # server sends, JSON output
    """


@bench.command()
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=5201, show_default=True,
              help="Port to listen on (TCP control and data, UDP data).")
@click.option("-B", "--bind", "host", default="", help="Address to listen on (default: all).")
@click.option("-1", "--one-off", is_flag=True, help="Serve one test, then exit.")
@click.option("--max-clients", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Tests run at once; one more gets ACCESS_DENIED (iperf3's 'busy').")
@click.option("--idle-timeout", type=FiniteFloatRange(1, 3600), default=10.0,
              show_default=True,
              help="Seconds past the expected end (or without data) before a test is dropped.")
@click.option("-i", "--interval", type=FiniteFloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds between interval reports (0: none).")
@click.option("-J", "--json", "as_json", is_flag=True, help="One iperf3 JSON document per test.")
@click.option("--json-stream", is_flag=True, help="One JSON line per interval, live.")
@click.option("-Z", "--zerocopy", is_flag=True,
              help="Send with sendfile() from a memfd (slower than send() on loopback).")
def server(  # noqa: PLR0917 - click passes every option
        port: int, host: str, one_off: bool, max_clients: int, idle_timeout: float,
           interval: float, as_json: bool, json_stream: bool, zerocopy: bool) -> None:
    """Serve throughput tests to iperf3 or wirekit clients, several at once.

    Each test's streams get the options its client asked for (-w -C -M -N -S/--dscp
    --fq-rate), also when this side sends (-R); a client's -T and --extra-data go into the
    server's JSON.

    \b
    Examples:
      wirekit bench server -p 5201
      wirekit bench server -1 -J          # one test, JSON result, then exit
    """
    options = ServerOptions(host=host, port=port, one_off=one_off, max_clients=max_clients,
                            idle_timeout=idle_timeout, interval=interval,
                            zerocopy=zerocopy, json_output=as_json)
    console = stdout_console()

    def observer(number: int, peer: tuple[str, int]) -> Observer:
        if as_json:
            return JsonObserver()
        if json_stream:
            return JsonStreamObserver(test=number)
        prefix = f"#{number} " if max_clients > 1 else ""
        console.print(f"{prefix}Accepted connection from {peer[0]}, port {peer[1]}",
                      markup=False, highlight=False)
        return HumanObserver(prefix=prefix, is_client=False)

    bench_server = BenchServer(options, observer)
    if not (as_json or json_stream):
        console.print(f"Server listening on {bench_server.port}", markup=False,
                      highlight=False)
    else:
        click.echo(f"Server listening on {bench_server.port}", err=True)
    _on_signals(bench_server.shutdown)
    bench_server.serve_forever()
    if one_off and bench_server.failed:
        raise BenchError("the test failed")


@bench.command()
@click.argument("host")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=5201, show_default=True)
@click.option("-t", "--time", "duration", type=FiniteFloatRange(0, 86400), default=None,
              help="Seconds to transmit (default 10; 0: until Ctrl-C, as iperf3).")
@click.option("-n", "--bytes", "byte_count", default=None,
              help="Bytes to transmit instead of a time (K/M/G suffixes, 1024-based).")
@click.option("-k", "--blockcount", default=None, metavar="N[KMG]",
              help="Blocks (UDP: datagrams) of -l bytes to transmit, all streams together, "
                   "instead of -t or -n (K/M/G: 1024-based); with -R the server sends them.")
@click.option("-P", "--parallel", type=click.IntRange(1, 128), default=1, show_default=True,
              help="Parallel streams.")
@click.option("-u", "--udp", is_flag=True, help="UDP instead of TCP.")
@click.option("-b", "--bitrate", default=None,
              help="Target bits/s per stream (K/M/G, 1000-based); UDP default 1M, 0 = unlimited.")
@click.option("--fq-rate", "fq_rate", default=None, metavar="RATE[KMG]",
              help="Kernel pacing of each stream (SO_MAX_PACING_RATE), bits/s (K/M/G, "
                   "1000-based); the server paces its streams too.  On top of -b.")
@click.option("-l", "--length", default=None,
              help="Block (TCP) or datagram (UDP) size; default 128K (TCP), path MSS (UDP).")
@click.option("--cport", default=None, metavar="PORT",
              help="Local port of the first data stream; with -P the next ones take the "
                   "following ports (--bidir: receiving streams after sending ones).")
@click.option("-R", "--reverse", is_flag=True, help="The server sends, the client receives.")
@click.option("--bidir", is_flag=True, help="Both directions at once.")
@click.option("-w", "--window", default=None, help="Socket buffer size (SO_SNDBUF/SO_RCVBUF).")
@click.option("-C", "--congestion", default="", help="TCP congestion control (e.g. cubic, bbr).")
@click.option("-M", "--set-mss", "mss", default=None, metavar="BYTES",
              help=f"TCP maximum segment size (TCP_MAXSEG, set before connect; "
                   f"{MIN_MSS}-{MAX_MSS}; MTU - 40).")
@click.option("-N", "--no-delay", "nodelay", is_flag=True,
              help="TCP_NODELAY: no Nagle algorithm (both sides).")
@click.option("-4", "--version4", "ipv4", is_flag=True, help="Only IPv4 addresses of HOST.")
@click.option("-6", "--version6", "ipv6", is_flag=True, help="Only IPv6 addresses of HOST.")
@click.option("-S", "--tos", default=None, metavar="N",
              help="IP TOS byte 0-255 (IPV6_TCLASS over IPv6), both sides: 52, 064 and 0x34 "
                   "are the same.")
@click.option("--dscp", default=None, metavar="N|NAME",
              help="DSCP 0-63 or a name (EF, AF11-AF43, CS0-CS7): TOS = DSCP * 4, ECN bits 0.")
@click.option("-O", "--omit", type=FiniteFloatRange(0, 600), default=0.0,
              help="Seconds to omit at the start (slow start).")
@click.option("-i", "--interval", type=FiniteFloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds between interval reports (0: none).")
@click.option("-T", "--title", default="", metavar="STR",
              help="Prefix every output line with 'STR:  '; -J: a top-level \"title\".")
@click.option("--extra-data", default="", metavar="STR",
              help="A string both sides put in their JSON (\"extra_data\"); JSON output "
                   "only.")
@click.option("-J", "--json", "as_json", is_flag=True, help="iperf3's JSON document at the end.")
@click.option("--json-stream", is_flag=True, help="One JSON line per interval, live.")
@click.option("--rtt", is_flag=True,
              help="RTT per interval: TCP_INFO for TCP; round-trip percentiles for UDP "
                   "(needs a wirekit server).")
@click.option("--udp-counters-64bit", is_flag=True, help="64-bit UDP sequence numbers.")
@click.option("--get-server-output", is_flag=True,
              help="Show the server's own report too (its text, or its JSON if it runs -J).")
@click.option("-Z", "--zerocopy", is_flag=True,
              help="Send with sendfile() from a memfd (slower than send() on loopback).")
@click.option("--connect-timeout", type=FiniteFloatRange(0.1, 600), default=10.0,
              show_default=True, help="Seconds to wait for the control connection.")
def client(  # noqa: PLR0917 - click passes every option
        host: str, port: int, duration: float | None, byte_count: str | None,
        blockcount: str | None, parallel: int, udp: bool, bitrate: str | None,
        fq_rate: str | None, length: str | None, cport: str | None, reverse: bool,
        bidir: bool, window: str | None, congestion: str, mss: str | None, nodelay: bool,
        ipv4: bool, ipv6: bool, tos: str | None, dscp: str | None, omit: float,
        interval: float, title: str, extra_data: str, as_json: bool, json_stream: bool,
        rtt: bool, udp_counters_64bit: bool, get_server_output: bool, zerocopy: bool,
        connect_timeout: float) -> None:
    """Run a throughput test against an iperf3 or wirekit server.

    Options mean what iperf3 3.12's do, and go to the server in the same parameters, so an
    iperf3 server applies them as well (and a wirekit server applies all of them to its own
    streams, -R included).  A bad value is a one-line error with exit code 2.

    \b
    Examples:
      wirekit bench client 127.0.0.1 -t 10 -P 4          # the seed's "client" mode
      wirekit bench client 127.0.0.1 -u -b 1G            # the seed's "udp_client" mode
      wirekit bench client 127.0.0.1 -n 1G -R            # receive 1 GiB from the server
      wirekit bench client 127.0.0.1 -k 1000 -l 64K      # exactly 1000 blocks of 64 KiB
      wirekit bench client 127.0.0.1 -u -b 100M -k 10K -l 1200  # 10240 datagrams
      wirekit bench client 127.0.0.1 -R --fq-rate 200M   # server paced to 200 Mbit/s
      wirekit bench client 127.0.0.1 --dscp EF -N -M 1400  # TOS 0xb8, no Nagle, MSS 1400
      wirekit bench client 127.0.0.1 -S 0x20             # TOS byte 0x20 (= --dscp CS1)
      wirekit bench client 127.0.0.1 -P 4 --cport 6000   # data from ports 6000-6003
      wirekit bench client ::1 -6 -T lab1 -J --extra-data run=7  # IPv6; tagged JSON
      wirekit bench client 127.0.0.1 --bidir --rtt -J
      wirekit bench client 127.0.0.1 --get-server-output  # the server's lines as well
    """
    if as_json and json_stream:
        raise UsageError("choose one of -J and --json-stream")
    seconds, total, blocks = _end_condition(duration, byte_count, blockcount)
    extra: dict[str, Any] = {}
    if length is not None:
        extra["len"] = True
    if bitrate is not None:
        extra["bandwidth"] = True
    params = TestParams(
        udp=udp, duration=seconds, bytes=total, blocks=blocks, parallel=parallel,
        reverse=reverse, bidirectional=bidir,
        length=parse_size(length) if length else DEFAULT_TCP_BLOCK,
        bandwidth=parse_rate(bitrate) if bitrate else 0, omit=omit,
        window=parse_size(window) if window else 0, congestion=congestion,
        mss=parse_mss(mss) if mss is not None else 0, nodelay=nodelay,
        tos=_tos(tos, dscp), fqrate=parse_count(fq_rate, "--fq-rate", base=1000)
        if fq_rate is not None else 0, title=title, extra_data=extra_data,
        udp_counters_64bit=udp_counters_64bit, get_server_output=get_server_output,
        wirekit_rtt=rtt and udp, extra=extra)
    if udp and length is None:
        params = replace(params, length=1460)  # placeholder: the client uses the path MSS
    params.validate()
    first_port = _first_port(cport, parallel * (2 if bidir else 1))
    if ipv4 and ipv6:
        raise UsageError("choose one of -4 and -6")
    observer: Observer
    extras = document_extras(params)
    if as_json:
        observer = JsonObserver(extras)
    elif json_stream:
        observer = JsonStreamObserver(rtt=rtt, extras=extras)
    else:
        observer = HumanObserver(rtt=rtt, prefix=f"{title}:  " if title else "")
        observer.emit([f"Connecting to host {host}, port {port}"])
    options = ClientOptions(host=host, port=port, interval=interval, zerocopy=zerocopy,
                            connect_timeout=connect_timeout, rtt=rtt,
                            family=4 if ipv4 else 6 if ipv6 else 0, cport=first_port)
    bench_client = BenchClient(options, params, observer)
    _on_signals(bench_client.request_stop)
    try:
        bench_client.run()
    except WirekitError as exc:
        if as_json:  # iperf3 -J prints a document with "error" too; scripts parse it
            observer.on_error(str(exc))
        raise
    if isinstance(observer, HumanObserver):
        observer.emit(["", "iperf Done."])


def _end_condition(duration: float | None, byte_count: str | None,
                   blockcount: str | None) -> tuple[float, int, int]:
    """(seconds, bytes, blocks) from -t, -n and -k: at most one of them, as in iperf3, whose
    client also sends "time": 0 for a test that a count ends."""
    total = parse_count(byte_count, "-n/--bytes") if byte_count is not None else 0
    blocks = parse_count(blockcount, "-k/--blockcount") if blockcount is not None else 0
    # iperf3's test: a 0 count is no end condition (-t 5 -k 0 is a 5 s test).
    if sum((duration is not None, total > 0, blocks > 0)) > 1:
        raise UsageError("only one test end condition (-t, -n, -k) may be specified")
    if total or blocks:
        return 0.0, total, blocks
    return (duration if duration is not None else 10.0), 0, 0


def _tos(tos: str | None, dscp: str | None) -> int:
    if tos is not None and dscp is not None:
        raise UsageError("choose one of -S/--tos and --dscp (both set the TOS byte)")
    if tos is not None:
        return parse_tos(tos)
    return parse_dscp(dscp) if dscp is not None else 0


def _first_port(cport: str | None, streams: int) -> int:
    """--cport: the first stream's port; the last one (cport + streams - 1) must exist too."""
    if cport is None:
        return 0
    first = parse_port(cport, "--cport")
    if first + streams - 1 > 65535:
        raise UsageError(f"--cport {first} with {streams} streams needs ports up to "
                         f"{first + streams - 1}, beyond 65535")
    return first
