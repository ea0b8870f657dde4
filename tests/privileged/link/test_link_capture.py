"""Live capture against the kernel, with tcpdump and tshark as the judges."""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.privileged.link.link_support import (
    WIREKIT,
    captured_count,
    frames_of,
    mixed_traffic,
    start,
    start_echo_server,
    stop,
    tshark_count,
    wait_for,
    wirekit,
)
from tests.support.env import require_tool
from tests.support.netns import NetnsPair

#: Every protocol of the mixed traffic, and only neighbour discovery and echo from ICMPv6, so
#: router solicitations, MLD reports and duplicate address detection (from ::), which the
#: kernel sends on its own schedule, stay out.
MIXED_FILTER = ("tcp or udp or icmp or arp or (icmp6 and not src host :: and (ip6[40] == 128 "
                "or ip6[40] == 129 or ip6[40] == 135 or ip6[40] == 136))")


def test_capture_matches_tcpdump_on_mixed_traffic(netns: NetnsPair, tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    server = start_echo_server(netns, netns.ns_a, 7007)
    ours, theirs = tmp_path / "wirekit.pcap", tmp_path / "tcpdump.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(ours),
                                         MIXED_FILTER])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", netns.iface, "-w", str(theirs),
                                      "--immediate-mode", MIXED_FILTER])
    wait_for(capture, "listening on")
    wait_for(peer, "listening on")
    mixed_traffic(netns, 7007)
    time.sleep(0.3)
    _, err, code = stop(capture)
    _, _, peer_code = stop(peer)
    server.kill()
    assert code == 0, err
    assert peer_code == 0
    mine, reference = frames_of(ours), frames_of(theirs)
    assert len(mine) == len(reference) == captured_count(err)
    assert mine == reference
    protocols = _protocols(ours)
    assert {"tcp", "udp", "icmp", "icmpv6", "arp", "ipv6", "ip"} <= protocols


def _protocols(path: Path) -> set[str]:
    done = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.protocols"],
                          capture_output=True, text=True, timeout=60, check=True)
    return {name for line in done.stdout.split() for name in line.split(":")}


def test_sigint_leaves_a_complete_file_with_the_counted_packets(netns: NetnsPair,
                                                                tmp_path: Path) -> None:
    require_tool("tshark")
    out = tmp_path / "stopped.pcapng"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(out)])
    wait_for(capture, "listening on")
    flood = netns.popen(netns.ns_b, ["ping", "-q", "-i", "0.002", "-c", "1500", netns.ip4_a],
                        stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    _, err, code = stop(capture, signal.SIGINT)
    flood.wait(timeout=30)
    assert code == 0, err
    counted = captured_count(err)
    assert counted > 50
    assert tshark_count(out) == counted == len(frames_of(out))
    assert b"received by filter" in err and b"dropped by kernel" in err


def test_sigterm_stops_cleanly_too(netns: NetnsPair, tmp_path: Path) -> None:
    out = tmp_path / "term.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(out)])
    wait_for(capture, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "3", "-i", "0.05", netns.ip4_a)
    _, err, code = stop(capture, signal.SIGTERM)
    assert code == 0, err
    assert len(frames_of(out)) == captured_count(err) >= 6


def test_count_and_summary_lines(netns: NetnsPair) -> None:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-c", "4", "icmp"])
    wait_for(capture, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "3", "-i", "0.05", netns.ip4_a)
    out, err = capture.communicate(timeout=20)  # -c ends it, no signal needed
    assert capture.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 4
    assert all(f"{netns.ip4_b} > {netns.ip4_a}: ICMP echo request" in line
               or f"{netns.ip4_a} > {netns.ip4_b}: ICMP echo reply" in line for line in lines)
    assert lines[0][2] == ":" and lines[0][8] == "."  # HH:MM:SS.ffffff
    assert captured_count(err) == 4


def test_json_stream_and_verbose(netns: NetnsPair) -> None:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-c", "2",
                                         "--json-stream", "icmp"])
    wait_for(capture, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "1", netns.ip4_a)
    out, err = capture.communicate(timeout=20)  # -c 2 ends it
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert len(records) == 2
    assert records[0]["len"] == 98 and "ICMP echo request" in records[0]["summary"]
    verbose = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-c", "1", "-v",
                                         "tcp"])
    wait_for(verbose, "listening on")
    netns.run(netns.ns_b, sys.executable, "-c",
              f"import socket; s=socket.socket(); s.settimeout(1)\n"
              f"try: s.connect(('{netns.ip4_a}', 9))\nexcept OSError: pass")
    text, err = verbose.communicate(timeout=20)  # -c 1 ends it
    assert verbose.returncode == 0, err
    for word in ("TCP", "sport", "dport", "seq", "ttl", netns.ip4_b):
        assert word in text.decode(), word


