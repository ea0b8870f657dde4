"""summary() (tcpdump's line), show_text(), hexdump() and to_dict().

The expected summaries were printed by ``tcpdump -nn -S -t`` 4.99.3 for the same bytes; the
integration tier (tests/integration/packet/test_packet_tcpdump.py) re-checks them, and many
more, against the installed tcpdump.
"""

from __future__ import annotations

import json

import pytest

from wirekit.packet import (
    ARP,
    ICMP,
    LLC,
    SNAP,
    TCP,
    UDP,
    Dot1Q,
    Ether,
    ICMPv6,
    IPv4,
    IPv4Option,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    NDOption,
    Packet,
    parse,
)

M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"


def _e() -> Ether:
    return Ether(src=M1, dst=M2)


def _ip() -> IPv4:
    return IPv4(src="10.0.0.1", dst="10.0.0.2")


def _ip6() -> IPv6:
    return IPv6(src="2001:db8::1", dst="2001:db8::2")


CASES: list[tuple[Packet, str]] = [
    (_e() / _ip() / TCP(sport=1234, dport=9999, flags="S", seq=1, window=65535),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [S], seq 1, win 65535, length 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, flags="SA", seq=1, ack=5, window=512,
                        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                                 ("NOP", None), ("WScale", 7)]),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [S.], seq 1, ack 5, win 512, options "
     "[mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, flags="PA", seq=100, ack=5, window=512,
                        options=[("NOP", None), ("NOP", None), ("SAck", (1, 2, 3, 4))])
     / b"hello",
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [P.], seq 100:105, ack 5, win 512, options "
     "[nop,nop,sack 2 {1:2}{3:4}], length 5"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, flags="FPUREC", seq=100, ack=5, urgptr=3,
                        options=[(99, b"ab"), ("EOL", None)]),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [FRPUEW], seq 100, win 8192, urg 3, options "
     "[unknown-99 0x6162,eol], length 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, flags=0, seq=100),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [none], win 8192, length 0"),
    (_e() / _ip() / UDP(sport=1234, dport=5000) / b"hello",
     "IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 5"),
    (_e() / _ip() / ICMP(type=8, id=1, seq=2) / (b"x" * 56),
     "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 2, length 64"),
    (_e() / _ip() / ICMP(type=3, code=3) / IPv4(src="10.0.0.1", dst="10.0.0.3")
     / UDP(sport=1111, dport=33434),
     "IP 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.3 udp port 33434 unreachable, length 36"),
    (_e() / _ip() / ICMP(type=3, code=4, nexthopmtu=1400) / IPv4(src="10.0.0.1", dst="10.0.0.3")
     / UDP(sport=1111, dport=33434),
     "IP 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.3 unreachable - need to frag (mtu 1400), length 36"),
    (_e() / _ip() / ICMP(type=11, code=0) / IPv4(src="10.0.0.1", dst="10.0.0.3") / UDP(),
     "IP 10.0.0.1 > 10.0.0.2: ICMP time exceeded in-transit, length 36"),
    (_e() / _ip() / ICMP(type=5, code=1, gw="10.0.0.7") / IPv4(src="10.0.0.1", dst="10.0.0.3")
     / UDP(),
     "IP 10.0.0.1 > 10.0.0.2: ICMP redirect 10.0.0.3 to host 10.0.0.7, length 36"),
    (_e() / ARP(op=1, hwsrc=M1, psrc="10.0.0.1", pdst="10.0.0.2"),
     "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28"),
    (_e() / ARP(op=2, hwsrc=M2, psrc="10.0.0.2", hwdst=M1, pdst="10.0.0.1"),
     "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28"),
    (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", frag=14, proto=17) / (b"x" * 100),
     "IP 10.0.0.1 > 10.0.0.2: ip-proto-17"),
    (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", proto=250) / (b"x" * 10),
     "IP 10.0.0.1 > 10.0.0.2:  ip-proto-250 10"),
    (_e() / _ip6() / TCP(sport=1234, dport=9999, flags="S", seq=1, window=65535),
     "IP6 2001:db8::1.1234 > 2001:db8::2.9999: Flags [S], seq 1, win 65535, length 0"),
    (_e() / _ip6() / ICMPv6(type=128, id=1, seq=2) / b"abc",
     "IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id 1, seq 2, length 11"),
    (_e() / IPv6(src="fe80::1", dst="ff02::1:ff00:2") / ICMPv6(
        type=135, tgt="fe80::2", options=[NDOption.source_lladdr(M1)]),
     "IP6 fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 32"),
    (_e() / IPv6(src="fe80::2", dst="fe80::1") / ICMPv6(
        type=136, tgt="fe80::2", S=1, O=1, options=[NDOption.target_lladdr(M2)]),
     "IP6 fe80::2 > fe80::1: ICMP6, neighbor advertisement, tgt is fe80::2, length 32"),
    (_e() / IPv6(src="fe80::1", dst="ff02::2") / ICMPv6(
        type=133, options=[NDOption.source_lladdr(M1)]),
     "IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 16"),
    (_e() / _ip6() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000) / b"x",
     "IP6 2001:db8::1 > 2001:db8::2: HBH 1234 > 5000: UDP, length 1"),
    (_e() / _ip6() / IPv6ExtHdrFragment(offset=3, nh=17, id=5) / (b"x" * 16),
     "IP6 2001:db8::1 > 2001:db8::2: frag (24|16)"),
    (_e() / _ip6() / ICMPv6(type=2, mtu=1400) / IPv6(src="2001:db8::1", dst="2001:db8::3")
     / UDP(sport=1, dport=33434),
     "IP6 2001:db8::1 > 2001:db8::2: ICMP6, packet too big, mtu 1400, length 56"),
    (_e() / Dot1Q(vlan=100) / _ip() / UDP(sport=1234, dport=5000),
     "IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 0"),
    (Ether(src=M1, dst=M2, type=0x88B5) / b"abcdefgh",
     "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5), length 22"),
    (_e() / _ip() / UDP(sport=1234, dport=5000, len=100),
     "IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, bad length 92 > 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, dataofs=3),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999:  tcp 8 [bad hdr length 12 - too short, < 20]"),
    (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", ihl=4) / UDP(),
     "IP bad-hlen 16"),
    (_e() / LLC() / SNAP() / _ip() / UDP(sport=1234, dport=5000) / b"hello",
     "IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 5"),
    (_e() / LLC(dsap=0x12, ssap=0x34) / b"abcdefghij",
     "02:00:00:00:00:01 Unknown SSAP 0x34 > 02:00:00:00:00:02 Unknown DSAP 0x12 Unnumbered, "
     "ui, Flags [Command], length 13"),
    (_e() / LLC(dsap=0x12, ssap=0x34, ctrl=0x0200) / b"hello",
     "02:00:00:00:00:01 Unknown SSAP 0x34 > 02:00:00:00:00:02 Unknown DSAP 0x12 Information, "
     "send seq 0, rcv seq 1, Flags [Command], length 9"),
    (_e() / LLC() / SNAP(code=0x88B5) / b"xyz",
     "02:00:00:00:00:01 > 02:00:00:00:00:02 SNAP, ethertype Unknown (0x88b5), length 3"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, options=[("MD5", bytes(16))]),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [S], seq 0, win 8192, options [md5 shared "
     "secret not supplied with -M, can't check - 00000000000000000000000000000000,eol], "
     "length 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, options=[("UTO", 300), (254, b"\xf9\x89")]),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [S], seq 0, win 8192, options [uto 0x12c 150,"
     "exp-tfo cookiereq], length 0"),
    (_e() / _ip() / TCP(sport=1234, dport=9999, options=[(30, b"\x01\x01" + bytes(8))]),
     "IP 10.0.0.1.1234 > 10.0.0.2.9999: Flags [S], seq 0, win 8192, options [mptcp 12 "
     "capable v1 {0x0}], length 0"),
]


