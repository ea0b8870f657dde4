"""Ping, probe and replay against the peer namespace."""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from pathlib import Path

from tests.privileged.link.link_support import (
    WIREKIT,
    captured_count,
    frames_of,
    start,
    start_echo_server,
    stop,
    wait_for,
    wirekit,
)
from tests.support.env import require_tool
from tests.support.netns import NetnsPair


def test_ping_ipv4_and_ipv6_report_rtts_and_no_loss(netns: NetnsPair) -> None:
    for target in (netns.ip4_b, netns.ip6_b):
        done = wirekit(netns, netns.ns_a, "ping", target, "-c", "3", "-i", "0.05")
        text = done.stdout.decode()
        replies = re.findall(r"^64 bytes from (\S+): icmp_seq=(\d) ttl=64 time=([\d.]+) ms$",
                             text, re.MULTILINE)
        assert [seq for _, seq, _ in replies] == ["1", "2", "3"], text
        assert all(float(rtt) > 0 for _, _, rtt in replies)
        assert "3 packets transmitted, 3 received, 0% packet loss" in text
        assert re.search(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", text)


def test_ping_uses_the_datagram_socket_when_the_group_may(netns: NetnsPair) -> None:
    # ping_group_range is per network namespace and dies with it.
    netns.run(netns.ns_a, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    done = wirekit(netns, netns.ns_a, "ping", netns.ip4_b, "-c", "2", "-i", "0.05", "--json")
    report = json.loads(done.stdout)
    assert report["socket"] == "datagram"
    assert report["received"] == 2 and report["loss_percent"] == 0
    assert report["rtt_ms"]["min"] > 0
    unprivileged = netns.run(netns.ns_a, "capsh", "--drop=cap_net_raw,cap_net_admin", "--",
                             "-c", f"{sys.executable} -m wirekit ping {netns.ip6_b} -c 1")
    assert b"1 received, 0% packet loss" in unprivileged.stdout


def test_ping_loss_to_a_silent_host(netns: NetnsPair) -> None:
    silent = netns.ip4_b.rsplit(".", 1)[0] + ".77"
    done = wirekit(netns, netns.ns_a, "ping", silent, "-c", "2", "-i", "0.05", "-W", "0.3",
                   check=False)
    assert done.returncode == 1
    assert b"2 packets transmitted, 0 received" in done.stdout
    assert b"100% packet loss" in done.stdout


def test_probe_reports_open_closed_and_filtered(netns: NetnsPair) -> None:
    server = start_echo_server(netns, netns.ns_b, 7070)
    netns.run(netns.ns_b, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    try:
        done = wirekit(netns, netns.ns_a, "probe", netns.ip4_b, "7070,7071", "--json",
                       "--timeout", "0.3", "--retries", "1")
        ports = {p["port"]: p for p in json.loads(done.stdout)["ports"]}
        assert ports[7070]["state"] == "open" and ports[7070]["reason"] == "syn-ack"
        assert ports[7071]["state"] == "closed" and ports[7071]["reason"] == "rst"
        six = wirekit(netns, netns.ns_a, "probe", netns.ip6_b, "7070-7071", "--timeout", "0.3")
        lines = six.stdout.decode()
        assert re.search(r"7070/tcp\s+open\s+syn-ack", lines), lines
        assert re.search(r"7071/tcp\s+closed\s+rst", lines), lines
    finally:
        server.kill()
    # A host that never answers (its MAC leads nowhere): after the retries, filtered.
    silent = netns.ip4_b.rsplit(".", 1)[0] + ".78"
    netns.run(netns.ns_a, "ip", "neigh", "replace", silent, "lladdr", "02:00:00:00:00:99",
              "dev", netns.iface)
    quiet = wirekit(netns, netns.ns_a, "probe", silent, "80", "--json", "--timeout", "0.2",
                    "--retries", "1")
    only = json.loads(quiet.stdout)["ports"][0]
    assert only["state"] == "filtered" and only["attempts"] == 2


def test_probe_sends_rst_after_syn_ack(netns: NetnsPair, tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    server = start_echo_server(netns, netns.ns_b, 7072)
    out = tmp_path / "probe.pcap"
    watcher = start(netns, netns.ns_b, [tcpdump, "-i", netns.iface, "-w", str(out),
                                         "--immediate-mode", "tcp port 7072"])
    wait_for(watcher, "listening on")
    wirekit(netns, netns.ns_a, "probe", netns.ip4_b, "7072")
    time.sleep(0.2)
    stop(watcher)
    server.kill()
    flags = [frame[14 + 20 + 13] for frame in frames_of(out)]
    assert flags[:2] == [0x02, 0x12]  # SYN, SYN-ACK
    assert 0x04 in flags[2:]  # and a RST (ours, and the kernel's own)


def test_replay_paces_to_2_percent_and_counts(netns: NetnsPair, tmp_path: Path) -> None:
    from wirekit.packet import UDP, Ether, IPv4, LinkType
    from wirekit.pcap import Writer

    source = tmp_path / "paced.pcap"
    mac_b = netns.mac(netns.ns_b)
    with Writer(str(source), LinkType.ETHERNET) as writer:
        for index in range(10000):  # one second at 10,000 packets/s
            frame = bytes(Ether(dst=mac_b, src="02:00:00:00:00:01")
                          / IPv4(src="10.9.9.9", dst=netns.ip4_b)
                          / UDP(sport=1000 + index % 50, dport=9) / (b"p" * 18))
            writer.write(frame, 1_000_000_000 * index)
    out = tmp_path / "paced-rx.pcap"
    capture = start(netns, netns.ns_b, [*WIREKIT, "capture", netns.iface, "-w", str(out),
                                         "--nano", "udp and src host 10.9.9.9"])
    wait_for(capture, "listening on")
    done = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, "--pps", "10000",
                   "--json")
    stats = json.loads(done.stdout)
    time.sleep(0.2)
    _, err, _ = stop(capture)
    assert stats["packets"] == 10000 and stats["failed"] == 0
    assert captured_count(err) == 10000
    stamps = _timestamps(out)
    rate = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1e9)
    assert abs(rate - 10000) / 10000 < 0.02, rate
    fast = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, "--topspeed",
                   "--loop", "2")
    assert b"Actual: 20000 packets" in fast.stdout
    assert b"Successful packets:        20000" in fast.stdout


def _timestamps(path: Path) -> list[int]:
    from wirekit.pcap import Reader

    with Reader(str(path)) as reader:
        return [record.timestamp_ns for record in reader]


def test_replay_stops_on_sigint_with_statistics(netns: NetnsPair, tmp_path: Path) -> None:
    from wirekit.packet import LinkType
    from wirekit.pcap import Writer

    source = tmp_path / "loop.pcap"
    with Writer(str(source), LinkType.ETHERNET) as writer:
        writer.write(bytes.fromhex("ffffffffffff020000000001" + "88b5" + "00" * 46), 0)
    replay = start(netns, netns.ns_a, [*WIREKIT, "replay", str(source), netns.iface,
                                        "--pps", "1000", "--loop", "0"])
    wait_for(replay, "until interrupted")
    time.sleep(1.0)
    replay.send_signal(signal.SIGINT)
    out, err = replay.communicate(timeout=20)
    assert replay.returncode == 0, err
    sent = int(re.search(rb"Actual: (\d+) packets", out).group(1))  # type: ignore[union-attr]
    assert 300 < sent < 3000


def test_replay_refuses_non_ethernet_captures(netns: NetnsPair, tmp_path: Path) -> None:
    from wirekit.packet import LinkType
    from wirekit.pcap import Writer

    source = tmp_path / "raw.pcap"
    with Writer(str(source), LinkType.RAW) as writer:
        writer.write(bytes.fromhex("4500001c00000000401100000a0000010a000002"), 0)
    done = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, check=False)
    assert done.returncode == 2 and b"Ethernet" in done.stderr


