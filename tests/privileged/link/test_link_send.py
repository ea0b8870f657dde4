"""Frames from ``wirekit send`` arrive at a tcpdump in the peer namespace, valid by tshark."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.privileged.link.link_support import frames_of, start, stop, wait_for, wirekit
from tests.support.env import require_tool
from tests.support.netns import NetnsPair

#: Have tshark verify every checksum it can (IP, TCP and UDP are not checked by default).
CHECKED = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE"]
FIELDS = ["eth.src", "eth.dst", "frame.protocols", "ip.checksum.status",
          "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status",
          "icmpv6.checksum.status", "tcp.flags.str", "tcp.seq_raw", "tcp.payload", "arp.opcode"]


def _tshark_rows(path: Path) -> list[dict[str, str]]:
    args = ["tshark", "-r", str(path), *CHECKED, "-T", "fields"]
    for name in FIELDS:
        args += ["-e", name]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [dict(zip(FIELDS, line.split("\t"), strict=True))
            for line in done.stdout.splitlines()]


def _receive(netns: NetnsPair, tmp_path: Path, expression: str) -> subprocess.Popen[bytes]:
    tcpdump = require_tool("tcpdump")
    receiver = start(netns, netns.ns_b, [tcpdump, "-i", netns.iface, "-w",
                                          str(tmp_path / "received.pcap"), "--immediate-mode",
                                          expression])
    wait_for(receiver, "listening on")
    return receiver


def test_sent_frames_arrive_with_valid_checksums(netns: NetnsPair, tmp_path: Path) -> None:
    require_tool("tshark")
    netns.run(netns.ns_a, "ip", "neigh", "flush", "dev", netns.iface)
    receiver = _receive(netns, tmp_path, f"(src host {netns.ip4_a} or src host {netns.ip6_a})"
                                         " and not arp and not (icmp6 and ip6[40] >= 133)")
    a, b, a6, b6 = netns.ip4_a, netns.ip4_b, netns.ip6_a, netns.ip6_b
    runs = [
        ("send", "tcp", a, b, "40000", "80", netns.iface, "--flags", "S", "--seq", "12345",
         "--payload", "Hello, World!"),
        ("send", "udp", a, b, "5000", "53", netns.iface, "--payload", "abc", "--count", "3"),
        ("send", "icmp", a, b, netns.iface, "--seq", "7"),
        ("send", "tcp", a6, b6, "40001", "443", netns.iface, "--flags", "PA", "--payload", "x"),
        ("send", "udp", a6, b6, "5001", "53", netns.iface),
        ("send", "icmp", a6, b6, netns.iface),
    ]
    for args in runs:
        done = wirekit(netns, netns.ns_a, *args)
        assert b"sent" in done.stdout
    time.sleep(0.3)
    stop(receiver)
    rows = _tshark_rows(tmp_path / "received.pcap")
    mac_a, mac_b = netns.mac(netns.ns_a), netns.mac(netns.ns_b)
    crafted = rows
    counts = {proto: sum(proto in r["frame.protocols"].split(":") for r in crafted)
              for proto in ("tcp", "udp", "icmp", "icmpv6")}
    assert counts == {"tcp": 2, "udp": 4, "icmp": 1, "icmpv6": 1}
    for row in crafted:
        assert row["eth.src"] == mac_a  # the interface's MAC, not zeros
        assert row["eth.dst"] == mac_b  # resolved with ARP / ND, not broadcast
        for status in ("ip.checksum.status", "tcp.checksum.status", "udp.checksum.status",
                       "icmp.checksum.status", "icmpv6.checksum.status"):
            assert row[status] in ("", "1"), (status, row)
    syn = next(r for r in crafted if r["tcp.seq_raw"] == "12345")
    assert "S" in syn["tcp.flags.str"]
    assert syn["tcp.payload"].replace(":", "") == b"Hello, World!".hex()


def test_send_resolves_the_mac_with_arp(netns: NetnsPair, tmp_path: Path) -> None:
    netns.run(netns.ns_a, "ip", "neigh", "flush", "dev", netns.iface)
    receiver = _receive(netns, tmp_path, "arp or udp")
    wirekit(netns, netns.ns_a, "send", "udp", netns.ip4_a, netns.ip4_b, "1", "2", netns.iface)
    time.sleep(0.2)
    stop(receiver)
    rows = _tshark_rows(tmp_path / "received.pcap")
    assert [r["arp.opcode"] for r in rows if r["arp.opcode"]][:2] == ["1", "2"]
    udp = [r for r in rows if "udp" in r["frame.protocols"]]
    assert len(udp) == 1 and udp[0]["eth.dst"] == netns.mac(netns.ns_b)


def test_send_arp_and_raw(netns: NetnsPair, tmp_path: Path) -> None:
    receiver = _receive(netns, tmp_path, "arp or ether proto 0x88b5")
    wirekit(netns, netns.ns_a, "send", "arp", netns.iface, "--pdst", netns.ip4_b)
    raw = "ffffffffffff" + netns.mac(netns.ns_a).replace(":", "") + "88b5" + "11" * 46
    wirekit(netns, netns.ns_a, "send", "raw", netns.iface, raw, "--count", "2")
    time.sleep(0.2)
    stop(receiver)
    frames = frames_of(tmp_path / "received.pcap")
    sent_raw = [f for f in frames if f[12:14] == b"\x88\xb5"]
    assert sent_raw == [bytes.fromhex(raw)] * 2
    requests = [f for f in frames if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01"
                and f[6:12] == bytes.fromhex(netns.mac(netns.ns_a).replace(":", ""))]
    assert requests


def test_send_json_and_errors(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "send", "udp", netns.ip4_a, netns.ip4_b, "1", "2",
                   netns.iface, "--json", "--count", "5")
    report = json.loads(done.stdout)
    assert report["frames"] == 5 and report["frame_length"] == 42
    assert report["datagrams"] == report["requested"] == 5 and report["interrupted"] is False
    bad = wirekit(netns, netns.ns_a, "send", "raw", netns.iface, "zz", check=False)
    assert bad.returncode == 2 and b"not valid hex" in bad.stderr
    mixed = wirekit(netns, netns.ns_a, "send", "tcp", netns.ip4_a, netns.ip6_b, "1", "2",
                    netns.iface, check=False)
    assert mixed.returncode == 2 and b"Traceback" not in mixed.stderr


def test_send_names_a_bad_address_as_a_usage_error(netns: NetnsPair) -> None:
    a, b, iface = netns.ip4_a, netns.ip4_b, netns.iface
    runs = [("DST", ("tcp", a, "bad", "1", "2", iface)),
            ("SRC", ("udp", "bad", b, "1", "2", iface)),
            ("DST", ("icmp", a, "1.2.3.999", iface))]
    for name, args in runs:
        done = wirekit(netns, netns.ns_a, "send", *args, check=False, timeout=20)
        assert done.returncode == 2, done.stderr
        assert f"Invalid value for '{name}'".encode() in done.stderr
        assert b"is not an IPv4 or IPv6 address" in done.stderr
        assert b"internal error" not in done.stderr
