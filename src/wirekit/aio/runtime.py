"""Event-loop setup shared by the server and client: uvloop when installed, fd limits."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("wirekit.aio")


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True) -> T:
    """Run ``main`` on uvloop (the optional ``fast`` extra) when available, else asyncio."""
    if use_uvloop and uvloop_available():
        import uvloop

        result: T = uvloop.run(main)
        return result
    return asyncio.run(main)


def raise_nofile_limit() -> tuple[int, int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (getrlimit(2)); returns (old, new).

    Each connection is a file descriptor; the default soft limit (often 1024) is far below what
    a server is allowed.  A failure leaves the limit as it was: the accept loop copes with
    EMFILE anyway.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise RLIMIT_NOFILE from %d to %d: %s", soft, target, exc)
            return soft, soft
    return soft, max(soft, target)
