"""Payload bytes: ``Raw`` (what no decoder claims) and ``Padding`` (bytes past the last length).

Both live in :mod:`wirekit.packet.layer` so that decoders reach them without an import on the
hot path; this module is their public home.
"""

from wirekit.packet.layer import LoadField, Padding, Raw

__all__ = ["LoadField", "Padding", "Raw"]
