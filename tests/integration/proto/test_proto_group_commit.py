"""GroupCommitFile: concurrent flushes share syncs, never spin, and lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from wirekit.aio.handler import GroupCommitFile
from wirekit.proto.records import encode_record, iter_records


def test_concurrent_flushes_complete_and_keep_every_record(tmp_path: Path) -> None:
    path = tmp_path / "records.bin"

    async def writer(sink: GroupCommitFile, name: str, count: int) -> None:
        for index in range(count):
            sink.append(encode_record(f"{name}-{index}".encode()))
            await sink.flush()

    async def scenario() -> GroupCommitFile:
        sink = GroupCommitFile(path)
        # 20 writers at once: flushes overlap, most find a sync already running or finished
        async with asyncio.timeout(60):
            await asyncio.gather(*(writer(sink, f"w{n}", 50) for n in range(20)))
        sink.close()
        return sink

    sink = asyncio.run(scenario())
    records = list(iter_records(path.read_bytes()))
    assert len(records) == 1000
    for n in range(20):
        mine = [r for r in records if r.startswith(f"w{n}-".encode())]
        assert mine == [f"w{n}-{i}".encode() for i in range(50)]  # each writer's order kept
    assert sink.syncs < 1000  # group commit: fewer syncs than records
