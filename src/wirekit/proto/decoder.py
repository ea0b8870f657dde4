"""Receive buffering for the connection: join reads without quadratic copying.

A read hands us whatever the socket had: many frames, or a sliver of one.  Chunks are kept in a
list until the buffer holds ``need`` bytes (the header plus the body the header announced), and
joined once then.  While a header is due, any byte makes the buffer ready: the parser checks the
version byte as soon as it arrives.  A 16 MiB frame arriving in 256 KiB reads is thus copied
once, not 64 times.
"""

from __future__ import annotations

from wirekit.proto.limits import HEADER_SIZE


class FrameBuffer:
    """Bytes received and not yet parsed, and how many the next parse step needs."""

    __slots__ = ("_chunks", "_size", "need")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self.need = HEADER_SIZE

    def __len__(self) -> int:
        return self._size

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data))
            self._size += len(data)

    @property
    def ready(self) -> bool:
        """Whether the buffer holds enough for the next parse step: one byte when a header is
        due (its first byte, the version, can be judged alone, so garbage is refused at once
        rather than after 23 more bytes or the idle timeout), else the whole frame."""
        if self.need == HEADER_SIZE:
            return self._size > 0
        return self._size >= self.need

    def take(self) -> bytes:
        """Everything buffered, as one bytes object; the buffer is left empty."""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._size = 0
        return data

    def keep(self, data: bytes, offset: int, need: int) -> None:
        """Put back ``data[offset:]`` (an incomplete frame), which needs ``need`` bytes in all."""
        self.need = need
        if offset < len(data):
            tail = data[offset:] if offset else data
            self._chunks.insert(0, tail)
            self._size += len(tail)

    def clear(self) -> None:
        self._chunks = []
        self._size = 0
        self.need = HEADER_SIZE
