"""Where captured frames go: printers (summary, ``-v``, ``--hex``, ``--json-stream``) and files.

Every printer decodes the frame while it is still in the ring (the codec is lazy and
zero-copy: a summary line reads a handful of header fields) and is done with it before the
block is released.  The pcap/pcapng file sink is ``wirekit.pcap.Writer`` itself, which copies
each frame into its buffer.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from wirekit.packet.linktype import LinkType


class Timestamps:
    """tcpdump's default time column, ``HH:MM:SS.ffffff`` in local time (``--nano``: 9 digits).

    ``localtime`` is called once per second of capture time, not once per packet.
    """

    __slots__ = ("_nano", "_prefix", "_second")

    def __init__(self, nano: bool = False) -> None:
        self._nano = nano
        self._second = -1
        self._prefix = ""

    def __call__(self, timestamp_ns: int) -> str:
        second, fraction = divmod(timestamp_ns, 1_000_000_000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%H:%M:%S", time.localtime(second))
        if self._nano:
            return f"{self._prefix}.{fraction:09d}"
        return f"{self._prefix}.{fraction // 1000:06d}"


class SummarySink:
    """One tcpdump-style line per frame: time, then the codec's summary."""

    def __init__(self, link: LinkType, out: TextIO | None = None, *, nano: bool = False) -> None:
        from wirekit.packet import parse

        self._parse = parse
        self.link = link
        self.out = out or sys.stdout
        self.stamp = Timestamps(nano)
        self.count = 0

    def line(self, data: memoryview, timestamp_ns: int) -> str:
        return f"{self.stamp(timestamp_ns)} {self._parse(data, self.link).summary()}"

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        self.out.write(self.line(data, timestamp_ns) + "\n")

    def close(self) -> None:
        self.out.flush()


class VerboseSink(SummarySink):
    """``-v``: the seed's full breakdown of every frame (codec ``show_text``)."""

    def __init__(self, link: LinkType, out: TextIO | None = None, *, nano: bool = False,
                 ifname: str = "") -> None:
        super().__init__(link, out, nano=nano)
        self.ifname = ifname

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self._parse(data, self.link)
        where = f" on {self.ifname}" if self.ifname else ""
        self.out.write(f"=== Packet {self.count}: {self.stamp(timestamp_ns)}{where}, "
                       f"{len(data)} bytes captured, {orig_len} on the wire\n"
                       f"{packet.show_text().rstrip()}\n\n")


class HexSink(SummarySink):
    """``--hex``: the summary line, then offset / hex / ASCII rows (tcpdump ``-X``)."""

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self._parse(data, self.link)
        self.out.write(f"{self.stamp(timestamp_ns)} {packet.summary()}\n"
                       f"{packet.hexdump().rstrip()}\n")


class JsonSink(SummarySink):
    """``--json-stream``: one JSON object per frame, flushed per block by the engine."""

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self._parse(data, self.link)
        document = {"timestamp": timestamp_ns / 1e9, "timestamp_ns": timestamp_ns,
                    "caplen": len(data), "len": orig_len, "summary": packet.summary(),
                    "packet": packet.to_dict()}
        self.out.write(json.dumps(document, separators=(",", ":"), default=_json_default)
                       + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


class CountingSink:
    """Counts frames and bytes and prints nothing (``-q`` without ``-w``)."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        self.bytes += len(data)

    def close(self) -> None:
        return None
