"""The version-2 negotiation payloads carried by HELLO and its ACK (docs/protocol.md §3).

Offer, the payload of a HELLO with the NEGOTIATE flag (24 + T bytes)::

    uint8_t  highest_version;   /* 2 */
    uint8_t  reserved;
    uint16_t token_length;      /* T, 0..256 */
    uint32_t max_payload;       /* largest payload the client accepts */
    uint8_t  session_id[16];    /* zero: new session */
    uint8_t  token[T];

Acceptance, the payload of the ACK with the NEGOTIATE flag (32 bytes)::

    uint8_t  version;           /* 2 */
    uint8_t  reserved[3];
    uint32_t max_payload;       /* min(client, server) */
    uint8_t  session_id[16];
    uint32_t resume_from;       /* last DATA sequence delivered in the session */
    uint32_t idle_timeout_ms;
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from wirekit.proto.codes import ErrorCode, error_text
from wirekit.proto.frame import VERSION_2, FrameError
from wirekit.proto.limits import MAX_PAYLOAD_LIMIT, MAX_TOKEN, SESSION_ID_SIZE

OFFER = struct.Struct(">BBHI16s")
ACCEPTANCE = struct.Struct(">B3xI16sII")
NEW_SESSION = bytes(SESSION_ID_SIZE)


def _bad_hello(reason: str) -> FrameError:
    return FrameError(ErrorCode.BAD_HELLO, error_text(ErrorCode.BAD_HELLO, reason=reason))


@dataclass(frozen=True, kw_only=True, slots=True)
class Offer:
    """What a client proposes: version 2, its payload limit, a session to resume, a token."""

    max_payload: int = MAX_PAYLOAD_LIMIT
    session_id: bytes = NEW_SESSION
    token: bytes = b""
    highest_version: int = VERSION_2

    @property
    def resumes(self) -> bool:
        return self.session_id != NEW_SESSION

    def encode(self) -> bytes:
        if len(self.token) > MAX_TOKEN:
            raise ValueError(f"token longer than {MAX_TOKEN} bytes")
        return OFFER.pack(self.highest_version, 0, len(self.token), self.max_payload,
                          self.session_id) + self.token

    @classmethod
    def decode(cls, payload: bytes) -> Offer:
        """Parse an offer; :class:`FrameError` (BAD_HELLO) says what is wrong with it."""
        if len(payload) < OFFER.size:
            raise _bad_hello(f"offer of {len(payload)} bytes, need {OFFER.size}")
        version, _, token_length, max_payload, session_id = OFFER.unpack_from(payload)
        if token_length > MAX_TOKEN:
            raise _bad_hello(f"token of {token_length} bytes > {MAX_TOKEN}")
        if len(payload) != OFFER.size + token_length:
            raise _bad_hello(f"offer of {len(payload)} bytes, token length says "
                             f"{OFFER.size + token_length}")
        if version < VERSION_2:
            raise _bad_hello(f"offers version {version}")
        if not 1 <= max_payload <= MAX_PAYLOAD_LIMIT:
            raise _bad_hello(f"max payload {max_payload} outside 1..{MAX_PAYLOAD_LIMIT}")
        return cls(max_payload=max_payload, session_id=session_id,
                   token=bytes(payload[OFFER.size:]), highest_version=version)


@dataclass(frozen=True, kw_only=True, slots=True)
class Acceptance:
    """What the server grants: version 2, the payload limit, the session and its resume point."""

    max_payload: int
    session_id: bytes
    resume_from: int = 0
    idle_timeout_ms: int = 0
    version: int = VERSION_2

    def encode(self) -> bytes:
        return ACCEPTANCE.pack(self.version, self.max_payload, self.session_id,
                               self.resume_from, self.idle_timeout_ms)

    @classmethod
    def decode(cls, payload: bytes) -> Acceptance:
        if len(payload) != ACCEPTANCE.size:
            raise _bad_hello(f"acceptance of {len(payload)} bytes, need {ACCEPTANCE.size}")
        version, max_payload, session_id, resume_from, idle_ms = ACCEPTANCE.unpack(payload)
        if version != VERSION_2:
            raise _bad_hello(f"server chose version {version}")
        if not 1 <= max_payload <= MAX_PAYLOAD_LIMIT:
            raise _bad_hello(f"max payload {max_payload} outside 1..{MAX_PAYLOAD_LIMIT}")
        return cls(max_payload=max_payload, session_id=session_id, resume_from=resume_from,
                   idle_timeout_ms=idle_ms, version=version)