def test_workers_fanout_exact_count_and_merged_file(netns: NetnsPair, tmp_path: Path) -> None:
    out = tmp_path / "fanout.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "--workers", "2",
                                         "-c", "300", "-w", str(out), "udp"])
    wait_for(capture, "listening on")
    sender = (f"import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              f"for i in range(400): s.sendto(b'x'*20, ('{netns.ip4_a}', 10000 + i % 40))")
    netns.run(netns.ns_b, sys.executable, "-c", sender)
    _, stderr = capture.communicate(timeout=30)
    assert capture.returncode == 0, stderr
    assert captured_count(stderr) == 300
    assert len(frames_of(out)) == 300
    assert not list(tmp_path.glob(".fanout.pcap.worker*"))


def test_any_device_writes_linux_cooked_v2_like_tcpdump(netns: NetnsPair,
                                                        tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    out, theirs = tmp_path / "any.pcap", tmp_path / "any-tcpdump.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", "any", "-w", str(out), "icmp"])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", "any", "-w", str(theirs), "--immediate-mode",
                                      "icmp"])
    wait_for(capture, "LINUX_SLL2")
    wait_for(peer, "LINUX_SLL2")
    netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.05", netns.ip4_a)
    netns.run(netns.ns_a, "ping", "-c", "1", "127.0.0.1")
    time.sleep(0.2)
    _, err, code = stop(capture)
    stop(peer)
    assert code == 0, err
    assert frames_of(out) == frames_of(theirs)  # the SLL2 headers too, byte for byte
    done = subprocess.run(["tshark", "-r", str(out), "-T", "fields", "-e", "sll.ifindex",
                           "-e", "ip.src", "-e", "ip.dst"], capture_output=True, text=True,
                          check=True, timeout=60)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    veth = [r for r in rows if r[1] in (netns.ip4_a, netns.ip4_b)]
    loop = [r for r in rows if r[1] == "127.0.0.1"]
    assert len(veth) == 4
    assert len(loop) == 2  # one request and one reply: the outgoing copies on lo are skipped
    assert len(rows) == captured_count(err)


def test_loopback_shows_each_packet_once(netns: NetnsPair) -> None:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", "lo", "icmp"])
    wait_for(capture, "listening on")
    netns.run(netns.ns_a, "ping", "-c", "3", "-i", "0.05", "127.0.0.1")
    out, err, _ = stop(capture)
    assert len(out.decode().splitlines()) == 6 == captured_count(err)


