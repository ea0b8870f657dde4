"""rx_nohandler and rx_otherhost_dropped: read from IFLA_STATS64's bytes, shown everywhere.

pyroute2 0.9.7 decodes 23 counters; the kernel sends 24 (Linux 4.6) or 25 (5.19).  These tests
decode real ``RTM_NEWLINK`` messages built byte by byte with pyroute2's own ``ifinfmsg``, so
the path through pyroute2's attribute objects is the one the sampler takes on a live host.
"""

from __future__ import annotations

import json
import struct

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from rich.console import Console

from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.monitor import COUNTER_NAMES, Counters, InterfaceSample, RateCalculator
from wirekit.monitor.counters import BASE_COUNTERS
from wirekit.monitor.sampler import (
    IFLA_STATS,
    IFLA_STATS64,
    attribute_payload,
    decode_stats,
    sample_from_message,
)
from wirekit.monitor.summary import SummaryBuilder
from wirekit.monitor.view import LiveView, plain_header, plain_lines, render_summary

RTM_NEWLINK = 16
IFLA_IFNAME = 3


def _nla(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _newlink(name: str, index: int, counters: int, *, legacy: bool = False) -> ifinfmsg:
    """An RTM_NEWLINK message whose stats hold 1, 2, 3, ... in counter order."""
    values = range(1, counters + 1)
    stats = (_nla(IFLA_STATS, struct.pack(f"={counters}I", *values)) if legacy else
             _nla(IFLA_STATS64, struct.pack(f"={counters}Q", *values)))
    body = struct.pack("=BxHiII", 0, 1, index, 0x1003, 0)  # struct ifinfomsg, IFF_UP set
    attrs = _nla(IFLA_IFNAME, name.encode() + b"\0") + stats
    header = struct.pack("=IHHII", 16 + len(body) + len(attrs), RTM_NEWLINK, 2, 1, 0)
    message = ifinfmsg(header + body + attrs)
    message.decode()
    return message


@pytest.mark.parametrize("sent", [23, 24, 25])
def test_the_attribute_size_decides_how_many_counters(sent: int) -> None:
    got = sample_from_message(_newlink("veth0", 7, sent))
    assert got is not None
    assert (got.name, got.index, got.width, got.reported) == ("veth0", 7, 64, sent)
    assert got.counters.values()[:sent] == tuple(range(1, sent + 1))
    assert got.counters.values()[sent:] == (0,) * (len(COUNTER_NAMES) - sent)
    if sent >= 24:
        assert got.counters.rx_nohandler == 24
    if sent == 25:
        assert got.counters.rx_otherhost_dropped == 25


def test_a_newer_kernels_extra_counters_are_ignored() -> None:
    got = sample_from_message(_newlink("eth0", 2, 27))
    assert got is not None and got.reported == 25
    assert got.counters.rx_otherhost_dropped == 25


def test_legacy_32bit_stats_are_read_raw_too() -> None:
    got = sample_from_message(_newlink("eth0", 2, 24, legacy=True))
    assert got is not None
    assert (got.width, got.reported, got.counters.rx_nohandler) == (32, 24, 24)


def test_payload_comes_from_pyroute2s_buffer_and_is_checked() -> None:
    message = _newlink("veth0", 7, 25)
    attribute = message.get("IFLA_STATS64")
    payload = attribute_payload(attribute, IFLA_STATS64)
    assert payload is not None and len(payload) == 25 * 8
    assert attribute_payload(attribute, IFLA_STATS) is None  # the header says another type
    assert attribute_payload({"rx_bytes": 1}, IFLA_STATS64) is None  # no buffer
    counters, reported = decode_stats(payload, 8)
    assert reported == 25 and counters.rx_packets == 1


def test_a_mapping_without_bytes_gives_the_base_counters() -> None:
    """pyroute2's decoded fields when the raw bytes are not there: the 23 it knows."""

    class Message(dict):  # type: ignore[type-arg]
        def get_nested(self, *path: str) -> object:
            return None

    got = sample_from_message(Message({"IFLA_IFNAME": "x", "index": 3, "flags": 1,
                                       "IFLA_STATS64": {"rx_bytes": 9}}))
    assert got is not None and got.reported == BASE_COUNTERS
    with_extra = sample_from_message(Message({"IFLA_IFNAME": "x", "index": 3, "flags": 1,
                                              "IFLA_STATS64": {"rx_nohandler": 4}}))
    assert with_extra is not None and with_extra.reported == 24
    assert with_extra.counters.rx_nohandler == 4


def test_counters_from_values_and_the_json_form() -> None:
    counters = Counters.from_values([5] * 24)
    assert counters.rx_nohandler == 5 and counters.rx_otherhost_dropped == 0
    as_json = counters.reported_dict(24)
    assert as_json["rx_nohandler"] == 5 and as_json["rx_otherhost_dropped"] is None
    assert list(as_json) == list(COUNTER_NAMES)


def _old_kernel(name: str, index: int, **counters: int) -> InterfaceSample:
    """A sample from a kernel that sends 23 counters (before Linux 4.6)."""
    return InterfaceSample(name=name, index=index, counters=Counters(**counters),
                           operstate="UP", reported=BASE_COUNTERS)


def test_interval_json_has_the_nohandler_rate_and_deltas() -> None:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("veth0", 5, rx_nohandler=10), _old_kernel("old0", 6)))
    interval = calc.feed(snap(2.0, sample("veth0", 5, rx_nohandler=30, rx_otherhost_dropped=4),
                              _old_kernel("old0", 6, rx_packets=8)))
    rows = {row["name"]: row for row in json.loads(json.dumps(interval.as_dict()))["interfaces"]}
    assert rows["veth0"]["rx_nohandler_per_second"] == pytest.approx(10.0)
    assert rows["veth0"]["delta"]["rx_nohandler"] == 20
    assert rows["veth0"]["delta"]["rx_otherhost_dropped"] == 4
    # a kernel without the counters: null, never a made-up 0
    assert rows["old0"]["rx_nohandler_per_second"] is None
    assert rows["old0"]["delta"]["rx_nohandler"] is None
    assert rows["old0"]["delta"]["rx_packets"] == 8


