"""Hostile peers against a running server, in a process of their own; prints JSON results.

    python -m tests.integration.proto.hostile PORT --mass 10000 --tricklers 500

Every peer reports what it got back: the ERROR codes it read and whether the server closed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import time
from typing import Any

from wirekit.proto.frame import HEADER, decode_frame, encode_frame

HELLO = encode_frame(1, 1, 1, b"Hello from client!")
GARBAGE = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
HUGE = HEADER.pack(1, 2, 0, 1, 0xFFFF_FFFF, 0, 0)
BAD_SUM = HELLO[:12] + b"\0\0\0\1" + HELLO[16:]
BAD_VERSION = encode_frame(9, 1, 1, b"x")


async def _outcome(reader: asyncio.StreamReader, timeout: float) -> dict[str, Any]:
    """Read until EOF: the ERROR codes received and whether (and when) the server closed."""
    data, eof, started = b"", False, time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                data += chunk
            eof = True
    except TimeoutError:
        eof = False
    except ConnectionError:
        eof = True  # reset by the server: closed, too
    codes, offset = [], 0
    while (result := decode_frame(data, offset)) is not None:
        frame, offset = result
        if frame.header.type == 4:
            codes.append(frame.header.flags)
    return {"codes": codes, "eof": eof, "after_s": round(time.monotonic() - started, 2)}


async def one_shot(port: int, payload: bytes, timeout: float) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    result = await _outcome(reader, timeout)
    writer.close()
    return result


async def trickle(port: int, timeout: float) -> dict[str, Any]:
    """One byte per second of a HELLO, until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    read = asyncio.create_task(_outcome(reader, timeout))
    for byte in HELLO:
        if read.done():
            break
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.wait([read], timeout=1.0)
    result = await read
    writer.close()
    return result


async def mass(port: int, count: int, timeout: float) -> dict[str, Any]:
    """Open ``count`` connections at once, send nothing, see how each ends."""
    gate = asyncio.Semaphore(2000)  # connect() calls in flight, not connections held

    async def one() -> dict[str, Any]:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        result = await _outcome(reader, timeout)
        writer.close()
        return result

    started = time.monotonic()
    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    opened = [r for r in results if isinstance(r, dict)]
    return {"opened": len(opened), "failed": [repr(r) for r in results
                                               if not isinstance(r, dict)][:5],
            "idle_timeout": sum(1 for r in opened if r["codes"] == [13]),
            "eof": sum(1 for r in opened if r["eof"]),
            "elapsed_s": round(time.monotonic() - started, 2)}


async def no_reader(port: int, timeout: float) -> dict[str, Any]:
    """HELLO, then DATA as fast as possible, never reading an ACK."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    # One-byte payloads: each 25-byte DATA costs the server a 24-byte ACK, so its output
    # buffers fill about as fast as we send.
    batch = HELLO + b"".join(encode_frame(1, 2, n, b"x") for n in range(2, 1000))
    data = encode_frame(1, 2, 99, b"x") * 2000
    sent, started, closed = 0, time.monotonic(), False
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_sendall(sock, batch)
            while True:
                await loop.sock_sendall(sock, data)
                sent += len(data)
    except (ConnectionError, BrokenPipeError):
        closed = True
    except TimeoutError:
        closed = False
    sock.close()
    return {"closed": closed, "sent_bytes": sent, "after_s": round(time.monotonic() - started, 2)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    timeout = args.timeout
    singles = {"garbage": GARBAGE, "huge_length": HUGE, "bad_checksum": BAD_SUM,
               "bad_version": BAD_VERSION, "half_header": HELLO[:12]}
    tasks: dict[str, Any] = {name: one_shot(args.port, payload, timeout)
                             for name, payload in singles.items()}
    tasks["no_reader"] = no_reader(args.port, timeout)
    tasks["tricklers"] = asyncio.gather(*(trickle(args.port, timeout)
                                          for _ in range(args.tricklers)))
    tasks["mass"] = mass(args.port, args.mass, timeout)
    results = dict(zip(tasks, await asyncio.gather(*tasks.values()), strict=True))
    tricklers = results["tricklers"]
    results["tricklers"] = {"count": len(tricklers),
                            "idle_timeout": sum(1 for r in tricklers if r["codes"] == [13]),
                            "eof": sum(1 for r in tricklers if r["eof"])}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--mass", type=int, default=10_000)
    parser.add_argument("--tricklers", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
