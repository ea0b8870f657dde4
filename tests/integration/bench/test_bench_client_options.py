"""The iperf3 client options -k -N -M -S --dscp --fq-rate --cport -4 -6 -T --extra-data, end
to end, with wirekit and iperf3 3.12 in both roles.

What proves each one:

- Socket options (-N, -M, -S/--dscp, --fq-rate): ``getsockopt`` on wirekit's own data sockets,
  client and server, read while the test runs (the servers and clients run in this process for
  that), against a run without the options, which must read differently.  Pacing is also
  measured where it acts on loopback: a TCP stream paced to 100 Mbit/s delivers about that,
  against the 10+ Gbit/s of an unpaced one (UDP is paced only by the fq qdisc, which loopback
  does not have, so UDP is checked by getsockopt alone).  Against iperf3 its own JSON says
  what it received in the parameters (``test_start.tos``, ``tcp_mss``, ``blocks``, ``title``).
- ``-k``: the bytes each side counted, against blocks x length: exact wherever both iperf3
  and wirekit can be (see ``test_blockcount_with_iperf3``).
- ``--cport``, ``-4``/``-6``: the addresses and ports both sides report in ``connected``.
- ``-T``: every line of text output; ``-T``/``--extra-data`` in both sides' JSON.

Every test is bounded: -k or -t of at most 1 s, subprocess and thread timeouts.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.integration.bench.bench_support import (
    WIREKIT,
    client_command,
    free_port,
    free_port_range,
    run_pair,
    serve_one,
    start_server,
)
from tests.support.env import require_tool
from wirekit.bench import BenchClient, BenchServer, ClientOptions, ServerOptions, TestParams
from wirekit.bench import run as bench_run
from wirekit.bench.control import SO_MAX_PACING_RATE, Observer
from wirekit.bench.params import PeerResults

#: Timestamps take 12 bytes of every segment, so a connection with -M 1000 sends 988.
MSS = 1000
TOS = 0x20
EF = 0xB8
#: Fast enough that the tests stay short, slow enough to tell from an unpaced loopback stream.
PACED = 100_000_000
#: A paced stream delivers at least half its rate, and at most 15% more (the first congestion
#: window) plus what its send buffer held at the end: the sender counts bytes as they enter
#: the buffer, and a wirekit receiver reads the buffer's tail before the results.  Unpaced,
#: loopback carries 100 times more.
PACED_SLACK = (0.5, 1.15)
BLOCKS = 300
TIMEOUT = 30.0


# --- what a data socket says about itself ----------------------------------------------------


@dataclass(frozen=True)
class SocketFacts:
    family: int
    nodelay: int
    maxseg: int
    tos: int
    tclass: int
    pacing: int  # bits per second, 0 when not set

    @classmethod
    def of(cls, sock: socket.socket) -> SocketFacts:
        tcp = sock.type == socket.SOCK_STREAM
        v6 = sock.family == socket.AF_INET6
        raw = sock.getsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, 8)
        rate = struct.unpack("Q", raw.ljust(8, b"\0"))[0]
        return cls(
            family=sock.family,
            nodelay=sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) if tcp else -1,
            maxseg=sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) if tcp else -1,
            # The ECN bits belong to the connection, not to the option: compare the rest.
            tos=sock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) & 0xFC,
            tclass=sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS) & 0xFC if v6 else -1,
            pacing=0 if rate in (2**64 - 1, 2**32 - 1) else rate * 8)


@dataclass
class Recorder(Observer):
    """Reads every data socket's options when the test starts; keeps documents and errors."""

    facts: list[SocketFacts] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_start(self, run: bench_run.TestRun, start: dict[str, Any]) -> None:
        self.facts = [SocketFacts.of(stream.sock) for stream in run.streams]

    def on_interval(self, run: bench_run.TestRun, report: bench_run.IntervalReport) -> None:
        pass

    def on_end(self, run: bench_run.TestRun, document: dict[str, Any],
               peer: PeerResults | None) -> None:
        self.documents.append(document)

    def on_error(self, message: str) -> None:
        self.errors.append(message)