@pytest.mark.parametrize(("packet", "line"), CASES, ids=[line[:40] for _, line in CASES])
def test_summary_matches_tcpdump(packet: Packet, line: str) -> None:
    assert packet.summary() == line  # built: shown as the wire bytes
    assert parse(bytes(packet)).summary() == line


def test_summary_of_a_snaplen_cut_packet() -> None:
    wire = bytes(_e() / _ip() / TCP(sport=1234, dport=9999))
    assert parse(wire[:40]).summary() == \
        "IP truncated-ip - 14 bytes missing! 10.0.0.1.1234 > 10.0.0.2.9999:  [|tcp]"


def _q6() -> IPv6:
    return IPv6(src="2001:db8::1", dst="2001:db8::3")


#: Packets cut by a capture's snapshot length, and tcpdump's line (version first, then the
#: fixed header; cut IPv4 options; IPv6 extension headers and what follows them; ICMPv6
#: messages cut before the fields tcpdump prints).
CUT_CASES: list[tuple[Packet, int, str]] = [
    (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", version=5) / TCP(), 15, "IP5 (invalid)"),
    (_e() / _ip() / TCP(), 30, "IP  [|ip]"),
    (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", options=[IPv4Option(7, b"\x04" + bytes(4))])
     / TCP(sport=1234, dport=9999), 40,
     "IP  [remaining caplen(26) < header length(28)] [|ip]"),
    (_e() / _ip6() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000), 58,
     "IP6 2001:db8::1 > 2001:db8::2:  [|hbhopt]"),
    (_e() / _ip6() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000), 63,
     "IP6 2001:db8::1 > 2001:db8::2: HBH  [|udp]"),
    (_e() / _ip6() / IPv6ExtHdrFragment(offset=3, nh=17) / (b"x" * 16), 58,
     "IP6 2001:db8::1 > 2001:db8::2: frag (24|16)"),
    (_e() / _ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=3, nh=17) / (b"x" * 16),
     64, "IP6 2001:db8::1 > 2001:db8::2: HBH  [|frag6]"),
    (_e() / _ip6() / IPv6ExtHdrRouting(addresses=["2001:db8::5"]) / TCP(sport=1234, dport=9999),
     59, "IP6 2001:db8::1 > 2001:db8::2: RT6 (len=2, type=0 [Deprecated], segleft=1 [|rt6]"),
    (_e() / _ip6() / IPv6ExtHdrRouting(addresses=["2001:db8::5"]) / TCP(sport=1234, dport=9999),
     80, "IP6 2001:db8::1 > 2001:db8::2: RT6 (len=2, type=0 [Deprecated], segleft=1, "
     "[0]2001:db8::5) 2001:db8::1 > 2001:db8::2: [|tcp]"),
    (_e() / _ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrHopByHop() / UDP(sport=1234, dport=5000),
     62, "IP6 2001:db8::1 > 2001:db8::2: HBH [The Hop-by-Hop Options header was already "
     "found] (invalid)"),
    (_e() / IPv6(src="fe80::1", dst="fe80::2")
     / ICMPv6(type=137, tgt="fe80::9", dst="2001:db8::7"), 70,
     "IP6 fe80::1 > fe80::2: ICMP6, redirect [|icmp6]"),
    (_e() / IPv6(src="fe80::1", dst="ff02::1:ff00:2") / ICMPv6(type=135, tgt="fe80::2"), 60,
     "IP6 fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation [|icmp6]"),
    (_e() / _ip6() / ICMPv6(type=1, code=4) / _q6() / UDP(sport=1, dport=33434), 103,
     "IP6 2001:db8::1 > 2001:db8::2: ICMP6, destination unreachable, unreachable port "
     "[|icmp6]"),
    (_e() / _ip6() / ICMPv6(type=2, mtu=1400) / _q6(), 57,
     "IP6 2001:db8::1 > 2001:db8::2: ICMP6, packet too big [|icmp6]"),
]


