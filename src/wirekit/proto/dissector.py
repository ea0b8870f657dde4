"""The Wireshark Lua dissector, rendered for the ports asked for (``wirekit proto dissector``)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from wirekit.proto.codes import CODES


def render_dissector(ports: Iterable[int] = (9999,)) -> str:
    """The Lua script with the port registrations and the error-code table filled in."""
    template = resources.files("wirekit.proto").joinpath("wirekit.lua").read_text()
    codes = "\n".join(f'    [{int(code)}] = "{code.name}",' for code in CODES)
    registrations = "\n".join(f"tcp_port:add({int(port)}, wirekit)" for port in ports)
    return template.replace("--@ERROR_CODES@", codes).replace("--@PORTS@", registrations)
