"""A whole ``wirekit capture`` run: open, drop privileges, capture into sinks, close, report.

The order is tcpdump's: every socket is opened (and the filter compiled and attached) while the
process still has CAP_NET_RAW; then ``--drop-privileges`` switches user; only then is the output
file created, so it belongs to that user.  Sinks are closed (files flushed and complete) before
the statistics are returned, whatever stopped the capture.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from wirekit.capture.engine import (
    FILE_LIMIT,
    CaptureResult,
    Sink,
    StopFlag,
    run_capture,
    stop_on_signals,
)
from wirekit.capture.merge import merge_files, worker_path
from wirekit.capture.rotation import RotatingFile, Rotation
from wirekit.capture.sinks import CountingSink, HexSink, JsonSink, SummarySink, VerboseSink
from wirekit.capture.source import CaptureOptions, LiveSource
from wirekit.capture.workers import FanoutCapture
from wirekit.errors import CaptureFileError, UsageError
from wirekit.link.bpf import FilterProgram
from wirekit.link.privileges import drop_privileges, preload
from wirekit.packet.linktype import LinkType
from wirekit.pcap.timestamps import TimeStyle

if TYPE_CHECKING:
    from wirekit.pcap import Writer

DISPLAYS = ("summary", "verbose", "hex", "json", "none")
#: Everything a capture may import after ``--drop-privileges`` has taken the right to.
PRELOAD = ("gzip", "json", "wirekit.packet", "wirekit.pcap", "wirekit.capture")

#: How tcpdump names the link types in its "listening on" line.
LINK_NAMES = {LinkType.ETHERNET: "EN10MB (Ethernet)",
              LinkType.LINUX_SLL2: "LINUX_SLL2 (Linux cooked v2)",
              LinkType.LINUX_SLL: "LINUX_SLL (Linux cooked v1)", LinkType.RAW: "RAW (Raw IP)"}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where frames go: an optional file, and how to print them (``none`` for nothing)."""

    path: Path | None = None
    display: str = "summary"
    nano: bool = False
    #: the time column of printed lines (tcpdump's -t styles); files keep full timestamps
    time_style: TimeStyle = TimeStyle.CLOCK
    #: -C / -G / -W: spread the file over several (one capture process only)
    rotation: Rotation = field(default_factory=Rotation)
    #: -e: summary lines start with the link-level header
    link_level: bool = False


