"""tshark decodes what wirekit builds: the fields it reports are the ones we wrote, and its
checksum verdicts agree with ours (good where we computed them, bad where we lied)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.packet.packet_pcapfile import write_pcap
from tests.support.env import require_tool
from wirekit.packet import (
    ARP,
    ICMP,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    LinkType,
    NDOption,
    Packet,
)

PACKETS: list[Packet] = [
    Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv4(
        src="10.0.0.1", dst="10.0.0.2", ttl=17, id=99) / TCP(
        sport=50001, dport=50002, seq=123456, ack=654321, flags="PA", window=1000,
        options=[("NOP", None), ("NOP", None), ("Timestamp", (7, 8))]) / b"hello",
    Ether() / Dot1Q(vlan=42, prio=3) / IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=9)
    / UDP(sport=50003, dport=50004) / b"six",
    Ether() / IPv4(src="10.0.0.9", dst="10.0.0.1") / ICMP(type=3, code=3)
    / IPv4(src="10.0.0.1", dst="10.0.0.3") / UDP(sport=50005, dport=33434),
    Ether() / ARP(op=2, hwsrc="02:00:00:00:00:07", psrc="10.0.0.7", pdst="10.0.0.8"),
    Ether() / IPv6(src="fe80::1", dst="ff02::1:ff00:2") / ICMPv6(
        type=135, tgt="fe80::2", options=[NDOption.source_lladdr("02:00:00:00:00:01")]),
    Ether() / IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(m=1, id=77)
    / UDP(sport=50006, dport=50007) / (b"x" * 16),
    Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=50008, dport=50009, chksum=0x1234),
    Ether() / IPv4(src="10.0.0.1", dst="10.0.0.2", chksum=0x4321) / TCP(sport=50010, dport=80),
]


def tshark_json(tmp_path: Path, frames: list[bytes], link: LinkType) -> list[dict[str, Any]]:
    tshark = require_tool("tshark")
    path = tmp_path / "frames.pcap"
    write_pcap(path, frames, link)
    result = subprocess.run(
        [tshark, "-n", "-r", str(path), "-T", "json", "-o", "ip.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"],
        capture_output=True, text=True, check=True, timeout=120)
    return [packet["_source"]["layers"] for packet in json.loads(result.stdout)]


def test_tshark_reads_what_wirekit_builds(tmp_path: Path) -> None:
    decoded = tshark_json(tmp_path, [bytes(packet) for packet in PACKETS], LinkType.ETHERNET)
    assert len(decoded) == len(PACKETS)
    tcp, six, unreachable, arp, ns, fragment, bad_udp, bad_ip = decoded
    assert tcp["ip"]["ip.src"] == "10.0.0.1" and tcp["ip"]["ip.ttl"] == "17"
    assert tcp["ip"]["ip.checksum.status"] == "1" and tcp["tcp"]["tcp.checksum.status"] == "1"
    assert tcp["tcp"]["tcp.seq_raw"] == "123456" and tcp["tcp"]["tcp.ack_raw"] == "654321"
    assert tcp["tcp"]["tcp.flags"] == "0x0018" and tcp["tcp"]["tcp.len"] == "5"
    timestamp = tcp["tcp"]["tcp.options_tree"]["tcp.options.timestamp_tree"]
    assert (timestamp["tcp.options.timestamp.tsval"], timestamp["tcp.options.timestamp.tsecr"]) \
        == ("7", "8")
    assert six["vlan"]["vlan.id"] == "42" and six["vlan"]["vlan.priority"] == "3"
    assert six["ipv6"]["ipv6.hlim"] == "9" and six["udp"]["udp.checksum.status"] == "1"
    assert unreachable["icmp"]["icmp.type"] == "3" and unreachable["icmp"]["icmp.code"] == "3"
    assert unreachable["icmp"]["icmp.checksum.status"] == "1"
    assert unreachable["icmp"]["udp"]["udp.dstport"] == "33434"
    assert arp["arp"]["arp.opcode"] == "2" and arp["arp"]["arp.src.proto_ipv4"] == "10.0.0.7"
    assert ns["icmpv6"]["icmpv6.type"] == "135" and ns["icmpv6"]["icmpv6.nd.ns.target_address"] \
        == "fe80::2" and ns["icmpv6"]["icmpv6.checksum.status"] == "1"
    assert ns["icmpv6"]["icmpv6.opt"]["icmpv6.opt.src_linkaddr"] == "02:00:00:00:00:01"
    assert fragment["ipv6"]["ipv6.nxt"] == "0"
    assert bad_udp["udp"]["udp.checksum.status"] == "0"  # the lie we asked for
    assert bad_ip["ip"]["ip.checksum.status"] == "0" and bad_ip["tcp"]["tcp.checksum.status"] \
        == "1"


def test_tshark_reads_cooked_captures(tmp_path: Path) -> None:
    frames = [bytes(SLL2(ifindex=3, pkttype=4) / IPv4(src="10.1.1.1", dst="10.1.1.2")
                    / UDP(sport=50011, dport=50012) / b"sll2")]
    sll2 = tshark_json(tmp_path, frames, LinkType.LINUX_SLL2)[0]
    assert sll2["sll"]["sll.ifindex"] == "3" and sll2["ip"]["ip.dst"] == "10.1.1.2"
    assert sll2["udp"]["udp.checksum.status"] == "1"
