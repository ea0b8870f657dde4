"""TCP SYN probe: which ports of one host answer open (SYN-ACK), closed (RST) or not at all.

Every port gets a SYN with its own random initial sequence number from a source port that a
bound TCP socket reserves for the run (so no local connection can use it meanwhile).  Replies
are read from a packet socket whose libpcap filter admits only TCP from the target to that port
(and ICMP errors); a reply counts only when its 4-tuple matches and its acknowledgment number
is our ISN + 1 (RFC 9293 section 3.10.7.3), so stray or forged segments cannot fake a result.
After a SYN-ACK the probe sends a RST, as nmap does, so the target frees its half-open entry.

Unanswered ports are sent again (``retries``) and then reported filtered.  ICMP destination
unreachable for a probe also means filtered (a firewall said no).

The kernel RST: the local TCP stack does not know our hand-made SYN, so it answers the SYN-ACK
with a RST of its own too.  That is harmless here; docs/link.md explains it for people who
craft TCP to complete a handshake.
"""

from __future__ import annotations

import ipaddress
import random
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from wirekit.errors import UsageError
from wirekit.link import afpacket
from wirekit.link.bpf import attach_filter, compile_filter
from wirekit.link.interfaces import Interface, get_interface
from wirekit.link.neighbour import resolve_mac, route_to
from wirekit.link.sender import FrameSender

TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10
MAX_PORTS = 65535
#: ``--rate`` in SYNs per second (0: no limit).  The probe sleeps between SYNs and a stop
#: request waits for the sleep, so a slower rate would make Ctrl-C seem ignored.
MIN_RATE, MAX_RATE = 0.1, 1_000_000.0
#: ``--timeout`` in seconds: long enough for any path, short enough that the run ends.
MIN_TIMEOUT, MAX_TIMEOUT = 0.001, 3600.0


def parse_ports(spec: str) -> list[int]:
    """``"22,80,8000-8010"`` -> the ports, in the order given, without repeats."""
    ports: list[int] = []
    seen: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low_text, _, high_text = part.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if high_text else low
        except ValueError:
            raise UsageError(f"bad port range {part!r} (use e.g. 22,80,8000-8010)") from None
        if not 1 <= low <= high <= MAX_PORTS:
            raise UsageError(f"bad port range {part!r}: ports are 1-65535, low before high")
        for port in range(low, high + 1):
            if port not in seen:
                seen.add(port)
                ports.append(port)
    if not ports:
        raise UsageError("no ports given")
    return ports


def pacing_gap(rate: float) -> float:
    """Seconds to wait after each SYN for ``--rate`` SYNs per second (0: no limit)."""
    if rate == 0:
        return 0.0
    # Written so that NaN fails too: every comparison with NaN is false.
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UsageError(f"--rate must be 0 (no limit) or between {MIN_RATE:g} and "
                         f"{MAX_RATE:.0f} SYNs per second, not {rate:g}")
    return 1.0 / rate


def check_timing(timeout: float, retries: int) -> None:
    """A usage error unless ``--timeout`` and ``--retries`` let the probe end."""
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        raise UsageError(f"--timeout must be between {MIN_TIMEOUT:g} and {MAX_TIMEOUT:g} "
                         f"seconds, not {timeout:g}")
    if retries < 0:
        raise UsageError("--retries must not be negative")


@dataclass(frozen=True, slots=True)
class PortResult:
    """The verdict on one port."""

    port: int
    state: str  # open, closed, filtered
    reason: str  # syn-ack, rst, icmp-unreachable, no-response
    rtt_ms: float | None
    attempts: int


@dataclass(slots=True)
class _Pending:
    port: int
    isn: int
    sent_at: float = 0.0
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """Everything about the path to the host, resolved once."""

    host: str
    address: str
    source: str
    interface: Interface
    source_mac: str
    next_hop_mac: str

    @property
    def ipv6(self) -> bool:
        return ":" in self.address


def plan_target(host: str, address: str, iface_name: str | None) -> ProbeTarget:
    """Route, source address and next-hop MAC towards ``address`` (via ``iface_name``)."""
    route = route_to(address, iface_name)
    iface = get_interface(route.ifname, with_ethtool=False)
    family = "inet6" if ":" in address else "inet"
    source = route.source or next((a.address for a in iface.addresses if a.family == family),
                                  None)
    if source is None:
        raise UsageError(f"{iface.name} has no {family} address to probe from")
    mac = resolve_mac(iface, route.next_hop, source=source)
    return ProbeTarget(host, address, source, iface, iface.mac or "00:00:00:00:00:00", mac)


