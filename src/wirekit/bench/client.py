"""``wirekit bench client``: run one test against any iperf3-speaking server.

The client drives the test, as iperf3's does: it ends it (TEST_END) when its time or byte budget
is used up, and an interrupt ends it early the same way, so the summary is still printed.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, replace
from typing import Any

from wirekit.bench.control import (
    SETUP_TIMEOUT,
    ControlChannel,
    Observer,
    configure_data_socket,
    harden_control,
)
from wirekit.bench.params import MAX_UDP_BLOCK, PeerResults, TestParams
from wirekit.bench.protocol import (
    UDP_CONNECT_MSG,
    UDP_CONNECT_REPLY,
    UDP_CONNECT_REPLY_LEGACY,
    ClientControl,
    JsonReceived,
    ServerErrorReceived,
    State,
    StateReceived,
)
from wirekit.bench.report import document_extras, end_json, interval_json, start_json
from wirekit.bench.run import TestRun
from wirekit.errors import BenchError, NetworkError, RemoteProtocolError

#: A few of iperf3's error numbers (src/iperf_api.h, enum in iperf_error.c) for readable refusals.
IPERF_ERRORS = {6: "bad number of streams", 7: "bad block size", 16: "more than one end condition",
                20: "bad UDP block size", 21: "bad TOS value",
                104: "unable to accept a stream", 114: "unable to receive parameters",
                121: "access denied", 123: "unable to set TCP MSS",
                203: "unable to accept a stream connection"}


#: -4 / -6: the address family to resolve the host in (0: either, as getaddrinfo gives it).
FAMILIES = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}

Address = tuple[socket.AddressFamily, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ClientOptions:
    host: str
    port: int = 5201
    interval: float = 1.0
    zerocopy: bool = False
    connect_timeout: float = 10.0
    rtt: bool = False
    #: 4 or 6 (``-4``/``-6``): only that address family; 0: whatever the host resolves to.
    family: int = 0
    #: ``--cport``: the first data stream's local port; stream n gets ``cport + n`` (iperf3:
    #: with --bidir the receiving streams follow the sending ones).  0: ephemeral ports.
    cport: int = 0


@dataclass
class ClientOutcome:
    run: TestRun
    peer: PeerResults | None
    document: dict[str, Any]


class BenchClient:
    """One test: connect, exchange parameters, run the streams, exchange and report results."""

    def __init__(self, options: ClientOptions, params: TestParams,
                 observer: Observer | None = None) -> None:
        self.options = options
        self.params = params
        self.observer = observer or Observer()
        self.stop_requested = False
        self._channel: ControlChannel | None = None
        self._run: TestRun | None = None
        self._intervals: list[dict[str, Any]] = []
        self._start_doc: dict[str, Any] = {}
        #: The server address the control connection reached; the data streams use it too.
        self._address: Address | None = None

    def request_stop(self) -> None:
        """End the test early but cleanly (SIGINT/SIGTERM): results are still exchanged."""
        self.stop_requested = True

    def run(self) -> ClientOutcome:
        control = self._connect()
        machine = ClientControl()
        self._channel = ControlChannel(control, machine)
        try:
            self._channel.send(machine.hello())
            return self._converse(machine)
        finally:
            if self._run is not None:
                self._run.close()
            self._channel.close()

    def _connect(self) -> socket.socket:
        """The control connection: each address of the host in turn, as ``create_connection``
        tries them, restricted to one family by -4/-6 (the control connection itself always
        uses an ephemeral port, as iperf3's does)."""
        host, port = self.options.host, self.options.port
        last: OSError | None = None
        for family, address in self._resolve():
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.options.connect_timeout)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            self._address = (family, address)
            harden_control(sock)
            sock.settimeout(None)
            return sock
        reason = (last.strerror or str(last)) if last is not None else "no address"
        raise NetworkError(f"cannot connect to {host} port {port}: {reason}")

    def _resolve(self) -> list[Address]:
        host, port = self.options.host, self.options.port
        family = FAMILIES[self.options.family]
        try:
            found = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            wanted = f" as IPv{self.options.family}" if self.options.family else ""
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise NetworkError(f"cannot resolve {host}{wanted}: {reason}") from exc
        return [(info[0], info[4]) for info in found]

    def _converse(self, machine: ClientControl) -> ClientOutcome:
        peer: PeerResults | None = None
        channel = self._channel
        if channel is None:  # pragma: no cover - set by run()
            raise BenchError("no control connection")
        while True:
            event = channel.expect(self._wait_budget(), "the server")
            if isinstance(event, ServerErrorReceived):
                text = IPERF_ERRORS.get(event.error, "see iperf3's error list")
                raise BenchError(f"the server refused the test: iperf3 error {event.error} "
                                 f"({text}), errno {event.errno}")
            if isinstance(event, JsonReceived):
                peer = PeerResults.from_json(event.document)
                continue
            if not isinstance(event, StateReceived):
                raise RemoteProtocolError(f"unexpected {event}")
            if event.state is State.DISPLAY_RESULTS:
                channel.send(machine.done())
                return self._finish(peer)
            self._on_state(machine, event.state)

    def _wait_budget(self) -> float:
        run = self._run
        if run is not None and run.started and not run.ended:
            return max(0.0, run.next_wakeup())
        return SETUP_TIMEOUT + (self.params.duration + self.params.omit if run else 0)

    def _on_state(self, machine: ClientControl, state: State) -> None:
        channel = self._channel
        if channel is None:  # pragma: no cover
            return
        if state is State.ACCESS_DENIED:
            raise BenchError("the server is busy running a test (access denied); try later")
        if state is State.SERVER_TERMINATE:
            raise BenchError("the server terminated the test")
        if state is State.PARAM_EXCHANGE:
            self.params = self._complete_params(channel.sock)
            channel.send(machine.send_params(self.params.to_json()))
        elif state is State.CREATE_STREAMS:
            self._create_streams(machine.cookie)
        elif state is State.TEST_START:
            self._announce(machine)
        elif state is State.TEST_RUNNING:
            self._running(machine)
        elif state is State.EXCHANGE_RESULTS:
            run = self._require_run()
            run.drain()
            channel.send(machine.send_results(run.results().to_json()))

    def _complete_params(self, control: socket.socket) -> TestParams:
        """UDP without -l takes the control connection's MSS, as iperf3 does (no fragments)."""
        params = self.params.with_defaults()
        if params.udp and "len" not in params.extra:
            try:
                mss = control.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
            except OSError:
                mss = 0
            params = replace(params, length=mss if 0 < mss <= MAX_UDP_BLOCK else 1460)
        return params

    def _require_run(self) -> TestRun:
        if self._run is None:
            raise RemoteProtocolError("the server ended a test that never started")
        return self._run

    # --- streams -----------------------------------------------------------------------------

    def _create_streams(self, cookie: bytes) -> None:
        run = TestRun(self.params, is_client=True, interval=self.options.interval,
                      zerocopy=self.options.zerocopy)
        self._run = run
        for index, sender in enumerate(run.sender_plan()):
            sock = self._stream_socket(index, sender)
            if self.params.udp:
                self._udp_handshake(sock)
            else:
                self._tcp_connect(sock, cookie)
            run.add_stream(sock, sender)

    def _stream_socket(self, index: int, sender: bool) -> socket.socket:
        """A data socket with the test's options set and, with --cport, its local port bound,
        all before ``connect`` (MSS and window scale go out in the SYN)."""
        family = self._require_address()[0]
        kind = socket.SOCK_DGRAM if self.params.udp else socket.SOCK_STREAM
        sock = socket.socket(family, kind)
        step = "set up a data stream"
        try:
            configure_data_socket(sock, self.params, receiver=not sender)
            if self.options.cport:
                port = self.options.cport + index
                step = f"bind a data stream to local port {port}"
                sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        except OSError as exc:
            sock.close()
            raise NetworkError(f"cannot {step}: {exc.strerror or exc}") from exc
        except BaseException:
            sock.close()
            raise
        return sock

    def _require_address(self) -> Address:
        if self._address is None:  # pragma: no cover - set by _connect
            raise BenchError("no server address")
        return self._address

    def _tcp_connect(self, sock: socket.socket, cookie: bytes) -> None:
        try:
            sock.settimeout(SETUP_TIMEOUT)
            sock.connect(self._require_address()[1])
            sock.sendall(cookie)
        except OSError as exc:
            sock.close()
            raise NetworkError(f"cannot open a data stream: {exc.strerror or exc}") from exc
        sock.settimeout(None)

    def _udp_handshake(self, sock: socket.socket) -> None:
        """Connect, send "9876", wait for "6789" (iperf_udp_connect)."""
        try:
            sock.connect(self._require_address()[1])
            sock.settimeout(SETUP_TIMEOUT)
            sock.send(UDP_CONNECT_MSG)
            reply = sock.recv(64)
        except OSError as exc:
            sock.close()
            raise NetworkError(f"UDP stream handshake failed: {exc.strerror or exc}") from exc
        if reply[:4] not in (UDP_CONNECT_REPLY, UDP_CONNECT_REPLY_LEGACY):
            sock.close()
            raise RemoteProtocolError(f"unexpected UDP connect reply {reply[:4]!r}")
        sock.settimeout(None)

    # --- the test ----------------------------------------------------------------------------

    def _announce(self, machine: ClientControl) -> None:
        """The start document and the observer's start, before any worker runs.

        Building it costs milliseconds of the GIL (``platform.uname`` even runs ``uname -p``);
        done after the workers started, it would stall them at the start of the test.
        """
        run, channel = self._require_run(), self._channel
        if channel is None:  # pragma: no cover
            return
        peer = (self.options.host, self.options.port)
        self._start_doc = start_json(run, cookie=machine.cookie, peer=peer, is_client=True,
                                     control=channel.sock)
        self.observer.on_start(run, self._start_doc)

    def _running(self, machine: ClientControl) -> None:
        run, channel = self._require_run(), self._channel
        if channel is None:  # pragma: no cover
            return
        run.start()
        while True:
            event = channel.next_event(min(run.next_wakeup(), run.poll_period()),
                                       run.wakeup.fd)
            if event is not None:
                raise RemoteProtocolError(f"the server sent {event} while the test ran")
            self._report(run.poll())
            failure = run.failure()
            if failure:
                raise BenchError(f"test aborted: {failure}")
            if run.time_is_up() or run.budget_done() or self.stop_requested:
                break
        last = run.finish()
        self._report([last] if last else [])
        run.end_wait = time.monotonic() - run.ended
        channel.send(machine.end_test())

    def _report(self, reports: list[Any]) -> None:
        run = self._require_run()
        for report in reports:
            self._intervals.append(interval_json(report, run, self.options.rtt))
            self.observer.on_interval(run, report)

    def _finish(self, peer: PeerResults | None) -> ClientOutcome:
        run = self._require_run()
        document: dict[str, Any] = {"start": self._start_doc, "intervals": self._intervals,
                                    "end": end_json(run, peer, rtt=self.options.rtt),
                                    **document_extras(self.params)}
        if peer is not None and peer.server_output_json is not None:
            document["server_output_json"] = peer.server_output_json  # where iperf3 puts it
        elif peer is not None and peer.server_output_text is not None:
            document["server_output_text"] = peer.server_output_text
        self.observer.on_end(run, document, peer)
        return ClientOutcome(run, peer, document)

