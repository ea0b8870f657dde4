"""Test parameters and results, and their iperf3 JSON forms.

The keys are iperf3 3.12's (``send_parameters``/``get_parameters`` and
``send_results``/``get_results`` in ``src/iperf_api.c``).  iperf3 ignores keys it does not know,
which is how wirekit adds its own (``wirekit_rtt``) without breaking a real iperf3 peer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from wirekit.errors import RemoteProtocolError, UsageError

#: iperf3's defaults (src/iperf.h): 128 KiB TCP blocks, 1 Mbit/s (1024*1024) for UDP.
DEFAULT_TCP_BLOCK = 128 * 1024
DEFAULT_UDP_RATE = 1024 * 1024
#: Largest UDP payload (65535 - 8 UDP - 20 IPv4 header bytes), iperf3's MAX_UDP_BLOCKSIZE.
MAX_UDP_BLOCK = 65507
#: Smallest UDP block: the 16-byte header with 64-bit counters (12 with 32-bit).
MIN_UDP_BLOCK = 16
#: The largest TCP block iperf3 accepts (MAX_BLOCKSIZE, 1 MiB).
MAX_TCP_BLOCK = 1024 * 1024
MAX_STREAMS = 128
#: iperf3 reports "unknown" (-1) as an unsigned 64-bit value.
_UNSIGNED_MINUS_ONE = 2**64 - 1

T = TypeVar("T")

_SUFFIX = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)\s*$")


def parse_size(text: str, *, base: int = 1024) -> int:
    """``128K``, ``1.5M``, ``10G`` -> an int; iperf3 uses 1024 for sizes and 1000 for rates."""
    match = _SUFFIX.match(text)
    if match is None:
        raise UsageError(f"not a number with an optional K/M/G/T suffix: {text!r}")
    number, suffix = float(match.group(1)), match.group(2).upper()
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[suffix]
    return int(number * base**power)


def parse_rate(text: str) -> int:
    """A bit rate like ``100M`` (bits per second, 1000-based); ``0`` means unlimited."""
    return parse_size(text, base=1000)


@dataclass(frozen=True, slots=True)
class TestParams:
    """What the client asks for; the server runs the mirror image of it."""

    __test__ = False  # not a pytest test class, despite the name

    udp: bool = False
    duration: float = 10.0
    bytes: int = 0
    blocks: int = 0
    parallel: int = 1
    reverse: bool = False
    bidirectional: bool = False
    length: int = DEFAULT_TCP_BLOCK
    bandwidth: int = 0
    omit: float = 0.0
    window: int = 0
    congestion: str = ""
    mss: int = 0
    nodelay: bool = False
    tos: int = 0
    udp_counters_64bit: bool = False
    pacing_timer: int = 1000
    client_version: str = "3.12"
    #: ``--get-server-output``: the server adds its own output to its results (iperf3's
    #: ``server_output_text``, or ``server_output_json`` from a server started with -J).
    get_server_output: bool = False
    wirekit_rtt: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def validate(self) -> TestParams:
        """Sanity checks shared by the CLI (UsageError) and the server (the peer's fault)."""
        problems = self.problems()
        if problems:
            raise UsageError("; ".join(problems))
        return self

    def problems(self) -> list[str]:
        found = []
        if not 1 <= self.parallel <= MAX_STREAMS:
            found.append(f"parallel streams must be 1..{MAX_STREAMS}")
        if self.udp and not MIN_UDP_BLOCK <= self.length <= MAX_UDP_BLOCK:
            found.append(f"UDP length must be {MIN_UDP_BLOCK}..{MAX_UDP_BLOCK}")
        if not self.udp and not 1 <= self.length <= MAX_TCP_BLOCK:
            found.append(f"TCP length must be 1..{MAX_TCP_BLOCK}")
        if self.duration < 0 or self.omit < 0 or self.bytes < 0 or self.bandwidth < 0:
            found.append("time, omit, bytes and bandwidth cannot be negative")
        # No duration, bytes or blocks is iperf3's "-t 0": run until the client is interrupted
        # (iperf3's own client sends -t 0.5 as 0 as well).  The server still drops a test
        # that moves nothing for its idle timeout.
        return found

    @property
    def protocol_name(self) -> str:
        return "UDP" if self.udp else "TCP"

    def to_json(self) -> dict[str, Any]:
        """The parameters document, in the key order iperf3 3.12 sends."""
        doc: dict[str, Any] = {"udp" if self.udp else "tcp": True, "omit": _num(self.omit),
                               "time": _num(self.duration), "num": self.bytes,
                               "blockcount": self.blocks, "parallel": self.parallel}
        optional: list[tuple[str, Any, bool]] = [
            ("reverse", True, self.reverse), ("bidirectional", True, self.bidirectional),
            ("window", self.window, self.window > 0), ("MSS", self.mss, self.mss > 0),
            ("nodelay", True, self.nodelay), ("TOS", self.tos, self.tos > 0)]
        doc.update({key: value for key, value, wanted in optional if wanted})
        doc["len"] = self.length
        if self.bandwidth:
            doc["bandwidth"] = self.bandwidth
        doc["pacing_timer"] = self.pacing_timer
        if self.congestion:
            doc["congestion"] = self.congestion
        if self.get_server_output:
            doc["get_server_output"] = 1
        if self.udp_counters_64bit:
            doc["udp_counters_64bit"] = 1
        doc["client_version"] = self.client_version
        if self.wirekit_rtt:
            doc["wirekit_rtt"] = 1
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TestParams:
        """Parse the client's parameters; a wrong type is the peer's protocol error."""
        try:
            params = cls(
                udp=bool(doc.get("udp", False)), duration=float(doc.get("time", 0)),
                bytes=int(doc.get("num", 0)), blocks=int(doc.get("blockcount", 0)),
                parallel=int(doc.get("parallel", 1)), reverse=bool(doc.get("reverse", False)),
                bidirectional=bool(doc.get("bidirectional", False)),
                length=int(doc.get("len", DEFAULT_TCP_BLOCK)),
                bandwidth=int(doc.get("bandwidth", 0)), omit=float(doc.get("omit", 0)),
                window=int(doc.get("window", 0)), congestion=str(doc.get("congestion", "")),
                mss=int(doc.get("MSS", 0)), nodelay=bool(doc.get("nodelay", False)),
                tos=int(doc.get("TOS", 0)),
                udp_counters_64bit=bool(doc.get("udp_counters_64bit", False)),
                pacing_timer=int(doc.get("pacing_timer", 1000)),
                client_version=str(doc.get("client_version", "")),
                get_server_output=bool(doc.get("get_server_output", False)),
                wirekit_rtt=bool(doc.get("wirekit_rtt", False)), extra=dict(doc))
        except (TypeError, ValueError) as exc:
            raise RemoteProtocolError(f"bad parameter value: {exc}") from exc
        if doc.get("sctp"):
            raise RemoteProtocolError("SCTP tests are not supported")
        return params

    def with_defaults(self) -> TestParams:
        """UDP without an explicit rate gets iperf3's 1 Mbit/s."""
        if self.udp and self.bandwidth == 0 and "bandwidth" not in self.extra:
            return replace(self, bandwidth=DEFAULT_UDP_RATE)
        return self


def _num(value: float) -> int | float:
    """Whole numbers as ints, as iperf3 writes them."""
    return int(value) if float(value).is_integer() else value


def signed(value: Any) -> int:
    """iperf3's unsigned -1 (18446744073709551615) back to -1; other values as ints."""
    number = int(value)
    return -1 if number == _UNSIGNED_MINUS_ONE else number


@dataclass(frozen=True, slots=True)
class StreamResult:
    """One stream's totals as exchanged at the end of a test."""

    id: int
    bytes: int
    retransmits: int = -1
    jitter: float = 0.0
    errors: int = 0
    packets: int = 0
    start_time: float = 0.0
    end_time: float = 0.0
    omitted_packets: int = 0
    out_of_order: int = 0
    duplicates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "bytes": self.bytes, "retransmits": self.retransmits,
                "jitter": self.jitter, "errors": self.errors, "packets": self.packets,
                "start_time": self.start_time, "end_time": self.end_time,
                "wirekit_out_of_order": self.out_of_order, "wirekit_duplicates": self.duplicates}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> StreamResult:
        return cls(id=int(doc["id"]), bytes=int(doc["bytes"]),
                   retransmits=signed(doc.get("retransmits", -1)),
                   jitter=float(doc.get("jitter", 0.0)), errors=int(doc.get("errors", 0)),
                   packets=int(doc.get("packets", 0)),
                   start_time=float(doc.get("start_time", 0.0)),
                   end_time=float(doc.get("end_time", 0.0)),
                   out_of_order=int(doc.get("wirekit_out_of_order", 0)),
                   duplicates=int(doc.get("wirekit_duplicates", 0)))


