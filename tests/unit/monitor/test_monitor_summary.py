"""The summary: totals, averages over the time present, peaks, vanished interfaces, JSON."""

from __future__ import annotations

import json

import pytest

from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.link.ethtool import Feature, Rings
from wirekit.monitor import LinkFacts, RateCalculator, Selection, Snapshot, SummaryBuilder
from wirekit.monitor.facts import select_offloads


def _run(snapshots: list[Snapshot], selection: Selection | None = None, interval: float = 1.0,
         facts: dict[str, LinkFacts] | None = None) -> SummaryBuilder:
    calc = RateCalculator(selection)
    first = snapshots[0]
    calc.baseline(first)
    builder = SummaryBuilder(interval, first.time, first.wall)
    builder.start_with([first.interfaces[name] for name in calc.tracked
                        if name in first.interfaces])
    for name, value in (facts or {}).items():
        builder.set_facts(name, value)
    for snapshot in snapshots[1:]:
        builder.add(calc.feed(snapshot))
    return builder


def test_seed_analyze_numbers() -> None:
    """MB/s and packets/s per direction, error and drop totals over the duration."""
    snapshots = [snap(float(t), sample(rx_bytes=t * 2_000_000, rx_packets=t * 1000,
                                       tx_bytes=t * 500_000, tx_packets=t * 400,
                                       rx_errors=t, tx_dropped=2 * t))
                 for t in range(11)]
    summary = _run(snapshots).build("duration")
    assert summary.duration == pytest.approx(10.0)
    assert summary.intervals == 10
    eth0 = summary.interface("eth0")
    assert eth0.rx.bytes == 20_000_000
    assert eth0.rx.megabytes_per_second == pytest.approx(2.0)   # 10**6 bytes, stated
    assert eth0.rx.bits_per_second == pytest.approx(16_000_000.0)
    assert eth0.rx.packets_per_second == pytest.approx(1000.0)
    assert eth0.tx.megabytes_per_second == pytest.approx(0.5)
    assert eth0.tx.packets_per_second == pytest.approx(400.0)
    assert (eth0.rx.errors, eth0.rx.dropped) == (10, 0)
    assert (eth0.tx.errors, eth0.tx.dropped) == (0, 20)
    assert eth0.present_at_end and not eth0.vanished


def test_peaks_ignore_a_short_final_interval() -> None:
    snapshots = [snap(0.0, sample(rx_bytes=0)), snap(1.0, sample(rx_bytes=1000)),
                 snap(2.0, sample(rx_bytes=3000)),
                 snap(2.01, sample(rx_bytes=3100))]  # 100 B in 10 ms = 80 kbit/s: ignored
    eth0 = _run(snapshots).build("SIGINT").interface("eth0")
    assert eth0.rx.peak_bits_per_second == pytest.approx(16_000.0)
    assert eth0.rx.bytes == 3100  # but the bytes count
    assert eth0.rx.bits_per_second == pytest.approx(3100 * 8 / 2.01)


def test_vanished_interface_averages_over_its_own_time() -> None:
    snapshots = [snap(0.0, sample("a", 1, tx_bytes=0), sample("b", 2, tx_bytes=0)),
                 snap(1.0, sample("a", 1, tx_bytes=1000), sample("b", 2, tx_bytes=1000)),
                 snap(2.0, sample("a", 1, tx_bytes=2000)),
                 snap(3.0, sample("a", 1, tx_bytes=3000)),
                 snap(4.0, sample("a", 1, tx_bytes=4000))]
    summary = _run(snapshots).build("count")
    b = summary.interface("b")
    assert b.vanished and not b.present_at_end
    assert b.seconds == pytest.approx(1.0)
    assert b.tx.bytes == 1000 and b.tx.megabytes_per_second == pytest.approx(0.001)
    assert [record.event.kind.value for record in b.events] == ["vanished"]
    assert b.events[0].elapsed == pytest.approx(2.0)
    assert summary.interface("a").seconds == pytest.approx(4.0)
    with pytest.raises(KeyError):
        summary.interface("c")


def test_summary_json_is_serialisable_and_complete() -> None:
    rings = Rings(rx=256, tx=512, rx_max=4096, tx_max=4096)
    facts = LinkFacts(driver="veth", speed_mbps=10000, duplex="Full", autoneg=False,
                      rings=rings, offloads=select_offloads({
                          "rx-checksum": Feature("rx-checksum", True, False),
                          "tx-tcp-segmentation": Feature("tx-tcp-segmentation", True, True),
                          "rx-hashing": Feature("rx-hashing", False, False),
                          "esp-hw-offload": Feature("esp-hw-offload", False, False)}))
    snapshots = [snap(0.0, sample(rx_bytes=0)), snap(1.0, sample(rx_bytes=10))]
    document = json.loads(json.dumps(_run(snapshots, facts={"eth0": facts})
                                     .build("count").as_dict()))
    assert document["stopped_by"] == "count"
    (eth0,) = document["interfaces"]
    assert eth0["rx"]["bytes"] == 10 and eth0["counters"]["rx_bytes"] == 10
    assert eth0["mtu"] == 1500 and eth0["kind"] == "veth"
    link = eth0["link"]
    assert link["speed_mbps"] == 10000 and link["duplex"] == "Full"
    assert link["rings"] == {"rx": 256, "tx": 512, "rx_max": 4096, "tx_max": 4096}
    # only the checksum, segmentation and receive-hash offloads, fixed ones marked
    assert link["offloads"] == {
        "rx-checksum": {"group": "checksum", "enabled": True, "fixed": True},
        "tx-tcp-segmentation": {"group": "segmentation", "enabled": True, "fixed": False},
        "rx-hashing": {"group": "receive-hash", "enabled": False, "fixed": True},
    }


def test_no_interval_at_all() -> None:
    summary = _run([snap(0.0, sample())]).build("SIGINT")
    assert summary.intervals == 0 and summary.duration == 0.0
    assert summary.interface("eth0").rx.bits_per_second == 0.0
