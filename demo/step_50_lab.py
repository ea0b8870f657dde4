"""The lab: two network namespaces joined by a veth pair, and wirekit on both ends.

In namespace B: `wirekit capture` writes everything on veth0 to a pcapng, `wirekit proto server`
keeps what it is sent, `wirekit bench server` waits for a throughput test.  From namespace A:
`wirekit ping`, the seed's protocol exchange with `wirekit proto client`, a `wirekit probe`, and a
two-second `wirekit bench client` while `wirekit monitor` watches the link.  Then the capture is
stopped with SIGINT and read back; with tshark present, the protocol frames are decoded by the
Lua dissector `wirekit proto dissector` writes.  Needs root (namespaces, packet sockets); the
namespaces and every process are removed at the end, also on failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.netns import NetnsPair, netns_pair  # noqa: E402

WIREKIT = [sys.executable, "-m", "wirekit"]
PROTO_PORT, BENCH_PORT = 9999, 5201


def _show(lab: NetnsPair, ns: str, *args: str, timeout: float = 60) -> str:
    side = "A" if ns == lab.ns_a else "B"
    print(f"[{side}]$ wirekit {' '.join(args)}", flush=True)
    done = lab.run(ns, *WIREKIT, *args, timeout=timeout)
    text = done.stderr.decode() + done.stdout.decode()
    print(text, end="" if text.endswith("\n") else "\n", flush=True)
    return text


def _wait_for(predicate: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _listening(lab: NetnsPair, port: int) -> bool:
    return f":{port} " in lab.run(lab.ns_b, "ss", "-ltnH").stdout.decode()


def _start_capture(lab: NetnsPair, path: Path, log: Path) -> subprocess.Popen[bytes]:
    # 128-byte snapshots: the headers of the 15 Gbit/s bench stream fit the ring with no drops.
    capture = lab.popen(lab.ns_b, [*WIREKIT, "capture", "veth0", "-w", str(path), "-q",
                                   "-s", "128"],
                        stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    _wait_for(lambda: "listening on" in log.read_text(), "the capture to start")
    return capture


def _traffic(lab: NetnsPair, workdir: Path) -> None:
    records = workdir / "lab-records.bin"
    records.unlink(missing_ok=True)
    lab.popen(lab.ns_b, [*WIREKIT, "proto", "server", str(PROTO_PORT), "--host", lab.ip4_b,
                         "--output", str(records), "--log-level", "warning"])
    lab.popen(lab.ns_b, [*WIREKIT, "bench", "server", "-1", "-p", str(BENCH_PORT)],
              stdout=subprocess.DEVNULL)
    _wait_for(lambda: _listening(lab, PROTO_PORT) and _listening(lab, BENCH_PORT), "servers")
    _show(lab, lab.ns_a, "ping", lab.ip4_b, "-c", "3", "-i", "0.2")
    _show(lab, lab.ns_a, "proto", "client", lab.ip4_b, str(PROTO_PORT))
    _show(lab, lab.ns_a, "probe", lab.ip4_b, f"{PROTO_PORT},{PROTO_PORT - 1}", "--timeout", "0.5")
    monitor = lab.popen(lab.ns_b, [*WIREKIT, "monitor", "veth0", "-i", "1", "-d", "4"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.5)
    _show(lab, lab.ns_a, "bench", "client", lab.ip4_b, "-p", str(BENCH_PORT), "-t", "2")
    out, _ = monitor.communicate(timeout=30)
    print("[B]$ wirekit monitor veth0 -i 1 -d 4   (during the bench run)")
    print(out.decode(), flush=True)


def _stop_capture(capture: subprocess.Popen[bytes], log: Path) -> None:
    os.killpg(capture.pid, signal.SIGINT)
    capture.wait(timeout=30)
    print("[B] capture stopped with SIGINT:")
    print(log.read_text(), flush=True)


def _decode(lab: NetnsPair, workdir: Path, path: Path) -> None:
    _show(lab, lab.ns_b, "read", str(path), "-c", "8", "icmp or arp")
    _show(lab, lab.ns_b, "read", str(path), "-c", "6", f"tcp port {PROTO_PORT}")
    if shutil.which("tshark") is None:
        print("(tshark is not installed: `make test` installs it; skipping the dissector view)")
        return
    lua = workdir / "wirekit.lua"
    subprocess.run([*WIREKIT, "proto", "dissector", "-o", str(lua)], check=True)
    shown = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-X", f"lua_script:{lua}",
         "-d", f"tcp.port=={PROTO_PORT},wirekit", "-Y", "wirekit"],
        capture_output=True, text=True, timeout=60, check=False)
    print(f"$ tshark -r {path.name} -X lua_script:{lua.name} -Y wirekit")
    print("\n".join(shown.stdout.splitlines()[:10]), flush=True)


def run(workdir: Path) -> None:
    if os.geteuid() != 0:
        print("the lab needs root (network namespaces, packet sockets): run `sudo make demo`")
        return
    path, log = workdir / "lab.pcapng", workdir / "lab-capture.log"
    with netns_pair() as lab:
        print(f"namespaces {lab.ns_a} ({lab.ip4_a}) and {lab.ns_b} ({lab.ip4_b}), "
              "joined by veth0")
        capture = _start_capture(lab, path, log)
        _traffic(lab, workdir)
        _stop_capture(capture, log)
        _decode(lab, workdir, path)
    print("namespaces and processes removed")
