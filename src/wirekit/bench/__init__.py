"""iperf3-compatible throughput benchmark: server, client, and the protocol core they share.

See ``docs/bench.md`` for the protocol and the design.
"""

from wirekit.bench.client import BenchClient, ClientOptions, ClientOutcome
from wirekit.bench.control import Observer
from wirekit.bench.params import PeerResults, StreamResult, TestParams, parse_rate, parse_size
from wirekit.bench.protocol import (
    COOKIE_SIZE,
    ClientControl,
    CookieReceived,
    JsonReceived,
    ServerControl,
    ServerErrorReceived,
    State,
    StateReceived,
    make_cookie,
)
from wirekit.bench.run import IntervalReport, StreamSample, TestRun
from wirekit.bench.server import BenchServer, ServerOptions
from wirekit.bench.udpheader import UdpHeader, UdpReceiveStats

__all__ = [
    "COOKIE_SIZE",
    "BenchClient",
    "BenchServer",
    "ClientControl",
    "ClientOptions",
    "ClientOutcome",
    "CookieReceived",
    "IntervalReport",
    "JsonReceived",
    "Observer",
    "PeerResults",
    "ServerControl",
    "ServerErrorReceived",
    "ServerOptions",
    "State",
    "StateReceived",
    "StreamResult",
    "StreamSample",
    "TestParams",
    "TestRun",
    "UdpHeader",
    "UdpReceiveStats",
    "make_cookie",
    "parse_rate",
    "parse_size",
]
