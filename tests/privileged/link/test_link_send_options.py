"""The options of ``wirekit send``, proved on the wire: tcpdump (or a socket) in the peer namespace.

Every test sends only between the two namespaces of the ``netns`` fixture, a bounded number of
frames, and stops its receivers itself.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.privileged.link.link_support import (
    WIREKIT,
    frames_of,
    start,
    stop,
    wait_for,
    wirekit,
)
from tests.support.env import require_tool
from tests.support.netns import NetnsPair

#: A UDP socket that prints the length and SHA-256 of each datagram it receives, then exits.
RECEIVER = """
import hashlib, socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
print("ready", flush=True)
for _ in range(int(sys.argv[3])):
    data = s.recv(70000)
    print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
"""


def _udp_receiver(netns: NetnsPair, address: str, port: int,
                  count: int = 1) -> subprocess.Popen[bytes]:
    proc = netns.popen(netns.ns_b, [sys.executable, "-c", RECEIVER, address, str(port),
                                    str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    assert ready and proc.stdout.readline().strip() == b"ready"
    return proc


def _received(proc: subprocess.Popen[bytes]) -> list[tuple[int, str]]:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    return [(int(length), digest) for length, digest in
            (line.split() for line in out.decode().splitlines())]


def _tcpdump(netns: NetnsPair, tmp_path: Path, expression: str,
             name: str = "received.pcap") -> tuple[subprocess.Popen[bytes], Path]:
    tcpdump = require_tool("tcpdump")
    path = tmp_path / name
    receiver = start(netns, netns.ns_b, [tcpdump, "-i", netns.iface, "-w", str(path),
                                          "--immediate-mode", expression])
    wait_for(receiver, "listening on")
    return receiver, path


def _finish(receiver: subprocess.Popen[bytes]) -> None:
    time.sleep(0.3)
    stop(receiver)


def _read(path: Path, *flags: str) -> list[str]:
    """tcpdump's own decoding of a capture, one entry per packet (-v continuation joined)."""
    done = subprocess.run(["tcpdump", "-nn", "-r", str(path), *flags], capture_output=True,
                          text=True, timeout=60, check=True)
    packets: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith((" ", "\t")) and packets:
            packets[-1] += " " + line.strip()
        else:
            packets.append(line)
    return packets


def _send(netns: NetnsPair, *args: str) -> subprocess.CompletedProcess[bytes]:
    return wirekit(netns, netns.ns_a, "send", *args)


# -- IP header ---------------------------------------------------------------------------------

def test_ip_header_options_reach_the_peer(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"(tcp or udp) and (src host {netns.ip4_a} "
                                               f"or src host {netns.ip6_a})")
    _send(netns, "tcp", netns.ip4_a, netns.ip4_b, "40000", "80", netns.iface, "--tos", "0x10",
          "--ip-id", "4242", "--df", "--ttl", "7", "--ip-options", "94040000")
    _send(netns, "udp", netns.ip6_a, netns.ip6_b, "5000", "9", netns.iface, "--tos", "0xb8",
          "--ttl", "9")
    _finish(receiver)
    tcp, udp6 = _read(path, "-v")
    assert "(tos 0x10, ttl 7, id 4242, offset 0, flags [DF], proto TCP (6), length 44, " \
           "options (RA))" in tcp
    assert "cksum" in tcp and "(correct)" in tcp
    assert "IP6 (class 0xb8, hlim 9, next-header UDP (17)" in udp6


# -- TCP options -------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "printed"), [
    (("--mss", "1460", "--sack-perm", "--timestamp", "100:200", "--wscale", "7"),
     "options [mss 1460,sackOK,TS val 100 ecr 200,nop,wscale 7]"),
    (("--timestamp", "4294967295"), "options [nop,nop,TS val 4294967295 ecr 0]"),
    (("--sack-perm", "--mss", "536"), "options [mss 536,nop,nop,sackOK]"),
    (("--wscale", "14",), "options [nop,wscale 14]"),
])
def test_tcp_options_as_tcpdump_prints_them(netns: NetnsPair, tmp_path: Path,
                                            args: tuple[str, ...], printed: str) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"tcp and src host {netns.ip4_a}")
    _send(netns, "tcp", netns.ip4_a, netns.ip4_b, "40000", "80", netns.iface, *args)
    _finish(receiver)
    (line,) = _read(path)
    assert f"Flags [S], seq 0, win 65535, {printed}, length 0" in line


