"""libpcap through ctypes: compiling, libpcap's own errors, offline matching."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

from wirekit.errors import FilterError
from wirekit.link.bpf import DEFAULT_SNAPLEN, Instruction, compile_filter, libpcap_version
from wirekit.packet.linktype import LinkType

SYN = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"))
UDP53 = bytes(Ether() / IP(src="10.0.0.3", dst="10.0.0.2") / UDP(sport=5353, dport=53))
PING6 = bytes(Ether() / IPv6(src="fd00::1", dst="fd00::2") / b"\x80\0\0\0\0\0\0\0")
TAGGED = bytes(Ether() / Dot1Q(vlan=100) / IP(src="10.0.0.1", dst="10.0.0.9") / ICMP())
WHO_HAS = bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.2"))


def test_empty_expression_accepts_everything_with_the_snaplen() -> None:
    program = compile_filter("")
    assert program.instructions == (Instruction(0x06, 0, 0, DEFAULT_SNAPLEN),)  # ret #snaplen
    assert all(program.matches(frame) for frame in (SYN, UDP53, PING6, TAGGED, WHO_HAS))


def test_syntax_error_carries_libpcaps_message() -> None:
    with pytest.raises(FilterError, match="syntax error") as info:
        compile_filter("tcp prot 80")
    assert info.value.exit_code == 6
    assert "tcp prot 80" in str(info.value)


def test_semantic_error_carries_libpcaps_message() -> None:
    with pytest.raises(FilterError, match=r"port 99999 .*out of range|illegal port"):
        compile_filter("port 99999")
    with pytest.raises(FilterError, match="VLAN"):
        compile_filter("vlan 10", LinkType.LINUX_SLL2)


@pytest.mark.parametrize(("expression", "selected"), [
    ("tcp", {"syn"}),
    ("tcp[tcpflags] & tcp-syn != 0", {"syn"}),
    ("udp port 53", {"udp"}),
    ("ip6", {"ping6"}),
    ("arp", {"arp"}),
    ("vlan 100 and icmp", {"tagged"}),
    ("host 10.0.0.2", {"syn", "udp", "arp"}),
    ("not ip", {"ping6", "tagged", "arp"}),
    ("greater 50", {"syn", "ping6"}),
    ("ether[12:2] = 0x0806", {"arp"}),
])
def test_offline_matching(expression: str, selected: set[str]) -> None:
    frames = {"syn": SYN, "udp": UDP53, "ping6": PING6, "tagged": TAGGED, "arp": WHO_HAS}
    program = compile_filter(expression)
    assert {name for name, frame in frames.items() if program.matches(frame)} == selected


def test_matching_sees_the_wire_length_not_the_captured_one() -> None:
    program = compile_filter("greater 1000")
    assert not program.matches(SYN)
    assert program.matches(SYN, orig_len=1500)


def test_matching_accepts_writable_and_read_only_buffers() -> None:
    program = compile_filter("tcp dst port 80")
    assert program.matches(bytearray(SYN))
    assert program.matches(memoryview(bytearray(SYN)))
    assert program.matches(memoryview(SYN))


def test_other_link_types_compile_with_their_own_offsets() -> None:
    raw = compile_filter("udp", LinkType.RAW)
    assert raw.matches(UDP53[14:])
    assert not raw.matches(SYN[14:])
    sll2 = bytes(struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 6)) + UDP53[14:]
    assert compile_filter("udp port 53", LinkType.LINUX_SLL2).matches(sll2)


def test_sock_fprog_points_at_the_instructions() -> None:
    program = compile_filter("arp")
    length, pointer = struct.unpack("HxxxxxxP", program.sock_fprog())
    assert length == len(program.instructions) > 1
    assert pointer != 0


def test_dump_reads_like_tcpdump_d() -> None:
    text = compile_filter("arp").dump().splitlines()
    assert text[0].startswith("(000) ldh      [12]")
    assert text[-1].endswith("ret      #0")


def test_version_names_libpcap() -> None:
    assert libpcap_version().startswith("libpcap version")


def test_cooked_programs_move_past_the_sll2_header() -> None:
    from wirekit.link.bpf import SKF_AD_OFF, SKF_AD_PROTOCOL, for_cooked_socket

    program = compile_filter("udp port 53", LinkType.LINUX_SLL2)
    kernel = for_cooked_socket(program)
    assert kernel is not None and len(kernel) == len(program)
    first = kernel.instructions[0]
    assert (first.code, first.k) == (0x28, SKF_AD_OFF + SKF_AD_PROTOCOL)  # ldh [protocol]
    loads = [(o.k, n.k) for o, n in zip(program.instructions, kernel.instructions, strict=True)
             if o.code & 0x07 in (0, 1) and o.code & 0xE0 in (0x20, 0x40, 0xA0) and o.k >= 20]
    assert loads and all(new == old - 20 for old, new in loads)


def test_cooked_programs_reading_the_link_address_stay_in_user_space() -> None:
    from wirekit.link.bpf import for_cooked_socket

    program = compile_filter("link[12] == 2", LinkType.LINUX_SLL2)
    assert for_cooked_socket(program) is None
    with pytest.raises(ValueError, match="LINUX_SLL2"):
        for_cooked_socket(compile_filter("udp"))


def test_offline_filter_compiles_once_per_link_type(tmp_path: object) -> None:
    """A pcapng file mixing Ethernet and raw-IP interfaces: the same words, two programs."""
    from pathlib import Path

    from wirekit.link.bpf import OfflineFilter
    from wirekit.pcap import Reader, Writer

    path = Path(str(tmp_path)) / "mixed.pcapng"
    with Writer(str(path), LinkType.ETHERNET) as writer:
        raw = writer.add_interface(LinkType.RAW, name="tun0")
        for second, frame, where in ((1, UDP53, 0), (2, UDP53[14:], raw), (3, SYN, 0),
                                     (4, SYN[14:], raw)):
            writer.write(frame, second * 1_000_000_000, interface=where)
    selection = OfflineFilter("udp port 53")
    with Reader(str(path)) as reader:
        selection.prepare(reader.link)
        picked = [record.timestamp_ns for record in reader
                  if selection.matches(record.data, record.orig_len, record.link)]
    assert picked == [1_000_000_000, 2_000_000_000]
    with pytest.raises(FilterError):
        OfflineFilter("tcp prot 1").prepare(LinkType.ETHERNET)
