"""Helpers for the raw-socket tests: run wirekit and its peers inside the netns fixture."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.netns import NetnsPair

WIREKIT = [sys.executable, "-m", "wirekit"]
#: Children that get their own copy of the environment run wirekit from this checkout.
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}


def wirekit(pair: NetnsPair, ns: str, *args: str, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run a wirekit command to completion inside ``ns``."""
    return pair.run(ns, *WIREKIT, *args, check=check, timeout=timeout)


def start(pair: NetnsPair, ns: str, args: list[str]) -> subprocess.Popen[bytes]:
    """Start a long-running command inside ``ns`` with its output piped."""
    return pair.popen(ns, args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)


def wait_for(proc: subprocess.Popen[bytes], text: str, timeout: float = 15.0) -> bytes:
    """Read the process's stderr until ``text`` shows up; fail with what it said otherwise."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise AssertionError(f"never saw {text!r}; stderr so far: {seen.decode()!r}")
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                time.sleep(0.01)
            seen += chunk
    return seen


def stop(proc: subprocess.Popen[bytes], signum: int = signal.SIGINT,
         timeout: float = 30.0) -> tuple[bytes, bytes, int]:
    """Signal a process, wait for it, and return (stdout, stderr, exit code)."""
    if proc.poll() is None:
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=timeout)
    return out, err, proc.returncode


def frames_of(path: Path) -> list[bytes]:
    """The frames of a capture file as an independent reader (Scapy) sees them."""
    from scapy.utils import RawPcapNgReader, RawPcapReader

    with path.open("rb") as handle:
        magic = handle.read(4)
    reader_class = RawPcapNgReader if magic == b"\x0a\x0d\x0d\x0a" else RawPcapReader
    with reader_class(str(path)) as reader:
        return [bytes(data) for data, _meta in reader]


def tshark_count(path: Path) -> int:
    """How many packets tshark reads from ``path`` (it must read the file without error)."""
    done = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return len([line for line in done.stdout.splitlines() if line.strip()])


def captured_count(stderr: bytes) -> int:
    """The N of "N packets captured" in wirekit's (or tcpdump's) closing lines."""
    for line in stderr.decode().splitlines():
        words = line.split()
        if len(words) >= 3 and words[1].startswith("packet") and words[2] == "captured":
            return int(words[0])
    raise AssertionError(f"no 'packets captured' line in {stderr.decode()!r}")


#: An echo server for TCP over IPv4 and IPv6 and a UDP sink, run in one namespace.
SERVER = """
import socket, sys, threading
port = int(sys.argv[1])
def bound(family, kind, host):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    return s
def tcp(family, host):
    s = bound(family, socket.SOCK_STREAM, host)
    s.listen(8)
    while True:
        c, _ = s.accept()
        data = c.recv(4096)
        c.sendall(data)
        c.close()
def udp(family, host):
    s = bound(family, socket.SOCK_DGRAM, host)
    while True:
        data, peer = s.recvfrom(4096)
        s.sendto(data, peer)
for args in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=tcp, args=args, daemon=True).start()
    threading.Thread(target=udp, args=args, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

#: The client side: a TCP exchange and a UDP exchange with each address given.
CLIENT = """
import socket, sys, time
port = int(sys.argv[1])
for host in sys.argv[2:]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_connection((host, port), timeout=5) as c:
        c.sendall(b"hello over tcp " + host.encode())
        c.recv(4096)
    with socket.socket(family, socket.SOCK_DGRAM) as u:
        u.settimeout(5)
        for n in range(3):
            u.sendto(b"datagram %d" % n, (host, port))
            u.recvfrom(4096)
    time.sleep(0.05)
"""


def start_echo_server(pair: NetnsPair, ns: str, port: int) -> subprocess.Popen[bytes]:
    """Start :data:`SERVER` in ``ns`` and wait until it listens."""
    proc = pair.popen(ns, [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    assert ready and proc.stdout.readline().strip() == b"ready"
    return proc


def mixed_traffic(pair: NetnsPair, port: int) -> None:
    """TCP, UDP, ICMP, ICMPv6, ARP and neighbour discovery between the two namespaces."""
    for ns in (pair.ns_a, pair.ns_b):
        pair.run(ns, "ip", "neigh", "flush", "dev", pair.iface)
    pair.run(pair.ns_b, "ping", "-c", "2", "-i", "0.1", pair.ip4_a)
    pair.run(pair.ns_b, "ping", "-6", "-c", "2", "-i", "0.1", pair.ip6_a)
    pair.run(pair.ns_b, sys.executable, "-c", CLIENT, str(port), pair.ip4_a, pair.ip6_a)
    pair.run(pair.ns_a, "ping", "-c", "1", pair.ip4_b)
