"""The capture engine: a TPACKET_V3 ring, decoded in place, fanned out to sinks.

``LiveSource`` owns the socket and ring, ``run_capture`` is the loop, the sinks print or write
files, and ``workers`` spreads one capture over several processes with PACKET_FANOUT.
"""

from wirekit.capture.engine import (
    CaptureResult,
    LocalBudget,
    Sink,
    StopFlag,
    run_capture,
    stop_on_signals,
)
from wirekit.capture.source import ANY, CaptureOptions, Device, LiveSource, resolve_device

__all__ = [
    "ANY",
    "CaptureOptions",
    "CaptureResult",
    "Device",
    "LiveSource",
    "LocalBudget",
    "Sink",
    "StopFlag",
    "resolve_device",
    "run_capture",
    "stop_on_signals",
]
