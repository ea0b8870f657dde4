"""The library API: an embedded Server with a Handler, and Client.connect."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from wirekit.aio import Client, Handler, Server, ServerConfig
from wirekit.aio.metrics import Metrics
from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.frame import count_frame_types, encode_frame, type_name
from wirekit.proto.session import Session


class Collecting(Handler):
    """Keeps what it gets, replies in upper case, counts commits."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, int, bytes]] = []
        self.commits = 0
        self.connected: list[Session] = []

    def on_connect(self, session: Session) -> None:
        self.connected.append(session)

    def on_data(self, session: Session, sequence: int, payload: bytes) -> bytes | None:
        self.received.append((session.id, sequence, payload))
        return payload.upper()

    async def commit(self) -> None:
        self.commits += 1


def test_embedded_server_and_client() -> None:
    async def scenario() -> None:
        handler = Collecting()
        config = ServerConfig(host="127.0.0.1", port=0, max_payload=65536)
        async with Server(config, handler) as server:
            host, port = server.address
            async with Client.connect(host, port, window=8) as client:
                assert client.negotiated_version == 2
                assert await client.send(b"first") == 1
                futures = [await client.submit(f"m{n}".encode()) for n in range(2, 52)]
                assert [await f for f in futures] == list(range(2, 52))
                big = b"x" * 60000  # over the v1 limit: only possible in version 2
                assert await client.send(big) == 52
                with pytest.raises(LocalProtocolError):
                    await client.submit(b"y" * 70000)
                echoes = []
                async for message in client:
                    echoes.append(message)
                    if len(echoes) == 52:
                        break
            assert [m.sequence for m in echoes] == list(range(1, 53))
            assert echoes[0].payload == b"FIRST"
        session_id = handler.connected[0].id
        assert [(s, n) for s, n, _ in handler.received] == [(session_id, n)
                                                            for n in range(1, 53)]
        assert handler.commits >= 1

    asyncio.run(scenario())


def test_client_refused_with_wrong_token() -> None:
    async def scenario() -> None:
        config = ServerConfig(host="127.0.0.1", port=0, token=b"right")
        async with Server(config) as server:
            host, port = server.address
            with pytest.raises(RemoteProtocolError) as caught:
                async with Client.connect(host, port, token=b"wrong"):
                    pass
            assert caught.value.code == 9

    asyncio.run(scenario())


def test_resume_after_abort_delivers_once() -> None:
    async def scenario() -> None:
        handler = Collecting()
        async with Server(ServerConfig(host="127.0.0.1", port=0), handler) as server:
            host, port = server.address
            client = Client(host, port, window=4, reconnect=True)
            await client.open()
            for n in range(1, 21):
                await client.submit(f"{n}".encode())
            assert client._writer is not None
            client._writer.transport.abort()  # the network drops us mid-window
            for n in range(21, 41):
                await client.submit(f"{n}".encode())
            await client.flush()
            await client.close()
            assert client.stats.reconnects >= 1
        assert [int(p) for _, _, p in handler.received] == list(range(1, 41))

    asyncio.run(scenario())