def test_vlan_tag_is_put_back_and_filtered(netns: NetnsPair, tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    ours, theirs = tmp_path / "vlan-wk.pcap", tmp_path / "vlan-td.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(ours),
                                         "vlan", "100"])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", netns.iface, "-w", str(theirs),
                                      "--immediate-mode", "vlan", "100"])
    wait_for(capture, "listening on")
    wait_for(peer, "listening on")
    mac_a = netns.mac(netns.ns_a).replace(":", "")
    for vlan in (100, 200, 100):
        frame = (mac_a + "020000000001" + "8100" + f"{vlan:04x}" + "0800"
                 + "45000020000100004011" + "0000" + "0a000001" + "0a000002"
                 + "00350035000c0000" + "61626364")
        wirekit(netns, netns.ns_b, "send", "raw", netns.iface, frame)
    time.sleep(0.3)
    _, err, code = stop(capture)
    stop(peer)
    assert code == 0, err
    mine = frames_of(ours)
    assert len(mine) == 2
    assert all(frame[12:16] == bytes.fromhex("81000064") for frame in mine)
    assert mine == frames_of(theirs)


def test_promiscuous_membership_ends_with_the_socket(netns: NetnsPair) -> None:
    def promisc() -> bool:
        shown = wirekit(netns, netns.ns_a, "info", netns.iface, "--json").stdout
        return bool(json.loads(shown)["promiscuity"])

    assert not promisc()
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-q"])
    wait_for(capture, "listening on")
    assert promisc()
    stop(capture)
    assert not promisc()
    quiet = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-q", "--no-promisc"])
    wait_for(quiet, "listening on")
    assert not promisc()
    stop(quiet)


def test_bad_filter_gets_libpcaps_message(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "capture", netns.iface, "tcp", "prot", "80", check=False)
    assert done.returncode == 6
    assert b"syntax error" in done.stderr
    assert b"Traceback" not in done.stderr
    missing = wirekit(netns, netns.ns_a, "capture", "wk-nope0", check=False)
    assert missing.returncode == 7 and b"veth0" in missing.stderr


def test_dump_prints_the_program_like_tcpdump_d(netns: NetnsPair) -> None:
    tcpdump = require_tool("tcpdump")
    ours = wirekit(netns, netns.ns_a, "capture", netns.iface, "-d", "tcp", "port", "80").stdout
    theirs = netns.run(netns.ns_a, tcpdump, "-i", netns.iface, "-d", "tcp port 80").stdout
    assert ours == theirs


def test_drop_privileges_runs_as_the_user(netns: NetnsPair) -> None:
    nobody = pwd.getpwnam("nobody")
    # pytest's tmp_path sits under a root-only directory; nobody needs a path it can reach.
    with tempfile.TemporaryDirectory(prefix="wk-drop-") as where:
        os.chown(where, nobody.pw_uid, nobody.pw_gid)
        _capture_as_nobody(netns, Path(where) / "nobody.pcap", nobody)


def _capture_as_nobody(netns: NetnsPair, out: Path, nobody: pwd.struct_passwd) -> None:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(out),
                                         "-Z", "nobody", "icmp"])
    wait_for(capture, "listening on")
    status = Path(f"/proc/{capture.pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    cap_line = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.05", netns.ip4_a)
    _, err, code = stop(capture)
    assert code == 0, err
    assert uid_line.split()[1:] == [str(nobody.pw_uid)] * 4
    assert int(cap_line.split()[1], 16) == 0
    assert out.stat().st_uid == nobody.pw_uid
    assert len(frames_of(out)) == captured_count(err) == 4


def test_drop_privileges_with_fanout_workers(netns: NetnsPair) -> None:
    # The shared -c budget must exist before the switch: nobody may not read this Python's
    # standard library (a pyenv under /root), so a later import would fail in the workers.
    nobody = pwd.getpwnam("nobody")
    with tempfile.TemporaryDirectory(prefix="wk-drop-") as where:
        os.chown(where, nobody.pw_uid, nobody.pw_gid)
        out = Path(where) / "fanout.pcap"
        capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-Z", "nobody",
                                             "--workers", "2", "-c", "2", "-w", str(out),
                                             "icmp"])
        wait_for(capture, "listening on")
        netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.05", netns.ip4_a)
        _, err = capture.communicate(timeout=30)  # -c 2 ends it
        assert capture.returncode == 0, err
        assert captured_count(err) == 2
        assert out.stat().st_uid == nobody.pw_uid
        assert len(frames_of(out)) == 2


