"""Test parameters and results, and their iperf3 JSON forms.

The keys are iperf3 3.12's (``send_parameters``/``get_parameters`` and
``send_results``/``get_results`` in ``src/iperf_api.c``).  iperf3 ignores keys it does not know,
which is how wirekit adds its own (``wirekit_rtt``) without breaking a real iperf3 peer.
"""

from __future__ import annotations

import math
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
#: iperf3's MAX_MSS (9 KiB, "TCP MSS too large") and Linux's TCP_MIN_MSS: setsockopt(TCP_MAXSEG)
#: refuses less, so iperf3 fails on it when it sets up the streams; wirekit says so up front.
MAX_MSS = 9 * 1024
MIN_MSS = 88
#: What setsockopt(TCP_MAXSEG) takes at most (MAX_TCP_WINDOW): a server can apply up to this.
KERNEL_MAX_MSS = 32767
#: The IP TOS byte (-S) and the DSCP field (--dscp, the TOS byte's upper six bits).
MAX_TOS = 255
#: The largest -n, -k, -b and --fq-rate: iperf3's int64 fields (2**63 - 1).
MAX_COUNT = 2**63 - 1
#: The largest -w/--window: iperf3's MAX_TCP_BUFFER (512 MiB).
MAX_TCP_BUFFER = 512 * 1024 * 1024
MAX_DSCP = 63
#: iperf3's --dscp names (src/dscp.c, taken from OpenSSH): the TOS byte each one sets.  The
#: DSCP codepoints are RFC 2474's (AF RFC 2597, EF RFC 3246) shifted into the TOS byte; the
#: last three are RFC 1349 TOS bits.  iperf3 3.12 has no "le" or "va" (added in 3.14).
DSCP_NAMES = {
    "af11": 0x28, "af12": 0x30, "af13": 0x38, "af21": 0x48, "af22": 0x50, "af23": 0x58,
    "af31": 0x68, "af32": 0x70, "af33": 0x78, "af41": 0x88, "af42": 0x90, "af43": 0x98,
    "cs0": 0x00, "cs1": 0x20, "cs2": 0x40, "cs3": 0x60, "cs4": 0x80, "cs5": 0xA0,
    "cs6": 0xC0, "cs7": 0xE0, "ef": 0xB8,
    "lowdelay": 0x10, "throughput": 0x08, "reliability": 0x04,
}
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


def parse_count(text: str, option: str, *, base: int = 1024) -> int:
    """A non-negative count with an optional K/M/G/T suffix, or a one-line UsageError that
    names ``option`` (iperf3's ``unit_atoi``: -k 1K is 1024 blocks; rates are 1000-based)."""
    try:
        return parse_size(text, base=base)
    except UsageError:
        raise UsageError(f"{option}: expected a non-negative number with an optional K/M/G "
                         f"suffix, got {text!r}") from None


# C's strtol(text, &end, 0) as iperf3 calls it: leading blanks, a sign, then 0x... (hex),
# 0... (octal) or decimal; the whole text must be used (iperf3's parse_qos insists on that
# for --dscp, and wirekit for -S as well).
_C_INTEGER = re.compile(r"^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")


def _c_integer(text: str) -> int | None:
    match = _C_INTEGER.match(text)
    if match is None:
        return None
    sign, digits = match.groups()
    value = int(digits, 16 if digits[:2].lower() == "0x" else 8 if digits[0] == "0" else 10)
    return -value if sign == "-" else value


def parse_tos(text: str) -> int:
    """``-S/--tos``: the IP TOS byte, 0-255, in decimal, 0x hex or 0 octal (52 = 064 = 0x34)."""
    value = _c_integer(text)
    if value is None or not 0 <= value <= MAX_TOS:
        raise UsageError(f"-S/--tos: bad TOS value {text!r} (must be between 0 and "
                         f"{MAX_TOS} inclusive; decimal, 0x hex or 0 octal)")
    return value


def parse_dscp(text: str) -> int:
    """``--dscp``: a name (EF, AF11, CS1, ...) or a number 0-63; returns the TOS byte.

    As iperf3 3.11+ (``parse_qos``): a name gives its TOS byte (EF is 0xb8), a number is the
    six-bit codepoint and lands in the TOS byte's upper bits (46 gives 184); the two ECN
    bits stay 0 (use -S to set them).
    """
    named = DSCP_NAMES.get(text.lower())
    if named is not None:
        return named
    value = _c_integer(text)
    if value is None or not 0 <= value <= MAX_DSCP:
        raise UsageError(f"--dscp: bad DSCP value {text!r} (a number 0-{MAX_DSCP} in "
                         f"decimal, 0x hex or 0 octal, or a name: AF11-AF43, CS0-CS7, EF, "
                         f"lowdelay, throughput, reliability)")
    return value << 2