def _summary_of(*later: InterfaceSample) -> tuple[SummaryBuilder, LiveView, list[str]]:
    calc = RateCalculator()
    first = snap(0.0, sample("veth0", 5), _old_kernel("old0", 6))
    calc.baseline(first)
    builder = SummaryBuilder(1.0, 0.0, 0.0)
    builder.start_with(list(first.interfaces.values()))
    view = LiveView()
    lines = [plain_header()]
    for number, item in enumerate(later, start=1):
        interval = calc.feed(snap(float(number), item, _old_kernel("old0", 6)))
        builder.add(interval)
        view.update(interval)
        lines.extend(plain_lines(interval))
    return builder, view, lines


def _text(renderable: object, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_summary_shows_nohandler_in_the_traffic_table_and_json() -> None:
    builder, _, _ = _summary_of(sample("veth0", 5, rx_packets=50, rx_nohandler=12,
                                       rx_otherhost_dropped=3))
    summary = builder.build("count")
    veth0 = summary.interface("veth0").as_dict()
    assert veth0["rx"]["nohandler"] == 12 and "nohandler" not in veth0["tx"]
    assert veth0["counters"]["rx_nohandler"] == 12
    assert veth0["counters"]["rx_otherhost_dropped"] == 3
    old0 = summary.interface("old0").as_dict()
    assert old0["rx"]["nohandler"] is None and old0["counters"]["rx_nohandler"] is None

    text = _text(render_summary(summary))
    header = next(line for line in text.splitlines() if "no handler" in line)
    assert header.split()[-2:] == ["no", "handler"]
    rx_row = next(line for line in text.splitlines() if line.strip().startswith("veth0"))
    assert rx_row.split()[-1] == "12"
    old_row = next(line for line in text.splitlines() if line.strip().startswith("old0"))
    assert old_row.split()[-1] == "—"  # the kernel does not report it
    # the 25th counter is a detail counter: listed when it moved, not a column
    assert "veth0: rx_otherhost_dropped 3" in text
    assert "rx_nohandler 12" not in text


def test_live_table_grows_a_nohandler_column_once_it_moves() -> None:
    _, quiet, _ = _summary_of(sample("veth0", 5, rx_packets=50))
    assert "no handler/s" not in _text(quiet.render(120), 120)
    _, moved, lines = _summary_of(sample("veth0", 5, rx_packets=50),
                                  sample("veth0", 5, rx_packets=90, rx_nohandler=7))
    text = _text(moved.render(120), 120)
    assert "no handler/s" in text
    rx_row = next(line for line in text.splitlines() if line.strip().startswith("veth0"))
    assert rx_row.split()[-2] == "7"  # 7 per second, then its sparkline
    # plain lines always carry the column, in a fixed place: "-" where there is no rate
    assert plain_header().split()[-2:] == ["nohnd/s", "events"]
    veth_lines = [line.split() for line in lines if " veth0 " in line]
    assert [fields[-1] for fields in veth_lines] == ["0", "7"]
    old_lines = [line.split() for line in lines if " old0 " in line]
    assert all(fields[-1] == "-" for fields in old_lines)
