"""Helpers of the bench interop tests: free ports, servers that are ready, JSON schemas.

The schemas in ``schemas/`` were derived from real ``iperf3 3.12 -J`` runs with
:func:`derive_schema` (``python -m tests.integration.bench.bench_support`` regenerates them):
every key iperf3 printed is required, with its JSON type; extra keys are allowed, because
wirekit adds its own (``rtt_ms``, ``duplicates``).
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
WIREKIT = [sys.executable, "-m", "wirekit", "bench"]
#: (schema name, client arguments): the kinds of run whose -J output has a distinct shape.
SCHEMA_RUNS = {
    "tcp": ["-t", "1"],
    "udp": ["-t", "1", "-u", "-b", "100M", "-l", "1200"],
    "bidir": ["-t", "1", "--bidir"],
}


def free_port() -> int:
    """A port free for both TCP and UDP right now (the bench uses both on one number)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive ports free for TCP and UDP right now (--cport)."""
    for _ in range(50):
        first = free_port()
        if first + count - 1 > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    held.append(sock)
                    sock.bind(("0.0.0.0", port))  # the client binds the wildcard
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


def _listening(port: int) -> bool:
    wanted = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(wanted.strip()) and fields[3] == "0A":
                return True
    return False


def wait_listening(port: int, process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Wait until something listens on ``port`` without connecting (a connection would be a
    test for iperf3 -1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port):
            return
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {process.communicate()}")
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


def server_command(kind: str, port: int, *extra: str, json_output: bool = True) -> list[str]:
    """``iperf3 -s -1 [-J]`` or ``wirekit bench server -1 [-J]`` on ``port``."""
    mode = ["-J"] if json_output else []
    if kind == "iperf3":
        return ["iperf3", "-s", "-1", *mode, "-p", str(port), *extra]
    return [*WIREKIT, "server", "-1", *mode, "-p", str(port), *extra]


def start_server(kind: str, port: int, *extra: str, json_output: bool = True
                 ) -> subprocess.Popen[str]:
    """A one-off server (see :func:`server_command`) on ``port``, ready to accept."""
    process = subprocess.Popen(server_command(kind, port, *extra, json_output=json_output),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_listening(port, process)
    return process


def serve_one(server: subprocess.Popen[str], client: list[str], timeout: float = 30.0
              ) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """Run ``client`` against the one-off ``server``, then wait for the server to exit (it is
    killed if it does not).  Returns the client's run and the server's stdout and stderr."""
    try:
        done = subprocess.run(client, capture_output=True, text=True, timeout=timeout,
                              check=False)
        out, err = server.communicate(timeout=timeout)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    return done, out, err


def client_command(kind: str, port: int, args: list[str]) -> list[str]:
    if kind == "iperf3":
        return ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-J", *args]
    return [*WIREKIT, "client", "127.0.0.1", "-p", str(port), "-J", *args]


def run_pair(server: str, client: str, args: list[str],
             timeout: float = 30.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one test; both sides must exit 0.  Returns (client JSON, server JSON)."""
    port = free_port()
    process = start_server(server, port)
    done, out, err = serve_one(process, client_command(client, port, args), timeout)
    assert done.returncode == 0, f"{client} client failed: {done.stdout}\n{done.stderr}"
    assert process.returncode == 0, f"{server} server failed: {out}\n{err}"
    return json.loads(done.stdout), json.loads(out)


class PairRuns:
    """:func:`run_pair` remembered for the session: the schema tests validate the documents of
    the interop runs of the same kind instead of running each pair a second time."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, tuple[str, ...]],
                         tuple[dict[str, Any], dict[str, Any]]] = {}

    def __call__(self, server: str, client: str,
                 args: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        key = (server, client, tuple(args))
        if key not in self._done:
            self._done[key] = run_pair(server, client, args)
        return copy.deepcopy(self._done[key])


# --- schemas ----------------------------------------------------------------------------------


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def derive_schema(value: Any) -> dict[str, Any]:
    """A JSON schema of ``value``: types, and every key of every object required."""
    kind = _type_of(value)
    if kind == "object":
        return {"type": "object", "required": sorted(value),
                "properties": {key: derive_schema(item) for key, item in value.items()}}
    if kind == "array":
        items = [derive_schema(item) for item in value]
        return {"type": "array", "items": _merge(items)} if items else {"type": "array"}
    return {"type": kind}


def _merge(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema that every element satisfies: shared keys required, types merged."""
    first = schemas[0]
    if any(s.get("type") != first.get("type") for s in schemas):
        return {}
    if first.get("type") != "object":
        if first.get("type") == "array":
            inner = [s["items"] for s in schemas if "items" in s]
            return {"type": "array", "items": _merge(inner)} if inner else {"type": "array"}
        return first
    required = set(first["required"]).intersection(*(s["required"] for s in schemas))
    properties = {}
    for key in required:
        properties[key] = _merge([s["properties"][key] for s in schemas])
    return {"type": "object", "required": sorted(required), "properties": properties}


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"iperf3_{name}.json").read_text())  # type: ignore[no-any-return]


def regenerate() -> None:
    """Write schemas/iperf3_<kind>_<role>.json from fresh iperf3-to-iperf3 runs."""
    SCHEMAS.mkdir(exist_ok=True)
    for name, args in SCHEMA_RUNS.items():
        client_doc, server_doc = run_pair("iperf3", "iperf3", args)
        for role, doc in (("client", client_doc), ("server", server_doc)):
            path = SCHEMAS / f"iperf3_{name}_{role}.json"
            path.write_text(json.dumps(derive_schema(doc), indent=1, sort_keys=True) + "\n")
            print(f"wrote {path}")


if __name__ == "__main__":
    regenerate()