class CaptureSession:
    """Sockets opened at construction; :meth:`run` captures until the count or a signal."""

    def __init__(self, options: CaptureOptions, output: OutputSpec) -> None:
        self.options = options
        self.output = output
        self._single: LiveSource | None = None
        self._fanout: FanoutCapture | None = None
        self._rotating: RotatingFile | None = None
        self._stop: StopFlag | None = None
        if output.rotation.active and (output.path is None or str(output.path) == "-"):
            raise UsageError("-C and -G rotate the file of -w: give one")
        if output.rotation.active and options.workers > 1:
            raise UsageError("-C and -G need a single capture process (no --workers)")
        if options.workers > 1:
            self._fanout = FanoutCapture(options)
        else:
            self._single = LiveSource(options)

    @property
    def link(self) -> LinkType:
        source = self._single or (self._fanout.sources[0] if self._fanout else None)
        if source is None:
            raise RuntimeError("capture session is closed")
        return source.link

    @property
    def program(self) -> FilterProgram:
        source = self._single or (self._fanout.sources[0] if self._fanout else None)
        if source is None:
            raise RuntimeError("capture session is closed")
        return source.user_filter or source.program

    @property
    def drain_ms(self) -> int:
        """How long a stopped capture keeps reading: one block retire timeout, and a margin
        for a loaded machine (a signal then costs a quarter of a second, never a frame)."""
        return self.options.ring.retire_timeout_ms + 200

    def banner(self) -> str:
        """tcpdump's "listening on" line."""
        name = LINK_NAMES.get(self.link, self.link.name)
        return (f"listening on {self.options.interface}, link-type {name}, "
                f"snapshot length {self.options.snaplen} bytes")

    def check_output(self) -> None:
        """Fail now, before the "listening on" line, when -w cannot be written: tcpdump opens
        its file first, so a typo in the path never looks like a capture that started.

        A plain file is opened for appending (created as tcpdump would; nothing is truncated
        yet); with rotation or workers the files are named later, so a file is created and
        removed in their directory.  FIFOs and devices are left alone: opening one early
        would block, or hand its reader an end of file.
        """
        path = self.output.path
        if path is None or str(path) == "-":
            return
        try:
            if self.output.rotation.active or self.options.workers > 1:
                descriptor, probe = tempfile.mkstemp(prefix=".wirekit-", dir=path.parent)
                os.close(descriptor)
                Path(probe).unlink()
                return
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():
                    return
            with path.open("ab"):
                pass
        except OSError as exc:
            raise CaptureFileError(f"cannot create {path}: {exc.strerror or exc}") from exc

    def drop_privileges(self, user: str) -> None:
        """Switch to ``user`` now that every socket is open (what runs later is loaded now)."""
        preload(PRELOAD)
        drop_privileges(user)

    def close(self) -> None:
        if self._single is not None:
            self._single.close()
            self._single = None
        if self._fanout is not None:
            self._fanout.close()
            self._fanout = None

    def run(self, stop: StopFlag | None = None) -> CaptureResult:
        """Capture, close every sink, merge worker files; SIGINT/SIGTERM stop it cleanly."""
        stop = stop or StopFlag()
        try:
            if self._fanout is not None:
                return self._run_fanout(self._fanout, stop)
            if self._single is None:
                raise RuntimeError("capture session is closed")
            return self._run_single(self._single, stop)
        finally:
            self.close()

    def _run_single(self, source: LiveSource, stop: StopFlag) -> CaptureResult:
        self._stop = stop
        with stop_on_signals(stop):
            sinks = self.make_sinks(self.output.path)
            try:
                result = run_capture(source, sinks, stop, count=self.options.count,
                                     on_block=self._flush_printer, drain_ms=self.drain_ms)
            finally:
                _close_all(sinks)
        rotating = self._rotating
        if rotating is not None and rotating.discarded:
            # frames of the block that ended a -G -W capture, after its last file was closed
            result = replace(result, captured=result.captured - rotating.discarded)
        return result

    @property
    def files(self) -> list[Path]:
        """The files written so far (several with -C or -G)."""
        if self._rotating is not None:
            return list(self._rotating.paths)
        return [self.output.path] if self.output.path is not None else []

    def _files_done(self) -> None:
        """-G with -W: the last file is complete; end the capture as tcpdump does."""
        if self._stop is not None:
            self._stop.set(FILE_LIMIT)

    def _run_fanout(self, fanout: FanoutCapture, stop: StopFlag) -> CaptureResult:
        target = self.output.path
        parts = [worker_path(target, n) for n in range(self.options.workers)] if target else []
        link = self.link

        def make(index: int) -> Sequence[Sink]:
            return self.make_sinks(parts[index] if parts else None)

        try:
            result = fanout.run(make, stop, drain_ms=self.drain_ms)
        except BaseException:
            for part in parts:
                part.unlink(missing_ok=True)
            raise
        if target is not None:
            merge_files(parts, target, link, nanosecond=self.output.nano,
                        snaplen=self.options.snaplen)
        return result

    def make_sinks(self, path: Path | None) -> list[Sink]:
        """The file writer (if any) first, then the printer the options ask for."""
        sinks: list[Sink] = []
        if path is not None and self.output.rotation.active:
            self._rotating = RotatingFile(path, self.output.rotation, self._writer,
                                          limit_reached=self._files_done)
            sinks.append(self._rotating)
        elif path is not None:
            sinks.append(self._writer(path))
        display = self.output.display
        if display == "none" and not sinks:
            sinks.append(CountingSink())
        nano, style = self.output.nano, self.output.time_style
        printer = {"summary": SummarySink, "hex": HexSink}.get(display)
        if printer is not None:
            sinks.append(printer(self.link, nano=nano, style=style,
                                 link_level=self.output.link_level))
        elif display == "json":
            sinks.append(JsonSink(self.link, nano=nano, style=style))
        elif display == "verbose":
            sinks.append(VerboseSink(self.link, nano=nano, style=style,
                                     ifname=self.options.interface))
        return sinks

    def _writer(self, path: Path) -> Writer:
        from wirekit.pcap import Writer

        try:
            writer = Writer(str(path), self.link, nanosecond=self.output.nano,
                                  snaplen=self.options.snaplen,
                                  interface_name=self.options.interface)
        except OSError as exc:
            raise CaptureFileError(f"cannot write {path}: {exc.strerror}") from exc
        return writer

    @staticmethod
    def _flush_printer() -> None:
        import sys

        with contextlib.suppress(ValueError):
            sys.stdout.flush()


def _close_all(sinks: Sequence[Sink]) -> None:
    """Close every sink even if one fails; the first failure is raised afterwards."""
    failure: BaseException | None = None
    for sink in sinks:
        try:
            sink.close()
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
