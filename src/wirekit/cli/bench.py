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
from wirekit.bench.params import DEFAULT_TCP_BLOCK, PeerResults, parse_rate, parse_size
from wirekit.bench.report import interval_json
from wirekit.bench.run import IntervalReport, TestRun
from wirekit.cli.common import print_json, print_json_line, stdout_console
from wirekit.errors import BenchError, UsageError, WirekitError


class HumanObserver(Observer):
    """iperf3-style lines on stdout; ``prefix`` tells concurrent server tests apart."""

    def __init__(self, rtt: bool = False, prefix: str = "", is_client: bool = True) -> None:
        self.console = stdout_console()
        self.rtt = rtt
        self.prefix = prefix
        self.is_client = is_client
        self._lock = threading.Lock()

    def emit(self, lines: list[str]) -> None:
        with self._lock:
            for line in lines:
                self.console.print(self.prefix + line, markup=False, highlight=False,
                                   soft_wrap=True)

    def on_start(self, run: TestRun, start: dict[str, Any]) -> None:
        self.emit([*connected_lines(run), interval_header(run, self.rtt)])

    def on_interval(self, run: TestRun, report: IntervalReport) -> None:
        self.emit(interval_lines(report, run, self.rtt))

    def on_end(self, run: TestRun, document: dict[str, Any], peer: PeerResults | None) -> None:
        self.emit(summary_lines(run, peer, self.rtt))
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
    """``-J``: the whole iperf3-shaped document at the end (and an ``error`` key on failure)."""

    def __init__(self) -> None:
        self.error = ""

    def on_end(self, run: TestRun, document: dict[str, Any], peer: PeerResults | None) -> None:
        print_json(document)

    def on_error(self, message: str) -> None:
        print_json({"start": {}, "intervals": [], "end": {}, "error": message})


class JsonStreamObserver(Observer):
    """``--json-stream``: one line per event while the test runs."""

    def __init__(self, rtt: bool = False, test: int | None = None) -> None:
        self.rtt = rtt
        self.test = test

    def _line(self, event: str, data: Any) -> None:
        line: dict[str, Any] = {"event": event, "data": data}
        if self.test is not None:
            line["test"] = self.test
        print_json_line(line)

    def on_start(self, run: TestRun, start: dict[str, Any]) -> None:
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
@click.option("--idle-timeout", type=click.FloatRange(1, 3600), default=10.0,
              show_default=True,
              help="Seconds past the expected end (or without data) before a test is dropped.")
