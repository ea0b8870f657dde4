"""Server metrics: Prometheus through ``prometheus_client`` (the ``metrics`` extra), or nothing.

The hot path counts locally and reports once per batch (``batch``), so a metric update costs a
few lock acquisitions per read, not per message.  Each server has its own registry: two servers
in one process (tests, embedding) never share or clash over metric names.
"""

from __future__ import annotations

import logging
from typing import Any

from wirekit.errors import UsageError
from wirekit.proto.frame import count_frame_types, type_name

log = logging.getLogger("wirekit.aio.metrics")

#: ACK latency buckets (seconds): from a fast loopback batch to a slow fsync.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The interface, doing nothing (used when no metrics port is asked for)."""

    def connection_opened(self) -> None:
        """A connection was accepted."""

    def connection_closed(self) -> None:
        """A connection ended."""

    def messages(self, direction: str, message_type: str, count: int = 1) -> None:
        """``count`` messages of ``message_type`` went ``direction`` ("rx" or "tx")."""

    def frames(self, direction: str, data: bytes) -> None:
        """``data`` (whole frames) went ``direction``: count each frame by its type."""

    def error(self, reason: str) -> None:
        """A connection ended or was refused for ``reason`` (an ErrorCode name, or "io")."""

    def transferred(self, direction: str, count: int) -> None:
        """``count`` bytes went ``direction``."""

    def ack_latency(self, seconds: float) -> None:
        """Time from reading a batch to writing its ACKs."""

    def start(self, port: int, host: str) -> int:
        """Serve the metrics over HTTP; returns the port."""
        raise UsageError("metrics need the prometheus_client package (pip install "
                         "'wirekit[metrics]')")


class PrometheusMetrics(Metrics):
    """The metrics in a registry of their own, served by prometheus_client."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        prefix = "wirekit_proto"
        self._active = Gauge(f"{prefix}_connections", "Open connections",
                             registry=self.registry)
        self._accepted = Counter(f"{prefix}_connections_accepted",
                                 "Connections accepted", registry=self.registry)
        self._messages = Counter(f"{prefix}_messages", "Messages by direction and type",
                                 ["direction", "type"], registry=self.registry)
        self._errors = Counter(f"{prefix}_errors", "Errors by reason", ["reason"],
                               registry=self.registry)
        self._bytes = Counter(f"{prefix}_bytes", "Bytes by direction", ["direction"],
                              registry=self.registry)
        self._latency = Histogram(f"{prefix}_ack_latency_seconds",
                                  "From reading a batch to writing its ACKs",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self._server: Any = None

    def connection_opened(self) -> None:
        self._active.inc()
        self._accepted.inc()

    def connection_closed(self) -> None:
        self._active.dec()

    def messages(self, direction: str, message_type: str, count: int = 1) -> None:
        self._messages.labels(direction, message_type).inc(count)

    def frames(self, direction: str, data: bytes) -> None:
        # Walking the headers costs a little per frame: only done when metrics are served.
        for mtype, count in count_frame_types(data).items():
            self.messages(direction, type_name(mtype), count)

    def error(self, reason: str) -> None:
        self._errors.labels(reason).inc()

    def transferred(self, direction: str, count: int) -> None:
        self._bytes.labels(direction).inc(count)

    def ack_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def start(self, port: int, host: str) -> int:
        from prometheus_client import start_http_server

        try:
            self._server, _thread = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            raise UsageError(f"cannot serve metrics on {host}:{port}: {exc}") from exc
        bound = int(self._server.server_port)
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def create_metrics(enabled: bool) -> Metrics:
    """PrometheusMetrics when asked for (UsageError without prometheus_client), else no-ops."""
    if not enabled:
        return Metrics()
    try:
        return PrometheusMetrics()
    except ImportError as exc:
        raise UsageError("--metrics-port needs the prometheus_client package "
                         "(pip install 'wirekit[metrics]')") from exc
