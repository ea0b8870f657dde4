"""A minimal classic-pcap writer for the codec's tool tests (wirekit.pcap is a separate
package; the codec's tests stand alone).  Format: the pcap(5) / pcap-savefile layout."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from wirekit.packet import LinkType

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def write_pcap(path: Path, frames: Iterable[bytes], link: LinkType = LinkType.ETHERNET,
               snaplen: int = 262144) -> int:
    """Write *frames* (microsecond timestamps 1, 2, 3... seconds), each cut to *snaplen* bytes
    as a capture would (the record keeps the original length), and return how many."""
    count = 0
    with path.open("wb") as handle:
        handle.write(_GLOBAL.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, int(link)))
        for count, frame in enumerate(frames, 1):
            kept = frame[:snaplen]
            handle.write(_RECORD.pack(count, 0, len(kept), len(frame)) + kept)
    return count
