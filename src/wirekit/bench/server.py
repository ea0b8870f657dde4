"""``wirekit bench server``: serves iperf3 clients (and wirekit ones), several tests at once.

One listening TCP socket takes every connection.  Each new connection's first 37 bytes are a
cookie: a cookie that belongs to a running test makes the connection one of that test's data
streams; any other starts a new test (a control connection) in its own thread.  UDP connect
datagrams carry no cookie, so UDP stream setup is serialised across tests by a lock, held from
CREATE_STREAMS to the last ``6789``; after that each stream is a connected socket and the
kernel keeps the flows apart.

A vanished client never leaves a test behind: control EOF or a reset data stream ends the test
at once; keepalive and TCP_USER_TIMEOUT notice a silent peer; and every phase has a deadline.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from wirekit.bench.control import (
    SETUP_TIMEOUT,
    ControlChannel,
    Observer,
    configure_data_socket,
    harden_control,
    peer_of,
)
from wirekit.bench.engine import Wakeup
from wirekit.bench.human import connected_lines, interval_header, interval_lines, summary_lines
from wirekit.bench.params import PeerResults, TestParams
from wirekit.bench.protocol import (
    COOKIE_SIZE,
    UDP_CONNECT_MSG,
    UDP_CONNECT_MSG_LEGACY,
    UDP_CONNECT_REPLY,
    CookieReceived,
    JsonReceived,
    ServerControl,
    State,
    StateReceived,
)
from wirekit.bench.report import (
    SEPARATOR,
    document_extras,
    end_json,
    interval_json,
    start_json,
)
from wirekit.bench.run import IntervalReport, TestRun
from wirekit.errors import BenchError, NetworkError, ProtocolError, RemoteProtocolError

#: iperf3 error numbers sent with SERVER_ERROR (iperf3's src/iperf_api.h).
IE_NUMSTREAMS = 6
IE_BLOCKSIZE = 7
IE_ENDCONDITIONS = 16
IE_UDPBLOCKSIZE = 20
IE_BADTOS = 21
IE_RECVPARAMS = 114
IE_SETMSS = 123
#: The first words of TestParams.problems() -> the iperf3 error (and errno) an iperf3 client
#: can name.  A bad MSS is what iperf3's server sends when the kernel refuses it.
_REFUSAL_CODES = (("parallel", IE_NUMSTREAMS, 0), ("UDP length", IE_UDPBLOCKSIZE, 0),
                  ("TCP length", IE_BLOCKSIZE, 0), ("MSS", IE_SETMSS, errno.EINVAL),
                  ("TOS", IE_BADTOS, 0), ("only one test end condition", IE_ENDCONDITIONS, 0))
#: Accept errors that mean "out of resources": log, back off 100 ms, keep serving (as trio does).
_ACCEPT_BACKOFF_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True, slots=True)
class ServerOptions:
    host: str = ""
    port: int = 5201
    one_off: bool = False
    max_clients: int = 16
    idle_timeout: float = 10.0
    interval: float = 1.0
    zerocopy: bool = False
    #: The server prints JSON (-J): a client's ``--get-server-output`` then gets the JSON
    #: document (``server_output_json``) rather than the text lines, as from iperf3.
    json_output: bool = False


ObserverFactory = Callable[[int, tuple[str, int]], Observer]


class BenchServer:
    """The listener, the cookie router and the registry of running tests."""

    def __init__(self, options: ServerOptions,
                 observer_factory: ObserverFactory | None = None) -> None:
        self.options = options
        self._observer_factory = observer_factory or (lambda number, peer: Observer())
        self._sessions: dict[bytes, _Session] = {}
        self._lock = threading.Lock()
        self.udp_setup = threading.Lock()
        self._stopping = threading.Event()
        #: Wakes serve_forever's select at once on shutdown, or when a one-off test is over.
        self._wakeup = Wakeup()
        self._numbers = itertools.count(1)
        self._accepted = itertools.count()
        self.completed = 0
        self.failed = 0
        self._listener = self._listen()
        self.port = int(self._listener.getsockname()[1])

    def _listen(self) -> socket.socket:
        """Dual-stack on ``::`` by default (like iperf3), IPv4 when the host has no IPv6."""
        host = self.options.host
        candidates = [host] if host else ["::", "0.0.0.0"]
        for index, candidate in enumerate(candidates):
            family = socket.AF_INET6 if ":" in candidate else socket.AF_INET
            try:
                return _bound_listener(family, candidate, self.options.port)
            except OSError as exc:
                if index == len(candidates) - 1:
                    raise NetworkError(f"cannot listen on port {self.options.port}: "
                                       f"{exc.strerror or exc}") from exc
        raise NetworkError("no address to listen on")  # pragma: no cover

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._sessions)

    def shutdown(self) -> None:
        """Stop accepting; running tests get SERVER_TERMINATE."""
        self._stopping.set()
        self._wakeup.signal()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.terminate()

    def serve_forever(self) -> None:
        """Accept until :meth:`shutdown` (or after one test with ``one_off``)."""
        try:
            while not self._stopping.is_set():
                watched = [self._listener.fileno(), self._wakeup.fd]
                ready, _, _ = select.select(watched, [], [], 1.0)
                if watched[0] in ready:
                    self._accept()
        finally:
            self._listener.close()
            self._join_sessions()
            self._wakeup.close()

    def _join_sessions(self) -> None:
        deadline = time.monotonic() + SETUP_TIMEOUT
        while self.active and time.monotonic() < deadline:
            time.sleep(0.05)

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError as exc:
            if exc.errno in _ACCEPT_BACKOFF_ERRNOS:
                time.sleep(0.1)
            return
        # Each connection's cookie is read in its own thread (a slow client must not hold up
        # the others), so the accept order travels with it: see _Session._collect_streams.
        threading.Thread(target=self._route, args=(conn, next(self._accepted)), daemon=True,
                         name="bench-route").start()

    def _route(self, conn: socket.socket, order: int) -> None:
        """Read the cookie: a stream of a running test, or a new test."""
        cookie = _read_cookie(conn)
        if cookie is None:
            conn.close()
            return
        with self._lock:
            session = self._sessions.get(cookie)
        if session is not None:
            session.offer(conn, order)
            return
        self._start_session(conn, cookie)

    def _start_session(self, conn: socket.socket, cookie: bytes) -> None:
        with self._lock:
            refuse = (len(self._sessions) >= self.options.max_clients
                      or self._stopping.is_set())
            if not refuse:
                number = next(self._numbers)
                session = _Session(self, conn, cookie, number)
                self._sessions[cookie] = session
        if refuse:
            _deny(conn)
            return
        session.run()

    def session_over(self, session: _Session, ok: bool) -> None:
        with self._lock:
            self._sessions.pop(session.cookie, None)
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        if self.options.one_off:
            self._stopping.set()
            self._wakeup.signal()

    def observer(self, number: int, peer: tuple[str, int]) -> Observer:
        return self._observer_factory(number, peer)

    @property
    def listen_host(self) -> str:
        return self.options.host


def _bound_listener(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _read_cookie(conn: socket.socket) -> bytes | None:
    conn.settimeout(SETUP_TIMEOUT)
    data = b""
    try:
        while len(data) < COOKIE_SIZE:
            chunk = conn.recv(COOKIE_SIZE - len(data))
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    conn.settimeout(None)
    return data


def _deny(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(ServerControl().deny())
    conn.close()


class _Session:
    """One test on the server: its control conversation, streams and results."""

    def __init__(self, server: BenchServer, conn: socket.socket, cookie: bytes,
                 number: int) -> None:
        self.server = server
        self.cookie = cookie
        self.number = number
        self.machine = ServerControl()
        self.machine.receive_data(cookie)
        harden_control(conn)
        self.channel = ControlChannel(conn, self.machine)
        self.peer = peer_of(conn)
        self.observer = server.observer(number, (self.peer.host, self.peer.port))
        self._streams: queue.Queue[tuple[int, socket.socket]] = queue.Queue()
        self._accepting_streams = False
        self._run: TestRun | None = None
        self._terminated = False
        #: The text lines for a client that asked for the server's output (None: not asked).
        self._output: list[str] | None = None
        #: The client sent CLIENT_TERMINATE while the test ran (Ctrl-C, or the end of -t 0).
        self._client_ended = False

    def offer(self, conn: socket.socket, order: int) -> None:
        """A data connection with this test's cookie, ``order`` its place in the accept queue."""
        if self._accepting_streams:
            self._streams.put((order, conn))
        else:
            conn.close()

    def terminate(self) -> None:
        self._terminated = True

    def run(self) -> None:
        ok = False
        try:
            self._converse()
            ok = True
        except (ProtocolError, NetworkError, BenchError) as exc:
            self.observer.on_error(str(exc))
        except OSError as exc:
            self.observer.on_error(f"socket error: {exc.strerror or exc}")
        finally:
            self._accepting_streams = False
            if self._run is not None:
                self._run.close()
            self.channel.close()
            self.server.session_over(self, ok)

    def _converse(self) -> None:
        self.channel.send(self.machine.request_params())
        event = self.channel.expect(SETUP_TIMEOUT, "the test parameters")
        if not isinstance(event, JsonReceived):
            raise RemoteProtocolError(f"expected parameters, got {event}")
        params = self._accept_params(event.document)
        if params is None:
            return
        run = TestRun(params, is_client=False, interval=self.server.options.interval,
                      zerocopy=self.server.options.zerocopy)
        self._run = run
        self._collect_streams(run)
        # The start document first: building it after run.start() would hold the GIL while
        # the workers begin (see BenchClient._announce).
        start = start_json(run, cookie=self.cookie, peer=(self.peer.host, self.peer.port),
                           is_client=False, control=self.channel.sock)
        self.observer.on_start(run, start)
        if params.get_server_output and not self.server.options.json_output:
            # iperf3's captured lines start with its "Accepted connection" line as well.
            self._output = [f"Accepted connection from {self.peer.host}, port {self.peer.port}",
                            *connected_lines(run), interval_header(run, False)]
        self.channel.send(self.machine.start_test())
        self.channel.send(self.machine.run_test())
        run.start()
        intervals = self._run_test(run)
        if intervals is None:
            return
        if self._client_ended:
            # As iperf3's server: the summary of what arrived, and the reason; no results
            # exchange follows a CLIENT_TERMINATE.
            ended: dict[str, object] = {"start": start, "intervals": intervals,
                                        "end": end_json(run, None, rtt=False),
                                        "error": "the client has terminated",
                                        **document_extras(params)}
            self.observer.on_end(run, ended, None)
            return
        self._exchange(run, start, intervals)

    def _accept_params(self, document: dict[str, object]) -> TestParams | None:
        params = TestParams.from_json(dict(document)).with_defaults()
        problems = params.problems()
        if problems:
            code, errno_value = next(((code, number) for words, code, number in _REFUSAL_CODES
                                      if problems[0].startswith(words)), (IE_RECVPARAMS, 0))
            self.channel.send(self.machine.error(code, errno_value))
            self.observer.on_error("refused parameters: " + "; ".join(problems))
            return None
        return params

    # --- streams -----------------------------------------------------------------------------

    def _collect_streams(self, run: TestRun) -> None:
        plan = run.sender_plan()
        if run.params.udp:
            if not self.server.udp_setup.acquire(timeout=SETUP_TIMEOUT):
                raise BenchError("another test kept UDP stream setup busy")
            try:
                listener = self._udp_listener()
                self.channel.send(self.machine.create_streams())
                for sender in plan:
                    listener = self._accept_udp(run, sender, listener)
                listener.close()
            finally:
                self.server.udp_setup.release()
            return
        self._accepting_streams = True
        self.channel.send(self.machine.create_streams())
        deadline = time.monotonic() + SETUP_TIMEOUT
        arrived: list[tuple[int, socket.socket]] = []
        try:
            while len(arrived) < len(plan):
                arrived.append(self._next_tcp_stream(deadline))
        except BaseException:
            for _, conn in arrived:
                conn.close()
            raise
        finally:
            self._accepting_streams = False
        # The client opens its streams one after the other, and iperf3's server takes them in
        # accept order (iperf_tcp_accept reads each cookie in its one thread): the n-th
        # connection is stream n, which decides its id and, with --bidir, its direction.  Our
        # route threads may deliver them in any order, so restore the accept order first.
        arrived.sort(key=lambda item: item[0])
        for (_, conn), sender in zip(arrived, plan, strict=True):
            configure_data_socket(conn, run.params, receiver=not sender)
            run.add_stream(conn, sender)

    def _next_tcp_stream(self, deadline: float) -> tuple[int, socket.socket]:
        while True:
            try:
                return self._streams.get(timeout=0.2)
            except queue.Empty:
                pass
            if time.monotonic() > deadline:
                raise NetworkError("timed out waiting for the client's data streams")
            if self.channel.next_event(0) is not None:
                raise RemoteProtocolError("control message while streams were being created")

    def _udp_listener(self) -> socket.socket:
        family = self.server._listener.family
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(self.server._listener.getsockname()[:2])
        return sock

    def _accept_udp(self, run: TestRun, sender: bool,
                    listener: socket.socket) -> socket.socket:
        """iperf_udp_accept: the listener becomes the stream, connected to the client."""
        listener.settimeout(SETUP_TIMEOUT)
        configure_data_socket(listener, run.params, receiver=not sender)
        try:
            message, address = listener.recvfrom(64)
        except TimeoutError as exc:
            listener.close()
            raise NetworkError("timed out waiting for a UDP stream") from exc
        if message[:4] not in (UDP_CONNECT_MSG, UDP_CONNECT_MSG_LEGACY):
            listener.close()
            raise RemoteProtocolError(f"unexpected UDP connect message {message[:4]!r}")
        listener.connect(address)
        fresh = self._udp_listener()
        listener.settimeout(None)
        listener.send(UDP_CONNECT_REPLY)
        run.add_stream(listener, sender)
        return fresh

    # --- the test ----------------------------------------------------------------------------

    def _run_test(self, run: TestRun) -> list[dict[str, object]] | None:
        params = run.params
        limit = params.duration + params.omit + self.server.options.idle_timeout
        hard_deadline = time.monotonic() + limit if params.duration else None
        intervals: list[dict[str, object]] = []
        last_progress, last_bytes = time.monotonic(), -1
        while True:
            event = self.channel.next_event(min(run.next_wakeup(), run.poll_period()),
                                            run.wakeup.fd)
            for report in run.poll():
                self._interval(run, report, intervals)
            if event is not None:
                return self._on_event(run, event, intervals)
            failure = run.failure()
            if failure or self._terminated:
                self._abort(run, failure or "server shutting down")
                return None
            now = time.monotonic()
            moved = sum(s.bytes for s in run.streams)
            if moved != last_bytes:
                last_progress, last_bytes = now, moved
            if (hard_deadline and now > hard_deadline) or (
                    not params.duration and now - last_progress > self.server.options.idle_timeout):
                raise NetworkError("the client went silent: test abandoned")

    def _interval(self, run: TestRun, report: IntervalReport,
                  intervals: list[dict[str, object]]) -> None:
        intervals.append(interval_json(report, run, False))
        self.observer.on_interval(run, report)
        if self._output is not None:
            self._output += interval_lines(report, run, False)

    def _on_event(self, run: TestRun, event: object,
                  intervals: list[dict[str, object]]) -> list[dict[str, object]] | None:
        if isinstance(event, StateReceived) and event.state is State.TEST_END:
            last = run.finish()
            if last is not None:
                self._interval(run, last, intervals)
            run.drain()
            run.end_streams()
            return intervals
        if isinstance(event, StateReceived) and event.state is State.CLIENT_TERMINATE:
            # How iperf3's client ends a -t 0 test (and any test on Ctrl-C): the test is over,
            # not failed.
            last = run.finish()
            if last is not None:
                self._interval(run, last, intervals)
            run.end_streams()
            self._client_ended = True
            return intervals
        if isinstance(event, StateReceived) and event.state is State.IPERF_DONE:
            raise BenchError("the client terminated the test")
        raise RemoteProtocolError(f"unexpected {event} during the test")

    def _abort(self, run: TestRun, why: str) -> None:
        with contextlib.suppress(NetworkError):
            self.channel.send(self.machine.terminate())
        raise BenchError(f"test aborted: {why}")

    def _exchange(self, run: TestRun, start: dict[str, object],
                  intervals: list[dict[str, object]]) -> None:
        self.channel.send(self.machine.exchange_results())
        event = self.channel.expect(SETUP_TIMEOUT, "the client's results")
        if not isinstance(event, JsonReceived):
            raise RemoteProtocolError(f"expected results, got {event}")
        peer = PeerResults.from_json(event.document)
        run.discount_peer_wait(peer.end_wait)
        document: dict[str, object] = {"start": start, "intervals": intervals,
                                       "end": end_json(run, peer, rtt=False)}
        self.channel.send(self.machine.send_results(self._results(run, peer, document)))
        self.channel.send(self.machine.display_results())
        # Only the printed document: iperf3's server adds them when it prints
        # (iperf_json_finish), after it sent its output to the client.
        document.update(document_extras(run.params))
        self._await_done()
        self.observer.on_end(run, document, peer)

    def _results(self, run: TestRun, peer: PeerResults,
                 document: dict[str, object]) -> dict[str, Any]:
        """My results for the exchange, with my output if the client asked for it (iperf3's
        send_results: the JSON document under -J, else the text lines so far)."""
        results = run.results()
        if run.params.get_server_output:
            if self._output is not None:
                # several streams end each interval block with the dashed line
                printed = SEPARATOR in self._output
                text = "\n".join([*self._output, *summary_lines(
                    run, peer, False, after_interval=printed)]) + "\n"
                results = replace(results, server_output_text=text)
            else:
                results = replace(results, server_output_json=dict(document))
        return results.to_json()

    def _await_done(self) -> None:
        """IPERF_DONE; a client that just closes is tolerated (iperf3's server does too)."""
        try:
            event = self.channel.next_event(SETUP_TIMEOUT)
        except (ProtocolError, NetworkError):
            return
        if isinstance(event, CookieReceived):  # pragma: no cover - cannot happen here
            raise RemoteProtocolError("cookie after the test")
