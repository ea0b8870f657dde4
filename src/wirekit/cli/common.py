"""Output helpers shared by the CLI commands: rich consoles and JSON emitters."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def stdout_console() -> Console:
    """A rich console on stdout (no colour when stdout is not a terminal)."""
    return Console(highlight=False)


def stderr_console() -> Console:
    """A rich console on stderr, for progress and live displays that must not mix with data."""
    return Console(stderr=True, highlight=False)


def _default(value: Any) -> Any:
    """JSON fallback: bytes as hex, everything else by ``str``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def print_json(document: Any) -> None:
    """Write one JSON object (``--json``), indented for people, parseable by machines."""
    sys.stdout.write(json.dumps(document, indent=2, default=_default) + "\n")
    sys.stdout.flush()


def print_json_line(document: Any) -> None:
    """Write one compact JSON line and flush it (``--json-stream``)."""
    sys.stdout.write(json.dumps(document, separators=(",", ":"), default=_default) + "\n")
    sys.stdout.flush()
