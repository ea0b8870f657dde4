"""Exactly once: 100,000 numbered messages through a proxy that kills the connection 20 times.

The client runs with --reconnect; the server with --output.  Each kill resets both halves of
the proxied connection (SO_LINGER 0: an RST, as a crashed middlebox would), at a random point
of the byte stream.  The client resumes its session and resends what was not acknowledged; the
server's duplicate rule must leave each message in the output file exactly once, in order.
"""

from __future__ import annotations

import json
import random
import selectors
import socket
import struct
import threading
from pathlib import Path

from tests.integration.proto.support import run_cli, server
from wirekit.proto.records import RecordFormat, iter_records

COUNT = 100_000
KILLS = 20
SIZE = 16


class KillingProxy(threading.Thread):
    """Forward 127.0.0.1:port to the server; reset every connection at chosen byte counts."""

    def __init__(self, upstream: int, thresholds: list[int]) -> None:
        super().__init__(daemon=True)
        self.upstream = upstream
        self.thresholds = sorted(thresholds)
        self.rng = random.Random(5)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0
        self.kills = 0
        self.stop_event = threading.Event()
        self.selector = selectors.DefaultSelector()
        self.peers: dict[socket.socket, socket.socket] = {}

    def run(self) -> None:
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)
        while not self.stop_event.is_set():
            for key, _ in self.selector.select(0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    self._accept()
                elif sock in self.peers:
                    self._forward(sock)
        for sock in list(self.peers):
            sock.close()
        self.listener.close()

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.selector.register(sock, selectors.EVENT_READ)
        self.peers[client], self.peers[upstream] = upstream, client
        self.clients = getattr(self, "clients", set()) | {client}

    def _forward(self, sock: socket.socket) -> None:
        other = self.peers[sock]
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(sock, reset=False)
            return
        kill = False
        if sock in self.clients:
            self.forwarded += len(data)
            if self.thresholds and self.forwarded >= self.thresholds[0]:
                # Forward a random prefix only (often half a frame), then reset: what was in
                # flight is lost, as when a middlebox dies.
                self.thresholds.pop(0)
                data, kill = data[:self.rng.randrange(len(data))], True
        other.setblocking(True)
        try:
            other.sendall(data)
        except OSError:  # the server closed its side (a session taken over): drop the pair
            self._drop(sock, reset=False)
            return
        if kill:
            self.kills += 1
            self._drop(sock, reset=True)

    def _drop(self, sock: socket.socket, *, reset: bool) -> None:
        other = self.peers.pop(sock)
        self.peers.pop(other, None)
        for one in (sock, other):
            self.selector.unregister(one)
            if reset:
                one.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            one.close()


def test_each_message_exactly_once_in_order_despite_20_resets(tmp_path: Path) -> None:
    output = tmp_path / "records.bin"
    frame_size = 24 + SIZE
    rng = random.Random(4)
    thresholds = rng.sample(range(frame_size * 100, frame_size * COUNT * 9 // 10), KILLS)
    with server(tmp_path, "--output", str(output)) as running:
        proxy = KillingProxy(running.port, thresholds)
        proxy.start()
        try:
            done = run_cli("proto", "client", "127.0.0.1", str(proxy.port), "--count",
                           str(COUNT), "--size", str(SIZE), "--window", "128", "--reconnect",
                           "--json", timeout=240)
        finally:
            proxy.stop_event.set()
            proxy.join(10)
        _stdout, stderr, code = running.stop()
    assert done.returncode == 0, done.stderr[-3000:] + running.stderr[-6000:]
    summary = json.loads(done.stdout)
    assert proxy.kills == KILLS
    assert summary["acked"] == COUNT
    assert summary["reconnects"] == KILLS, summary
    assert summary["resent"] > 0  # some messages really were in flight at the kills
    width = len(str(COUNT))
    records = list(iter_records(output.read_bytes(), RecordFormat.LENGTH))
    numbers = [int(record[:width]) for record in records]
    assert len(numbers) == COUNT and numbers == list(range(1, COUNT + 1))
    assert all(len(record) == SIZE for record in records)
    assert code == 0, stderr[-2000:]
