"""The one error tree of wirekit.

Every error a user can cause (bad input, a missing privilege, a missing interface, a peer that
misbehaves) is a subclass of :class:`WirekitError`.  Each class carries the process exit code that
the CLI uses for it, so commands never pick exit codes themselves (click's own habit: the code
lives on the exception class).  README.md documents the table.
"""

from __future__ import annotations

from typing import ClassVar


class WirekitError(Exception):
    """Base class of every error wirekit raises on purpose."""

    exit_code: ClassVar[int] = 1


class UsageError(WirekitError):
    """An argument is well-formed for the parser but wrong for the job (same code as click's)."""

    exit_code = 2


class DecodeError(WirekitError):
    """A packet or frame could not be decoded (strict mode only; tolerant mode records a status).

    ``layer`` names the layer that failed and ``offset`` is the byte offset of the problem,
    counted from the start of the buffer handed to the decoder.
    """

    exit_code = 3

    def __init__(self, message: str, *, layer: str = "", offset: int = 0) -> None:
        super().__init__(message)
        self.layer = layer
        self.offset = offset


class CaptureFileError(WirekitError):
    """A file is not a pcap/pcapng capture, or is damaged beyond reading."""

    exit_code = 4


class CaptureError(WirekitError):
    """Live capture failed (ring setup, socket error)."""

    exit_code = 5


class FilterError(WirekitError):
    """A tcpdump-syntax filter did not compile; the message is libpcap's own."""

    exit_code = 6


class InterfaceError(WirekitError):
    """A named network interface does not exist or cannot be used."""

    exit_code = 7


class ProtocolError(WirekitError):
    """The message protocol was violated."""

    exit_code = 8


class LocalProtocolError(ProtocolError):
    """We were asked to do something the protocol forbids (a bug in the caller)."""


class RemoteProtocolError(ProtocolError):
    """The peer violated the protocol; ``code`` is the protocol error code, when there is one."""

    def __init__(self, message: str, *, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class NetworkError(WirekitError):
    """A connection could not be made or was lost (refused, unreachable, timed out)."""

    exit_code = 9


class TuningError(WirekitError):
    """Reading, applying or reverting a tuning profile failed."""

    exit_code = 10


class BenchError(WirekitError):
    """A throughput test failed (peer refused, parameters rejected, test aborted)."""

    exit_code = 11


class PrivilegeError(WirekitError):
    """A Linux capability is missing; ``capability`` names it (for example ``CAP_NET_RAW``).

    Named PrivilegeError rather than PermissionError so it does not shadow the builtin.
    """

    exit_code = 77  # EX_NOPERM from sysexits.h

    def __init__(self, message: str, *, capability: str = "") -> None:
        super().__init__(message)
        self.capability = capability


#: Exit code for a run stopped by SIGINT before it finished its own work (shell convention 128+2).
EXIT_INTERRUPTED = 130
#: Exit code for an unexpected internal error (EX_SOFTWARE from sysexits.h).
EXIT_INTERNAL = 70

ERROR_CLASSES: tuple[type[WirekitError], ...] = (
    WirekitError,
    UsageError,
    DecodeError,
    CaptureFileError,
    CaptureError,
    FilterError,
    InterfaceError,
    ProtocolError,
    NetworkError,
    TuningError,
    BenchError,
    PrivilegeError,
)