def parse_mss(text: str) -> int:
    """``-M/--set-mss``: TCP_MAXSEG in bytes, MIN_MSS..MAX_MSS (0: the kernel's choice)."""
    value = parse_count(text, "-M/--set-mss", base=1024)
    if value and not MIN_MSS <= value <= MAX_MSS:
        raise UsageError(f"-M/--set-mss: {value} is outside {MIN_MSS}-{MAX_MSS} bytes "
                         f"(iperf3's maximum is {MAX_MSS}; Linux refuses less than {MIN_MSS})")
    return value


def parse_port(text: str, option: str) -> int:
    """A decimal port number 1-65535 (iperf3: "port number must be between 1 and 65535
    inclusive")."""
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() else None
    if value is None or not 1 <= value <= 65535:
        raise UsageError(f"{option}: port number must be between 1 and 65535 inclusive, "
                         f"got {text!r}")
    return value


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
    #: ``--fq-rate``: SO_MAX_PACING_RATE of every stream, in bits per second (0: none).
    fqrate: int = 0
    #: ``-T/--title`` and ``--extra-data``: strings both sides copy into their JSON.
    title: str = ""
    extra_data: str = ""
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
        if not (math.isfinite(self.duration) and math.isfinite(self.omit)):
            found.append("time and omit must be finite numbers")
        if min(self.duration, self.omit, self.bytes, self.blocks, self.bandwidth,
               self.fqrate) < 0:
            found.append("time, omit, bytes, blocks, bandwidth and fq-rate cannot be negative")
        if self.bytes and self.blocks:
            found.append("only one test end condition (-t, -n, -k) may be specified")
        # iperf3 keeps these in int64 (and SO_MAX_PACING_RATE takes 64 bits): a larger value
        # would break the peer's JSON parser or our setsockopt, not make a longer test.
        if max(self.bytes, self.blocks, self.bandwidth, self.fqrate) > MAX_COUNT:
            found.append(f"bytes, blocks, bandwidth and fq-rate must be at most {MAX_COUNT}")
        if self.window > MAX_TCP_BUFFER:  # iperf3's IEBUFSIZE; SO_SNDBUF takes a C int
            found.append(f"socket buffer size too large (maximum = {MAX_TCP_BUFFER} bytes)")
        # The client holds -M to iperf3's 9216; a server refuses only what it cannot set.
        if self.mss and not MIN_MSS <= self.mss <= KERNEL_MAX_MSS:
            found.append(f"MSS {self.mss} outside {MIN_MSS}-{KERNEL_MAX_MSS}")
        if not 0 <= self.tos <= MAX_TOS:
            found.append(f"TOS {self.tos} outside 0-{MAX_TOS}")
        # No duration, bytes or blocks is iperf3's "-t 0": run until the client is interrupted
        # (iperf3's own client sends -t 0.5 as 0 as well).  The server still drops a test
        # that moves nothing for its idle timeout.
        return found

    @property
    def protocol_name(self) -> str:
        return "UDP" if self.udp else "TCP"

    @property
    def byte_budget(self) -> int:
        """What a budget-ended test moves in all: ``-n`` bytes, or ``-k`` blocks of ``len``
        (datagrams for UDP); 0 for a timed test.  Like iperf3's counters the budget is shared
        by all the streams of one direction, and a block counts once it is wholly sent."""
        return self.bytes or self.blocks * self.length

    def to_json(self) -> dict[str, Any]:
        """The parameters document, in the key order of iperf3 3.12's ``send_parameters``."""
        doc: dict[str, Any] = {"udp" if self.udp else "tcp": True, "omit": _num(self.omit),
                               "time": _num(self.duration), "num": self.bytes,
                               "blockcount": self.blocks}
        optional: list[tuple[str, Any, bool]] = [
            ("MSS", self.mss, self.mss > 0), ("nodelay", True, self.nodelay),
            ("parallel", self.parallel, True),
            ("reverse", True, self.reverse), ("bidirectional", True, self.bidirectional),
            ("window", self.window, self.window > 0), ("len", self.length, True),
            ("bandwidth", self.bandwidth, self.bandwidth > 0),
            ("fqrate", self.fqrate, self.fqrate > 0),
            ("pacing_timer", self.pacing_timer, True), ("TOS", self.tos, self.tos > 0),
            ("title", self.title, bool(self.title)),
            ("extra_data", self.extra_data, bool(self.extra_data)),
            ("congestion", self.congestion, bool(self.congestion)),
            ("get_server_output", 1, self.get_server_output),
            ("udp_counters_64bit", 1, self.udp_counters_64bit),
            ("client_version", self.client_version, True), ("wirekit_rtt", 1, self.wirekit_rtt)]
        doc.update({key: value for key, value, wanted in optional if wanted})
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
                tos=int(doc.get("TOS", 0)), fqrate=int(doc.get("fqrate", 0)),
                title=_text(doc, "title"), extra_data=_text(doc, "extra_data"),
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


def _text(doc: dict[str, Any], key: str) -> str:
    """A string parameter (``title``, ``extra_data``); anything else is the peer's error."""
    value = doc.get(key, "")
    if not isinstance(value, str):
        raise TypeError(f"{key} is a {type(value).__name__}, not a string")
    return value


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
