"""Every limit of the message protocol, with the reason for its value (docs/protocol.md §7)."""

from __future__ import annotations

#: The seed's packed ``protocol_header_t``: 1+1+2+4+4+4+8 bytes.
HEADER_SIZE = 24

#: The seed's ``MAX_PAYLOAD_SIZE``; the C peers reject anything larger, so it is the v1 default.
V1_MAX_PAYLOAD = 1024

#: Largest payload version 2 may negotiate.  It bounds one connection's receive buffer: a peer
#: can make us hold at most this much (plus one read) before a frame is complete.
MAX_PAYLOAD_LIMIT = 16 * 1024 * 1024

#: Largest HELLO token.  Bounds the HELLO; any real secret fits comfortably.
MAX_TOKEN = 256

#: 128 random bits: collisions between sessions are not a practical concern.
SESSION_ID_SIZE = 16

#: Detached sessions kept for resume; about 200 bytes each, so the table stays a few MiB.
MAX_DETACHED_SESSIONS = 65_536

#: Default time a detached session can still be resumed.
DEFAULT_SESSION_TTL = 300.0

#: The seed closes connections inactive for more than 60 s.
DEFAULT_IDLE_TIMEOUT = 60.0

#: Seconds the server waits, on shutdown, for clients to finish after its GOODBYE.
DEFAULT_GRACE = 5.0

#: Bytes asked for per read.  Big batches amortise the per-read work (one commit, one write);
#: small enough that one connection never holds much unparsed data.
READ_SIZE = 256 * 1024

#: Per-connection output buffer (asyncio write high-water mark).  A client that never reads its
#: ACKs costs us at most this much before we stop reading from it.
WRITE_BUFFER = 256 * 1024

#: A client missing this many heartbeat intervals in a row is considered gone.
HEARTBEAT_MISSES = 3

#: Sequence numbers are u32; a session ends at the last one.
MAX_SEQUENCE = 0xFFFF_FFFF

#: Back-off after accept() fails for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM), as trio
#: does: long enough not to spin, short enough not to notice.
ACCEPT_BACKOFF = 0.1

#: Default connection limit: 10,000 idle connections cost well under 200 MB here.
DEFAULT_MAX_CONNECTIONS = 10_000

#: Listen backlog asked for; the kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 4096
