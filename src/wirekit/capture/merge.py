"""Merging the per-worker files of a fanout capture into one file, in timestamp order.

Each worker's file is already in time order (one ring, read in order), so a k-way heap merge
(mergecap's approach) streams every file once and holds one record per file in memory.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wirekit.packet.linktype import LinkType

if TYPE_CHECKING:
    from wirekit.pcap import Reader, Record


def worker_path(target: Path, worker: int) -> Path:
    """Where worker ``worker`` writes while the capture runs (next to the final file)."""
    return target.with_name(f".{target.name}.worker{worker}{target.suffix}")


def merge_files(parts: Sequence[Path], target: Path, link: LinkType, *,
                nanosecond: bool = False, snaplen: int = 262144) -> int:
    """Merge ``parts`` into ``target`` by timestamp, delete them, return the record count."""
    from wirekit.pcap import Reader, Writer

    readers = [Reader(str(part)) for part in parts]
    written = 0
    try:
        streams = [_keyed(reader, n) for n, reader in enumerate(readers)]
        with Writer(str(target), link, nanosecond=nanosecond, snaplen=snaplen) as writer:
            for _stamp, _n, record in heapq.merge(*streams):
                writer.write(record.data, record.timestamp_ns, orig_len=record.orig_len)
                written += 1
    finally:
        for reader in readers:
            with contextlib.suppress(Exception):
                reader.close()
    for part in parts:
        part.unlink(missing_ok=True)
    return written


def _keyed(reader: Reader, n: int) -> Iterator[tuple[int, int, Record]]:
    """(timestamp, file number, record): the number breaks ties, so records are never compared."""
    for record in reader:
        yield record.timestamp_ns, n, record