def test_sixteen_mebibyte_payload_in_version_2() -> None:
    async def scenario() -> None:
        handler = Collecting()
        limit = 16 * 1024 * 1024
        config = ServerConfig(host="127.0.0.1", port=0, max_payload=limit)
        async with Server(config, handler) as server:
            host, port = server.address
            payload = bytes(range(256)) * (limit // 256)
            async with Client.connect(host, port) as client:
                assert client.conn is not None and client.conn.max_payload == limit
                assert await client.send(payload) == 1
        assert handler.received[0][2] == payload

    asyncio.run(scenario())


def test_shutdown_mid_stream_loses_no_acknowledged_message() -> None:
    async def scenario() -> None:
        handler = Collecting()
        server = Server(ServerConfig(host="127.0.0.1", port=0, grace=2.0), handler)
        await server.start()
        host, port = server.address
        client = Client(host, port, window=32)
        await client.open()
        futures: list[asyncio.Future[int]] = []

        async def produce() -> None:
            for n in range(1, 100_000):
                try:
                    futures.append(await client.submit(f"{n}".encode()))
                except Exception:
                    return

        producer = asyncio.create_task(produce())
        await asyncio.sleep(0.2)
        await server.shutdown()  # GOODBYE while DATA is in flight
        await asyncio.wait_for(producer, 10)
        client.abort()
        acked = [f.result() for f in futures if f.done() and not f.cancelled()
                 and f.exception() is None]
        assert acked, "nothing was acknowledged before the shutdown"
        delivered = [int(p) for _, _, p in handler.received]
        assert delivered[:len(acked)] == acked == list(range(1, len(acked) + 1))

    asyncio.run(scenario())


def test_which_handlers_need_the_commit_step(tmp_path: Path) -> None:
    from wirekit.aio.handler import GroupCommitFile, RecordingHandler

    assert not Handler().needs_commit  # acknowledged in the read callback itself
    assert not RecordingHandler(echo=True).needs_commit
    sink = GroupCommitFile(tmp_path / "out.bin")
    assert RecordingHandler(output=sink).needs_commit  # ACK after fsync
    sink.close()
    assert Collecting().needs_commit  # overrides commit()


class RecordingMetrics(Metrics):
    """Keeps every message count it is given, by (direction, type)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def messages(self, direction: str, message_type: str, count: int = 1) -> None:
        self.counts[direction, message_type] += count

    def frames(self, direction: str, data: bytes) -> None:
        for mtype, count in count_frame_types(data).items():
            self.messages(direction, type_name(mtype), count)


def test_metrics_count_every_frame_and_no_event() -> None:
    async def read_until_eof(reader: asyncio.StreamReader) -> list[int]:
        data = await asyncio.wait_for(reader.read(), 5.0)
        return [data[offset + 1] for offset in _offsets(data)]

    async def scenario() -> RecordingMetrics:
        metrics = RecordingMetrics()
        config = ServerConfig(host="127.0.0.1", port=0, max_connections=2, grace=0.5)
        server = Server(config, metrics=metrics)
        await server.start()
        reader, writer = await asyncio.open_connection(*server.address)
        writer.write(encode_frame(1, 1, 1, b"hi") + encode_frame(1, 5, 2)
                     + encode_frame(1, 9, 3) + encode_frame(1, 2, 4, b"data"))
        first = await asyncio.wait_for(reader.readexactly(4 * 24 + 20), 5.0)
        assert [first[offset + 1] for offset in _offsets(first)] == [3, 5, 4, 3]
        leaving_reader, leaving = await asyncio.open_connection(*server.address)
        leaving.write(encode_frame(1, 1, 1, b"hi"))
        await asyncio.wait_for(leaving_reader.readexactly(24), 5.0)
        full_reader, full_writer = await asyncio.open_connection(*server.address)
        assert await read_until_eof(full_reader) == [4]  # server full
        leaving.write_eof()  # the server's ConnectionClosed event: no frame, not counted
        assert await read_until_eof(leaving_reader) == []
        await server.shutdown()  # GOODBYE to the open connection
        assert await read_until_eof(reader) == [6]
        for stream in (writer, leaving, full_writer):
            stream.close()
        return metrics

    counts = asyncio.run(scenario()).counts
    assert {key: value for key, value in counts.items() if value} == {
        ("rx", "HELLO"): 2, ("rx", "HEARTBEAT"): 1, ("rx", "UNKNOWN"): 1, ("rx", "DATA"): 1,
        ("tx", "ACK"): 3, ("tx", "HEARTBEAT"): 1, ("tx", "ERROR"): 2, ("tx", "GOODBYE"): 1}


def _offsets(data: bytes) -> list[int]:
    """Where each frame of ``data`` starts."""
    offsets, offset = [], 0
    while offset < len(data):
        offsets.append(offset)
        offset += 24 + int.from_bytes(data[offset + 8:offset + 12], "big")
    return offsets
