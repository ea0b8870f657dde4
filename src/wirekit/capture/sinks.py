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
from typing import TYPE_CHECKING, TextIO

from wirekit.packet.linktype import LinkType
from wirekit.pcap.timestamps import TimeStyle, format_time

if TYPE_CHECKING:
    from wirekit.packet import Packet


class Timestamps:
    """tcpdump's time column in one of its styles (``-t`` ... ``-ttttt``, see TimeStyle).

    The default style is ``HH:MM:SS.ffffff`` in local time (``--nano``: 9 digits), with
    ``localtime`` called once per second of capture time, not once per packet; the other
    styles are :func:`~wirekit.pcap.timestamps.format_time`'s, which is what ``wirekit read``
    prints, so a live capture and the file read back show the same times.
    """

    __slots__ = ("_digits", "_first", "_nano", "_prefix", "_previous", "_second", "style")

    def __init__(self, nano: bool = False, style: TimeStyle = TimeStyle.CLOCK) -> None:
        self._nano = nano
        self._digits = 9 if nano else 6
        self.style = style
        self._second = -1
        self._prefix = ""
        self._first: int | None = None
        self._previous: int | None = None

    def __call__(self, timestamp_ns: int) -> str:
        if self.style is not TimeStyle.CLOCK:
            return self._styled(timestamp_ns)
        second, fraction = divmod(timestamp_ns, 1_000_000_000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%H:%M:%S", time.localtime(second))
        if self._nano:
            return f"{self._prefix}.{fraction:09d}"
        return f"{self._prefix}.{fraction // 1000:06d}"

    def _styled(self, timestamp_ns: int) -> str:
        if self._first is None:
            self._first = timestamp_ns
        text = format_time(timestamp_ns, self.style, digits=self._digits,
                           previous_ns=self._previous, first_ns=self._first)
        self._previous = timestamp_ns
        return text

    def prefix(self, timestamp_ns: int) -> str:
        """The time column and its separating space; nothing at all under ``-t``."""
        text = self(timestamp_ns)
        return f"{text} " if text else ""


class SummarySink:
    """One tcpdump-style line per frame: time, then the codec's summary."""

    def __init__(self, link: LinkType, out: TextIO | None = None, *, nano: bool = False,
                 style: TimeStyle = TimeStyle.CLOCK, link_level: bool = False) -> None:
        from wirekit.packet import parse

        self._parse = parse
        self.link = link
        self.link_level = link_level
        self.out = out or sys.stdout
        self.stamp = Timestamps(nano, style)
        self.count = 0

    def packet(self, data: memoryview, orig_len: int) -> Packet:
        """The frame decoded; the wire length lets a snaplen-cut frame read as tcpdump's."""
        return self._parse(data, self.link, wire_len=orig_len)

    def line(self, data: memoryview, timestamp_ns: int, orig_len: int) -> str:
        line = self.packet(data, orig_len).summary(link_level=self.link_level)
        if not len(data):  # tcpdump prints an empty frame's line without a time
            return line
        return f"{self.stamp.prefix(timestamp_ns)}{line}"

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        self.out.write(self.line(data, timestamp_ns, orig_len) + "\n")

    def close(self) -> None:
        self.out.flush()


class VerboseSink(SummarySink):
    """``-v``: the seed's full breakdown of every frame (codec ``show_text``)."""

    def __init__(self, link: LinkType, out: TextIO | None = None, *, nano: bool = False,
                 style: TimeStyle = TimeStyle.CLOCK, ifname: str = "") -> None:
        super().__init__(link, out, nano=nano, style=style)
        self.ifname = ifname

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self.packet(data, orig_len)
        when = " ".join(part for part in (self.stamp(timestamp_ns),
                                          f"on {self.ifname}" if self.ifname else "") if part)
        self.out.write(f"=== Packet {self.count}: {when + ', ' if when else ''}"
                       f"{len(data)} bytes captured, {orig_len} on the wire\n"
                       f"{packet.show_text().rstrip()}\n\n")


class HexSink(SummarySink):
    """``--hex``: the summary line, then offset / hex / ASCII rows (tcpdump ``-X``)."""

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self.packet(data, orig_len)
        self.out.write(f"{self.stamp.prefix(timestamp_ns)}"
                       f"{packet.summary(link_level=self.link_level)}\n"
                       f"{packet.hexdump().rstrip()}\n")


class JsonSink(SummarySink):
    """``--json-stream``: one JSON object per frame, flushed per block by the engine."""

    def write(self, data: memoryview, timestamp_ns: int, orig_len: int) -> None:
        self.count += 1
        packet = self.packet(data, orig_len)
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
