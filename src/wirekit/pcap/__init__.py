"""Capture files: streaming pcap/pcapng readers (mmap, zero-copy) and writers.

>>> with Writer("out.pcapng", LinkType.ETHERNET, interface_name="veth0") as writer:
...     writer.write(frame, timestamp_ns)
>>> with Reader("out.pcapng") as reader:
...     for record in reader:
...         print(record.timestamp, record.link, len(record.data), record.packet.summary())

See docs/pcap.md for the design.
"""

from wirekit.errors import CaptureFileError
from wirekit.packet.linktype import LinkType
from wirekit.pcap.options import Option
from wirekit.pcap.reader import Reader, detect_format
from wirekit.pcap.record import FileFormat, Interface, Record, Section, Truncation
from wirekit.pcap.timestamps import TimeStyle, format_time
from wirekit.pcap.writer import PcapngWriter, PcapWriter, Writer

__all__ = [
    "CaptureFileError",
    "FileFormat",
    "Interface",
    "LinkType",
    "Option",
    "PcapWriter",
    "PcapngWriter",
    "Reader",
    "Record",
    "Section",
    "TimeStyle",
    "Truncation",
    "Writer",
    "detect_format",
    "format_time",
]