@dataclass(frozen=True, slots=True)
class PeerResults:
    """One side's results document: CPU use, congestion control, per-stream totals."""

    cpu_total: float
    cpu_user: float
    cpu_system: float
    sender_has_retransmits: int
    streams: tuple[StreamResult, ...]
    congestion_used: str = ""
    #: wirekit extension ("wirekit_end_wait", ignored by iperf3): seconds the client spent
    #: between the end of its test and sending TEST_END (waiting for its data to be delivered).
    end_wait: float = 0.0
    #: The server's own output, sent when the client asked (``--get-server-output``): its
    #: text lines, or its whole JSON document when it runs with -J.
    server_output_text: str | None = None
    server_output_json: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"cpu_util_total": self.cpu_total, "cpu_util_user": self.cpu_user,
                               "cpu_util_system": self.cpu_system,
                               "sender_has_retransmits": self.sender_has_retransmits}
        if self.congestion_used:
            doc["congestion_used"] = self.congestion_used
        doc["streams"] = [stream.to_json() for stream in self.streams]
        if self.end_wait:
            doc["wirekit_end_wait"] = round(self.end_wait, 6)
        if self.server_output_json is not None:
            doc["server_output_json"] = self.server_output_json
        elif self.server_output_text is not None:
            doc["server_output_text"] = self.server_output_text
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PeerResults:
        """iperf3's get_results requires the CPU keys, sender_has_retransmits and streams."""
        try:
            return cls(cpu_total=float(doc["cpu_util_total"]),
                       cpu_user=float(doc["cpu_util_user"]),
                       cpu_system=float(doc["cpu_util_system"]),
                       sender_has_retransmits=signed(doc["sender_has_retransmits"]),
                       streams=tuple(StreamResult.from_json(s) for s in doc["streams"]),
                       congestion_used=str(doc.get("congestion_used", "")),
                       end_wait=_end_wait(doc.get("wirekit_end_wait", 0.0)),
                       server_output_text=_optional(doc, "server_output_text", str),
                       server_output_json=_optional(doc, "server_output_json", dict))
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteProtocolError(f"malformed results from peer: {exc!r}") from exc

    def stream(self, stream_id: int) -> StreamResult | None:
        return next((s for s in self.streams if s.id == stream_id), None)


#: The longest end wait a peer may claim (a wirekit client waits at most about 2 s).
MAX_END_WAIT = 10.0


def _optional(doc: dict[str, Any], key: str, kind: type[T]) -> T | None:
    """``doc[key]`` if present; a value of another type is the peer's error."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise TypeError(f"{key} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _end_wait(value: Any) -> float:
    seconds = float(value)
    if not 0.0 <= seconds <= MAX_END_WAIT:  # also rejects NaN
        raise ValueError(f"wirekit_end_wait {value!r} outside 0-{MAX_END_WAIT:g} s")
    return seconds
