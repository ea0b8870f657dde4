"""Two network namespaces joined by a veth pair: the privileged tests' private network.

Each namespace holds one end of the veth pair, named ``veth0`` in both (interface names are per
namespace), so nothing is ever added to the host's own namespace.  Deleting a namespace deletes
its veth end and every sysctl set inside it, so cleanup is two ``ip netns del`` calls plus killing
the processes a test started there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

_counter = itertools.count(1)
PREFIX = "wkt"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class NetnsPair:
    """Namespaces ``ns_a`` and ``ns_b``, linked by ``veth0`` in each, addresses up."""

    ns_a: str
    ns_b: str
    index: int
    iface: str = "veth0"
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ip4_a(self) -> str:
        return f"10.231.{self.index % 250}.1"

    @property
    def ip4_b(self) -> str:
        return f"10.231.{self.index % 250}.2"

    @property
    def ip6_a(self) -> str:
        return f"fd00:231:{self.index:x}::1"

    @property
    def ip6_b(self) -> str:
        return f"fd00:231:{self.index:x}::2"

    def mac(self, ns: str) -> str:
        out = self.run(ns, "cat", f"/sys/class/net/{self.iface}/address").stdout
        return out.decode().strip()

    def prefix(self, ns: str) -> list[str]:
        """The command prefix that runs a program inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns]

    def run(self, ns: str, *args: str, check: bool = True, timeout: float = 120,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run a command inside ``ns`` to completion and capture its output.

        With ``check`` a non-zero exit fails with the command's stderr in the message.
        """
        done = subprocess.run([*self.prefix(ns), *args], capture_output=True, timeout=timeout,
                              input=input, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} in {ns} exited {done.returncode}: "
                                 f"{done.stderr.decode(errors='replace').strip()}")
        return done

    def popen(self, ns: str, args: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a background command inside ``ns``; it is killed at cleanup if still alive."""
        proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            [*self.prefix(ns), *args], start_new_session=True, **kwargs)
        self.processes.append(proc)
        return proc

    def stop_processes(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
        self.processes.clear()


def create_pair() -> NetnsPair:
    """Create the two namespaces, the veth pair and their IPv4/IPv6 addresses."""
    index = (os.getpid() * 7 + next(_counter)) % 60000 or 1
    pair = NetnsPair(ns_a=f"{PREFIX}{os.getpid()}-{index}a", ns_b=f"{PREFIX}{os.getpid()}-{index}b",
                     index=index)
    try:
        _ip("netns", "add", pair.ns_a)
        _ip("netns", "add", pair.ns_b)
        _ip("link", "add", "name", pair.iface, "netns", pair.ns_a, "type", "veth",
            "peer", "name", pair.iface, "netns", pair.ns_b)
        ends = ((pair.ns_a, pair.ip4_a, pair.ip6_a), (pair.ns_b, pair.ip4_b, pair.ip6_b))
        for ns, ip4, ip6 in ends:
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{ip4}/24", "dev", pair.iface)
            _ip("-n", ns, "addr", "add", f"{ip6}/64", "dev", pair.iface, "nodad")
            _ip("-n", ns, "link", "set", pair.iface, "up")
        _wait_until_up(pair)
    except BaseException:
        destroy_pair(pair)
        raise
    return pair


def _wait_until_up(pair: NetnsPair, timeout: float = 10.0) -> None:
    """Wait until both veth ends report operational state UP (carrier takes a moment)."""
    deadline = time.monotonic() + timeout
    for ns in (pair.ns_a, pair.ns_b):
        while True:
            out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", pair.iface],
                                 capture_output=True, text=True, check=True, timeout=10).stdout
            if "state UP" in out:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pair.iface} in {ns} did not come up: {out.strip()}")
            time.sleep(0.02)


def destroy_pair(pair: NetnsPair) -> None:
    """Kill the pair's processes and delete both namespaces (and with them the veth pair)."""
    pair.stop_processes()
    for ns in (pair.ns_a, pair.ns_b):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


def remove_stale_namespaces() -> None:
    """Delete namespaces left by an earlier test run whose process no longer exists."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX):].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@contextlib.contextmanager
def netns_pair() -> Iterator[NetnsPair]:
    """Context manager form, for benchmarks and scripts outside pytest."""
    pair = create_pair()
    try:
        yield pair
    finally:
        destroy_pair(pair)