def test_ping_reports_unreachable_from_both_socket_kinds(netns: NetnsPair) -> None:
    silent = netns.ip4_b.rsplit(".", 1)[0] + ".79"
    # One ARP try after 100 ms instead of three after a second each (namespace sysctls).
    netns.run(netns.ns_a, "sysctl", "-qw", f"net.ipv4.neigh.{netns.iface}.mcast_solicit=1",
              f"net.ipv4.neigh.{netns.iface}.retrans_time_ms=100")
    for group_range in ("1 0", "0 2147483647"):  # raw socket, then the datagram socket
        netns.run(netns.ns_a, "sysctl", "-qw", f"net.ipv4.ping_group_range={group_range}")
        done = wirekit(netns, netns.ns_a, "ping", silent, "-c", "1", "-W", "5", check=False)
        text = done.stdout.decode()
        assert done.returncode == 1
        assert "icmp_seq=1 Destination Host Unreachable" in text, text
        assert "1 packets transmitted, 0 received, +1 errors, 100% packet loss" in text


def test_probe_over_loopback_and_the_martian_caveat(netns: NetnsPair) -> None:
    server = start_echo_server(netns, netns.ns_a, 7080)
    try:
        six = json.loads(wirekit(netns, netns.ns_a, "probe", "::1", "7080,7081", "--json",
                                 "--timeout", "0.3").stdout)
        assert [p["state"] for p in six["ports"]] == ["open", "closed"]
        warned = wirekit(netns, netns.ns_a, "probe", "127.0.0.1", "7080", "--timeout", "0.2",
                         "--retries", "0")
        assert b"accept_local=1 and net.ipv4.conf.lo.route_localnet=1" in warned.stderr
        netns.run(netns.ns_a, "sysctl", "-qw", "net.ipv4.conf.lo.accept_local=1",
                  "net.ipv4.conf.lo.route_localnet=1")
        four = wirekit(netns, netns.ns_a, "probe", "127.0.0.1", "7080", "--json")
        assert json.loads(four.stdout)["ports"][0]["state"] == "open"
        assert b"warning" not in four.stderr
    finally:
        server.kill()


