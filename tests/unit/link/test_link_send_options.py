"""``wirekit send`` options without a network: bad values, frames written with -w (decoded by
Scapy), the option parsers, and the batching and pacing of :func:`send_units`."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from wirekit.cli import main as cli_main
from wirekit.errors import UsageError
from wirekit.link.craft import (
    Increment,
    IPFields,
    LinkPath,
    TCPOptions,
    VlanTag,
    check_frag_size,
    fragment,
    parse_mac,
    parse_timestamp,
    payload_from,
    stepped,
    udp_frame,
)
from wirekit.link.sender import MAX_BATCH, send_units

MACS = ("--src-mac", "02:00:00:00:00:01", "--dst-mac", "02:00:00:00:00:02")
UDP4 = ("send", "udp", "10.0.0.1", "10.0.0.2", "5000", "9", "nosuch0")
UDP6 = ("send", "udp", "fd00::1", "fd00::2", "5000", "9", "nosuch0")
TCP4 = ("send", "tcp", "10.0.0.1", "10.0.0.2", "40000", "80", "nosuch0")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write(capsys: pytest.CaptureFixture[str], path: Path, *argv: str) -> str:
    code, out, err = _run(capsys, *argv, *MACS, "-w", str(path))
    assert code == 0, err
    return out


# -- bad values: one line, exit 2, nothing created ---------------------------------------------

BAD = [
    ((*UDP4, "--vlan", "5000"), "the VLAN ID must be 0-4094"),
    ((*UDP4, "--vlan", "4095"), "the VLAN ID must be 0-4094"),
    ((*UDP4, "--vlan", "10:8"), "the priority must be 0-7"),
    ((*UDP4, "--vlan", "x"), "the VLAN ID must be"),
    ((*UDP4, "--frag-size", "7"), "must be a multiple of 8"),
    ((*UDP4, "--frag-size", "1001"), "must be a multiple of 8"),
    ((*UDP6, "--frag-size", "0"), "must be a multiple of 8"),
    ((*UDP4, "--frag-size", "65536"), "must be a multiple of 8"),
    ((*UDP4, "--payload", "a", "--payload-hex", "00"), "not --payload and --payload-hex"),
    ((*UDP4, "--payload-size", "4", "--payload", "a"), "not --payload and --payload-size"),
    ((*UDP4, "--payload-pattern", "ab"), "give --payload-size"),
    ((*UDP4, "--payload-size", "4", "--payload-pattern", "zz"), "--payload-pattern is not "
                                                                 "valid hex"),
    ((*UDP4, "--payload-hex", "abc"), "--payload-hex is not valid hex"),
    ((*UDP4, "--rate", "0"), "--rate must be a number greater than 0"),
    ((*UDP4, "--rate", "-5"), "--rate must be a number greater than 0"),
    ((*UDP4, "--interval", "0"), "--interval must be a number greater than 0"),
    ((*UDP4, "--interval", "nan"), "--interval must be a number greater than 0"),
    ((*UDP4, "--rate", "inf"), "--rate must be a number greater than 0"),
    ((*UDP4, "--rate", "5", "--interval", "1"), "give --interval or --rate, not both"),
    ((*UDP4, "--df", "--frag-size", "512", "--payload-size", "2000"), "--df forbids"),
    ((*UDP6, "--df"), "--df is an IPv4 flag"),
    ((*UDP6, "--ip-options", "94040000"), "IPv6 has extension headers"),
    ((*UDP6, "--ip-id", "5"), "it needs --frag-size"),
    ((*UDP6, "--inc", "ip-id"), "it needs --frag-size"),
    ((*UDP4, "--ip-id", "70000"), "does not fit the 16-bit IPv4 identification"),
    ((*UDP4, "--ip-options", "01" * 41), "exceed the 40 bytes"),
    ((*UDP4, "--ip-options", "9404zz"), "--ip-options is not valid hex"),
    ((*UDP4, "--inc", "seq"), "this command can step dport, ip-id, sport"),
    ((*UDP4, "--inc", "sport:x"), "STEP must be an integer"),
    ((*TCP4, "--timestamp", "1:2:3"), "write TSVAL or TSVAL:TSECR"),
    ((*TCP4, "--timestamp", "4294967296"), "write TSVAL or TSVAL:TSECR"),
    ((*UDP4, "--src-mac", "02:00:00:00:00"), "is not a MAC address"),
    ((*UDP4, "--payload-size", "65508"), "over the 65535 its length field can say"),
    ((*UDP6, "--payload-size", "65528"), "over the 65575 its length field can say"),
    ((*UDP4, "--ip-options", "07270400" + "00" * 36, "--frag-size", "8", "--payload-size",
      "64"), "--frag-size 8: mtu"),
    # str.isdigit() takes "²", which int() refuses: these were exit 70
    ((*UDP4, "--vlan", "\u00b2"), "the VLAN ID must be"),
    ((*UDP4, "--vlan", "1:\u00b2"), "the priority must be 0-7"),
    ((*TCP4, "--timestamp", "\u00b2"), "write TSVAL or TSVAL:TSECR"),
    # a payload no datagram holds: MemoryError (exit 70), /dev/zero: a hang
    ((*UDP4, "--payload-size", "99999999999999999"), "an IP datagram holds at most 65535"),
    ((*UDP4, "--payload-file", "/dev/zero"), "larger than the 65535 bytes"),
    # -w stamped datagram k at k * interval: an OverflowError (exit 70)
    ((*UDP4, "--interval", "1e300", "-c", "2"), "at most 10000000 s between datagrams"),
    ((*UDP4, "--rate", "1e-300", "-c", "2"), "at most 10000000 s between datagrams"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_values_are_one_line_usage_errors(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path, argv: tuple[str, ...],
                                              message: str) -> None:
    target = tmp_path / "never.pcap"
    code, out, err = _run(capsys, *argv, *MACS[2:] if "--src-mac" in argv else MACS,
                          "-w", str(target))
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirekit: error: "), err
    assert message in lines[0]
    assert "Traceback" not in err and not target.exists()


def test_range_errors_of_plain_numbers_are_clicks(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    for option, value in (("--tos", "256"), ("--tos", "0xzz"), ("--mss", "70000"),
                          ("--wscale", "256"), ("-c", "0")):
        code, _, err = _run(capsys, *TCP4, *MACS, "-w", str(tmp_path / "x.pcap"), option, value)
        assert code == 2 and f"'{option}" in err and "Traceback" not in err


def test_an_error_after_the_first_datagrams_leaves_no_file(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    """Datagram k is stamped k * interval: the 430th is past 2106, which pcap cannot say; the
    file of the first 429 was left behind."""
    target = tmp_path / "late.pcap"
    code, _, err = _run(capsys, *UDP4, *MACS, "-w", str(target), "--interval", "1e7", "-c",
                        "1000")
    assert code == 2 and "does not fit the pcap format" in err and "Traceback" not in err
    assert not target.exists()


def test_bytes_that_are_not_utf8_go_out_as_given(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    """Command-line bytes that are not UTF-8 reach Python as surrogates: --payload and an
    offline interface name (pcapng if_name) were a UnicodeEncodeError, exit 70."""
    from wirekit.pcap import Reader

    target = tmp_path / "raw.pcapng"
    argv = ("send", "udp", "10.0.0.1", "10.0.0.2", "5000", "9", "x\udcff", *MACS)
    code, _, err = _run(capsys, *argv, "--payload", "a\udcfe", "-w", str(target))
    assert code == 0, err
    with Reader(str(target)) as reader:
        (record,) = list(reader)
    assert bytes(record.data).endswith(b"a\xfe")


def test_offline_without_the_macs_names_them(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    code, _, err = _run(capsys, *UDP4, "-w", str(tmp_path / "x.pcap"))
    assert code == 2 and "give --src-mac and --dst-mac" in err
    code, _, err = _run(capsys, "send", "arp", "nosuch0", "--pdst", "10.0.0.2", "-w",
                        str(tmp_path / "x.pcap"))
    assert code == 2 and "give --psrc and --src-mac" in err


# -- frames written with -w, decoded by Scapy --------------------------------------------------

def _scapy(path: Path) -> list[object]:
    from scapy.utils import rdpcap

    return list(rdpcap(str(path)))


def test_written_tcp_frame_carries_every_header_option(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Dot1Q, Ether

    path = tmp_path / "syn.pcap"
    out = _write(capsys, path, *TCP4, "--vlan", "100:5", "--tos", "0xb8", "--ttl", "3",
                 "--ip-id", "0x1234", "--df", "--ip-options", "94040000", "--mss", "1460",
                 "--sack-perm", "--timestamp", "7:9", "--wscale", "7", "--flags", "S",
                 "--seq", "11", "--payload", "hi")
    assert out.startswith("wrote 1 frame (84 bytes each) to ")
    (packet,) = _scapy(path)
    assert isinstance(packet, Ether)
    assert (packet.src, packet.dst) == ("02:00:00:00:00:01", "02:00:00:00:00:02")
    tag = packet[Dot1Q]
    assert (tag.vlan, tag.prio, tag.type) == (100, 5, 0x0800)
    ip = packet[IP]
    assert (ip.tos, ip.ttl, ip.id, str(ip.flags), ip.ihl) == (0xB8, 3, 0x1234, "DF", 6)
    assert bytes(ip)[20:24] == bytes.fromhex("94040000")
    tcp = packet[TCP]
    assert tcp.options == [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (7, 9)),
                           ("NOP", None), ("WScale", 7)]
    assert (tcp.seq, bytes(tcp.payload)) == (11, b"hi")
    rebuilt = Ether(bytes(packet))  # Scapy agrees with every checksum
    del rebuilt[IP].chksum, rebuilt[TCP].chksum
    assert Ether(bytes(rebuilt))[IP].chksum == ip.chksum
    assert Ether(bytes(rebuilt))[TCP].chksum == tcp.chksum


@pytest.mark.parametrize("family", [4, 6])
def test_written_fragments_reassemble_in_scapy(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, family: int) -> None:
    from scapy.layers.inet import UDP, defragment
    from scapy.layers.inet6 import IPv6ExtHdrFragment, defragment6

    path = tmp_path / "frags.pcap"
    command = UDP4 if family == 4 else UDP6
    out = _write(capsys, path, *command, "--payload-size", "3001", "--payload-pattern", "c0de",
                 "--frag-size", "1232", "-c", "2", "--inc", "ip-id", "--ip-id", "40")
    assert out.startswith("wrote 6 frames (2 datagrams, 3 fragments each, ")
    assert out.rstrip().endswith("UDP, length 3001")  # the datagram, reassembled
    packets = _scapy(path)
    expected = (bytes.fromhex("c0de") * 1501)[:3001]
    if family == 4:
        sizes = [len(p["IP"].payload) for p in packets]  # type: ignore[index]
        assert sizes == [1232, 1232, 545] * 2
        assert [p["IP"].id for p in packets] == [40, 40, 40, 41, 41, 41]  # type: ignore[index]
        whole = defragment(packets)  # type: ignore[no-untyped-call]
        assert [bytes(p[UDP].payload) for p in whole] == [expected, expected]
    else:
        fragments = [p[IPv6ExtHdrFragment] for p in packets]  # type: ignore[index]
        assert [f.id for f in fragments] == [40, 40, 40, 41, 41, 41]
        assert [len(f.payload) for f in fragments] == [1232, 1232, 545] * 2
        whole = defragment6(packets[:3])  # type: ignore[no-untyped-call]
        assert bytes(whole[UDP].payload) == expected


def test_written_timestamps_follow_the_rate(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    from wirekit.pcap import Reader

    path = tmp_path / "paced.pcapng"
    _write(capsys, path, *UDP4, "-c", "4", "--rate", "3", "--inc", "sport")
    with Reader(str(path)) as reader:
        records = list(reader)
    stamps = [record.timestamp_ns for record in records]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [333_333_333] * 3
    assert [int.from_bytes(r.data[34:36], "big") for r in records] == [5000, 5001, 5002, 5003]
    with path.open("rb") as handle:
        assert handle.read(4) == b"\x0a\x0d\x0d\x0a"


def test_written_arp_raw_and_icmp(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP
    from scapy.layers.l2 import ARP, Dot1Q

    arp_path, raw_path, icmp_path = (tmp_path / name for name in ("a.pcap", "r.pcap", "i.pcap"))
    code, _, err = _run(capsys, "send", "arp", "nosuch0", "--pdst", "10.0.0.2", "--psrc",
                        "10.0.0.1", "--src-mac", "02:00:00:00:00:01", "--vlan", "3",
                        "-w", str(arp_path))
    assert code == 0, err
    (arp,) = _scapy(arp_path)
    assert arp[Dot1Q].vlan == 3 and arp[ARP].hwsrc == "02:00:00:00:00:01"  # type: ignore[index]
    assert arp.dst == "ff:ff:ff:ff:ff:ff"  # type: ignore[attr-defined]
    frame = "ffffffffffff02000000000188b5" + "00" * 46
    code, _, err = _run(capsys, "send", "raw", "nosuch0", frame, "-c", "2", "-w", str(raw_path))
    assert code == 0, err
    assert [bytes(p) for p in _scapy(raw_path)] == [bytes.fromhex(frame)] * 2  # type: ignore
    _write(capsys, icmp_path, "send", "icmp", "10.0.0.1", "10.0.0.2", "nosuch0", "-c", "3",
           "--id", "9", "--inc", "seq:2", "--payload-hex", "dead beef")
    assert [(p[ICMP].id, p[ICMP].seq, bytes(p[ICMP].payload))  # type: ignore[index]
            for p in _scapy(icmp_path)] == [(9, s, b"\xde\xad\xbe\xef") for s in (0, 2, 4)]


def test_write_to_stdout_keeps_the_report_on_stderr(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wirekit", *UDP4, *MACS, "-w", "-",
                           "--payload", "x"], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")  # a pcap file
    assert done.stderr.startswith(b"wrote 1 frame (43 bytes each) to -")


def test_help_shows_the_option_groups_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command, extra in (("tcp", "--timestamp"), ("udp", "--frag-size"), ("icmp", "--ip-id"),
                           ("arp", "--vlan"), ("raw", "--rate")):
        code, out, _ = _run(capsys, "send", command, "--help")
        assert code == 0
        assert extra in out and "Examples:" in out and "--write" in out


# -- the parsers and builders ------------------------------------------------------------------

def test_vlan_timestamp_mac_and_increment_parsers() -> None:
    assert VlanTag.parse("4094") == VlanTag(4094, 0)
    assert VlanTag.parse("0:7") == VlanTag(0, 7)
    assert parse_timestamp("5") == (5, 0) and parse_timestamp("1:4294967295") == (1, 2**32 - 1)
    assert parse_mac("02AABBCCDDEE", "--src-mac") == "02:aa:bb:cc:dd:ee"
    assert parse_mac("02-aa-bb-cc-dd-ee", "--src-mac") == "02:aa:bb:cc:dd:ee"
    assert Increment.parse("seq:0x10", ["seq"]) == Increment("seq", 16)
    increments = (Increment("sport", 1), Increment("sport", 10), Increment("seq", -1))
    assert stepped(65530, increments, "sport", 1, 16) == 5  # 65530 + 11, wrapped
    assert stepped(0, increments, "seq", 2, 32) == 2**32 - 2
    assert stepped(7, increments, "dport", 5, 16) == 7


def test_tcp_option_layouts_are_linuxs() -> None:
    assert TCPOptions().encode() == []
    assert TCPOptions(mss=1460, wscale=7, sack_perm=True, timestamp=(1, 0)).encode() == [
        ("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]
    assert TCPOptions(timestamp=(1, 2)).encode() == [("NOP", None), ("NOP", None),
                                                     ("Timestamp", (1, 2))]
    assert TCPOptions(sack_perm=True).encode() == [("NOP", None), ("NOP", None),
                                                   ("SAckOK", b"")]


def test_payload_rules(tmp_path: Path) -> None:
    source = tmp_path / "p.bin"
    source.write_bytes(b"\x01\x02")
    assert payload_from() == b""
    assert payload_from(file=source) == b"\x01\x02"
    assert payload_from(size=5) == bytes(5)
    assert payload_from(size=5, pattern="0102") == b"\x01\x02\x01\x02\x01"
    assert payload_from(size=0, pattern="ff") == b""
    with pytest.raises(UsageError, match="not --payload-hex and --payload-file"):
        payload_from(hex_text="00", file=source)


def test_frag_size_limits_every_fragment_even_with_uncopied_options() -> None:
    from wirekit.packet import IPv4, parse

    path = LinkPath(None, "02:00:00:00:00:01", "02:00:00:00:00:02", None)
    assert check_frag_size(8) == 8 and check_frag_size(65528) == 65528
    # Record route (7) is not copied: the first fragment holds it, the others do not.
    fields = IPFields(options=bytes.fromhex("070b04") + bytes(8))
    packet = udp_frame(path, "10.0.0.1", "10.0.0.2", 1, 2, payload=bytes(1000), ip=fields)
    pieces = [parse(frame)[IPv4] for frame in fragment(packet, 256)]
    data = [piece.len - piece.ihl * 4 for piece in pieces]
    assert max(data) <= 256 and sum(data) == 1008
    assert [piece.ihl for piece in pieces] == [8, 5, 5, 5]
    assert data == [240, 256, 256, 256]
    assert data[0] < 256  # the first fragment makes room for the option
    assert len(fragment(packet, 2048)) == 1  # a datagram that fits is sent whole


# -- batching and pacing -----------------------------------------------------------------------

class FakeSender:
    """Records each send_many call (the frames of one sendmmsg batch) and when it came."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[list[bytes]] = []
        self.times: list[float] = []
        self.clock = clock

    def send_many(self, frames: Sequence[bytes | bytearray | memoryview]) -> int:
        self.calls.append([bytes(frame) for frame in frames])
        self.times.append(self.clock.now if self.clock is not None else 0.0)
        return len(frames)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_unpaced_units_are_batched_and_never_split() -> None:
    sender = FakeSender()
    assert send_units(sender, [[b"a"]] * 5) == 5
    assert [len(call) for call in sender.calls] == [5]
    sender = FakeSender()
    assert send_units(sender, ([bytes([n % 256])] for n in range(3000))) == 3000
    assert [len(call) for call in sender.calls] == [MAX_BATCH, MAX_BATCH, 3000 - 2 * MAX_BATCH]
    sender = FakeSender()
    assert send_units(sender, [[b"1", b"2", b"3"]] * 400) == 400  # 3 fragments each
    assert [len(call) for call in sender.calls] == [1023, 177]


