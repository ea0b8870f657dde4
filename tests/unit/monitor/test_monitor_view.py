"""Rendering: units, sparklines, the live table, plain lines, the summary tables."""

from __future__ import annotations

import pytest
from rich.console import Console

from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.link.ethtool import Feature, Rings
from wirekit.monitor import Interval, LinkFacts, RateCalculator, SummaryBuilder
from wirekit.monitor.facts import select_offloads
from wirekit.monitor.sampler import sample_from_message
from wirekit.monitor.view import (
    SPARK_LEVELS,
    LiveView,
    plain_header,
    plain_lines,
    render_summary,
    si,
    spark_width,
    sparkline,
)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0, "bit/s", "0 bit/s"), (999, "", "999"), (1000, "bit/s", "1 kbit/s"),
     (1_234_567, "bit/s", "1.23 Mbit/s"), (9.87e9, "", "9.87 G"), (2.5e12, "B", "2.5 TB"),
     (0.25, "/s", "0.25 /s")],
)
def test_si(value: float, unit: str, text: str) -> None:
    assert si(value, unit) == text


def test_sparkline_scales_to_the_window_and_marks_gaps() -> None:
    assert sparkline([0, 1, 2, 4, 8], width=5) == "▁▂▃▅█"
    assert sparkline([0, 0, 0], width=3) == "▁▁▁"
    assert sparkline([5, None, 5], width=3) == "█ █"
    assert sparkline([1.0], width=4) == "   █"  # grows from the right
    assert sparkline(list(range(100)), width=8)[-1] == SPARK_LEVELS[-1]
    assert len(sparkline(list(range(100)), width=8)) == 8


def test_spark_width_follows_the_terminal() -> None:
    assert spark_width(80) == 4
    assert spark_width(120) == 14
    assert spark_width(1000) == 60


def _intervals() -> tuple[RateCalculator, Interval, Interval]:
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("veth0", 5, rx_bytes=0), sample("veth1", 6)))
    first = calc.feed(snap(1.0, sample("veth0", 5, rx_bytes=125_000_000, rx_packets=90_000,
                                       rx_crc_errors=3, multicast=1200),
                           sample("veth1", 6)))
    second = calc.feed(snap(2.0, sample("veth0", 5, rx_bytes=250_000_000, rx_packets=180_000,
                                        rx_crc_errors=3, multicast=1200)))
    return calc, first, second


def _text(renderable: object, width: int = 160) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_live_table_shows_rates_sparklines_and_events() -> None:
    _, first, second = _intervals()
    view = LiveView()
    view.update(first)
    view.update(second)
    text = _text(view.render(160))
    assert "interval 2" in text
    assert "1 G" in text            # 125 MB/s = 1 Gbit/s
    assert "90 k" in text           # packets/s
    assert "veth1 (gone)" in text
    assert "veth1 vanished" in text  # the caption lists recent events
    assert "██" in text              # two equal samples at the top of the scale


def test_plain_lines_have_no_escape_codes() -> None:
    _, first, second = _intervals()
    lines = [plain_header(), *plain_lines(first), *plain_lines(second)]
    assert all("\x1b" not in line for line in lines)
    assert lines[1].split()[:3] == ["1.00", "veth0", "1"]
    assert lines[1].split()[3] == "G"
    assert "vanished" in lines[4]
    assert lines[4].split()[2] == "-"  # no rate for a vanished interface


def test_summary_render_has_traffic_link_and_events() -> None:
    _, first, second = _intervals()
    builder = SummaryBuilder(1.0, 0.0, 0.0)
    builder.start_with([sample("veth0", 5), sample("veth1", 6)])
    builder.set_facts("veth0", LinkFacts(
        driver="veth", speed_mbps=10000, duplex="Full", autoneg=False,
        rings=Rings(rx=256, tx=256, rx_max=4096, tx_max=4096),
        offloads=select_offloads({"rx-lro": Feature("rx-lro", False, False),
                                  "rx-gro": Feature("rx-gro", True, True)})))
    builder.add(first)
    builder.add(second)
    text = _text(render_summary(builder.build("duration")), width=200)
    assert "2.00 s, 2 intervals of 1 s, stopped by duration" in text
    assert "250,000,000" in text and "125.00" in text  # bytes and MB/s
    assert "veth1 (vanished)" in text
    assert "10000 Mb/s" in text and "Full" in text and "256/256 (4096/4096)" in text
    offloads = next(line for line in text.splitlines() if "segmentation" in line).split()
    assert offloads[-2:] == ["gro", "lro*"]  # on: gro; off: lro, fixed (* is not rich markup)
    assert "vanished: ifindex 6" in text
    assert "veth0: multicast 1,200, rx_crc_errors 3" in text  # detail counters that moved


class _Message(dict):  # type: ignore[type-arg]
    """Stand-in for pyroute2's ifinfmsg: attributes and header fields by name."""

    def get_nested(self, *path: str) -> object:
        return self.get("kind")


def test_sample_from_netlink_message() -> None:
    message = _Message({"IFLA_IFNAME": "veth0", "index": 7, "flags": 0x1003,
                        "IFLA_OPERSTATE": "UP", "IFLA_MTU": 1500, "kind": "veth",
                        "IFLA_STATS64": {"rx_bytes": 10, "tx_packets": 3}})
    got = sample_from_message(message)
    assert got is not None
    assert (got.name, got.index, got.admin_up, got.operstate, got.mtu, got.kind, got.width) == (
        "veth0", 7, True, "UP", 1500, "veth", 64)
    assert (got.counters.rx_bytes, got.counters.tx_packets) == (10, 3)


def test_sample_falls_back_to_32bit_stats_and_skips_statless() -> None:
    old = sample_from_message(_Message({"IFLA_IFNAME": "eth0", "index": 2, "flags": 0,
                                        "IFLA_STATS": {"rx_bytes": 5}}))
    assert old is not None and old.width == 32 and not old.admin_up
    assert sample_from_message(_Message({"IFLA_IFNAME": "x", "index": 3})) is None