@click.option("-i", "--interval", type=click.FloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds between interval reports (0: none).")
@click.option("-J", "--json", "as_json", is_flag=True, help="One iperf3 JSON document per test.")
@click.option("--json-stream", is_flag=True, help="One JSON line per interval, live.")
@click.option("-Z", "--zerocopy", is_flag=True,
              help="Send with sendfile() from a memfd (slower than send() on loopback).")
def server(  # noqa: PLR0917 - click passes every option
        port: int, host: str, one_off: bool, max_clients: int, idle_timeout: float,
           interval: float, as_json: bool, json_stream: bool, zerocopy: bool) -> None:
    """Serve throughput tests to iperf3 or wirekit clients, several at once.

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
@click.option("-t", "--time", "duration", type=click.FloatRange(0, 86400), default=None,
              help="Seconds to transmit (default 10; 0: until Ctrl-C, as iperf3).")
@click.option("-n", "--bytes", "byte_count", default=None,
              help="Bytes to transmit instead of a time (K/M/G suffixes, 1024-based).")
@click.option("-P", "--parallel", type=click.IntRange(1, 128), default=1, show_default=True,
              help="Parallel streams.")
@click.option("-u", "--udp", is_flag=True, help="UDP instead of TCP.")
@click.option("-b", "--bitrate", default=None,
              help="Target bits/s per stream (K/M/G, 1000-based); UDP default 1M, 0 = unlimited.")
@click.option("-l", "--length", default=None,
              help="Block (TCP) or datagram (UDP) size; default 128K (TCP), path MSS (UDP).")
@click.option("-R", "--reverse", is_flag=True, help="The server sends, the client receives.")
@click.option("--bidir", is_flag=True, help="Both directions at once.")
@click.option("-w", "--window", default=None, help="Socket buffer size (SO_SNDBUF/SO_RCVBUF).")
@click.option("-C", "--congestion", default="", help="TCP congestion control (e.g. cubic, bbr).")
@click.option("-O", "--omit", type=click.FloatRange(0, 600), default=0.0,
              help="Seconds to omit at the start (slow start).")
@click.option("-i", "--interval", type=click.FloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds between interval reports (0: none).")
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
@click.option("--connect-timeout", type=click.FloatRange(0.1, 600), default=10.0,
              show_default=True, help="Seconds to wait for the control connection.")
def client(  # noqa: PLR0917 - click passes every option
        host: str, port: int, duration: float | None, byte_count: str | None, parallel: int,
           udp: bool, bitrate: str | None, length: str | None, reverse: bool, bidir: bool,
           window: str | None, congestion: str, omit: float, interval: float, as_json: bool,
           json_stream: bool, rtt: bool, udp_counters_64bit: bool, get_server_output: bool,
           zerocopy: bool, connect_timeout: float) -> None:
    """Run a throughput test against an iperf3 or wirekit server.

    \b
    Examples:
      wirekit bench client 127.0.0.1 -t 10 -P 4          # the seed's "client" mode
      wirekit bench client 127.0.0.1 -u -b 1G            # the seed's "udp_client" mode
      wirekit bench client 127.0.0.1 -n 1G -R            # receive 1 GiB from the server
      wirekit bench client 127.0.0.1 --bidir --rtt -J
      wirekit bench client 127.0.0.1 --get-server-output  # the server's lines as well
    """
    if duration is not None and byte_count is not None:
        raise UsageError("-t and -n are mutually exclusive (one end condition)")
    if as_json and json_stream:
        raise UsageError("choose one of -J and --json-stream")
    total = parse_size(byte_count) if byte_count else 0
    extra: dict[str, Any] = {}
    if length is not None:
        extra["len"] = True
    if bitrate is not None:
        extra["bandwidth"] = True
    params = TestParams(
        udp=udp, duration=0.0 if total else (duration if duration is not None else 10.0),
        bytes=total, parallel=parallel, reverse=reverse, bidirectional=bidir,
        length=parse_size(length) if length else DEFAULT_TCP_BLOCK,
        bandwidth=parse_rate(bitrate) if bitrate else 0, omit=omit,
        window=parse_size(window) if window else 0, congestion=congestion,
        udp_counters_64bit=udp_counters_64bit, get_server_output=get_server_output,
        wirekit_rtt=rtt and udp, extra=extra)
    if udp and length is None:
        params = replace(params, length=1460)  # placeholder: the client uses the path MSS
    params.validate()
    observer: Observer
    if as_json:
        observer = JsonObserver()
    elif json_stream:
        observer = JsonStreamObserver(rtt=rtt)
    else:
        observer = HumanObserver(rtt=rtt)
        stdout_console().print(f"Connecting to host {host}, port {port}", markup=False,
                               highlight=False)
    options = ClientOptions(host=host, port=port, interval=interval,
                            zerocopy=zerocopy, connect_timeout=connect_timeout, rtt=rtt)
    bench_client = BenchClient(options, params, observer)
    _on_signals(bench_client.request_stop)
    try:
        bench_client.run()
    except WirekitError as exc:
        if as_json:  # iperf3 -J prints a document with "error" too; scripts parse it
            observer.on_error(str(exc))
        raise
    if not (as_json or json_stream):
        stdout_console().print("\niperf Done.", markup=False, highlight=False)