@pytest.mark.parametrize(("packet", "snaplen", "line"), CUT_CASES,
                         ids=[f"{snaplen}-{line[:40]}" for _, snaplen, line in CUT_CASES])
def test_summary_of_packets_cut_by_the_capture(packet: Packet, snaplen: int, line: str) -> None:
    wire = bytes(packet)
    assert parse(wire[:snaplen], wire_len=len(wire)).summary() == line


def test_summary_of_arp_cut_by_the_capture() -> None:
    """tcpdump: " [|arp]" until the last address is captured; the length is the wire's."""
    wire = bytes(_e() / ARP(op=1, hwsrc=M1, psrc="10.0.0.1", pdst="10.0.0.2")) + bytes(18)
    assert [parse(wire[:end], wire_len=60).summary() for end in (14, 20, 41)] == [" [|arp]"] * 3
    assert parse(wire[:42], wire_len=60).summary() == \
        "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46"


def test_show_and_to_dict_describe_llc_and_snap() -> None:
    packet = _e() / LLC() / SNAP() / _ip() / UDP(sport=1, dport=2)
    text = packet.show_text()
    for expected in ("###[ LLC ]### offset 14, 3 bytes", "dsap           = 0xaa (SNAP)",
                     "ctrl           = 3", "###[ SNAP ]### offset 17, 5 bytes",
                     "OUI            = 0x000000 (Ethernet)", "code           = 0x0800 (IPv4)"):
        assert expected in text, expected
    data = json.loads(json.dumps(packet.to_dict()))
    assert [layer["fields"] for layer in data["layers"][1:3]] == [
        {"dsap": 0xAA, "ssap": 0xAA, "ctrl": 3}, {"OUI": 0, "code": 0x0800}]