@contextlib.contextmanager
def wirekit_server(port: int) -> Iterator[Recorder]:
    """A one-off wirekit server in this process (dual-stack, as the CLI's default)."""
    recorder = Recorder()
    server = BenchServer(ServerOptions(port=port, one_off=True, interval=0),
                         lambda number, peer: recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the server did not finish its one test"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
    assert not recorder.errors, recorder.errors
    assert server.completed == 1, recorder.errors


def wirekit_client(port: int, params: TestParams, host: str = "127.0.0.1",
                   **options: Any) -> tuple[Recorder, dict[str, Any]]:
    """One test by a wirekit client in this process; returns its recorder and -J document."""
    recorder = Recorder()
    outcome = BenchClient(ClientOptions(host, port=port, interval=0, **options),
                          params, recorder).run()
    return recorder, outcome.document


def run_process(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _ok(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _finish(server: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, err = server.communicate(timeout=TIMEOUT)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, (out, err)
    return json.loads(out)  # type: ignore[no-any-return]


# --- socket options, wirekit on both sides -----------------------------------------------------

OPTIONS = TestParams(duration=0, blocks=50, nodelay=True, mss=MSS, tos=EF, fqrate=2 * 10**9)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_tcp_options_reach_both_sides_sockets(reverse: bool) -> None:
    """-N -M --dscp EF --fq-rate on every data socket of the client and of the server (which
    learns them from the parameters; with -R it is the one sending, where they matter)."""
    port = free_port()
    with wirekit_server(port) as server:
        client, _ = wirekit_client(port, replace(OPTIONS, reverse=reverse))
    for facts in (*client.facts, *server.facts):
        assert facts.nodelay == 1, facts
        assert 0 < facts.maxseg <= MSS, facts
        assert facts.pacing == 2 * 10**9, facts
        assert facts.tos == EF, facts
    # The server's socket is IPv6 (dual-stack) with an IPv4-mapped peer: its IPv4 packets take
    # IP_TOS, so both must be set (iperf3 3.12 set only IPV6_TCLASS there).
    assert [f.family for f in server.facts] == [socket.AF_INET6]
    assert [f.tclass for f in server.facts] == [EF]
    assert [f.family for f in client.facts] == [socket.AF_INET]


def test_without_the_options_the_sockets_read_differently() -> None:
    """The control run: the same test without the options shows none of them."""
    port = free_port()
    with wirekit_server(port) as server:
        client, _ = wirekit_client(port, TestParams(duration=0, blocks=50))
    for facts in (*client.facts, *server.facts):
        assert facts.nodelay == 0 and facts.maxseg > MSS, facts
        assert facts.tos == 0 and facts.pacing == 0, facts


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_udp_tos_and_pacing_on_both_sides(reverse: bool) -> None:
    port = free_port()
    params = TestParams(udp=True, duration=0, blocks=200, length=1200, bandwidth=50_000_000,
                        tos=TOS, fqrate=PACED, reverse=reverse, extra={"len": True})
    with wirekit_server(port) as server:
        client, _ = wirekit_client(port, params)
    for facts in (*client.facts, *server.facts):
        assert (facts.tos, facts.pacing) == (TOS, PACED), facts
    assert [f.tclass for f in server.facts] == [TOS]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_fq_rate_paces_the_sender(reverse: bool) -> None:
    """A TCP stream under SO_MAX_PACING_RATE delivers about that rate; with -R the sender is
    the server, which paces because the client's parameters asked it to."""
    port = free_port()
    with wirekit_server(port):
        _, document = wirekit_client(port, TestParams(duration=1, fqrate=PACED,
                                                      reverse=reverse))
    _check_paced(document["end"]["sum_received"], with_tail=True)


def _check_paced(received: dict[str, Any], *, with_tail: bool) -> None:
    """``received``: a ``sum_received`` object of a paced test of about 1 s."""
    low, high = PACED_SLACK
    expected = PACED / 8 * received["seconds"]
    tail = _buffer_limit("tcp_wmem") if with_tail else 0
    assert low * expected <= received["bytes"] <= high * expected + tail, (received, tail)


def _buffer_limit(name: str) -> int:
    """net.ipv4.tcp_wmem's or tcp_rmem's maximum: the most one socket buffer holds."""
    with open(f"/proc/sys/net/ipv4/{name}", encoding="ascii") as fields:
        return int(fields.read().split()[2])


# --- socket options against iperf3 ------------------------------------------------------------


def test_options_to_an_iperf3_server() -> None:
    """iperf3's server gets every option in the parameters under iperf3's own keys: its JSON
    says so, and its streams come from our --cport ports."""
    require_tool("iperf3")
    port, first = free_port(), free_port_range(2)
    server = start_server("iperf3", port)
    try:
        params = replace(OPTIONS, parallel=2, title="lab 1", extra_data="run=7")
        client, document = wirekit_client(port, params, cport=first)
    finally:
        theirs = _finish(server)
    for facts in client.facts:
        assert (facts.nodelay, facts.tos, facts.pacing) == (1, EF, 2 * 10**9), facts
        assert 0 < facts.maxseg <= MSS, facts
    start = theirs["start"]
    assert (start["test_start"]["tos"], start["test_start"]["blocks"]) == (EF, 50)
    assert start["tcp_mss"] == MSS
    assert [c["remote_port"] for c in start["connected"]] == [first, first + 1]
    assert [c["local_port"] for c in document["start"]["connected"]] == [first, first + 1]
    assert document["start"]["tcp_mss"] == MSS
    for doc in (theirs, document):
        assert (doc["title"], doc["extra_data"]) == ("lab 1", "run=7")
        assert list(doc)[-2:] == ["title", "extra_data"]  # last, as iperf_json_finish adds them


def test_options_from_an_iperf3_client_in_reverse() -> None:
    """``iperf3 -c -R -N -M -S --fq-rate``: our server applies all of them to the streams it
    sends on (iperf3 3.12's own server would not pace them, nor mark their IPv4 packets),
    and the iperf3 client receives at the paced rate."""
    require_tool("iperf3")
    port, first = free_port(), free_port_range(1)
    with wirekit_server(port) as server:
        done = run_process(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J", "-t", "1",
                            "-R", "-N", "-M", str(MSS), "-S", hex(TOS), "--fq-rate", "100M",
                            "--cport", str(first), "-T", "lab", "--extra-data", "x y"])
    theirs = _ok(done)
    [facts] = server.facts
    assert (facts.nodelay, facts.tos, facts.tclass, facts.pacing) == (1, TOS, TOS, PACED)
    assert 0 < facts.maxseg <= MSS, facts
    # iperf3's client stops counting at TEST_END, so it reports no buffered tail.
    _check_paced(theirs["end"]["sum_received"], with_tail=False)
    [ours] = server.documents
    assert (ours["title"], ours["extra_data"]) == ("lab", "x y")
    assert ours["start"]["test_start"]["tos"] == TOS
    assert ours["start"]["tcp_mss"] == MSS
    assert ours["start"]["connected"][0]["remote_port"] == first


# --- -k: blocks x length on both sides --------------------------------------------------------

#: (case id, client arguments, block length); the counts are exact on both sides.
WIREKIT_BLOCK_CASES = [
    ("tcp", ["-k", str(BLOCKS)], 128 * 1024),
    ("tcp-R", ["-k", str(BLOCKS), "-R"], 128 * 1024),
    ("tcp-P3", ["-k", str(BLOCKS), "-P", "3", "-l", "64K"], 64 * 1024),
    ("tcp-R-P3", ["-k", str(BLOCKS), "-R", "-P", "3", "-l", "64K"], 64 * 1024),
    ("tcp-bidir", ["-k", str(BLOCKS), "--bidir"], 128 * 1024),
    ("tcp-paced", ["-k", "50", "-b", "200M"], 128 * 1024),
    ("udp", ["-u", "-k", "500", "-l", "1200", "-b", "100M"], 1200),
    ("udp-R", ["-u", "-k", "500", "-l", "1200", "-b", "100M", "-R"], 1200),
]


def _counts(document: dict[str, Any], suffix: str = "") -> tuple[int, int]:
    end = document["end"]
    return end["sum_sent" + suffix]["bytes"], end["sum_received" + suffix]["bytes"]


def _blocks(args: list[str]) -> int:
    return int(args[args.index("-k") + 1])


@pytest.mark.parametrize(("case", "args", "length"), WIREKIT_BLOCK_CASES,
                         ids=[case[0] for case in WIREKIT_BLOCK_CASES])
def test_blockcount_between_wirekits(case: str, args: list[str], length: int) -> None:
    """Each side's own count (and its report of the other's) is exactly blocks x length, in
    every direction: the budget is shared by a direction's streams, as iperf3's."""
    client, server = run_pair("wirekit", "wirekit", args)
    total = _blocks(args) * length
    suffixes = ["", "_bidir_reverse"] if "--bidir" in args else [""]
    for suffix in suffixes:
        assert _counts(client, suffix) == (total, total), (suffix, _counts(client, suffix))
        assert _counts(server, suffix) == (total, total), (suffix, _counts(server, suffix))
    for doc in (client, server):
        test_start = doc["start"]["test_start"]
        assert (test_start["blocks"], test_start["duration"]) == (_blocks(args), 0)
    if "-u" in args:
        assert client["end"]["sum"]["packets"] == _blocks(args)


def _unread_limit() -> int:
    """What an iperf3 server may leave unread (and so uncounted) in its receive queue when
    TEST_END arrives: tcp_rmem's maximum (see test_bench_interop._check_counts)."""
    return _buffer_limit("tcp_rmem")


IPERF3_BLOCK_CASES = [
    ("iperf3-server", ["-k", str(BLOCKS)]),
    ("iperf3-server-R", ["-k", str(BLOCKS), "-R", "-P", "2"]),
    ("iperf3-client", ["-k", str(BLOCKS), "-P", "2"]),
    ("iperf3-client-R", ["-k", str(BLOCKS), "-R"]),
    ("iperf3-client-udp", ["-u", "-k", "500", "-l", "1200", "-b", "100M"]),
]
LENGTH = 128 * 1024


@pytest.mark.parametrize(("case", "args"), IPERF3_BLOCK_CASES,
                         ids=[case[0] for case in IPERF3_BLOCK_CASES])
def test_blockcount_with_iperf3(case: str, args: list[str]) -> None:
    """-k against iperf3 3.12, which sends exactly its count (when it does not pace with -b)
    and whose client counts read() calls, not blocks, when it receives (``iperf_recv``:
    ``++blocks_received`` per read; iperf3 against iperf3 ends a -R -k 3000 test after about
    1700 blocks).  So:

    - whoever is the sender, wirekit or iperf3, sent exactly blocks x length, except a wirekit
      server that an iperf3 -R client stopped early, which sent whole blocks, at most that;
    - a wirekit receiver counted exactly blocks x length;
    - an iperf3 server that receives may miss what was still queued when TEST_END came
      ("Late receive"; the same as in test_interop): at most its receive queue.
    """
    require_tool("iperf3")
    server_kind = "iperf3" if case.startswith("iperf3-server") else "wirekit"
    client_kind = "wirekit" if server_kind == "iperf3" else "iperf3"
    client, server = run_pair(server_kind, client_kind, args)
    udp = "-u" in args
    length = 1200 if udp else LENGTH
    total = _blocks(args) * length
    reverse = "-R" in args
    sender, receiver = (server, client) if reverse else (client, server)
    sent = sender["end"]["sum_sent"]["bytes"]
    received = receiver["end"]["sum_received"]["bytes"]
    if case == "iperf3-client-R":
        assert 0 < sent <= total and sent % length == 0, sent
        assert received <= sent, (sent, received)
    else:
        assert sent == total, (sent, total)
    receiver_kind = server_kind if receiver is server else client_kind
    if receiver_kind == "wirekit":
        assert received == sent, (sent, received)
    elif receiver is server:  # an iperf3 server
        assert total - _unread_limit() <= received <= total, (received, total)
    wirekit_doc = server if server_kind == "wirekit" else client
    assert wirekit_doc["start"]["test_start"]["blocks"] == _blocks(args)
    if udp:
        assert server["end"]["sum_received"]["packets"] == _blocks(args)


# --- --cport, -4/-6, -T -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wirekit", "iperf3"])
def test_cport_numbers_streams_consecutively_tcp_and_udp(kind: str) -> None:
    """TCP -P 2 and UDP -P 2 against either server: stream n comes from port cport + n; the
    control connection keeps an ephemeral port, as iperf3's."""
    if kind == "iperf3":
        require_tool("iperf3")
    for extra in ([], ["-u", "-b", "10M", "-l", "1200"]):
        port, first = free_port(), free_port_range(2)
        server = start_server(kind, port)
        done, out, _ = serve_one(server, client_command(
            "wirekit", port, ["-k", "20", "-P", "2", "--cport", str(first), *extra]))
        document = _ok(done)
        assert server.returncode == 0, out
        theirs = json.loads(out)
        assert [c["local_port"] for c in document["start"]["connected"]] == [first, first + 1]
        assert [c["remote_port"] for c in theirs["start"]["connected"]] == [first, first + 1]
        assert theirs["start"]["accepted_connection"]["port"] not in (first, first + 1)


def test_cport_with_bidir_puts_receiving_streams_after_sending_ones() -> None:
    """As iperf3 3.12 (#1249): sending streams from cport.., receiving ones from cport + P.."""
    first = free_port_range(4)
    client, server = run_pair("wirekit", "wirekit",
                              ["-k", "20", "-P", "2", "--bidir", "--cport", str(first)])
    ports = [c["local_port"] for c in client["start"]["connected"]]
    assert ports == [first, first + 1, first + 2, first + 3]
    # The server sees the first two as its receiving streams (the client sends on them).
    streams = client["end"]["streams"]
    assert [s["sender"]["sender"] for s in streams] == [True, True, False, False]
    assert [c["remote_port"] for c in server["start"]["connected"]] == ports


def test_a_busy_cport_is_a_network_error() -> None:
    """A port in use: one line naming the port, exit 9, and the server gives up the test."""
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        server = start_server("wirekit", port)
        done, _, _ = serve_one(server, [*WIREKIT, "client", "127.0.0.1", "-p", str(port),
                                        "-k", "5", "--cport", str(taken)])
    assert done.returncode == 9, (done.stdout, done.stderr)
    assert done.stderr == (f"wirekit: error: cannot bind a data stream to local port "
                           f"{taken}: Address already in use\n")


@pytest.mark.parametrize(("kind", "flag", "host", "address"), [
    ("iperf3", "-6", "::1", "::1"), ("wirekit", "-6", "::1", "::1"),
    ("iperf3", "-4", "localhost", "127.0.0.1"), ("wirekit", "-4", "localhost", "127.0.0.1")])
def test_address_family(kind: str, flag: str, host: str, address: str) -> None:
    if kind == "iperf3":
        require_tool("iperf3")
    port = free_port()
    server = start_server(kind, port)
    done, out, _ = serve_one(server, [*WIREKIT, "client", host, "-p", str(port), "-J", flag,
                                      "-k", "20"])
    document = _ok(done)
    assert server.returncode == 0, out
    [connected] = document["start"]["connected"]
    assert (connected["local_host"], connected["remote_host"]) == (address, address)
    assert json.loads(out)["start"]["connected"][0]["remote_host"] in (address,
                                                                      f"::ffff:{address}")


@pytest.mark.parametrize(("flag", "host"), [("-6", "127.0.0.1"), ("-4", "::1")])
def test_a_host_without_an_address_of_the_family_is_a_network_error(flag: str,
                                                                     host: str) -> None:
    """Nothing is sent: one line and exit 9 (NetworkError), as iperf3 fails to connect."""
    done = run_process([*WIREKIT, "client", host, "-p", str(free_port()), flag, "-k", "1"])
    assert done.returncode == 9, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"wirekit: error: cannot resolve {host} as IPv{flag[1]}")
    assert "Traceback" not in done.stderr


def test_a_zero_count_is_no_end_condition() -> None:
    """iperf3 accepts -t 5 -k 0: a 0 count is not given, so there is no usage error and the
    client goes on to connect (to a closed port here: exit 9, one line)."""
    done = run_process([*WIREKIT, "client", "127.0.0.1", "-p", str(free_port()), "-t", "5",
                        "-k", "0"])
    assert done.returncode == 9, done.stderr
    assert done.stderr.count("\n") == 1 and "cannot connect" in done.stderr


@pytest.mark.parametrize("kind", ["wirekit", "iperf3"])
def test_title_prefixes_every_client_line(kind: str) -> None:
    """iperf3 prints ``TITLE:  `` before each line of the client's output, the blank one
    before "iperf Done." too; the server's lines stay as they are (iperf3's do too)."""
    if kind == "iperf3":
        require_tool("iperf3")
    port = free_port()
    server = start_server(kind, port, json_output=False)
    command = client_command("wirekit", port, ["-k", "20", "-T", "lab 1"])
    command.remove("-J")
    done, out, _ = serve_one(server, command)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 5
    assert all(line.startswith("lab 1:  ") for line in lines), lines
    assert lines[0] == "lab 1:  Connecting to host 127.0.0.1, port " + str(port)
    assert lines[-2:] == ["lab 1:  ", "lab 1:  iperf Done."], lines[-2:]
    assert server.returncode == 0
    assert "lab 1" not in out, out


@pytest.mark.parametrize("kind", ["wirekit", "iperf3"])
def test_title_and_extra_data_in_json_documents(kind: str) -> None:
    """Where iperf3 3.12 puts them: after "end" and before "server_output_json" in the client's
    document, last in the server's; not in the document the server sends the client."""
    if kind == "iperf3":
        require_tool("iperf3")
    port = free_port()
    server = start_server(kind, port)
    done, out, _ = serve_one(server, client_command(
        "wirekit", port, ["-k", "20", "-T", "t", "--extra-data", "e", "--get-server-output"]))
    document = _ok(done)
    assert server.returncode == 0, out
    assert list(document) == ["start", "intervals", "end", "title", "extra_data",
                              "server_output_json"]
    assert list(document["server_output_json"]) == ["start", "intervals", "end"]
    theirs = json.loads(out)
    assert list(theirs)[-2:] == ["title", "extra_data"]
    assert (theirs["title"], theirs["extra_data"]) == ("t", "e")


def test_title_and_extra_data_in_json_stream_lines() -> None:
    port = free_port()
    server = start_server("wirekit", port)
    command = client_command("wirekit", port, ["-k", "20", "-T", "t", "--extra-data", "e"])
    command[command.index("-J")] = "--json-stream"
    done, out, _ = serve_one(server, command)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert (lines[0]["event"], lines[-1]["event"]) == ("start", "end")
    assert all((line["title"], line["extra_data"]) == ("t", "e") for line in lines)
    theirs = json.loads(out)  # the server's -J document has them from the parameters
    assert (theirs["title"], theirs["extra_data"]) == ("t", "e")


# --- the server refuses bad values from a hand-written client ---------------------------------


@pytest.mark.parametrize(("bad", "code", "number", "why"), [
    ({"MSS": 50}, 123, 22, "MSS 50 outside 88-32767"),
    ({"MSS": 40000}, 123, 22, "MSS 40000 outside 88-32767"),
    ({"TOS": 300}, 21, 0, "TOS 300 outside 0-255"),
    ({"num": 1000, "blockcount": 10}, 16, 0, "only one test end condition")])
def test_the_server_refuses_bad_values_with_iperf3_error_codes(
        bad: dict[str, int], code: int, number: int, why: str) -> None:
    """An iperf3 client would name the error: IESETMSS with EINVAL (what iperf3's own server
    sends when the kernel refuses the MSS), IEBADTOS, IEENDCONDITIONS."""
    from wirekit.bench.protocol import (
        ClientControl,
        ServerErrorReceived,
        State,
        StateReceived,
    )

    port = free_port()
    server = start_server("wirekit", port)
    try:
        machine = ClientControl()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as control:
            control.sendall(machine.hello())
            events = machine.receive_data(control.recv(64))
            assert events == [StateReceived(State.PARAM_EXCHANGE)]
            control.sendall(machine.send_params({**TestParams().to_json(), **bad}))
            reply = b""
            while len(reply) < 9:
                chunk = control.recv(64)
                assert chunk, "the server closed without an error"
                reply += chunk
        [event] = machine.receive_data(reply)
        assert isinstance(event, ServerErrorReceived)
        assert (event.error, event.errno) == (code, number)
    finally:
        document = _finish(server)  # a refused test is no failure of the server: exit 0
    assert document["error"].startswith(f"refused parameters: {why}"), document
