"""Interop matrix: iperf3 3.12 in both roles against wirekit, on loopback.

Each case: both sides exit 0, and the bytes the sender counted and the bytes the receiver
counted (each side's own count, from its own -J output) agree within one block per stream.
Two kinds of run need more than that, for reasons of the measurement, not of the protocol:

- UDP: a datagram the receiver's kernel dropped (a full socket buffer while the receiver was
  not scheduled, common on a loaded machine: iperf3 against iperf3 lost 0-15% of
  ``-b 100M -l 1200`` with two busy loops on two cores) is not received, but the sequence
  numbers make the receiver count it as lost.  So the check is the accounting: every datagram up
  to the highest sequence number is either received or lost, and the sender sent that many.
- ``-O``: each side starts its omit timer on its own clock when the test starts (iperf3's
  server when it sends TEST_START, its client when that arrives), so the two boundaries are
  as far apart as the client was late to run, which on a loaded machine is tens of ms.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.bench.bench_support import SCHEMA_RUNS, PairRuns
from tests.support.env import require_tool

#: (case id, client arguments, block size used for the tolerance)
CASES = [
    ("tcp", SCHEMA_RUNS["tcp"], 128 * 1024, 1),
    ("tcp-P4", ["-t", "1", "-P", "4"], 128 * 1024, 4),
    ("reverse", ["-t", "1", "-R"], 128 * 1024, 1),
    ("bidir", SCHEMA_RUNS["bidir"], 128 * 1024, 1),
    ("udp", SCHEMA_RUNS["udp"], 1200, 1),
    ("bytes", ["-n", "8M"], 128 * 1024, 1),
    # At full speed the two omit boundaries are milliseconds (megabytes) apart; at 200 Mbit/s
    # a skew of OMIT_SKEW is 2.5 MB of 25, so the comparison stays meaningful.
    ("omit", ["-t", "1", "-O", "1", "-b", "200M"], 128 * 1024, 1),
]
#: How far apart the two sides' omit boundaries may be on a loaded 2-core machine.
OMIT_SKEW = 0.1
OMIT_RATE = 200e6
#: Datagrams still queued at the receiver when it stops counting: an iperf3 server closes its
#: UDP sockets on TEST_END without reading what is queued (iperf_handle_message_server).
UDP_TAIL = 0.05
ROLES = [("iperf3", "wirekit"), ("wirekit", "iperf3")]


def _directions(args: list[str]) -> list[tuple[str, bool]]:
    """(key suffix, whether the client sends) for each direction of data in the test."""
    if "--bidir" in args:
        return [("", True), ("_bidir_reverse", False)]
    return [("", "-R" not in args)]


def _receive_queue_limit() -> int:
    """The most a TCP socket's receive queue holds here (net.ipv4.tcp_rmem's maximum)."""
    return _buffer_limit("tcp_rmem")


def _buffer_limit(name: str) -> int:
    with open(f"/proc/sys/net/ipv4/{name}", encoding="ascii") as fields:
        return int(fields.read().split()[2])


def _in_flight_limit() -> int:
    """The most one TCP stream can have counted as sent but not yet read: the sender's send
    buffer plus the receiver's receive queue (tcp_wmem's and tcp_rmem's maxima)."""
    return _buffer_limit("tcp_wmem") + _buffer_limit("tcp_rmem")


def _check_counts(client: dict[str, Any], server: dict[str, Any], args: list[str],
                  receiver_is_iperf3_client: bool, tolerance: int, streams: int = 1) -> None:
    """Sender's own count against receiver's own count; each side's report of the other's.

    iperf3 3.12 stops counting received bytes once the test leaves TEST_RUNNING
    (iperf_tcp_recv: "Late receive"), and its client leaves it when it sends TEST_END itself,
    so an iperf3 *client* that receives misses what was in flight at that instant (iperf3 does
    the same against an iperf3 server): at most the sender's send buffer and the receive
    queue, or 5% of the test, whichever is more.  An iperf3 *server* that receives leaves
    TEST_RUNNING when TEST_END arrives: a wirekit client sends it once its data is
    acknowledged, i.e. in the server's receive queue, but a server that was not scheduled
    since has not read it all, and what is still queued is never counted.  That shortfall is
    bounded by the receive buffer (tcp_rmem's maximum).  Everywhere else the counts agree
    within a block (UDP: see the module's docstring).
    """
    for suffix, client_sends in _directions(args):
        sender, receiver = (client, server) if client_sends else (server, client)
        sent = sender["end"]["sum_sent" + suffix]["bytes"]
        received = receiver["end"]["sum_received" + suffix]["bytes"]
        assert sent > 0, f"nothing sent ({suffix or 'forward'})"
        if "-u" in args:
            _check_udp(sender["end"]["sum_sent" + suffix],
                       receiver["end"]["sum_received" + suffix], tolerance)
        elif receiver_is_iperf3_client and not client_sends:
            # What was in flight when the iperf3 client sent TEST_END: 5% of a 1-second test
            # at full speed, but on a slow (loaded) run the buffers are the bound.
            shortfall = max(0.05 * sent, _in_flight_limit() * streams)
            assert sent - shortfall <= received <= sent, (sent, received, shortfall)
        elif not receiver_is_iperf3_client and client_sends:  # the server is iperf3
            unread = _receive_queue_limit() * streams
            assert -tolerance <= sent - received <= tolerance + unread, (suffix, sent, received)
        else:
            assert abs(sent - received) <= tolerance, (suffix, sent, received)
        # A side that knows the peer's number (from the results exchange) reports it exactly;
        # iperf3's server leaves the peer's numbers at 0.
        for doc, key, own in ((sender, "sum_received", received), (receiver, "sum_sent", sent)):
            reported = doc["end"][key + suffix]["bytes"]
            assert reported in (own, 0), (key + suffix, reported, own)


def _check_udp(sent: dict[str, Any], received: dict[str, Any], length: int) -> None:
    """Every datagram up to the highest sequence number seen is received or counted lost."""
    highest, lost = received["packets"], received["lost_packets"]
    assert received["bytes"] == (highest - lost) * length, (received, length)
    assert sent["bytes"] == sent["packets"] * length, sent
    assert (1 - UDP_TAIL) * sent["packets"] <= highest <= sent["packets"], (sent, received)
    assert lost < highest / 2, received  # the test measured something


@pytest.mark.parametrize(("server", "client"), ROLES, ids=["iperf3-server", "iperf3-client"])
@pytest.mark.parametrize(("case", "args", "block", "streams"), CASES,
                         ids=[case[0] for case in CASES])
def test_interop(server: str, client: str, case: str, args: list[str], block: int,
                 streams: int, pair_runs: PairRuns) -> None:
    require_tool("iperf3")
    client_doc, server_doc = pair_runs(server, client, args)
    tolerance = block * streams
    if case == "omit":
        tolerance += int(OMIT_RATE / 8 * OMIT_SKEW)
    _check_counts(client_doc, server_doc, args, client == "iperf3", tolerance, streams)
    start = client_doc["start"]["test_start"]
    assert start["num_streams"] == streams
    assert start["protocol"] == ("UDP" if "-u" in args else "TCP")
    if case == "bytes":
        assert client_doc["end"]["sum_sent"]["bytes"] >= 8 * 1024 * 1024
    if case == "omit":
        assert client_doc["intervals"][0]["sum"]["omitted"] is True
        assert client_doc["intervals"][-1]["sum"]["omitted"] is False
