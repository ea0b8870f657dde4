"""Run ``wirekit proto server`` and the seed's C programs for the integration tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WIREKIT = [sys.executable, "-m", "wirekit"]


@dataclass
class RunningServer:
    proc: subprocess.Popen[str]
    port: int
    stderr_path: Path
    metrics_port: int | None = None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> tuple[str, str, int]:
        """Signal the server and collect (stdout, stderr, exit code)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out, self.stderr_path.read_text(), self.proc.returncode

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None,
                 nofile: int | None = None) -> RunningServer:
    """Start the server on 127.0.0.1, a free port, and wait until it listens.

    ``nofile`` caps the server's RLIMIT_NOFILE (soft and hard), to provoke EMFILE.
    """
    err = tmp / f"server-{time.monotonic_ns()}.err"
    command = [*WIREKIT, "proto", "server", "0", "--host", "127.0.0.1", *args]
    if nofile is not None:  # set in the child itself (preexec_fn is unsafe with threads)
        command = [sys.executable, "-c",
                   "import resource, runpy, sys; "
                   f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
                   "sys.argv = ['wirekit', *sys.argv[1:]]; "
                   "runpy.run_module('wirekit', run_name='__main__')", *command[3:]]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err.open("w"), text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = err.read_text()
        found = re.search(r"listening on [\d.]+:(\d+)", text)
        if found:
            metrics = re.search(r"metrics on http://[\d.]+:(\d+)/metrics", text)
            return RunningServer(proc, int(found.group(1)), err,
                                 int(metrics.group(1)) if metrics else None)
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {text}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"server did not start: {err.read_text()}")


@contextlib.contextmanager
def server(tmp: Path, *args: str, nofile: int | None = None) -> Iterator[RunningServer]:
    running = start_server(tmp, *args, nofile=nofile)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str, timeout: float = 60, input_text: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WIREKIT, *args], capture_output=True, text=True, timeout=timeout,
                          input=input_text, check=False)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_frames(sock: socket.socket, timeout: float = 5.0) -> tuple[list[tuple[int, int, int,
                                                                               bytes]], bool]:
    """Read until EOF or timeout: [(type, flags, seq, payload)], and whether EOF came."""
    from wirekit.proto.frame import decode_frame

    sock.settimeout(timeout)
    data, eof = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            eof = True
            break
        if not chunk:
            eof = True
            break
        data += chunk
    frames, offset = [], 0
    while (result := decode_frame(data, offset)) is not None:
        frame, offset = result
        h = frame.header
        frames.append((h.type, h.flags, h.sequence, frame.payload))
    return frames, eof
