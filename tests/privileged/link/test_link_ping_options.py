"""iputils' ping options (-w -D -O -f -p -Q -M -A -a -n) against the peer namespace.

Every behaviour is checked twice: for its real effect (the bytes on the wire, captured by
tcpdump in the peer namespace; how long a run lasts; what the kernel refuses) and against the
real iputils ``ping`` run in the same namespace with the same arguments, whose output must be
line for line the same once the times are masked.  The peer is silenced with its own
``icmp_echo_ignore_all`` sysctls, which die with the namespace.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.privileged.link.link_support import WIREKIT, frames_of, start, stop, wait_for, wirekit
from tests.support.env import require_tool
from tests.support.netns import NetnsPair

#: ping_group_range values that make wirekit (and iputils) open each kind of socket.
SOCKETS = {"raw": "1 0", "datagram": "0 2147483647"}


def use_socket(netns: NetnsPair, kind: str) -> None:
    netns.run(netns.ns_a, "sysctl", "-qw", f"net.ipv4.ping_group_range={SOCKETS[kind]}")
    report = wirekit(netns, netns.ns_a, "ping", "-c", "1", "--json", netns.ip4_b).stdout
    assert f'"socket": "{kind}"' in report.decode()


def silence_peer(netns: NetnsPair, silent: bool = True) -> None:
    value = "1" if silent else "0"
    netns.run(netns.ns_b, "sysctl", "-qw", f"net.ipv4.icmp_echo_ignore_all={value}",
              f"net.ipv6.icmp.echo_ignore_all={value}")


def masked(text: bytes, *, pipe: bool = False) -> list[str]:
    """Output lines with every time replaced.

    ``pipe`` (floods, adaptive runs) masks the pipe size and the replies received too: there
    the last reply may miss iputils' final wait of twice the longest RTT, in either program.
    """
    out = text.decode()
    out = re.sub(r"time=\d+(\.\d+)? ms", "time=T ms", out)
    out = re.sub(r"time \d+ms", "time Tms", out)
    out = re.sub(r"= [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", "= T/T/T/T ms", out)
    out = re.sub(r"ipg/ewma [\d.]+/[\d.]+ ms", "ipg/ewma T/T ms", out)
    out = re.sub(r"\[\d+\.\d{6}\] ", "[T] ", out)
    if pipe:
        out = re.sub(r"(, )?pipe \d+", "", out)
        out = re.sub(r"\d+ received, [\d.]+% packet loss", "N received, N% packet loss", out)
    return out.split("\n")


def both(netns: NetnsPair, *args: str) -> tuple[subprocess.CompletedProcess[bytes],
                                                 subprocess.CompletedProcess[bytes]]:
    """(wirekit ping ARGS, iputils ping ARGS), both run to completion in ns_a."""
    ours = wirekit(netns, netns.ns_a, "ping", *args, check=False)
    real = netns.run(netns.ns_a, "ping", *args, check=False, timeout=60)
    return ours, real


def assert_same(ours: subprocess.CompletedProcess[bytes],
                real: subprocess.CompletedProcess[bytes], *, pipe: bool = False) -> None:
    assert masked(ours.stdout, pipe=pipe) == masked(real.stdout, pipe=pipe), \
        (ours.stdout, real.stdout)
    assert ours.stderr.decode().splitlines() == real.stderr.decode().splitlines()
    assert ours.returncode == real.returncode


@contextlib.contextmanager
def capture(netns: NetnsPair, path: Path) -> Iterator[None]:
    """tcpdump in the peer namespace, writing every ICMP/ICMPv6 packet to ``path``."""
    require_tool("tcpdump")
    # Immediate mode: without it the last packets wait in a ring block that is not retired yet
    # when tcpdump is stopped, and never reach the file.
    proc = start(netns, netns.ns_b, ["tcpdump", "-i", netns.iface, "-n", "-U", "--immediate-mode",
                                     "-w", str(path), "icmp or icmp6"])
    wait_for(proc, "listening on")
    try:
        yield
    finally:
        stop(proc)


def echo_requests(path: Path) -> list[dict[str, Any]]:
    """The echo requests in a capture, in order: TOS / traffic class, IPv4 DF flag (None for
    IPv6), whether the request was fragmented, and the data (of the first fragment)."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrFragment
    from scapy.layers.l2 import Ether

    found = []
    for frame in frames_of(path):
        packet = Ether(frame)
        if IP in packet and ICMP in packet and packet[ICMP].type == 8:
            flags = int(packet[IP].flags)
            found.append({"family": 4, "tos": packet[IP].tos, "df": bool(flags & 2),
                          "fragment": bool(flags & 1), "data": bytes(packet[ICMP].payload)})
        elif IPv6 in packet and ICMPv6EchoRequest in packet:
            found.append({"family": 6, "tos": packet[IPv6].tc, "df": None,
                          "fragment": IPv6ExtHdrFragment in packet,
                          "data": bytes(packet[ICMPv6EchoRequest].data)})
    return found