@pytest.mark.parametrize("user", ["no-such-user-wk"])
def test_drop_privileges_to_an_unknown_user_is_a_usage_error(netns: NetnsPair,
                                                              user: str) -> None:
    done = wirekit(netns, netns.ns_a, "capture", netns.iface, "-c", "1", "-Z", user,
                   check=False)
    assert done.returncode == 2
    assert b"no such user" in done.stderr


def test_interface_going_down_ends_the_capture_with_its_file(netns: NetnsPair,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "down.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w", str(out)])
    wait_for(capture, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.05", netns.ip4_a)
    time.sleep(0.2)
    netns.run(netns.ns_a, "ip", "link", "set", netns.iface, "down")
    _, err = capture.communicate(timeout=20)  # ends by itself: no busy loop on POLLERR
    assert capture.returncode == 7
    assert err.decode().strip().endswith("wirekit: error: the interface went down")
    assert len(frames_of(out)) == captured_count(err) >= 4


def test_snaplen_cuts_frames_and_keeps_the_wire_length(netns: NetnsPair, tmp_path: Path) -> None:
    out = tmp_path / "short.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-s", "64", "-c", "2",
                                         "-w", str(out), "icmp"])
    wait_for(capture, "snapshot length 64 bytes")
    netns.run(netns.ns_b, "ping", "-c", "1", "-s", "400", netns.ip4_a)
    _, err = capture.communicate(timeout=20)
    assert capture.returncode == 0, err
    done = subprocess.run(["tshark", "-r", str(out), "-T", "fields", "-e", "frame.cap_len",
                           "-e", "frame.len"], capture_output=True, text=True, check=True,
                          timeout=60)
    assert done.stdout.split() == ["64", "442", "64", "442"]


def test_snaplen_zero_means_the_maximum_as_in_tcpdump(netns: NetnsPair, tmp_path: Path) -> None:
    out = tmp_path / "whole.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-s", "0", "-c", "2",
                                         "-w", str(out), "icmp"])
    wait_for(capture, "snapshot length 262144 bytes")
    netns.run(netns.ns_b, "ping", "-c", "1", "-s", "400", netns.ip4_a)
    _, err = capture.communicate(timeout=20)
    assert capture.returncode == 0, err
    assert [len(frame) for frame in frames_of(out)] == [442, 442]


def test_capture_ring_beyond_4_gib_is_a_usage_error(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "capture", netns.iface, "-c", "1", "-B", "99999999999",
                   "icmp", check=False, timeout=20)
    assert done.returncode == 2, done.stderr
    assert b"'-B'" in done.stderr and b"internal error" not in done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("direction", ["in", "out", "inout"])
def test_direction_keeps_what_tcpdump_q_keeps(netns: NetnsPair, tmp_path: Path, direction: str,
                                              workers: str) -> None:
    tcpdump = require_tool("tcpdump")
    ours, theirs = tmp_path / "wirekit.pcap", tmp_path / "tcpdump.pcap"
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-Q", direction,
                                         "--workers", workers, "-w", str(ours), "icmp"])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", netns.iface, "-Q", direction, "-w",
                                      str(theirs), "--immediate-mode", "icmp"])
    wait_for(capture, "listening on")
    wait_for(peer, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "3", "-i", "0.05", netns.ip4_a)  # requests come in
    time.sleep(0.3)
    _, err, code = stop(capture)
    stop(peer)
    assert code == 0, err
    mine = frames_of(ours)
    expected = {"in": 3, "out": 3, "inout": 6}[direction]
    assert len(mine) == expected == captured_count(err)
    assert sorted(mine) == sorted(frames_of(theirs))
    kinds = {frame[34] for frame in mine}  # ICMP type after Ethernet + a 20-byte IPv4 header
    assert kinds == {"in": {8}, "out": {0}, "inout": {0, 8}}[direction]