def test_paced_units_follow_an_absolute_schedule() -> None:
    clock = FakeClock()
    sender = FakeSender(clock)
    sent = send_units(sender, [[b"x"]] * 4, interval=0.25, clock=clock, sleep=clock.sleep)
    assert sent == 4
    assert [len(call) for call in sender.calls] == [1, 1, 1, 1]
    assert sender.times == pytest.approx([100.0, 100.25, 100.5, 100.75])
    assert max(clock.slept) <= 0.05 + 1e-9  # short sleeps: the stop flag is seen quickly


def test_a_late_wake_up_sends_every_due_unit_at_once() -> None:
    clock = FakeClock()
    sender = FakeSender(clock)

    def units() -> list[list[bytes]]:
        return [[b"x"]] * 10

    def slow_sleep(seconds: float) -> None:
        clock.sleep(seconds + 0.3)  # the scheduler wakes us 300 ms late

    send_units(sender, units(), interval=0.1, clock=clock, sleep=slow_sleep)
    assert sum(len(call) for call in sender.calls) == 10
    assert len(sender.calls) < 10  # units that fell due together went in one batch


def test_stop_ends_the_run_and_counts_what_went() -> None:
    clock = FakeClock()
    sender = FakeSender(clock)
    sent = send_units(sender, [[b"x"]] * 100, interval=0.1, clock=clock, sleep=clock.sleep,
                      stop=lambda: clock.now >= 100.35)
    assert sent == 4 == sum(len(call) for call in sender.calls)