@pytest.mark.parametrize("kind", ["raw", "datagram"])
def test_ping_tos_and_pattern_on_the_wire_as_iputils(netns: NetnsPair, tmp_path: Path,
                                                      kind: str) -> None:
    use_socket(netns, kind)
    path = tmp_path / "requests.pcap"
    outputs = []
    with capture(netns, path):
        for target in (netns.ip4_b, netns.ip6_b):
            ours, real = both(netns, "-c", "1", "-n", "-Q", "0x28", "-p", "a1b2c3", "-s", "40",
                              target)
            assert_same(ours, real)
            assert b"1 received" in ours.stdout, ours.stdout
            outputs.append(ours.stdout.decode())
    assert all(text.startswith("PATTERN: 0xa1b2c3\n") for text in outputs), outputs
    requests = echo_requests(path)
    # Per family: ours first, then iputils'; same TOS byte, same data after the timestamp.
    assert [r["family"] for r in requests] == [4, 4, 6, 6], requests
    expected = (bytes.fromhex("a1b2c3") * 14)[16:40]
    for request in requests:
        assert request["tos"] == 0x28
        assert len(request["data"]) == 40 and request["data"][16:] == expected


@pytest.mark.parametrize("target", ["ip4_b", "ip6_b"])
def test_ping_deadline_ends_the_run_in_time(netns: NetnsPair, target: str) -> None:
    address = getattr(netns, target)
    silence_peer(netns)
    proc = start(netns, netns.ns_a, [*WIREKIT, "ping", "-w", "1", "-i", "0.25", address])
    assert proc.stdout is not None
    header = proc.stdout.readline()
    began = time.monotonic()
    out, _err = proc.communicate(timeout=30)
    took = time.monotonic() - began
    assert header.startswith(b"PING ") and proc.returncode == 1
    assert 1.0 <= took < 1.4, took
    # Requests at 0, 0.25, 0.5 and 0.75 s; none answered.
    assert b"4 packets transmitted, 0 received, 100% packet loss" in out, out
    ours, real = both(netns, "-w", "1", "-i", "0.25", address)
    assert_same(ours, real)


def test_ping_deadline_with_count_follows_iputils_exit_rules(netns: NetnsPair) -> None:
    # -c with -w counts replies, not requests: at 5 per second only 5 of 10 fit in a second,
    # so iputils exits 1 although every request was answered.
    ours, real = both(netns, "-c", "10", "-w", "1", "-i", "0.2", netns.ip4_b)
    assert_same(ours, real)
    assert ours.returncode == 1 and b"5 packets transmitted, 5 received, 0%" in ours.stdout
    # Enough replies before the deadline: done at once, exit 0.
    ours, real = both(netns, "-c", "3", "-w", "20", "-i", "0.05", netns.ip6_b)
    assert_same(ours, real)
    assert ours.returncode == 0 and b"3 packets transmitted, 3 received" in ours.stdout
    # A silent peer: requests go on past -c until the deadline.
    silence_peer(netns)
    ours, real = both(netns, "-c", "2", "-w", "1", "-i", "0.3", netns.ip4_b)
    assert_same(ours, real)
    assert b"4 packets transmitted, 0 received" in ours.stdout


def test_ping_outstanding_and_timestamps(netns: NetnsPair) -> None:
    silence_peer(netns)
    for target in (netns.ip4_b, netns.ip6_b):
        before = time.time()
        ours, real = both(netns, "-O", "-D", "-c", "3", "-i", "0.2", "-W", "0.3", target)
        assert_same(ours, real)
        lines = ours.stdout.decode().splitlines()
        late = [line for line in lines if "no answer yet" in line]
        assert [line.split("] ", 1)[1] for line in late] == [
            "no answer yet for icmp_seq=1", "no answer yet for icmp_seq=2"]
        stamps = [float(line[1:line.index("]")]) for line in late]
        assert before < stamps[0] < stamps[1] < time.time()
        assert 0.15 < stamps[1] - stamps[0] < 0.4  # printed as request 3 goes out
    silence_peer(netns, False)
    ours, real = both(netns, "-D", "-O", "-c", "2", "-i", "0.1", netns.ip4_b)
    assert_same(ours, real)
    assert b"no answer yet" not in ours.stdout
    assert re.search(rb"^\[\d+\.\d{6}\] 64 bytes from .* icmp_seq=2 ttl=64 time=",
                     ours.stdout, re.MULTILINE)


def received(done: subprocess.CompletedProcess[bytes]) -> int:
    return int(re.findall(rb"(\d+) received", done.stdout)[0])


def _flood_marks(stdout: bytes) -> str:
    return stdout.decode().split("\n")[1]


