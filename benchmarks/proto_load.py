"""Load generator for bench_proto.py, run as a separate process so it never shares the server's
CPU time slice or GIL.

It speaks version 1 (the seed's wire format) so the same bytes go to the C server and to
wirekit.  Sending is pre-built: one buffer of CHUNK pipelined 64-byte DATA frames is written again
and again, so generating load costs almost nothing per message; ACKs are counted by bytes (every
v1 ACK is 24 bytes).

    python proto_load.py throughput PORT --connections 1 --messages 1000000
    python proto_load.py latency PORT --messages 5000
    python proto_load.py idle PORT --connections 10000 --hold 5
"""

from __future__ import annotations

import argparse
import json
import resource
import selectors
import socket
import struct
import time
from typing import Any

HEADER = struct.Struct(">BBHIIIQ")
ACK_SIZE = 24
CHUNK = 512  # frames per write
#: Wake up for ACKs only once this many are waiting (SO_RCVLOWAT, socket(7)): a server that
#: sends one small segment per ACK would otherwise wake this process per ACK or two.
ACK_BATCH = 1024


def frame(mtype: int, seq: int, payload: bytes) -> bytes:
    head = bytearray(HEADER.pack(1, mtype, 0, seq, len(payload), 0, int(time.time())))
    total = sum(head) + sum(payload)
    struct.pack_into(">I", head, 12, total & 0xFFFF_FFFF)
    return bytes(head) + payload


HELLO = frame(1, 1, b"Hello from client!")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(HELLO)
    got = b""
    while len(got) < ACK_SIZE:
        got += sock.recv(ACK_SIZE - len(got))
    return sock


def throughput(port: int, connections: int, messages: int, window: int) -> dict[str, Any]:
    chunk = b"".join(frame(2, 2 + n, b"x" * 64) for n in range(CHUNK))
    per_connection = max(CHUNK, messages // connections // CHUNK * CHUNK)
    socks = [_connect(port) for _ in range(connections)]
    state = {s: [0, 0] for s in socks}  # sent, acked (messages)
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending_bytes = dict.fromkeys(socks, 0)
    partial = dict.fromkeys(socks, b"")
    started = time.perf_counter()
    remaining = len(socks)
    while remaining:
        for key, events in selector.select(1.0):
            fileobj = key.fileobj
            if not isinstance(fileobj, socket.socket):
                continue
            sock = fileobj
            sent, acked = state[sock]
            if events & selectors.EVENT_READ:
                data = sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("server closed the connection")
                pending_bytes[sock] += len(data)
                acked += pending_bytes[sock] // ACK_SIZE
                pending_bytes[sock] %= ACK_SIZE
                state[sock][1] = acked
                _set_lowat(sock, min(ACK_BATCH, state[sock][0] - acked))
                if acked >= per_connection:
                    selector.unregister(sock)
                    remaining -= 1
                    continue
            if events & selectors.EVENT_WRITE:
                out = partial[sock]
                if not out and sent < per_connection and sent - acked + CHUNK <= window:
                    out = chunk
                    state[sock][0] = sent + CHUNK
                    _set_lowat(sock, min(ACK_BATCH, state[sock][0] - acked))
                if out:
                    try:
                        written = sock.send(out)
                    except BlockingIOError:
                        written = 0
                    partial[sock] = out[written:]
                mask = selectors.EVENT_READ
                if partial[sock] or (state[sock][0] < per_connection
                                     and state[sock][0] - acked + CHUNK <= window):
                    mask |= selectors.EVENT_WRITE
                selector.modify(sock, mask)
            elif state[sock][0] - state[sock][1] + CHUNK <= window and \
                    state[sock][0] < per_connection:
                selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    elapsed = time.perf_counter() - started
    for sock in socks:
        sock.close()
    total = per_connection * connections
    return {"messages": total, "seconds": elapsed, "rate": total / elapsed}


def _set_lowat(sock: socket.socket, acks: int) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, max(1, acks) * ACK_SIZE)


def latency(port: int, messages: int) -> dict[str, Any]:
    sock = _connect(port)
    data = frame(2, 2, b"x" * 64)
    samples = []
    for _ in range(messages):
        started = time.perf_counter()
        sock.sendall(data)
        got = 0
        while got < ACK_SIZE:
            got += len(sock.recv(ACK_SIZE - got))
        samples.append(time.perf_counter() - started)
    sock.close()
    samples.sort()
    return {"p50_us": samples[len(samples) // 2] * 1e6,
            "p99_us": samples[int(len(samples) * 0.99)] * 1e6}


def idle(port: int, connections: int, hold: float) -> dict[str, Any]:
    socks = [_connect(port) for _ in range(connections)]
    print(json.dumps({"ready": len(socks)}), flush=True)
    time.sleep(hold)
    for sock in socks:
        sock.close()
    return {"held": len(socks)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["throughput", "latency", "idle"])
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=8192)
    parser.add_argument("--hold", type=float, default=5.0)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.mode == "throughput":
        result = throughput(args.port, args.connections, args.messages, args.window)
    elif args.mode == "latency":
        result = latency(args.port, args.messages)
    else:
        result = idle(args.port, args.connections, args.hold)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