# -- fragmentation -----------------------------------------------------------------------------

@pytest.mark.parametrize("family", [4, 6])
def test_fragments_are_reassembled_by_the_peer_kernel(netns: NetnsPair, tmp_path: Path,
                                                      family: int) -> None:
    src, dst = (netns.ip4_a, netns.ip4_b) if family == 4 else (netns.ip6_a, netns.ip6_b)
    proc = _udp_receiver(netns, dst, 9100)
    receiver, path = _tcpdump(netns, tmp_path, "ip[6:2] & 0x3fff != 0" if family == 4
                              else "ip6[6] == 44")
    pattern = "00112233445566778899"
    done = _send(netns, "udp", src, dst, "5000", "9100", netns.iface, "--payload-size", "3000",
                 "--payload-pattern", pattern, "--frag-size", "1000", "--json")
    report = json.loads(done.stdout)
    assert report["frames"] == 4 and report["fragments"] == 4 and report["datagrams"] == 1
    expected = (bytes.fromhex(pattern) * 300)[:3000]
    assert _received(proc) == [(3000, hashlib.sha256(expected).hexdigest())]
    _finish(receiver)
    lines = _read(path, "-v")
    assert len(lines) == 4, lines
    if family == 4:  # 3008 bytes of IP payload: 1000, 1000, 1000, 8
        assert [line.split("offset ")[1].split(",")[0] for line in lines] == \
            ["0", "1000", "2000", "3000"]
        assert [line.split("length ")[1].split(")")[0] for line in lines] == \
            ["1020", "1020", "1020", "28"]
    else:
        assert [line.split("frag (")[1].split(")")[0].split(":")[1] for line in lines] == \
            ["0|1000", "1000|1000", "2000|1000", "3000|8"]


# -- VLAN --------------------------------------------------------------------------------------

def test_vlan_tag_on_the_wire(netns: NetnsPair, tmp_path: Path) -> None:
    """The tag as tcpdump -e prints it and as Scapy decodes it.

    (A VLAN sub-interface receiving it would be the nicer proof, but this kernel is built
    without CONFIG_VLAN_8021Q; the peer's kernel still parses the tag, which is what puts it
    in the capture's metadata for libpcap to re-insert.)
    """
    from scapy.layers.l2 import Dot1Q, Ether

    receiver, path = _tcpdump(netns, tmp_path, "vlan")
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5000", "9200", netns.iface, "--vlan",
          "100:5", "--dst-mac", netns.mac(netns.ns_b), "--payload", "tagged")
    _finish(receiver)
    (line,) = _read(path, "-e")
    assert "ethertype 802.1Q (0x8100)" in line and "vlan 100, p 5, ethertype IPv4" in line
    assert f"{netns.ip4_a}.5000 > {netns.ip4_b}.9200: UDP, length 6" in line
    (frame,) = frames_of(path)
    tag = Ether(frame)[Dot1Q]
    assert (tag.vlan, tag.prio, tag.type, bytes(tag.payload)[-6:]) == (100, 5, 0x0800,
                                                                       b"tagged")


def test_vlan_on_arp_and_a_priority_tag(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, "vlan")
    _send(netns, "arp", netns.iface, "--pdst", netns.ip4_b, "--vlan", "7:3")
    _send(netns, "icmp", netns.ip4_a, netns.ip4_b, netns.iface, "--vlan", "0:6")
    _finish(receiver)
    arp, icmp = _read(path, "-e")
    assert "vlan 7, p 3, ethertype ARP" in arp and f"who-has {netns.ip4_b}" in arp
    assert "vlan 0, p 6, ethertype IPv4" in icmp and "ICMP echo request" in icmp


# -- pacing and Ctrl-C -------------------------------------------------------------------------

