"""What the test machine has: root, capabilities, tools.  Under CI=true nothing is skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13


def in_ci() -> bool:
    """CI sets CI=true; there a missing tool or privilege is a failure, never a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def has_capability(bit: int) -> bool:
    """Read the effective capability set of this process from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def skip_or_fail(reason: str) -> None:
    """Skip locally; fail under CI, where every tier must run."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_root() -> None:
    """Privileged tests need CAP_NET_ADMIN and CAP_NET_RAW (namespaces, veth, raw sockets)."""
    if not (has_capability(CAP_NET_ADMIN) and has_capability(CAP_NET_RAW)):
        skip_or_fail("privileged test needs CAP_NET_ADMIN and CAP_NET_RAW (run as root)")


def require_tool(name: str) -> str:
    """Return the path of an external tool, or skip (fail under CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"tool {name!r} is not installed (make test installs it)")
        raise AssertionError("unreachable")  # pragma: no cover
    return path
