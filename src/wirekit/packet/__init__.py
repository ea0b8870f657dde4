"""The packet codec: sans-I/O, lazy, zero-copy.  (The layers land with the codec issue.)"""

from wirekit.packet.linktype import LinkType

__all__ = ["LinkType"]
