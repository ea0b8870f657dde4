"""The sans-I/O half of ``wirekit rewrite``: option parsing and edits on one packet."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

import wirekit.packet as w
from wirekit.errors import UsageError
from wirekit.pcap import Reader, Writer
from wirekit.rewrite import Rewrite, TtlEdit, parse_address_maps, parse_ttl


def test_address_maps_keep_the_host_bits_of_the_target_prefix() -> None:
    (pair,) = parse_address_maps("10.0.0.0/8:172.16.0.0/12")
    assert str(pair.apply(ipaddress.ip_address("10.1.2.3"))) == "172.17.2.3"
    assert pair.apply(ipaddress.ip_address("11.1.2.3")) is None
    assert pair.apply(ipaddress.ip_address("2001:db8::1")) is None
    (host,) = parse_address_maps("10.1.2.3/32:10.5.5.5/32")
    assert str(host.apply(ipaddress.ip_address("10.1.2.3"))) == "10.5.5.5"


def test_ipv6_maps_are_bracketed_and_the_first_match_wins() -> None:
    maps = parse_address_maps("[2001:db8:1::/48]:[fd00::/16], [2001:db8::/32]:[fd01::/32]")
    first = maps[0].apply(ipaddress.ip_address("2001:db8:1::5"))
    assert str(first) == "fd00:db8:1::5"  # host bits: all but the /16 prefix
    assert str(maps[1].apply(ipaddress.ip_address("2001:db8:2::5"))) == "fd01:0:2::5"


@pytest.mark.parametrize("text", ["10.0.0.0/8", "10.0.0.0/8:zzz", "[2001:db8::/32]",
                                  "10.0.0.0/8:[fd00::/8]", ",", "[::/0]-[::/0]"])
def test_bad_maps_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_address_maps(text)


@pytest.mark.parametrize(("text", "edit", "results"), [
    ("7", TtlEdit("set", 7), [7, 7, 7]),
    ("+10", TtlEdit("add", 10), [11, 74, 255]),
    ("-5", TtlEdit("sub", 5), [1, 59, 245]),
])
def test_ttl_edits_stay_within_1_and_255(text: str, edit: TtlEdit, results: list[int]) -> None:
    assert parse_ttl(text) == edit
    assert [edit.apply(ttl) for ttl in (1, 64, 250)] == results


@pytest.mark.parametrize("text", ["0", "256", "+256", "x", "", "+-1", "1.5", "\u00b2", "+\u00b2"])
def test_bad_ttls_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--ttl"):
        parse_ttl(text)


def test_bad_mac_and_mtu_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="MAC"):
        Rewrite.from_options(enet_dmac="02:00:00:00:00")
    with pytest.raises(UsageError, match="--mtu"):
        Rewrite.from_options(mtu=60)


def test_edits_update_checksums_and_leave_other_frames_alone() -> None:
    edit = Rewrite.from_options(srcipmap="10.0.0.0/8:192.168.0.0/16", ttl="-1",
                                enet_smac="02-AA-BB-CC-DD-EE")
    frame = bytes(w.Ether() / w.IPv4(src="10.1.2.3", dst="10.9.9.9") / w.TCP() / b"x")
    pkt = edit.apply(w.parse(frame))
    assert (pkt[w.IPv4].src, pkt[w.IPv4].dst, pkt[w.IPv4].ttl) == ("192.168.2.3", "10.9.9.9", 63)
    assert pkt[w.Ether].src == "02:aa:bb:cc:dd:ee"
    assert all(check.ok for check in pkt.verify_checksums())
    arp = w.parse(bytes(w.Ether() / w.ARP(psrc="10.1.2.3")))
    assert edit.apply(arp)[w.ARP].psrc == "10.1.2.3"  # tcprewrite maps IP headers only


def test_a_cut_packet_says_its_new_length() -> None:
    edit = Rewrite.from_options(mtu=576, mtu_trunc=True)
    frame = bytes(w.Ether() / w.IPv6(src="::1", dst="::2") / w.UDP() / bytes(1000))
    cut = edit.apply(w.parse(frame))
    assert len(bytes(cut)) == 14 + 576 and cut[w.IPv6].plen == 536
    assert cut[w.UDP].len == 1008  # the transport keeps its length, as tcprewrite leaves it
    assert cut[w.UDP].verify_checksum() is not None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wirekit", "rewrite", *args],
                          check=False, capture_output=True, text=True, timeout=60)


def test_cli_copies_pcapng_metadata_and_reports(tmp_path: Path) -> None:
    source, target = tmp_path / "in.pcapng", tmp_path / "out.pcapng"
    with Writer(str(source), interface_name="eth7") as writer:
        writer.write(bytes(w.Ether() / w.IPv4(src="10.0.0.1") / w.UDP()), 5_000_123_000,
                     comment="first")
        writer.write(bytes(w.Ether() / w.ARP()), 6_000_000_000)
    done = _cli(str(source), str(target), "-S", "10.0.0.0/8:10.9.0.0/16")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"2 frames written to {target}, 1 edited"
    with Reader(str(target)) as reader:
        records = list(reader)
        assert reader.interfaces[0].name == "eth7"
        assert [r.timestamp_ns for r in records] == [5_000_123_000, 6_000_000_000]
        assert records[0].comment == "first"
        assert records[0].packet[w.IPv4].src == "10.9.0.1"


@pytest.mark.parametrize(("args", "message"), [
    (["--ttl", "0"], "invalid --ttl '0'"),
    (["-S", "10.0.0.0/8"], "is not FROM:TO"),
    (["--enet-dmac", "nope"], "is not a MAC address"),
    (["--mtu", "20"], "'--mtu'"),
])
def test_cli_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "in.pcap"
    with Writer(str(source)) as writer:
        writer.write(bytes(w.Ether() / w.IPv4() / w.UDP()), 1)
    done = _cli(str(source), str(tmp_path / "out.pcap"), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out.pcap").exists()


def test_cli_refuses_to_overwrite_its_input_and_reads_only_captures(tmp_path: Path) -> None:
    source = tmp_path / "in.pcap"
    with Writer(str(source)) as writer:
        writer.write(bytes(w.Ether()), 1)
    same = _cli(str(source), str(source), "--ttl", "5")
    assert same.returncode == 2 and "the same file" in same.stderr
    text = tmp_path / "notes.txt"
    text.write_text("not a capture\n")
    bad = _cli(str(text), str(tmp_path / "out.pcap"))
    assert bad.returncode not in (0, 70) and len(bad.stderr.strip().splitlines()) == 1
    missing = _cli(str(tmp_path / "nope.pcap"), str(tmp_path / "out.pcap"))
    assert missing.returncode not in (0, 70) and "Traceback" not in missing.stderr


def test_cli_leaves_no_partial_output_after_a_damaged_record(tmp_path: Path) -> None:
    """The header and the first frame are copied before the damaged record is found: OUT was
    left behind, half-written, after the error."""
    import struct

    source, target = tmp_path / "in.pcap", tmp_path / "out.pcap"
    with Writer(str(source), snaplen=65535) as writer:
        writer.write(bytes(w.Ether() / w.IPv4() / w.UDP()), 1)
    with source.open("ab") as stream:  # a record claiming 4 GiB of data
        stream.write(struct.pack("<IIII", 1, 0, 0xFFFFFFFF, 0xFFFFFFFF) + bytes(60))
    done = _cli(str(source), str(target), "--ttl", "5")
    assert done.returncode == 4 and "damaged pcap record" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not target.exists()
