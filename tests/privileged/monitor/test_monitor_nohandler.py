"""rx_nohandler and rx_otherhost_dropped (counters 24 and 25 of rtnl_link_stats64) on a live veth.

pyroute2 0.9.7 does not decode them; the sampler reads IFLA_STATS64's bytes.  Frames are sent
from a raw AF_PACKET socket in one namespace of the netns fixture and counted by the other
end's kernel:

- frames with the unregistered EtherType 0x88b5 (IEEE local experimental) and nothing bound to
  it: ``__netif_receive_skb_core()`` drops them and, on an ordinary device, counts them in
  ``rx_dropped``.  ``rx_nohandler`` only moves when the device's rx_handler asked for exact
  delivery (``RX_HANDLER_EXACT``: a bond's or team's backup port), so here it must stay what
  sysfs says, and the monitor must agree with sysfs and ``ip -s -s``;
- IPv4 frames to a unicast MAC address that is not the receiver's: ``ip_rcv_core()`` drops
  them as ``PACKET_OTHERHOST`` and counts ``rx_otherhost_dropped`` (Linux 5.19), which has no
  sysfs file; ``ip -s -s -j link`` shows it as ``otherhost``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.integration.monitor.monitor_process import StreamedMonitor, interface
from tests.support.netns import NetnsPair

FRAMES = 25
#: IEEE 802 local experimental EtherType 1: no protocol handler in Linux.
UNHANDLED_ETHERTYPE = 0x88B5
#: A locally administered unicast address that no interface of the fixture has.
FOREIGN_MAC = "02:00:5e:10:00:99"

#: Sends FRAMES frames from veth0 (argv: destination MAC, EtherType as hex, payload as hex).
SENDER = """
import socket, sys
dst, ethertype, payload = bytes.fromhex(sys.argv[1].replace(":", "")), sys.argv[2], sys.argv[3]
src = bytes.fromhex(open("/sys/class/net/veth0/address").read().strip().replace(":", ""))
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
    raw.bind(("veth0", 0))
    for _ in range(int(sys.argv[4])):
        raw.send(dst + src + bytes.fromhex(ethertype) + bytes.fromhex(payload))
"""

#: One wirekit sample of veth0 and its sysfs counters, printed as JSON (run in a namespace).
SNAPSHOT = """
import json, pathlib
from wirekit.monitor.sampler import Sampler
with Sampler() as sampler:
    veth = sampler.take().interfaces["veth0"]
base = pathlib.Path("/sys/class/net/veth0/statistics")
print(json.dumps({"counters": veth.counters.as_dict(), "reported": veth.reported,
                  "sysfs": {name: int((base / name).read_text())
                            for name in ("rx_nohandler", "rx_dropped", "rx_packets")}}))
"""

#: IPv4 header (20 bytes, UDP, 10.99.0.1 -> 10.99.0.2, checksum left 0) and an 8-byte UDP
#: header: ip_rcv_core() drops PACKET_OTHERHOST before it looks at either.
IPV4_UDP = ("4500001c000100004011" "0000" "0a630001" "0a630002") + "0" * 16


def _send(pair: NetnsPair, dst: str, ethertype: int, payload_hex: str) -> None:
    pair.run(pair.ns_a, sys.executable, "-c", SENDER, dst, f"{ethertype:04x}", payload_hex,
             str(FRAMES))


def _snapshot(pair: NetnsPair) -> dict[str, Any]:
    """wirekit's counters, sysfs and ``ip -s -s -j link`` for ns_b's veth0, back to back."""
    ours: dict[str, Any] = json.loads(pair.run(pair.ns_b, sys.executable, "-c",
                                               SNAPSHOT).stdout)
    ip_out = pair.run(pair.ns_b, "ip", "-s", "-s", "-j", "link", "show", "veth0").stdout
    ours["ip_rx"] = json.loads(ip_out)[0]["stats64"]["rx"]
    return ours


def _check_against_the_kernel(seen: dict[str, Any]) -> None:
    """Our counters equal sysfs and iproute2 (which leaves zero counters out)."""
    counters, sysfs, ip_rx = seen["counters"], seen["sysfs"], seen["ip_rx"]
    assert seen["reported"] == 25  # this kernel (6.x) sends both counters: a 200-byte payload
    assert counters["rx_nohandler"] == sysfs["rx_nohandler"] == ip_rx.get("nohandler", 0)
    assert counters["rx_dropped"] == sysfs["rx_dropped"] == ip_rx["dropped"]
    assert counters["rx_otherhost_dropped"] == ip_rx.get("otherhost", 0)


def test_unhandled_ethertype_counts_as_dropped_and_nohandler_agrees_with_sysfs(
        netns: NetnsPair) -> None:
    receiver_mac = netns.mac(netns.ns_b)
    with StreamedMonitor(["veth0", "-i", "0.2"], netns.prefix(netns.ns_b)) as monitor:
        monitor.started()
        before = _snapshot(netns)
        _send(netns, receiver_mac, UNHANDLED_ETHERTYPE, "00" * 46)
        after = _snapshot(netns)
        summary = interface(monitor.stop()["data"], "veth0")
    _check_against_the_kernel(before)
    _check_against_the_kernel(after)

    grew = {name: after["counters"][name] - before["counters"][name]
            for name in ("rx_packets", "rx_dropped", "rx_nohandler")}
    assert grew["rx_packets"] >= FRAMES  # and maybe a stray IPv6 neighbour discovery frame
    assert grew["rx_dropped"] == FRAMES  # where an ordinary device counts them
    assert grew["rx_nohandler"] == after["sysfs"]["rx_nohandler"] - before["sysfs"][
        "rx_nohandler"] == 0
    # the monitor's run (a superset of the window above) saw the same
    totals = summary["counters"]
    assert totals["rx_dropped"] == FRAMES and summary["rx"]["dropped"] == FRAMES
    assert totals["rx_nohandler"] == summary["rx"]["nohandler"] == 0


def test_frames_for_another_mac_count_as_otherhost_dropped(netns: NetnsPair) -> None:
    with StreamedMonitor(["veth0", "-i", "0.2"], netns.prefix(netns.ns_b)) as monitor:
        monitor.started()
        before = _snapshot(netns)
        _send(netns, FOREIGN_MAC, 0x0800, IPV4_UDP)
        after = _snapshot(netns)
        end = monitor.stop()["data"]
        intervals = [event["data"] for event in monitor.events if event["event"] == "interval"]
    _check_against_the_kernel(before)
    _check_against_the_kernel(after)
    assert after["ip_rx"]["otherhost"] - before["ip_rx"].get("otherhost", 0) == FRAMES
    assert (after["counters"]["rx_otherhost_dropped"]
            - before["counters"]["rx_otherhost_dropped"]) == FRAMES

    summary = interface(end, "veth0")
    assert summary["counters"]["rx_otherhost_dropped"] == FRAMES
    assert summary["counters"]["rx_packets"] >= FRAMES
    assert summary["rx"]["dropped"] == 0  # counted as otherhost, not as a plain drop
    # the interval deltas add up to it too (the --json-stream form)
    rows = [row for data in intervals for row in data["interfaces"] if row["name"] == "veth0"]
    assert sum(row["delta"]["rx_otherhost_dropped"] for row in rows if row["delta"]) == FRAMES
    assert all(row["rx_nohandler_per_second"] in (0.0, None) for row in rows)
