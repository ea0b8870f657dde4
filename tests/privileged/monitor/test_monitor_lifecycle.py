"""Interfaces that vanish, come back and appear while ``wirekit monitor`` runs in a namespace."""

from __future__ import annotations

import signal
from typing import Any

from tests.integration.monitor.monitor_process import StreamedMonitor, interface
from tests.support.netns import NetnsPair


def _events_of(event: dict[str, Any], name: str) -> list[str]:
    for row in event["data"]["interfaces"]:
        if row["name"] == name:
            return [item["event"] for item in row["events"]]
    return []


def _ip(pair: NetnsPair, *args: str) -> None:
    pair.run(pair.ns_a, "ip", *args)


def _add_pair(pair: NetnsPair, name: str, peer: str) -> None:
    _ip(pair, "link", "add", name, "type", "veth", "peer", "name", peer)
    _ip(pair, "link", "set", name, "up")
    _ip(pair, "link", "set", peer, "up")


def test_vanish_recreate_and_appear_during_a_run(netns: NetnsPair) -> None:
    _add_pair(netns, "wkm0", "wkm1")
    with StreamedMonitor(["-i", "0.1"], netns.prefix(netns.ns_a)) as monitor:
        start = monitor.started()
        assert {"lo", "veth0", "wkm0", "wkm1"} <= set(start["data"]["interfaces"])

        _ip(netns, "link", "del", "wkm0")  # deletes both ends
        gone = monitor.wait_for(lambda event: "vanished" in _events_of(event, "wkm0"))
        rows = {row["name"]: row for row in gone["data"]["interfaces"]}
        assert not rows["wkm0"]["present"] and rows["wkm0"]["rx_bits_per_second"] is None
        assert rows["veth0"]["present"]  # the others carry on

        _add_pair(netns, "wkm0", "wkm1")
        monitor.wait_for(lambda event: "recreated" in _events_of(event, "wkm0"))
        _add_pair(netns, "wkn0", "wkn1")
        monitor.wait_for(lambda event: "appeared" in _events_of(event, "wkn0"))
        _ip(netns, "link", "del", "wkn0")
        monitor.wait_for(lambda event: "vanished" in _events_of(event, "wkn0"))
        end = monitor.stop(signal.SIGTERM)["data"]

    assert end["stopped_by"] == "SIGTERM"
    wkm0 = interface(end, "wkm0")
    assert [item["event"] for item in wkm0["events"]][:2] == ["vanished", "recreated"]
    assert wkm0["present_at_end"] and wkm0["link"]["driver"] == "veth"
    wkn0 = interface(end, "wkn0")
    assert [item["event"] for item in wkn0["events"]] == ["appeared", "vanished"]
    assert not wkn0["present_at_end"]
    assert interface(end, "veth0")["events"] == []
