"""Metrics count frames: every frame sent by its type, received events only when they are
frames (never the ConnectionClosed event)."""

from __future__ import annotations

import pytest

from wirekit.aio.metrics import Metrics, PrometheusMetrics
from wirekit.aio.peer import RX_LABELS
from wirekit.proto import (
    ConnectionClosed,
    ErrorMessage,
    Event,
    Goodbye,
    Heartbeat,
    Hello,
    UnknownMessage,
    encode_frame,
)
from wirekit.proto.frame import count_frame_types

SENT = (encode_frame(1, 3, 1) + encode_frame(1, 4, 2, b"Unknown message type", flags=1)
        + encode_frame(2, 5, 0) + encode_frame(2, 2, 1, b"echo" * 100) + encode_frame(2, 3, 1)
        + encode_frame(2, 6, 1))


def test_count_frame_types_reads_every_header() -> None:
    assert count_frame_types(SENT) == {3: 2, 4: 1, 5: 1, 2: 1, 6: 1}
    assert count_frame_types(b"") == {}


def test_prometheus_counts_every_frame_sent_by_type() -> None:
    pytest.importorskip("prometheus_client")
    metrics = PrometheusMetrics()
    metrics.frames("tx", SENT)
    metrics.frames("tx", encode_frame(1, 4, 1, b"server full", flags=12))

    def sent(label: str) -> float | None:
        return metrics.registry.get_sample_value("wirekit_proto_messages_total",
                                                 {"direction": "tx", "type": label})

    assert [sent(label) for label in ("ACK", "ERROR", "HEARTBEAT", "DATA", "GOODBYE")] \
        == [2, 2, 1, 1, 1]


def test_the_no_op_metrics_accept_frames() -> None:
    Metrics().frames("tx", SENT)  # nothing to count, nothing to fail


def test_received_labels_are_frame_types_only() -> None:
    events: list[Event] = [Hello(None, b"", 1), Heartbeat(2), Goodbye(3), ErrorMessage(1, "x", 4),
              UnknownMessage(9, 5)]
    assert [RX_LABELS[type(event)] for event in events] == [
        "HELLO", "HEARTBEAT", "GOODBYE", "ERROR", "UNKNOWN"]
    assert ConnectionClosed not in RX_LABELS  # an event of ours, not a frame
