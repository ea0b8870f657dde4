"""Rich tables printed as plain text: full width on a pipe, no trailing padding."""

from __future__ import annotations

import sys
from typing import Any

from wirekit.cli.common import stdout_console


def print_table(renderable: Any, *, min_width: int = 160) -> None:
    """Print a rich table or grid without wrapping it to 80 columns when stdout is a pipe,
    and without the trailing spaces rich pads each row with."""
    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, min_width)
    with console.capture() as captured:
        console.print(renderable)
    sys.stdout.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")
    sys.stdout.flush()
