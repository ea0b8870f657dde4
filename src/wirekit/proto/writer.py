"""The reply side of a connection: numbering, framing and releasing what this side sends.

:class:`ReplyWriter` is the base of :class:`wirekit.proto.connection.Connection`; it holds the
output queue and the code that turns owed replies into frames, among them the version-1 hot
path (a run of ACKs packed into one buffer).
"""

from __future__ import annotations

from wirekit.proto.codes import ErrorCode, error_text
from wirekit.proto.frame import HEADER, VERSION_1, VERSION_2, MessageType, encode_frame
from wirekit.proto.limits import HEADER_SIZE, MAX_SEQUENCE

ACK, ERROR, HEARTBEAT = int(MessageType.ACK), int(MessageType.ERROR), int(MessageType.HEARTBEAT)
GOODBYE_ACK = -1  # an owed ACK after which the server closes
_pack_into = HEADER.pack_into


def seq_byte_sum(value: int) -> int:
    """The sum of the four bytes of a u32 (its share of a v1 checksum)."""
    return (value >> 24) + (value >> 16 & 0xFF) + (value >> 8 & 0xFF) + (value & 0xFF)


class ReplyWriter:
    """Output queue, sequence counter and owed replies of one connection."""

    version: int
    clock_offset: float
    delivered: int

    def __init__(self) -> None:
        self._out = bytearray()
        self._counter = 1           # v1 numbering of the frames this side sends
        self._owed: list[tuple[int, int]] = []   # server: replies owed, in arrival order
        self._v2_ack_owed = False

    def _owe_acks(self, count: int) -> int:
        """Owe ``count`` more v1 ACKs, merged into a run with the ACKs owed just before."""
        owed = self._owed
        if owed and owed[-1][0] == ACK:
            owed[-1] = (ACK, owed[-1][1] + count)
        else:
            owed.append((ACK, count))
        return 0

    def _owe(self, reply: int, seq: int) -> None:
        """Owe a reply; with nothing owed before it, it can go out at once (order is kept)."""
        if self._owed or self._v2_ack_owed:
            self._owed.append((reply, seq))
        else:
            self._emit_reply(reply, seq)


    def _frame(self, mtype: int, seq: int, payload: bytes = b"", flags: int = 0,
               version: int | None = None) -> None:
        version = self.version if version is None else version
        self._out += encode_frame(version, mtype, seq, payload, flags=flags,
                                  timestamp=self._timestamp(version))

    def _timestamp(self, version: int) -> int:
        wall = self._now + self.clock_offset
        return int(wall * 1_000_000_000) if version == VERSION_2 else int(wall)

    _now = 0.0

    def _v1_seq(self) -> int:
        seq = self._counter
        self._counter = seq + 1 if seq < MAX_SEQUENCE else 1
        return seq

    def _queue_error(self, code: ErrorCode, text: str, sequence: int = 0) -> None:
        seq = self._v1_seq() if self.version == VERSION_1 else sequence
        self._frame(ERROR, seq, text.encode(), flags=int(code))

    def _emit_reply(self, reply: int, seq: int) -> None:
        if reply == ERROR:
            self._queue_error(ErrorCode.UNKNOWN_TYPE, error_text(ErrorCode.UNKNOWN_TYPE), seq)
        elif reply == HEARTBEAT:
            self._frame(HEARTBEAT, self._v1_seq() if self.version == VERSION_1
                        else self.delivered)
        else:
            self._frame(ACK, self._v1_seq() if self.version == VERSION_1 else self.delivered)

    def _release_v1(self, owed: list[tuple[int, int]]) -> None:
        """One reply per frame, in order, numbered with our counter."""
        for reply, value in owed:
            if reply == ACK:
                self._ack_run(value)
            else:
                self._emit_reply(ACK if reply == GOODBYE_ACK else reply, value)

    def _ack_run(self, count: int) -> None:
        """``count`` v1 ACKs packed straight into the output: the hot path of version 1.

        The checksum is computed from the fields (1 + 3 + the sequence's and the timestamp's
        bytes; flags and length are 0) rather than by summing the packed bytes.
        """
        ts = int(self._now + self.clock_offset)
        base = VERSION_1 + ACK + seq_byte_sum(ts >> 32) + seq_byte_sum(ts & 0xFFFF_FFFF)
        out, start, counter = self._out, len(self._out), self._counter
        out += bytes(HEADER_SIZE * count)
        for index in range(count):
            seq = (counter + index - 1) % MAX_SEQUENCE + 1
            _pack_into(out, start + index * HEADER_SIZE, VERSION_1, ACK, 0, seq, 0,
                       base + (seq >> 24) + (seq >> 16 & 0xFF) + (seq >> 8 & 0xFF)
                       + (seq & 0xFF), ts)
        self._counter = (counter + count - 1) % MAX_SEQUENCE + 1

    def _release_v2(self, owed: list[tuple[int, int]]) -> None:
        goodbye = False
        for reply, seq in owed:
            if reply == GOODBYE_ACK:
                goodbye = True
            else:
                self._emit_reply(reply, seq)
        if self._v2_ack_owed or goodbye:
            self._emit_reply(ACK, 0)