def test_direction_out_on_loopback_shows_nothing_as_tcpdump(netns: NetnsPair) -> None:
    # libpcap skips what the host sends on lo (its incoming copy is the one shown), so
    # "-Q out" there keeps nothing: the same here.
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", "lo", "-Q", "out", "icmp"])
    wait_for(capture, "listening on")
    netns.run(netns.ns_a, "ping", "-c", "2", "-i", "0.05", "127.0.0.1")
    time.sleep(0.2)
    out, err, code = stop(capture)
    assert code == 0, err
    assert out == b"" and captured_count(err) == 0


def test_unknown_direction_is_a_usage_error(netns: NetnsPair) -> None:
    done = wirekit(netns, netns.ns_a, "capture", netns.iface, "-Q", "sideways", check=False,
                   timeout=20)
    assert done.returncode == 2
    assert b"'sideways' is not one of 'in', 'out', 'inout'" in done.stderr


def _two_pings(netns: NetnsPair, *args: str) -> list[str]:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-c", "4", *args,
                                         "icmp"])
    wait_for(capture, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.2", "-s", "400", netns.ip4_a)
    out, err = capture.communicate(timeout=20)
    assert capture.returncode == 0, err
    return out.decode().splitlines()


def test_time_styles_follow_tcpdumps_t_options(netns: NetnsPair) -> None:
    none = _two_pings(netns, "-t")
    assert all(line.startswith((f"IP {netns.ip4_b} > ", f"IP {netns.ip4_a} > "))
               for line in none)
    epoch = _two_pings(netns, "-tt")
    seconds = float(epoch[0].split()[0])
    assert abs(seconds - time.time()) < 60 and epoch[0].split()[0][-7] == "."
    delta = _two_pings(netns, "-ttt")
    assert delta[0].startswith(" 00:00:00.000000 ")
    assert delta[2].startswith(" 00:00:00.")  # 0.2 s after the reply before it
    dated = _two_pings(netns, "-tttt", "--nano")
    assert dated[0][4] == "-" and dated[0][10] == " " and dated[0].split()[1][8] == "."
    assert len(dated[0].split()[1]) == len("HH:MM:SS.123456789")
    first = _two_pings(netns, "-ttttt")
    assert first[0].startswith(" 00:00:00.000000 ")
    assert float(first[3].split()[0].split(":")[2]) >= 0.2


@pytest.mark.parametrize("extra", [[], ["-e"]], ids=["plain", "link-level"])
def test_snaplen_cut_lines_match_tcpdump(netns: NetnsPair, extra: list[str]) -> None:
    tcpdump = require_tool("tcpdump")
    args = ["-s", "60", "-c", "4", *extra, "icmp"]
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-t", *args])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", netns.iface, "-t", "-nn", "-l",
                                      "--immediate-mode", *args])
    wait_for(capture, "listening on")
    wait_for(peer, "listening on")
    netns.run(netns.ns_b, "ping", "-c", "2", "-i", "0.05", "-s", "400", netns.ip4_a)
    mine, err = capture.communicate(timeout=20)
    theirs, _ = peer.communicate(timeout=20)
    assert capture.returncode == 0, err
    lines = mine.decode().splitlines()
    assert len(lines) == 4 and "ICMP echo request" in lines[0]
    assert lines == theirs.decode().splitlines()


def _udp_burst(netns: NetnsPair, count: int, size: int) -> None:
    sender = (f"import socket, time\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              f"for i in range({count}):\n"
              f"    s.sendto(b'x' * {size}, ('{netns.ip4_a}', 9))\n"
              f"    if i % 50 == 49: time.sleep(0.01)")
    netns.run(netns.ns_b, sys.executable, "-c", sender)