def test_show_text_has_every_field_the_seed_prints() -> None:
    text = (_e() / IPv4(src="10.0.0.1", dst="10.0.0.2", ttl=33) / TCP(
        sport=1234, dport=80, seq=7, ack=9, flags="SA") / b"x").show_text()
    for expected in ("dst            = 02:00:00:00:00:02", "src            = 02:00:00:00:00:01",
                     "type           = 0x0800 (IPv4)", "version        = 4",
                     "ihl            = 5 (20 bytes)", "len            = 41",
                     "proto          = 6 (tcp)", "ttl            = 33", "src            = 10.0.0.1",
                     "dst            = 10.0.0.2", "sport          = 1234", "dport          = 80",
                     "seq            = 7", "ack            = 9", "flags          = 0x012 [SA]",
                     "(correct)", "Packet: 55 bytes, link ETHERNET, status ok"):
        assert expected in text, expected
    udp = (_e() / _ip() / UDP(sport=5, dport=6) / b"abc").show_text()
    assert "len            = 11" in udp
    icmp = (_e() / _ip() / ICMP(type=3, code=1) / _ip() / UDP()).show_text()
    assert "type           = 3 (dest-unreach)" in icmp and "code           = 1" in icmp


def test_show_text_reports_problems() -> None:
    broken = bytearray(bytes(_e() / _ip() / UDP() / b"abc"))
    broken[40] ^= 0xFF
    text = parse(bytes(broken)).show_text()
    assert "(incorrect, expected 0x" in text and "!! bad-checksum at byte 40" in text


def test_show_prints(capsys: pytest.CaptureFixture[str]) -> None:
    packet = _e() / _ip() / UDP()
    packet.show()
    packet[UDP].show()
    out = capsys.readouterr().out
    assert out.count("###[ UDP ]###") == 2


def test_hexdump() -> None:
    dump = (_e() / _ip() / UDP(sport=1, dport=2) / b"hello!").hexdump()
    lines = dump.splitlines()
    assert lines[0] == ("0000  02 00 00 00 00 02 02 00  00 00 00 01 08 00 45 00  "
                        "..............E.")
    assert lines[-1].startswith("0020  00 02 00 01 00 02 00 0e") and lines[-1].endswith("hello!")
    assert len(lines) == 3


