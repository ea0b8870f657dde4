"""``wirekit rewrite`` against tcprewrite (tcpreplay 4.4.3) on the same input file.

Two known tcprewrite 4.4.3 behaviours are left out of the comparison, and checked apart:
- it sets the Ethernet addresses of every IPv6 frame to 33:33:... (its IPv6 multicast test
  is wrong; fixed upstream in tcpreplay pull request 793), so IPv6 frames compare from the
  IP header on;
- it recomputes every checksum even with no option, so a frame with deliberately bad
  checksums is compared only under --fixcsum (wirekit keeps a bad checksum bad otherwise).
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

import wirekit.packet as w
from tests.support.env import require_tool
from wirekit.pcap import Reader, Writer

ETHERTYPE_IPV6 = b"\x86\xdd"
Rows = list[tuple[bytes, int, int]]


def _frames(seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    frames = []
    for index in range(60):
        ether = w.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        size = rnd.choice([0, 10, 700, 1400, 1600, 3000])
        payload = rnd.randbytes(size)
        if index % 3 == 2:
            ip: w.IPv4 | w.IPv6 = w.IPv6(src=f"2001:db8:{rnd.randrange(4)}::{index + 1:x}",
                                         dst=f"2001:db8:1::{rnd.randrange(1, 9)}",
                                         hlim=rnd.choice([1, 3, 64, 255]))
        else:
            ip = w.IPv4(src=f"10.{rnd.randrange(3)}.{rnd.randrange(256)}.{rnd.randrange(256)}",
                        dst=rnd.choice(["192.168.7.9", "10.1.2.3", "172.20.0.5"]),
                        ttl=rnd.choice([1, 2, 64, 250, 255]), id=index)
        l4 = rnd.choice([w.TCP(sport=rnd.randrange(1, 65536), dport=80, flags="PA", seq=index),
                         w.UDP(sport=rnd.randrange(1, 65536), dport=53)])
        frames.append(bytes(ether / ip / l4 / payload))
    frames.append(bytes(w.Ether() / w.ARP(psrc="10.1.2.3", pdst="10.1.2.4")))
    return frames


def _bad_checksums() -> bytes:
    return bytes(w.Ether() / w.IPv4(src="10.9.9.9", dst="10.1.2.3", chksum=0x1234)
                 / w.TCP(sport=7, dport=8, chksum=0x4321) / b"bad")


def _write(path: Path, frames: list[bytes]) -> Path:
    with Writer(str(path), snaplen=65535) as writer:
        for index, frame in enumerate(frames):
            writer.write(frame, 1_700_000_000_000_000_000 + index * 1000)
    return path


def _records(path: Path) -> list[tuple[bytes, int, int]]:
    with Reader(str(path)) as reader:
        return [(bytes(r.data), r.orig_len, r.timestamp_ns) for r in reader]


def _comparable(frame: bytes) -> bytes:
    return frame[14:] if frame[12:14] == ETHERTYPE_IPV6 else frame


def _run_both(tmp_path: Path, source: Path, options: list[str]) -> tuple[Rows, Rows]:
    tcprewrite = require_tool("tcprewrite")
    ours, theirs = tmp_path / "ours.pcap", tmp_path / "theirs.pcap"
    subprocess.run([sys.executable, "-m", "wirekit", "rewrite", str(source), str(ours),
                    *options], check=True, capture_output=True, timeout=60)
    subprocess.run([tcprewrite, "-i", str(source), "-o", str(theirs), *options], check=True,
                   capture_output=True, timeout=60)
    return _records(ours), _records(theirs)


OPTION_SETS = [
    ["--enet-smac=02:aa:bb:cc:dd:ee", "--enet-dmac=02:11:22:33:44:55"],
    ["--srcipmap=10.0.0.0/8:172.16.0.0/12", "--dstipmap=10.1.2.3/32:10.5.5.5/32"],
    ["--srcipmap=10.1.0.0/16:192.168.0.0/24,10.0.0.0/8:10.200.0.0/16"],
    ["--srcipmap=[2001:db8::/32]:[fd00:1::/48]", "--dstipmap=[2001:db8:1::/64]:[fd00:2::/64]"],
    ["--ttl=7"], ["--ttl=+10"], ["--ttl=-5"], ["--ttl=+250"], ["--ttl=-100"],
    ["--mtu=1000", "--mtu-trunc"], ["--mtu=576", "--mtu-trunc", "--ttl=+1"],
    ["--fixcsum"],
    ["--srcipmap=10.0.0.0/8:172.16.0.0/12", "--ttl=-1", "--fixcsum",
     "--enet-dmac=02:11:22:33:44:55"],
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=" ".join)
def test_same_frames_as_tcprewrite(tmp_path: Path, options: list[str]) -> None:
    source = _write(tmp_path / "in.pcap", _frames(len(options) * 7 + len(options[0])))
    ours, theirs = _run_both(tmp_path, source, options)
    assert len(ours) == len(theirs) == 61
    for index, ((mine, mine_len, mine_ts), (ref, ref_len, ref_ts)) in enumerate(
            zip(ours, theirs, strict=True)):
        assert (_comparable(mine), mine_len, mine_ts) == (_comparable(ref), ref_len, ref_ts), \
            f"frame {index}"


def test_tcprewrite_433_mangles_ipv6_macs_and_we_do_not(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.pcap", _frames(1))
    ours, theirs = _run_both(tmp_path, source, ["--ttl=9"])
    v6 = [i for i, (frame, _, _) in enumerate(ours) if frame[12:14] == ETHERTYPE_IPV6]
    assert v6 and all(ours[i][0][:12] == _frames(1)[i][:12] for i in v6)
    assert all(theirs[i][0][:2] == b"\x33\x33" for i in v6)  # documented above


def test_bad_checksums_stay_bad_unless_fixcsum(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.pcap", [_bad_checksums()])
    ours, theirs = _run_both(tmp_path, source, ["--ttl=9"])
    checks = w.parse(ours[0][0]).verify_checksums()
    assert [check.ok for check in checks] == [False, False]
    assert [check.ok for check in w.parse(theirs[0][0]).verify_checksums()] == [True, True]
    # the error is kept exactly: the same distance from the right value as before
    before = w.parse(_bad_checksums()).verify_checksums()
    assert [(c.stored or 0) - (c.expected or 0) for c in checks] == [
        (c.stored or 0) - (c.expected or 0) for c in before]
    fixed, reference = _run_both(tmp_path, source, ["--ttl=9", "--fixcsum"])
    assert fixed[0][0] == reference[0][0]