def _stamps(path: Path) -> list[float]:
    from wirekit.pcap import Reader

    with Reader(str(path)) as reader:
        return [record.timestamp_ns / 1e9 for record in reader]


@pytest.mark.parametrize("pacing", [("--rate", "20"), ("--interval", "0.05")])
def test_pacing_spaces_the_frames(netns: NetnsPair, tmp_path: Path,
                                  pacing: tuple[str, str]) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"udp and src host {netns.ip4_a}")
    began = time.monotonic()
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5000", "9", netns.iface, "-c", "6", *pacing)
    took = time.monotonic() - began
    _finish(receiver)
    stamps = _stamps(path)
    assert len(stamps) == 6
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap > 0.03 for gap in gaps), gaps  # 50 ms apart, give or take the scheduler
    assert 0.24 <= stamps[-1] - stamps[0] < 1.0, stamps
    assert took >= 0.25


def test_sigint_stops_and_reports_what_was_sent(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"udp and src host {netns.ip4_a}")
    sender = start(netns, netns.ns_a, [*WIREKIT, "send", "udp", netns.ip4_a, netns.ip4_b,
                                       "5000", "9", netns.iface, "-c", "1000", "--interval",
                                       "0.01", "--json"])
    time.sleep(1.0)
    out, err, code = stop(sender, signal.SIGINT)
    assert code == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["requested"] == 1000
    assert 5 <= report["datagrams"] < 1000 and report["frames"] == report["datagrams"]
    assert f"after {report['datagrams']} of 1000 datagrams".encode() in err
    assert b"Traceback" not in err
    _finish(receiver)
    assert len(_stamps(path)) == report["datagrams"]


# -- variation per frame -----------------------------------------------------------------------

def test_inc_varies_each_frame(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"src host {netns.ip4_a} and not arp")
    _send(netns, "tcp", netns.ip4_a, netns.ip4_b, "65534", "80", netns.iface, "-c", "4",
          "--inc", "sport", "--inc", "seq:1000", "--inc", "ip-id:-1", "--ip-id", "1")
    _send(netns, "icmp", netns.ip4_a, netns.ip4_b, netns.iface, "-c", "3", "--id", "7",
          "--inc", "seq")
    _finish(receiver)
    lines = _read(path, "-v")
    tcp = [line for line in lines if "proto TCP" in line]
    assert [line.split("id ")[1].split(",")[0] for line in tcp] == ["1", "0", "65535", "65534"]
    assert [line.split(" > ")[0].rsplit(".", 1)[1] for line in tcp] == \
        ["65534", "65535", "0", "1"]
    assert [line.split("seq ")[1].split(",")[0] for line in tcp] == ["0", "1000", "2000", "3000"]
    icmp = [line for line in lines if "ICMP echo request" in line]
    assert [line.split("seq ")[1].split(",")[0] for line in icmp] == ["0", "1", "2"]
    assert all("id 7, seq" in line for line in icmp)


# -- payload -----------------------------------------------------------------------------------

def test_payload_file_and_size(netns: NetnsPair, tmp_path: Path) -> None:
    blob = bytes(range(256)) * 3
    source = tmp_path / "payload.bin"
    source.write_bytes(blob)
    receiver, path = _tcpdump(netns, tmp_path, f"udp and src host {netns.ip4_a}")
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5000", "9", netns.iface,
          "--payload-file", str(source))
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5001", "9", netns.iface,
          "--payload-size", "100")
    _finish(receiver)
    frames = frames_of(path)
    assert len(frames) == 2
    assert frames[0][42:] == blob
    assert frames[1][42:142] == bytes(100)


def test_payload_pattern_over_ipv6(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, f"udp and src host {netns.ip6_a}")
    _send(netns, "udp", netns.ip6_a, netns.ip6_b, "5002", "9", netns.iface,
          "--payload-size", "7", "--payload-pattern", "abcd")
    _finish(receiver)
    (frame,) = frames_of(path)
    assert frame[62:] == bytes.fromhex("abcdabcdabcdab")


# -- MACs --------------------------------------------------------------------------------------

