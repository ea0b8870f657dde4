#!/usr/bin/env python3
"""Fuzz the sans-I/O protocol core: arbitrary bytes get a result or a documented error.

Each input is a mutated valid stream (bit flips, cut, spliced, lengths rewritten, random
bytes), fed to a fresh connection (server v1, server v2, client v2) in random slices.  The
invariant, for every input: either no exception, or RemoteProtocolError whose code is in the
error table, the connection CLOSED, and that same ERROR frame queued for the peer.  Anything
else (another exception, a LocalProtocolError, a missing ERROR frame) is a failure.

    python scripts/fuzz_proto.py --count 1000000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import time
from collections import Counter

from wirekit.errors import RemoteProtocolError
from wirekit.proto import (
    Accept,
    Acceptance,
    Connection,
    ErrorCode,
    Hello,
    Offer,
    Role,
    State,
    encode_frame,
)

SESSION = bytes(range(16))


def _valid_stream(rng: random.Random, version: int) -> bytes:
    parts = []
    for seq in range(1, rng.randint(1, 6)):
        mtype = rng.choice((2, 2, 2, 5, 6, 3, 4, 9, 1))
        flags = rng.choice((0, 0, 1, 13))
        payload = rng.randbytes(rng.choice((0, 1, 16, 64, 300, 1100)))
        parts.append(encode_frame(version, mtype, seq, payload, flags=flags))
    return b"".join(parts)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(0, 4)):
        choice = rng.randrange(6)
        if choice == 0 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif choice == 1 and buf:
            del buf[rng.randrange(len(buf)):]
        elif choice == 2:
            buf[rng.randint(0, len(buf)):rng.randint(0, len(buf))] = rng.randbytes(
                rng.randint(0, 40))
        elif choice == 3 and len(buf) >= 12:
            struct.pack_into(">I", buf, 8, rng.choice((0xFFFF_FFFF, 0, 1025, 16 << 20,
                                                      rng.getrandbits(32))))
        elif choice == 4 and buf:
            buf[0] = rng.choice((0, 1, 2, 3, 255))
        else:
            buf += rng.randbytes(rng.randint(0, 64))
    return bytes(buf)


def _connection(kind: int) -> Connection:
    if kind == 0:
        server = Connection(Role.SERVER)
        server.receive_data(Connection(Role.CLIENT).send(Hello(None, b"hi")))
        server.send(Accept())
        return server
    if kind == 1:
        server = Connection(Role.SERVER, max_payload=4096)
        server.receive_data(Connection(Role.CLIENT).send(Hello(Offer())))
        server.send(Accept(Acceptance(max_payload=4096, session_id=SESSION)))
        return server
    client = Connection(Role.CLIENT)
    client.send(Hello(Offer()))
    accept = Acceptance(max_payload=4096, session_id=SESSION).encode()
    client.receive_data(encode_frame(1, 3, 1, accept, flags=1))
    return client


def fuzz_one(rng: random.Random) -> str:
    """Run one input; returns the outcome ("ok" or an error code name)."""
    kind = rng.randrange(4)
    if kind == 3:
        conn, data = Connection(Role.SERVER), rng.randbytes(rng.randint(0, 200))
    else:
        conn = _connection(kind)
        data = _mutate(rng, _valid_stream(rng, conn.version))
    conn.data_to_send()
    offset = 0
    try:
        while offset < len(data) and not _closed(conn):
            step = rng.randint(1, max(1, len(data)))
            conn.receive_data(data[offset:offset + step])
            offset += step
            while not _closed(conn) and conn.next_events():
                pass
    except RemoteProtocolError as exc:
        code = ErrorCode(exc.code)  # ValueError here = an undocumented code
        if not _closed(conn):
            raise AssertionError(f"{code.name} raised but the connection is not closed") from exc
        _check_error_frame(conn.data_to_send(), code)
        return code.name
    return "ok"


def _closed(conn: Connection) -> bool:
    """A function, not an inline test: the state changes under mypy's narrowing."""
    return conn.state is State.CLOSED


def _check_error_frame(queued: bytes, code: ErrorCode) -> None:
    offset = 0
    while offset + 24 <= len(queued):
        _, mtype, flags, _, length, _, _ = struct.unpack_from(">BBHIIIQ", queued, offset)
        if mtype == 4 and flags == code:
            return
        offset += 24 + length
    raise AssertionError(f"no ERROR {code.name} queued before the exception")


def fuzz(count: int, seed: int = 0) -> Counter[str]:
    """Run ``count`` inputs; raises on the first violation of the invariant."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for _ in range(count):
        outcomes[fuzz_one(rng)] += 1
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes = fuzz(args.count, args.seed)
    elapsed = time.perf_counter() - started
    print(f"{args.count:,} inputs in {elapsed:.1f} s, seed {args.seed}: only documented "
          "outcomes")
    for name, number in outcomes.most_common():
        print(f"  {name:<20} {number:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