def test_size_rotation_ring_matches_tcpdump(netns: NetnsPair, tmp_path: Path) -> None:
    tcpdump = require_tool("tcpdump")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    args = ["-C", "1", "-W", "3", "udp"]
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w",
                                         str(ours / "ring.pcap"), *args])
    peer = start(netns, netns.ns_a, [tcpdump, "-i", netns.iface, "-Z", "root", "-B", "65536",
                                      "-w", str(theirs / "ring.pcap"), "--immediate-mode",
                                      *args])
    wait_for(capture, "listening on")
    wait_for(peer, "listening on")
    _udp_burst(netns, 3600, 1000)  # about 3.7 MB: four 1 MB files, so the ring wraps once
    time.sleep(0.5)
    _, err, code = stop(capture)
    _, peer_err, _ = stop(peer)
    assert code == 0, err
    names = sorted(path.name for path in ours.iterdir())
    assert names == sorted(path.name for path in theirs.iterdir()) == [
        "ring.pcap0", "ring.pcap1", "ring.pcap2"]
    assert captured_count(err) == captured_count(peer_err) == 3600
    for name in names:
        assert frames_of(ours / name) == frames_of(theirs / name), name


def test_time_rotation_with_a_count_stops_like_tcpdump(netns: NetnsPair, tmp_path: Path) -> None:
    capture = start(netns, netns.ns_a, [*WIREKIT, "capture", netns.iface, "-w",
                                         str(tmp_path / "t-%s.pcap"), "-G", "1", "-W", "2",
                                         "icmp"])
    wait_for(capture, "listening on")
    pinger = netns.popen(netns.ns_b, ["ping", "-c", "25", "-i", "0.2", netns.ip4_a])
    try:
        _, err = capture.communicate(timeout=20)  # ends by itself after two files
    finally:
        pinger.kill()
        pinger.wait()
    assert capture.returncode == 0, err
    assert b"Maximum file limit reached: 2" in err
    files = sorted(tmp_path.glob("t-*.pcap"))
    assert len(files) == 2
    seconds = [int(path.stem[2:]) for path in files]
    assert seconds[1] - seconds[0] >= 1  # strftime's %s: the second each file was opened
    assert sum(len(frames_of(path)) for path in files) == captured_count(err) >= 4


def test_rotation_needs_a_file_and_one_process(netns: NetnsPair, tmp_path: Path) -> None:
    alone = wirekit(netns, netns.ns_a, "capture", netns.iface, "-C", "1", check=False,
                    timeout=20)
    assert alone.returncode == 2 and b"-C and -G rotate the file of -w" in alone.stderr
    fanout = wirekit(netns, netns.ns_a, "capture", netns.iface, "-w", str(tmp_path / "f"),
                     "-G", "5", "--workers", "2", check=False, timeout=20)
    assert fanout.returncode == 2 and b"single capture process" in fanout.stderr
    bad = wirekit(netns, netns.ns_a, "capture", netns.iface, "-w", str(tmp_path / "f"),
                  "-C", "1.5", check=False, timeout=20)
    assert bad.returncode == 2 and b"invalid file size '1.5'" in bad.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra", [[], ["-C", "1"], ["--workers", "2"]])
def test_an_unwritable_file_fails_before_listening_like_tcpdump(netns: NetnsPair, tmp_path: Path,
                                                               extra: list[str]) -> None:
    target = tmp_path / "missing-dir" / "out.pcap"
    done = wirekit(netns, netns.ns_a, "capture", netns.iface, "-w", str(target), "-c", "1",
                   *extra, check=False, timeout=20)
    assert done.returncode == 4
    assert done.stderr.decode().splitlines() == [
        f"wirekit: error: cannot create {target}: No such file or directory"]
    peer = subprocess.run(["ip", "netns", "exec", netns.ns_a, "tcpdump", "-i", netns.iface,
                           "-w", str(target), "-c", "1"], check=False, capture_output=True,
                          timeout=20)
    assert peer.returncode == 1 and b"listening on" not in peer.stderr
    assert not list(tmp_path.iterdir())
