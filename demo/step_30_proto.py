"""The message protocol: wirekit proto server and client on loopback.

Starts ``wirekit proto server`` on a free loopback port with ``--output``, runs the seed's
exchange (HELLO, three DATA each waiting for its ACK, GOODBYE), then a short windowed run of
2,000 messages, then stops the server with SIGINT and shows its totals and the records it kept.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

WIREKIT = [sys.executable, "-m", "wirekit"]


def _start_server(output: Path, log: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([*WIREKIT, "proto", "server", "0", "--host", "127.0.0.1",
                             "--output", str(output)],
                            stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"listening on [\d.]+:(\d+)", log.read_text())
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"wirekit proto server did not start: {log.read_text()}")


def _run(*args: str) -> str:
    print(f"$ wirekit {' '.join(args)}", flush=True)
    done = subprocess.run([*WIREKIT, *args], capture_output=True, text=True, timeout=120,
                          check=True)
    print(done.stdout, end="", flush=True)
    return done.stdout


def run(workdir: Path) -> None:
    output, log = workdir / "proto-records.bin", workdir / "proto-server.log"
    output.unlink(missing_ok=True)
    server, port = _start_server(output, log)
    try:
        print(f"wirekit proto server listening on 127.0.0.1:{port}, records in {output}")
        _run("proto", "client", "127.0.0.1", str(port))
        _run("proto", "client", "127.0.0.1", str(port), "--count", "2000", "--size", "64",
             "--window", "64")
    finally:
        server.send_signal(signal.SIGINT)
        totals, _ = server.communicate(timeout=30)
    print(f"server stopped (exit {server.returncode}): {totals.strip()}")
    count = _run("proto", "records", str(output), "--count").strip()
    if int(count) != 2003:
        raise RuntimeError(f"expected 2003 records, found {count}")
