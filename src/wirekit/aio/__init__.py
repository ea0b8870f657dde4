"""asyncio adapters of the message protocol: the server, the client, their helpers.

This is the only package that imports asyncio; :mod:`wirekit.proto` stays sans-I/O.
"""

from wirekit.aio.client import Client, Message
from wirekit.aio.handler import GroupCommitFile, Handler, RecordingHandler
from wirekit.aio.metrics import Metrics, PrometheusMetrics, create_metrics
from wirekit.aio.runtime import raise_nofile_limit, run
from wirekit.aio.server import Server, ServerConfig, ServerStats
from wirekit.aio.tls import client_context, server_context

__all__ = [
    "Client", "GroupCommitFile", "Handler", "Message", "Metrics", "PrometheusMetrics",
    "RecordingHandler", "Server", "ServerConfig", "ServerStats", "client_context",
    "create_metrics", "raise_nofile_limit", "run", "server_context",
]