@pytest.mark.parametrize("kind", ["raw", "datagram"])
def test_ping_flood_is_bounded_and_prints_dots(netns: NetnsPair, kind: str) -> None:
    use_socket(netns, kind)
    ours, real = both(netns, "-f", "-c", "300", netns.ip4_b)
    assert_same(ours, real, pipe=True)
    for done in (ours, real):
        marks = _flood_marks(done.stdout)
        assert marks.count(".") == 300 and marks.count("\b \b") == received(done) >= 290
        assert marks.replace(".", "").replace("\b \b", "") == ""
        assert b"300 packets transmitted" in done.stdout
    assert re.search(rb"ipg/ewma [\d.]+/[\d.]+ ms", ours.stdout)
    assert int(re.findall(rb"time (\d+)ms", ours.stdout)[0]) < 3000  # far from 1 per second
    # Unanswered: no more than 100 requests per second, then -W.
    silence_peer(netns)
    ours, real = both(netns, "-f", "-c", "20", "-W", "0.3", netns.ip6_b)
    assert_same(ours, real)
    assert _flood_marks(ours.stdout) == "." * 20
    assert int(re.findall(rb"time (\d+)ms", ours.stdout)[0]) >= 180


def test_ping_flood_needs_a_bound_and_the_capability(netns: NetnsPair) -> None:
    unbounded = wirekit(netns, netns.ns_a, "ping", "-f", netns.ip4_b, check=False)
    assert unbounded.returncode == 2 and unbounded.stdout == b""
    assert unbounded.stderr.decode().splitlines() == [
        "wirekit: error: -f needs -c COUNT or -w DEADLINE: it is never unbounded"]
    netns.run(netns.ns_a, "sysctl", "-qw", f"net.ipv4.ping_group_range={SOCKETS['datagram']}")
    drop = ["capsh", "--drop=cap_net_raw,cap_net_admin", "--", "-c"]
    refused = netns.run(netns.ns_a, *drop, f"{sys.executable} -m wirekit ping -f -c 3 "
                        f"{netns.ip4_b}", check=False)
    assert refused.returncode == 77 and refused.stdout == b""
    assert refused.stderr.decode().splitlines() == [
        "wirekit: error: cannot flood; the shortest interval without CAP_NET_RAW is 2 ms"]
    allowed = netns.run(netns.ns_a, *drop, f"{sys.executable} -m wirekit ping -f -i 0.002 "
                        f"-c 5 {netns.ip4_b}", check=False)
    assert allowed.returncode == 0 and b"5 packets transmitted" in allowed.stdout


@pytest.mark.parametrize("kind", ["raw", "datagram"])
def test_ping_mtu_do_fails_locally_like_iputils(netns: NetnsPair, kind: str) -> None:
    use_socket(netns, kind)
    netns.run(netns.ns_a, "ip", "link", "set", netns.iface, "mtu", "1400")
    for target, mtu in ((netns.ip4_b, "mtu=1400"), (netns.ip6_b, "mtu: 1400")):
        ours, real = both(netns, "-M", "do", "-s", "1600", "-c", "2", "-i", "0.1", target)
        assert_same(ours, real)
        assert ours.stderr.decode().splitlines() == [
            f"ping: local error: message too long, {mtu}"] * 2
        assert b"2 packets transmitted, 0 received, +2 errors, 100% packet loss" in ours.stdout
        assert ours.returncode == 1
        # With a deadline the first error ends the run (iputils).
        ours, real = both(netns, "-M", "do", "-s", "1600", "-w", "5", target)
        assert_same(ours, real)
        assert b"1 packets transmitted, 0 received, +1 errors" in ours.stdout
        # A request that fits goes through.
        fits = wirekit(netns, netns.ns_a, "ping", "-M", "do", "-s", "1300", "-c", "1", target)
        assert b"1 received" in fits.stdout


def test_ping_mtu_discovery_sets_df_or_fragments(netns: NetnsPair, tmp_path: Path) -> None:
    for ns in (netns.ns_a, netns.ns_b):
        netns.run(ns, "ip", "link", "set", netns.iface, "mtu", "1400")
    path = tmp_path / "df.pcap"
    with capture(netns, path):
        for mode in ("do", "dont", "probe"):
            wirekit(netns, netns.ns_a, "ping", "-M", mode, "-c", "1", netns.ip4_b)
        # want and dont fragment a request bigger than the MTU; the reply comes back.
        for mode, target in (("want", netns.ip4_b), ("dont", netns.ip6_b)):
            done = wirekit(netns, netns.ns_a, "ping", "-M", mode, "-s", "1600", "-c", "1",
                           target)
            assert b"1608 bytes from" in done.stdout, done.stdout
    requests = echo_requests(path)
    assert [(r["family"], r["df"], r["fragment"]) for r in requests] == [
        (4, True, False), (4, False, False), (4, True, False), (4, False, True),
        (6, None, True)]
    assert [len(r["data"]) for r in requests[:3]] == [56] * 3


def test_ping_adaptive_and_audible(netns: NetnsPair) -> None:
    ours, real = both(netns, "-A", "-c", "10", netns.ip4_b)
    assert_same(ours, real, pipe=True)
    assert b"10 packets transmitted" in ours.stdout and received(ours) >= 9
    assert int(re.findall(rb"time (\d+)ms", ours.stdout)[0]) < 1000  # not one per second
    assert re.search(rb", ipg/ewma [\d.]+/[\d.]+ ms\n$", ours.stdout)
    ours, real = both(netns, "-a", "-c", "1", netns.ip6_b)
    assert_same(ours, real)
    assert re.search(rb"icmp_seq=1 ttl=64 time=[\d.]+ ms\a\n", ours.stdout)
