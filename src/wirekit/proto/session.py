"""Server-side sessions: identity, the delivered sequence, resume and expiry (protocol.md §3).

Pure bookkeeping: the adapter passes ``now`` and decides what a session's ``owner`` is (its
connection object).  A session is *attached* while a connection owns it and *detached* after;
detached sessions can be resumed for ``ttl`` seconds, and at most ``max_detached`` are kept
(the oldest is forgotten first), so a flood of short connections cannot grow the table.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from wirekit.proto.limits import DEFAULT_SESSION_TTL, MAX_DETACHED_SESSIONS, SESSION_ID_SIZE


@dataclass(slots=True, eq=False)
class Session:
    """One session as the server and its handler see it.

    ``delivered`` is the last DATA sequence delivered *and committed* (v2); it is the resume
    point.  ``resumable`` is False for version-1 connections.
    """

    id: bytes
    version: int
    peer: str = ""
    resumable: bool = False
    delivered: int = 0
    messages: int = 0
    bytes_received: int = 0
    owner: object | None = field(default=None, repr=False)
    detached_at: float = 0.0

    @property
    def hex_id(self) -> str:
        return self.id.hex()


class SessionTable:
    """Sessions by id, with the detached ones in least-recently-detached order."""

    def __init__(self, *, ttl: float = DEFAULT_SESSION_TTL,
                 max_detached: int = MAX_DETACHED_SESSIONS,
                 new_id: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.ttl = ttl
        self.max_detached = max_detached
        self._new_id = new_id
        self._attached: dict[bytes, Session] = {}
        self._detached: OrderedDict[bytes, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._attached) + len(self._detached)

    @property
    def detached(self) -> int:
        return len(self._detached)

    def create(self, *, version: int, peer: str = "", resumable: bool = True,
               owner: object | None = None) -> Session:
        """A new session, attached to ``owner``."""
        session_id = self._new_id(SESSION_ID_SIZE)
        while session_id in self._attached or session_id in self._detached:
            session_id = self._new_id(SESSION_ID_SIZE)  # pragma: no cover - 2**-128
        session = Session(id=session_id, version=version, peer=peer, resumable=resumable,
                          owner=owner)
        self._attached[session_id] = session
        return session

    def find(self, session_id: bytes, now: float) -> Session | None:
        """The resumable session ``session_id`` (attached or not), or None if unknown/expired."""
        self.expire(now)
        session = self._attached.get(session_id) or self._detached.get(session_id)
        return session if session is not None and session.resumable else None

    def attach(self, session: Session, owner: object) -> object | None:
        """Give ``session`` to ``owner``; returns the previous owner (to be closed), if any."""
        previous = session.owner
        self._detached.pop(session.id, None)
        self._attached[session.id] = session
        session.owner = owner
        return previous if previous is not owner else None

    def detach(self, session: Session, owner: object, now: float) -> None:
        """``owner``'s connection ended.  Non-resumable sessions are forgotten at once."""
        if session.owner is not owner:
            return  # taken over: the new owner has it
        session.owner = None
        self._attached.pop(session.id, None)
        if not session.resumable:
            return
        session.detached_at = now
        self._detached[session.id] = session
        while len(self._detached) > self.max_detached:
            self._detached.popitem(last=False)

    def expire(self, now: float) -> int:
        """Forget detached sessions older than ``ttl``; returns how many."""
        count = 0
        while self._detached:
            session = next(iter(self._detached.values()))
            if now - session.detached_at < self.ttl:
                break
            self._detached.popitem(last=False)
            count += 1
        return count