class SynProber:
    """Probe ports of one target from one reserved source port."""

    def __init__(self, target: ProbeTarget, *, timeout: float = 1.0, retries: int = 2,
                 rate: float = 0.0) -> None:
        check_timing(timeout, retries)
        self.gap = pacing_gap(rate)
        self.target = target
        self.timeout = timeout
        self.retries = retries
        self._reservation = self._reserve_port()
        self.sport = int(self._reservation.getsockname()[1])
        self.sender = FrameSender(target.interface.name,
                                  action=f"send SYN probes on {target.interface.name}")
        self.listener = self._listen()

    def close(self) -> None:
        self.listener.close()
        self.sender.close()
        self._reservation.close()

    def _reserve_port(self) -> socket.socket:
        family = socket.AF_INET6 if self.target.ipv6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self.target.source, 0))
        return sock

    def _listen(self) -> socket.socket:
        ip = "ip6" if self.target.ipv6 else "ip"
        icmp = "icmp6" if self.target.ipv6 else "icmp"
        expression = (f"({ip} src host {self.target.address} and tcp dst port {self.sport}) or "
                      f"({icmp} and {ip} dst host {self.target.source})")
        sock = afpacket.open_packet_socket(socket.SOCK_RAW,
                                           action=f"listen on {self.target.interface.name}")
        try:
            attach_filter(sock, compile_filter(expression))
            afpacket.ignore_outgoing(sock)
            afpacket.bind_packet_socket(sock, self.target.interface.index)
        except BaseException:
            sock.close()
            raise
        return sock

    def segment(self, dport: int, seq: int, flags: str, ack: int = 0) -> bytes:
        """An Ethernet frame carrying one TCP segment from our reserved port to ``dport``."""
        from wirekit.packet import TCP, Ether, IPv4, IPv6

        target = self.target
        network = (IPv6(src=target.source, dst=target.address) if target.ipv6
                   else IPv4(src=target.source, dst=target.address, id=random.getrandbits(16)))
        return bytes(Ether(src=target.source_mac, dst=target.next_hop_mac) / network
                     / TCP(sport=self.sport, dport=dport, seq=seq, ack=ack, flags=flags,
                           window=1024))

    def run(self, ports: list[int], stop: Callable[[], bool] = lambda: False) -> list[PortResult]:
        """Probe every port; return one result per port, in the order given."""
        pending = {port: _Pending(port, random.getrandbits(32)) for port in ports}
        results: dict[int, PortResult] = {}
        while pending and not stop():
            self._send_due(pending, results)
            self._collect(pending, results, min(0.05, self.timeout))
        for port, entry in pending.items():  # stopped early: what we know so far
            results.setdefault(port, PortResult(port, "filtered", "no-response", None,
                                                entry.attempts))
        return [results[port] for port in ports]

    def _send_due(self, pending: dict[int, _Pending], results: dict[int, PortResult]) -> None:
        now = time.monotonic()
        for port, entry in list(pending.items()):
            if entry.attempts and now - entry.sent_at < self.timeout:
                continue
            if entry.attempts > self.retries:
                results[port] = PortResult(port, "filtered", "no-response", None,
                                           entry.attempts)
                del pending[port]
                continue
            self.sender.send(self.segment(port, entry.isn, "S"))
            entry.sent_at = time.monotonic()
            entry.attempts += 1
            if self.gap:
                time.sleep(self.gap)

    def _collect(self, pending: dict[int, _Pending], results: dict[int, PortResult],
                 wait: float) -> None:
        poller = select.poll()
        poller.register(self.listener.fileno(), select.POLLIN)
        if not poller.poll(wait * 1000):
            return
        while True:
            try:
                frame = self.listener.recv(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            result = self._verdict(frame, pending, time.monotonic())
            if result is not None:
                results[result.port] = result
                del pending[result.port]

    def _verdict(self, frame: bytes, pending: dict[int, _Pending],
                 now: float) -> PortResult | None:
        from wirekit.packet import TCP, parse

        packet = parse(frame)
        tcp = packet.getlayer(TCP)
        if tcp is None:
            return self._icmp_verdict(packet, pending, now)
        entry = pending.get(int(tcp.sport))
        if entry is None or int(tcp.dport) != self.sport:
            return None
        if int(tcp.ack) != (entry.isn + 1) & 0xFFFFFFFF or not int(tcp.flags) & TCP_ACK:
            return None  # not an answer to our SYN (RFC 9293: ack must cover our ISN)
        rtt = (now - entry.sent_at) * 1e3
        flags = int(tcp.flags)
        if flags & TCP_SYN:
            self.sender.send(self.segment(entry.port, (entry.isn + 1) & 0xFFFFFFFF, "R"))
            return PortResult(entry.port, "open", "syn-ack", rtt, entry.attempts)
        if flags & TCP_RST:
            return PortResult(entry.port, "closed", "rst", rtt, entry.attempts)
        return None

    def _icmp_verdict(self, packet: object, pending: dict[int, _Pending],
                      now: float) -> PortResult | None:
        """An ICMP unreachable quoting one of our SYNs: the port is filtered."""
        from wirekit.packet import TCP

        quoted = packet.getlayer(TCP, nb=1)  # type: ignore[attr-defined]
        if quoted is None or int(quoted.sport) != self.sport:
            return None
        entry = pending.get(int(quoted.dport))
        if entry is None or int(quoted.seq) != entry.isn:
            return None
        return PortResult(entry.port, "filtered", "icmp-unreachable",
                          (now - entry.sent_at) * 1e3, entry.attempts)


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
