"""Helpers shared by the CLI commands: parameter types, rich consoles and JSON emitters."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console


class IPAddressType(click.types.StringParamType):
    """An IPv4 or IPv6 address literal, checked while parsing (returned in canonical form).

    Built on the string type, whose base class is generic only in newer clicks.

    Checking here, not where the address is first used, makes a typo a usage error that
    names the argument, before any capability check, route lookup or ARP request.
    """

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        try:
            return str(ipaddress.ip_address(str(value)))
        except ValueError:
            self.fail(f"{value!r} is not an IPv4 or IPv6 address.", param, ctx)


IP_ADDRESS = IPAddressType()


class FiniteFloatRange(click.FloatRange):
    """click's FloatRange without NaN and infinities.

    click's range check compares, and every comparison with NaN is false: ``-t nan`` would pass
    ``FloatRange(0, 86400)`` and reach a timer or ``int()``.  No option of wirekit means NaN or
    infinity, so both are refused while parsing, naming the option.
    """

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def discard_partial(path: str | os.PathLike[str]) -> None:
    """Remove the output file a failed command left half-written (regular files only: never
    ``-``, /dev/null or a FIFO).  A symbolic link is followed, as the writer followed it."""
    if os.fspath(path) == "-":
        return
    real = Path(os.path.realpath(path))
    with contextlib.suppress(OSError):  # the error being reported matters more
        if real.is_file():
            real.unlink()


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

