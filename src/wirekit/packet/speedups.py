"""The codec's optional C helpers (``_speedups.c``), or ``None`` for each when not built.

The package is complete without them: each helper replaces a Python function that stays the
reference and the fallback (``Field.make_getter``, ``Packet._grow``, ``_first_of`` and
``Layer.payload``); ``tests/unit/packet/test_speedups.py`` compares the two on every corpus
packet.  ``WIREKIT_PURE=1`` in the environment turns the helpers off.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wirekit.packet import _speedups


def _load() -> tuple[Any, str]:
    if os.environ.get("WIREKIT_PURE"):
        return None, "WIREKIT_PURE is set"
    try:
        return importlib.import_module("wirekit.packet._speedups"), ""
    except ImportError as error:  # built without a compiler: the pure-Python codec
        return None, f"not built ({error})"


_module, disabled_because = _load()

Getter: type[_speedups.Getter] | None = getattr(_module, "Getter", None)
configure: Any = getattr(_module, "configure", None)
find: Any = getattr(_module, "find", None)
grow: Any = getattr(_module, "grow", None)
payload: Any = getattr(_module, "payload", None)
parse: Any = getattr(_module, "parse", None)
ipv4_text: Any = getattr(_module, "ipv4_text", None)


def active() -> bool:
    """True when the C helpers are in use."""
    return _module is not None
