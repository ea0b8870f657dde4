"""Small pure helpers of the raw-socket commands: ports, MAC mapping, hex frames, budgets."""

from __future__ import annotations

import pytest

from wirekit.capture.sinks import Timestamps
from wirekit.capture.workers import SharedBudget, WorkerReport
from wirekit.errors import UsageError
from wirekit.link.afpacket import PacketStatistics, sockaddr_ll
from wirekit.link.craft import parse_hex_frame
from wirekit.link.neighbour import group_mac
from wirekit.link.probe import parse_ports
from wirekit.pcap.timestamps import TimeStyle


def test_ports_in_order_without_repeats() -> None:
    assert parse_ports("22,80,8000-8003,80") == [22, 80, 8000, 8001, 8002, 8003]
    assert parse_ports(" 443 ") == [443]


@pytest.mark.parametrize("spec", ["", "0", "70000", "90-80", "http", "1-2-3", ","])
def test_bad_ports(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_ports(spec)


@pytest.mark.parametrize(("address", "mac"), [
    ("255.255.255.255", "ff:ff:ff:ff:ff:ff"),
    ("224.0.0.251", "01:00:5e:00:00:fb"),
    ("239.255.128.1", "01:00:5e:7f:80:01"),  # only the low 23 bits of the group
    ("ff02::1:ff00:2", "33:33:ff:00:00:02"),
    ("10.0.0.2", None),
    ("fd00::2", None),
])
def test_group_macs(address: str, mac: str | None) -> None:
    assert group_mac(address) == mac


def test_hex_frames() -> None:
    assert parse_hex_frame("0x" + "ff" * 14) == b"\xff" * 14
    assert parse_hex_frame("ff:ff:ff:ff:ff:ff 02 00 00 00 00 01 08-00") == (
        b"\xff" * 6 + bytes.fromhex("0200000000010800"))
    with pytest.raises(UsageError, match="not valid hex"):
        parse_hex_frame("xyz")
    with pytest.raises(UsageError, match="shorter"):
        parse_hex_frame("ffff")


def test_sockaddr_ll_layout() -> None:
    packed = sockaddr_ll(3, 0x0003, address=b"\x02" * 6)
    assert len(packed) == 20
    assert packed[2:4] == b"\x00\x03"  # protocol in network order
    assert packed[4:8] == (3).to_bytes(4, "little")
    assert packed[11] == 6


def test_shared_budget_is_exact() -> None:
    budget = SharedBudget(10)
    assert budget.claim(7) == 7
    assert budget.claim(7) == 3
    budget.give_back(2)
    assert budget.claim(5) == 2
    assert budget.claim(1) == 0
    assert SharedBudget(None).claim(123) == 123


def test_worker_report_round_trip() -> None:
    report = WorkerReport(1, 42, PacketStatistics(50, 3), "count")
    back = WorkerReport.from_json(report.to_json())
    assert back == WorkerReport(1, 42, PacketStatistics(50, 3, 0), "count")


def test_timestamps_like_tcpdump() -> None:
    stamp = Timestamps()
    text = stamp(1_700_000_000_123_456_789)
    assert len(text) == 15 and text[2] == text[5] == ":" and text.endswith(".123456")
    assert Timestamps(nano=True)(1_700_000_000_123_456_789).endswith(".123456789")


def test_timestamp_styles_as_wirekit_read_prints_them() -> None:
    base = 1_700_000_000_123_456_789
    assert Timestamps(style=TimeStyle.NONE).prefix(base) == ""
    assert Timestamps(style=TimeStyle.EPOCH).prefix(base) == "1700000000.123456 "
    delta = Timestamps(style=TimeStyle.DELTA)
    assert [delta(base), delta(base + 1_500_000_000), delta(base + 1_600_000_000)] == [
        " 00:00:00.000000", " 00:00:01.500000", " 00:00:00.100000"]
    first = Timestamps(nano=True, style=TimeStyle.SINCE_FIRST)
    assert [first(base), first(base + 3_600_000_000_001)] == [
        " 00:00:00.000000000", " 01:00:00.000000001"]
    dated = Timestamps(style=TimeStyle.DATE)(base)
    assert dated[4] == dated[7] == "-" and dated[10] == " " and dated.endswith(".123456")


def test_loopback_caveat_only_for_ipv4_on_lo() -> None:
    from wirekit.link.interfaces import get_interface
    from wirekit.link.neighbour import loopback_caveat

    lo = get_interface("lo", with_ethtool=False)
    assert loopback_caveat(lo, "::1") is None
    text = loopback_caveat(lo, "127.0.0.1")
    if text is not None:  # the host may have set both sysctls; then there is nothing to say
        assert "net.ipv4.conf.lo." in text