def test_ping_through_a_missing_interface_lists_the_existing_ones(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "ping", netns.ip4_b, "-c", "1", "-I", "nosuch0",
                   check=False, timeout=20)
    assert done.returncode == 7, done.stderr  # InterfaceError, as capture and send give
    expected = f"no such interface: nosuch0 (interfaces here: lo, {netns.iface})"
    assert done.stderr.decode().strip() == f"wirekit: error: {expected}"


def test_probe_through_a_missing_interface_lists_the_existing_ones(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "probe", netns.ip4_b, "22", "--iface", "nosuch0",
                   check=False, timeout=20)
    assert done.returncode == 7, done.stderr
    assert b"no such interface: nosuch0 (interfaces here: lo, " in done.stderr


def test_probe_rejects_a_rate_that_is_not_a_rate(netns: NetnsPair) -> None:
    for rate in ("-5", "nan", "1e-300"):
        done = wirekit(netns, netns.ns_a, "probe", netns.ip4_b, "22", "--rate", rate,
                       "--timeout", "0.2", "--retries", "0", check=False, timeout=20)
        assert done.returncode == 2, (rate, done.stderr)
        assert b"--rate" in done.stderr and b"internal error" not in done.stderr


def _udp_file(path: Path, count: int, dst_ip: str) -> Path:
    from wirekit.packet import UDP, Ether, IPv4, LinkType
    from wirekit.pcap import Writer

    with Writer(str(path), LinkType.ETHERNET) as writer:
        for index in range(count):
            frame = bytes(Ether(dst="02:00:00:00:00:99", src="02:00:00:00:00:01")
                          / IPv4(src="10.9.9.9", dst=dst_ip, ttl=64)
                          / UDP(sport=2000 + index, dport=9) / (b"e" * 40))
            writer.write(frame, 1_000_000 * index)
    return path


def test_replay_edits_frames_as_tcpreplay_edit_would(netns: NetnsPair, tmp_path: Path) -> None:
    tcprewrite = require_tool("tcprewrite")
    source = _udp_file(tmp_path / "edit.pcap", 20, "10.77.0.1")
    edits = [f"--enet-dmac={netns.mac(netns.ns_b)}", "--srcipmap=10.9.9.9/32:10.8.8.8/32",
             f"--dstipmap=10.77.0.0/16:{netns.ip4_b}/32", "--ttl=-4"]
    out = tmp_path / "edited-rx.pcap"
    capture = start(netns, netns.ns_b, [*WIREKIT, "capture", netns.iface, "-w", str(out),
                                         "udp and src host 10.8.8.8"])
    wait_for(capture, "listening on")
    done = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, "--pps", "2000",
                   "-L", "15", *edits, "--json")
    time.sleep(0.3)
    _, err, _ = stop(capture)
    stats = json.loads(done.stdout)
    assert stats["packets"] == 15 and not stats["interrupted"]
    received = frames_of(out)
    assert len(received) == captured_count(err) == 15  # -L: the first 15 of 20
    expected = tmp_path / "tcprewrite.pcap"
    netns.run(netns.ns_a, tcprewrite, "-i", str(source), "-o", str(expected), *edits)
    assert received == frames_of(expected)[:15]  # what tcprewrite makes of the same file


def test_replay_duration_and_loop_delay(netns: NetnsPair, tmp_path: Path) -> None:
    source = _udp_file(tmp_path / "small.pcap", 10, netns.ip4_b)
    began = time.monotonic()
    timed = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, "--pps", "100",
                    "--loop", "0", "--duration", "0.5", "--json")
    stats = json.loads(timed.stdout)
    assert 0.45 < stats["seconds"] < 1.5 and not stats["interrupted"]
    assert 30 <= stats["packets"] <= 60
    paused = wirekit(netns, netns.ns_a, "replay", str(source), netns.iface, "--topspeed",
                     "--loop", "3", "--loopdelay-ms", "300", "--json")
    stats = json.loads(paused.stdout)
    assert stats["packets"] == 30 and stats["loops"] == 3
    assert stats["seconds"] >= 0.6  # two pauses between three passes
    assert time.monotonic() - began < 30