def test_src_mac_is_written_into_the_frame(netns: NetnsPair, tmp_path: Path) -> None:
    receiver, path = _tcpdump(netns, tmp_path, "ether src 02:00:00:00:77:01")
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5000", "9", netns.iface,
          "--src-mac", "02:00:00:00:77:01")
    _send(netns, "arp", netns.iface, "--pdst", netns.ip4_b, "--src-mac", "02-00-00-00-77-01")
    _finish(receiver)
    udp, arp = frames_of(path)
    assert udp[6:12] == bytes.fromhex("020000007701")
    assert udp[:6] == bytes.fromhex(netns.mac(netns.ns_b).replace(":", ""))
    assert arp[6:12] == arp[22:28] == bytes.fromhex("020000007701")  # Ethernet and ARP sender


# -- writing instead of sending ----------------------------------------------------------------

def _without_raw(netns: NetnsPair, command: list[str]) -> subprocess.CompletedProcess[bytes]:
    require_tool("capsh")
    line = " ".join([sys.executable, "-m", "wirekit", *command])
    return netns.run(netns.ns_a, "capsh", "--drop=cap_net_raw", "--", "-c", line, check=False)


def test_write_needs_no_capability_and_sends_nothing(netns: NetnsPair, tmp_path: Path) -> None:
    netns.run(netns.ns_a, "ping", "-c", "1", netns.ip4_b)  # the neighbour entry -w reads
    # Anything IPv4 or ARP from ns_a (its kernel's own IPv6 neighbour discovery may go on).
    receiver, path = _tcpdump(netns, tmp_path, f"ether src {netns.mac(netns.ns_a)} and "
                                               "(arp or ip)")
    out = tmp_path / "built.pcapng"
    done = _without_raw(netns, ["send", "tcp", netns.ip4_a, netns.ip4_b, "1000", "80",
                                netns.iface, "-w", str(out), "-c", "3", "--inc", "sport",
                                "--mss", "1400"])
    assert done.returncode == 0, done.stderr
    assert f"wrote 3 frames (58 bytes each) to {out}".encode() in done.stdout
    refused = _without_raw(netns, ["send", "tcp", netns.ip4_a, netns.ip4_b, "1000", "80",
                                   netns.iface])
    assert refused.returncode == 77 and b"CAP_NET_RAW" in refused.stderr
    netns.run(netns.ns_a, "ip", "neigh", "flush", "dev", netns.iface)
    missing = _without_raw(netns, ["send", "udp", netns.ip4_a, netns.ip4_b, "1", "2",
                                   netns.iface, "-w", str(tmp_path / "never.pcap")])
    assert missing.returncode == 2 and b"give --dst-mac" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    _finish(receiver)
    assert frames_of(path) == []  # nothing went out, not even an ARP request
    frames = frames_of(out)
    assert len(frames) == 3
    assert frames[0][:12] == bytes.fromhex(netns.mac(netns.ns_b).replace(":", "") +
                                           netns.mac(netns.ns_a).replace(":", ""))
    assert [int.from_bytes(frame[34:36], "big") for frame in frames] == [1000, 1001, 1002]
    (line, *_) = _read(out)
    assert "options [mss 1400]" in line
    with out.open("rb") as handle:
        assert handle.read(4) == b"\x0a\x0d\x0d\x0a"  # pcapng, by the file name


def test_written_frames_replay_like_sent_ones(netns: NetnsPair, tmp_path: Path) -> None:
    """A file built with -w replays onto the link and the peer reassembles its fragments."""
    proc = _udp_receiver(netns, netns.ip4_b, 9300)
    out = tmp_path / "fragments.pcap"
    _send(netns, "udp", netns.ip4_a, netns.ip4_b, "5000", "9300", netns.iface, "-w", str(out),
          "--dst-mac", netns.mac(netns.ns_b), "--payload-size", "2000", "--frag-size", "512")
    assert len(frames_of(out)) == 4
    wirekit(netns, netns.ns_a, "replay", str(out), netns.iface, "--topspeed")
    assert _received(proc) == [(2000, hashlib.sha256(bytes(2000)).hexdigest())]