def test_to_dict_is_json_ready() -> None:
    packet = _e() / IPv4(options=[]) / TCP(options=[("MSS", 1460), ("SAck", (1, 2))]) / b"\xff"
    data = json.loads(json.dumps(packet.to_dict()))
    assert data["length"] == len(packet) and data["link"] == "ETHERNET"
    assert [layer["name"] for layer in data["layers"]] == ["Ether", "IPv4", "TCP", "Raw"]
    tcp = data["layers"][2]
    assert tcp["fields"]["options"] == [["MSS", 1460], ["SAck", [1, 2]], ["EOL", None]]
    assert tcp["fields"]["flags"] == 2 and tcp["checksum"]["ok"] is True
    assert data["layers"][3]["fields"]["load"] == "ff"
    assert data["status"]["kind"] == "ok"
    nd = (_e() / IPv6() / ICMPv6(type=135, tgt="fe80::1",
                                 options=[NDOption.source_lladdr(M1)])).to_dict()
    option = nd["layers"][2]["fields"]["options"][0]
    assert option == {"name": "source-lladdr", "type": 1, "data": "020000000001",
                      "lladdr": "02:00:00:00:00:01"}


def test_layer_delegates_display_to_its_packet() -> None:
    packet = parse(bytes(_e() / _ip() / UDP(sport=1234, dport=5000)))
    assert packet[UDP].summary() == packet.summary()
    assert packet[UDP].to_dict() == packet.to_dict()
    assert packet[UDP].hexdump() == packet.hexdump()
    assert UDP(sport=9).summary() == "UDP sport=9 dport=53 len=8 chksum=0"  # no IP line


def _block(text: str, name: str) -> str:
    """The lines of the first ``###[ name ]###`` block of a show() text."""
    return text.split(f"###[ {name} ]###", 1)[1].split("###[", 1)[0]


def test_icmp_shows_the_second_word_as_its_type_reads_it() -> None:
    redirect = _block((_e() / _ip() / ICMP(type=5, gw="192.0.2.1") / _ip() / UDP())
                      .show_text(), "ICMP")
    assert "gw             = '192.0.2.1'" in redirect
    assert " id " not in redirect and " seq " not in redirect
    frag = _block((_e() / _ip() / ICMP(type=3, code=4, nexthopmtu=1400) / _ip() / UDP())
                  .show_text(), "ICMP")
    assert "nexthopmtu     = 1400" in frag
    echo = _block((_e() / _ip() / ICMP(type=8, id=7, seq=9)).show_text(), "ICMP")
    assert "id             = 7" in echo and "seq            = 9" in echo and "gw" not in echo
    fields = (_e() / _ip() / ICMP(type=5, gw="192.0.2.1") / _ip() / UDP()).to_dict()
    assert fields["layers"][2]["fields"]["gw"] == "192.0.2.1"
    assert "id" not in fields["layers"][2]["fields"]


def test_nd_messages_show_their_flags_and_decoded_options() -> None:
    ra = (_e() / IPv6() / ICMPv6(type=134, chlim=64, M=1, routerlifetime=1800, options=[
        NDOption.source_lladdr(M1), NDOption.prefix_info("2001:db8::", 64),
        NDOption.mtu_option(1500)]))
    text = _block(parse(bytes(ra)).show_text(), "ICMPv6")
    for expected in ("chlim          = 64", "M              = 1", "routerlifetime = 1800",
                     f"source-lladdr {M1}", "prefix-info 2001:db8::/64", "mtu 1500"):
        assert expected in text, (expected, text)
    assert " tgt " not in text and " id " not in text
    na = _block((_e() / IPv6() / ICMPv6(type=136, R=1, S=1, tgt="2001:db8::1")).show_text(),
                "ICMPv6")
    assert "R              = 1" in na and "S              = 1" in na and "tgt" in na
    options = json.loads(json.dumps(parse(bytes(ra)).to_dict()))["layers"][2]["fields"]
    assert options["routerlifetime"] == 1800
    assert options["options"][1]["prefix"] == "2001:db8::"
    assert options["options"][1]["prefixlen"] == 64 and options["options"][2]["mtu"] == 1500
