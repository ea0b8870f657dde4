"""UDP header codec and loss/order/jitter bookkeeping; parameters and results JSON."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.bench.params import (
    DEFAULT_UDP_RATE,
    PeerResults,
    StreamResult,
    TestParams,
    parse_rate,
    parse_size,
    signed,
)
from wirekit.bench.run import RttSummary, stream_ids
from wirekit.bench.udpheader import UdpHeader, UdpReceiveStats
from wirekit.errors import DecodeError, RemoteProtocolError, UsageError

# A datagram header captured from iperf3 3.12 (-u -l 1200): 0x6d6, 0x2c348 us, sequence 1.
CAPTURED = bytes.fromhex("000006d60002c34800000001")


def test_header_decodes_iperf3_capture() -> None:
    header = UdpHeader.decode(CAPTURED)
    assert header == UdpHeader(0x6D6, 0x2C348, 1)
    assert header.encode() == CAPTURED


@given(st.integers(0, 2**32 - 1), st.integers(0, 999_999), st.integers(0, 2**64 - 1))
def test_header_round_trip_64(seconds: int, micros: int, sequence: int) -> None:
    header = UdpHeader(seconds, micros, sequence)
    assert UdpHeader.decode(header.encode(True) + b"payload", True) == header


def test_short_header() -> None:
    with pytest.raises(DecodeError):
        UdpHeader.decode(b"\0" * 11)


def _stats(sequence: list[int]) -> UdpReceiveStats:
    stats = UdpReceiveStats()
    for number in sequence:
        stats.record(number, 0.001)
    return stats


def test_in_order_and_gap() -> None:
    stats = _stats([1, 2, 3, 6, 7])
    assert (stats.packets, stats.lost, stats.out_of_order, stats.duplicates) == (7, 2, 0, 0)


def test_reordering_takes_back_loss_duplicates_do_not() -> None:
    stats = _stats([1, 3, 2, 2, 4])
    assert (stats.lost, stats.out_of_order, stats.duplicates) == (0, 1, 1)


def test_batch_matches_per_packet() -> None:
    order = [1, 2, 5, 3, 3, 6, 9, 8, 10]
    one = _stats(order)
    batch = UdpReceiveStats()
    batch.record_batch(((0, 0, n) for n in order), arrival=0.001)
    assert (batch.lost, batch.out_of_order, batch.duplicates, batch.packets) == (
        one.lost, one.out_of_order, one.duplicates, one.packets)


def test_jitter_rfc1889() -> None:
    stats = UdpReceiveStats()
    stats.record(1, 0.010)
    stats.record(2, 0.026)  # |D| = 16 ms -> J = 1 ms
    assert stats.jitter == pytest.approx(0.001)


def test_reset_keeps_sequence_position() -> None:
    stats = _stats([1, 2, 4])
    stats.reset()
    stats.record(5, 0.0)
    assert (stats.packets, stats.lost, stats.received) == (1, 0, 1)


def test_parse_size_and_rate() -> None:
    assert parse_size("128K") == 131072
    assert parse_size("1.5M") == 1572864
    assert parse_rate("100M") == 100_000_000
    with pytest.raises(UsageError):
        parse_size("ten")


def test_params_round_trip_and_iperf3_form() -> None:
    params = TestParams(udp=True, duration=1, parallel=4, reverse=True, length=1200,
                        bandwidth=100_000_000, wirekit_rtt=True)
    doc = params.to_json()
    assert list(doc)[:6] == ["udp", "omit", "time", "num", "blockcount", "parallel"]
    back = TestParams.from_json(doc)
    assert (back.udp, back.parallel, back.reverse, back.length, back.bandwidth,
            back.wirekit_rtt) == (True, 4, True, 1200, 100_000_000, True)


def test_params_defaults_and_problems() -> None:
    assert TestParams.from_json({"udp": True, "time": 1}).with_defaults().bandwidth \
        == DEFAULT_UDP_RATE
    assert TestParams(parallel=0).problems()
    assert TestParams(udp=True, length=8).problems()
    with pytest.raises(RemoteProtocolError):
        TestParams.from_json({"parallel": "many"})


def test_results_accept_iperf3_unsigned_minus_one() -> None:
    doc = {"cpu_util_total": 1, "cpu_util_user": 0, "cpu_util_system": 1,
           "sender_has_retransmits": 18446744073709551615,
           "streams": [{"id": 1, "bytes": 10, "retransmits": 18446744073709551615,
                        "jitter": 0, "errors": 0, "packets": 0, "start_time": 0,
                        "end_time": 1.0}]}
    results = PeerResults.from_json(doc)
    assert results.sender_has_retransmits == -1
    assert results.stream(1) == StreamResult(1, 10, -1, 0.0, 0, 0, 0.0, 1.0)
    assert signed(5) == 5
    with pytest.raises(RemoteProtocolError):
        PeerResults.from_json({"streams": []})


def test_results_carry_the_end_wait_for_a_wirekit_server() -> None:
    """wirekit's extension key round-trips, is absent when zero, and a bad value is refused."""
    results = PeerResults(1.0, 0.5, 0.5, 1, (StreamResult(1, 10, 0, 0.0, 0, 0, 0.0, 1.0),),
                          end_wait=0.0213)
    doc = results.to_json()
    assert doc["wirekit_end_wait"] == 0.0213
    assert PeerResults.from_json(doc) == results
    assert "wirekit_end_wait" not in PeerResults(1.0, 0.5, 0.5, 1, ()).to_json()
    for bad in (-0.1, float("nan"), 11.0, "soon"):
        with pytest.raises(RemoteProtocolError):
            PeerResults.from_json({**doc, "wirekit_end_wait": bad})


def test_server_output_is_asked_for_and_carried() -> None:
    """--get-server-output: iperf3's parameter key, and both forms of the answer."""
    doc = TestParams(get_server_output=True).to_json()
    assert doc["get_server_output"] == 1
    assert TestParams.from_json(doc).get_server_output
    assert "get_server_output" not in TestParams().to_json()
    base = PeerResults(1.0, 0.5, 0.5, 1, ())
    text = PeerResults(1.0, 0.5, 0.5, 1, (), server_output_text="[  5] 0.00-1.00 sec\n")
    document = PeerResults(1.0, 0.5, 0.5, 1, (), server_output_json={"end": {}})
    for results in (text, document):
        assert PeerResults.from_json(results.to_json()) == results
    assert not {"server_output_text", "server_output_json"} & set(base.to_json())
    for key, bad in (("server_output_text", 5), ("server_output_json", "text")):
        with pytest.raises(RemoteProtocolError):
            PeerResults.from_json({**base.to_json(), key: bad})


def test_stream_ids_skip_two() -> None:
    assert stream_ids()[:5] == [1, 3, 4, 5, 6]


def test_rtt_percentiles() -> None:
    summary = RttSummary.of([0.001 * n for n in range(1, 101)])
    assert summary is not None
    assert (summary.samples, round(summary.p50, 3), round(summary.max, 3)) == (100, 51.0, 100.0)
    assert RttSummary.of([]) is None
