"""The message protocol, sans-I/O: frames, negotiation, the connection state machine.

See docs/protocol.md for the specification and docs/proto.md for the layout.  Nothing here
reads a clock or touches a socket; :mod:`wirekit.aio` runs it on asyncio.
"""

from wirekit.proto.codes import CODES, ErrorCode, code_closes, error_text
from wirekit.proto.connection import Connection
from wirekit.proto.events import (
    Accept,
    Ack,
    Acknowledge,
    ConnectionClosed,
    Data,
    ErrorMessage,
    Event,
    Goodbye,
    Heartbeat,
    Hello,
    UnknownMessage,
)
from wirekit.proto.frame import (
    FLAG_NEGOTIATE,
    VERSION_1,
    VERSION_2,
    Frame,
    FrameError,
    FrameHeader,
    MessageType,
    checksum_v1,
    checksum_v2,
    decode_frame,
    encode_frame,
)
from wirekit.proto.hello import Acceptance, Offer
from wirekit.proto.records import RecordFormat, encode_record, iter_records
from wirekit.proto.session import Session, SessionTable
from wirekit.proto.state import TRANSITIONS, Input, Role, State

__all__ = [
    "CODES", "FLAG_NEGOTIATE", "TRANSITIONS", "VERSION_1", "VERSION_2", "Accept", "Acceptance",
    "Ack", "Acknowledge", "Connection", "ConnectionClosed", "Data", "ErrorCode", "ErrorMessage",
    "Event", "Frame", "FrameError", "FrameHeader", "Goodbye", "Heartbeat", "Hello", "Input",
    "MessageType", "Offer", "RecordFormat", "Role", "Session", "SessionTable", "State",
    "UnknownMessage", "checksum_v1", "checksum_v2", "code_closes", "decode_frame",
    "encode_frame", "encode_record", "error_text", "iter_records",
]
