"""wirekit: craft, send, capture and decode packets; run a framed protocol; tune networks."""

from wirekit.errors import WirekitError

__version__ = "0.1.0"

__all__ = ["WirekitError", "__version__"]
