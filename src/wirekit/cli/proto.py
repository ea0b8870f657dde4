"""``wirekit proto``: the message protocol's server, client and tools (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import click

from wirekit.cli.common import FiniteFloatRange, print_json, stdout_console
from wirekit.errors import UsageError

PROTO_EPILOG = "The wire format and every error code: docs/protocol.md."


@click.group(epilog=PROTO_EPILOG)
def proto() -> None:
    """Run the framed message protocol of the seed's custom_protocol.c, done properly.

    \b
    Version 1 is the seed's wire format byte for byte; version 2 (CRC32C, large payloads,
    cumulative ACKs, resumable sessions, tokens) is negotiated in HELLO.

    \b
      wirekit proto server 9999 --output messages.bin
      wirekit proto client 127.0.0.1 9999
      wirekit proto client 127.0.0.1 9999 --count 100000 --size 64 --window 256
      wirekit proto dissector -o wirekit.lua
    """


# ---------------------------------------------------------------------- server


def _setup_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper()),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


@proto.command(epilog=PROTO_EPILOG)
@click.argument("port", type=click.IntRange(0, 65535), default=9999)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--max-connections", type=click.IntRange(1), default=10_000, show_default=True,
              help="Connections over this get ERROR \"server full\" and are closed.")
@click.option("--idle-timeout", type=FiniteFloatRange(min=0.1), default=60.0,
              show_default=True, help="Close connections without a complete frame this long.")
@click.option("--max-payload", type=click.IntRange(1, 16 * 1024 * 1024), default=1024,
              show_default=True, help="Largest payload accepted (v2 negotiates up to this).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM certificate chain: serve TLS (needs --tls-key).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM private key of --tls-cert.")
@click.option("--token", help="Require this token in HELLO (version 2 clients only).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Append each DATA payload as a record; fsync before the ACK.")
@click.option("--output-format", type=click.Choice(["length", "lines"]), default="length",
              show_default=True, help="Record format of --output.")
@click.option("--echo", is_flag=True, help="Send each DATA payload back to its client.")
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="Serve Prometheus metrics on this port (0: any free port).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="Address of the metrics endpoint.")
@click.option("--grace", type=FiniteFloatRange(min=0), default=5.0, show_default=True,
              help="Seconds clients get to finish after the shutdown GOODBYE.")
@click.option("--session-ttl", type=FiniteFloatRange(min=0), default=300.0, show_default=True,
              help="Seconds a version-2 session can be resumed after its connection ends.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True, help="Logging level (stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print the final totals as JSON.")
def server(port: int,  # noqa: PLR0917 (click passes options by name)
            host: str, max_connections: int, idle_timeout: float, max_payload: int,
           tls_cert: Path | None, tls_key: Path | None, token: str | None,
           output: Path | None, output_format: str, echo: bool, metrics_port: int | None,
           metrics_host: str, grace: float, session_ttl: float, log_level: str,
           as_json: bool) -> None:
    """Serve the protocol on PORT (default 9999) until SIGINT or SIGTERM.

    \b
    Replies as the seed's server: HELLO, DATA and GOODBYE get an ACK, HEARTBEAT a
    HEARTBEAT, an unknown type ERROR "Unknown message type".  A bad version, a length
    over --max-payload or a wrong checksum get an ERROR naming the reason, then close.
    On SIGINT/SIGTERM: stop accepting, GOODBYE to each client, wait --grace, print totals.
    SIGUSR1 prints every task's stack to stderr (what is each connection waiting for?).

    \b
      wirekit proto server                           # port 9999, all addresses
      wirekit proto server 7000 --output log.bin --echo --metrics-port 9100
      wirekit proto server 7443 --tls-cert cert.pem --tls-key key.pem --token s3cret
    """
    from wirekit.aio.runtime import run
    from wirekit.aio.server import ServerConfig
    from wirekit.aio.tls import server_context
    from wirekit.proto.records import RecordFormat

    _setup_logging(log_level)
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    config = ServerConfig(
        host=host, port=port, max_connections=max_connections, idle_timeout=idle_timeout,
        max_payload=max_payload, token=token.encode() if token else None,
        tls=server_context(tls_cert, tls_key) if tls_cert and tls_key else None,
        output=output, output_format=RecordFormat(output_format), echo=echo,
        metrics_port=metrics_port, metrics_host=metrics_host, grace=grace,
        session_ttl=session_ttl)
    stats = run(_serve(config))
    _print_totals(stats, as_json)


async def _serve(config: Any) -> dict[str, object]:
    from wirekit.aio.server import Server

    server = Server(config)
    await server.start()
    host, port = server.address
    click.echo(f"wirekit proto server listening on {host}:{port}"
               f"{' (TLS)' if config.tls else ''}", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    started = time.monotonic()
    await stop.wait()
    await server.shutdown()
    totals = server.stats.as_dict()
    totals["duration_s"] = round(time.monotonic() - started, 3)
    return totals


def _dump_tasks() -> None:
    """SIGUSR1: print every task's stack to stderr (what is each connection waiting for?)."""
    for task in asyncio.all_tasks():
        click.echo(f"--- {task.get_name()}: {task.get_coro()}", err=True)
        task.print_stack(file=sys.stderr)


def _print_totals(totals: dict[str, object], as_json: bool) -> None:
    if as_json:
        print_json(totals)
        return
    errors = totals["errors"]
    detail = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) if isinstance(
        errors, dict) and errors else "none"
    click.echo(f"totals: {totals['connections']} connection(s), {totals['messages']} DATA "
               f"message(s), {totals['bytes_received']} bytes in, {totals['bytes_sent']} "
               f"bytes out, {totals['refused_full']} refused (full); errors: {detail}")


# ---------------------------------------------------------------------- client


@proto.command(epilog=PROTO_EPILOG)
@click.argument("host")
@click.argument("port", type=click.IntRange(1, 65535), default=9999)
@click.option("--count", type=click.IntRange(1), help="Send N numbered DATA messages.")
@click.option("--size", type=click.IntRange(1, 16 * 1024 * 1024), default=64,
              show_default=True, help="Payload size of --count messages.")
@click.option("--window", type=click.IntRange(1), default=1, show_default=True,
              help="Messages in flight before waiting for ACKs.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Send each line of stdin as a DATA.")
@click.option("--interval", type=FiniteFloatRange(min=0), default=0.0, show_default=True,
              help="Seconds between messages.")
@click.option("--heartbeat", type=FiniteFloatRange(min=0.05),
              help="Send HEARTBEAT after this many idle seconds; 3 missed = dead.")
@click.option("--tls", is_flag=True, help="Connect with TLS.")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust this CA (or self-signed certificate) for --tls.")
@click.option("--insecure", is_flag=True, help="With --tls: do not verify the server.")
@click.option("--token", help="Token for a server started with --token.")
@click.option("--reconnect", is_flag=True,
              help="Reconnect after a drop, resume the session, resend what was not ACKed.")
@click.option("--protocol-version", type=click.Choice(["1", "2"]), default="2",
              show_default=True, help="2 negotiates (and falls back to 1); 1 never offers.")
@click.option("--max-payload", type=click.IntRange(1, 16 * 1024 * 1024),
              default=16 * 1024 * 1024, show_default=True,
              help="Largest payload offered in version 2.")
@click.option("--echo", "show_echo", is_flag=True, help="Print DATA the server sends back.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Only the summary.")
def client(host: str,  # noqa: PLR0917 (click passes options by name)
            port: int, count: int | None, size: int, window: int, from_stdin: bool,
           interval: float, heartbeat: float | None, tls: bool, tls_ca: Path | None,
           insecure: bool, token: str | None, reconnect: bool, protocol_version: str,
           max_payload: int, show_echo: bool, as_json: bool, quiet: bool) -> None:
    """Connect to HOST PORT and send messages.

    \b
    Without --count or --stdin it runs the seed's exchange, printing each step: HELLO,
    three DATA messages each waiting for its ACK, then GOODBYE.

    \b
      wirekit proto client 127.0.0.1
      wirekit proto client 127.0.0.1 9999 --count 100000 --size 64 --window 256
      printf 'one\\ntwo\\n' | wirekit proto client 127.0.0.1 --stdin
      wirekit proto client server.lan 7443 --tls --tls-ca cert.pem --token s3cret
    """
    from wirekit.aio.client import Client
    from wirekit.aio.runtime import run
    from wirekit.aio.tls import client_context

    if count is not None and from_stdin:
        raise UsageError("--count and --stdin are exclusive")
    options: dict[str, Any] = {
        "version": int(protocol_version), "token": token.encode() if token else None,
        "tls": client_context(tls_ca, verify=not insecure) if tls else None,
        "server_hostname": host if tls else None, "window": window, "reconnect": reconnect,
        "heartbeat": heartbeat, "max_payload": max_payload,
        "keep_latencies": True,
    }
    if count is not None:
        payloads: Iterator[bytes] = _numbered(count, size)
    elif from_stdin:
        payloads = _STDIN  # read in a worker thread: the loop keeps serving ACKs meanwhile
    else:
        payloads = iter([])
    exchange = count is None and not from_stdin
    summary = run(_run_client(Client, host, port, options, payloads, exchange=exchange,
                              interval=interval, show_echo=show_echo,
                              verbose=not quiet and not as_json))
    if as_json:
        print_json(summary)
    elif not exchange:
        _print_summary(summary)


def _numbered(count: int, size: int) -> Iterator[bytes]:
    """Message i is its number, zero-padded, filled with '.' to ``size`` bytes."""
    width = len(str(count))
    for index in range(1, count + 1):
        text = f"{index:0{width}d}".encode()
        yield text[:size] if len(text) >= size else text + b"." * (size - len(text))


async def _run_client(client_cls: Any, host: str, port: int, options: dict[str, Any],
                      payloads: Iterator[bytes], *, exchange: bool, interval: float,
                      show_echo: bool, verbose: bool) -> dict[str, object]:
    out = stdout_console()
    started = time.perf_counter()
    async with _connected(client_cls, host, port, options) as client:
        version = client.negotiated_version
        if verbose:
            session = f", session {client.session_id.hex()[:12]}" if version == 2 else ""
            out.print(f"Connected to {host}:{port} (protocol version {version}{session})")
            if exchange:
                out.print("-> HELLO  <- ACK")
        echo_task = asyncio.create_task(_print_echo(client, out)) if show_echo else None
        if exchange:
            payloads = iter([f"Data message #{n}".encode() for n in (1, 2, 3)])
            client.window = 1
        await _pump(client, payloads, interval, out if verbose and exchange else None)
        await client.flush()
        if verbose and exchange:
            out.print("-> GOODBYE  <- ACK")
    elapsed = time.perf_counter() - started
    if echo_task is not None:
        await asyncio.wait([echo_task], timeout=1.0)
    return _summary(client, version, elapsed)


@contextlib.asynccontextmanager
async def _connected(client_cls: Any, host: str, port: int,
                     options: dict[str, Any]) -> AsyncIterator[Any]:
    async with client_cls.connect(host, port, **options) as client:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, task.cancel)
        yield client


_STDIN: Iterator[bytes] = iter([])  # a marker: lines of standard input


async def _stdin_lines() -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.buffer.readline):
        yield line.rstrip(b"\n")


async def _iterate(payloads: Iterator[bytes]) -> AsyncIterator[bytes]:
    if payloads is _STDIN:
        async for line in _stdin_lines():
            yield line
        return
    for payload in payloads:
        yield payload


async def _pump(client: Any, payloads: Iterator[bytes], interval: float,
                out: Any | None) -> None:
    pending = []
    async for payload in _iterate(payloads):
        future = await client.submit(payload)
        if out is not None:
            seq = await future
            text = payload.decode(errors="replace")
            out.print(f"-> DATA seq={seq} \"{text}\"  <- ACK")
        else:
            pending.append(future)
            if len(pending) > 4096:
                pending = [f for f in pending if not f.done()]
        if interval:
            await asyncio.sleep(interval)
    if pending:
        await asyncio.gather(*pending)


async def _print_echo(client: Any, out: Any) -> None:
    async for message in client:
        out.print(f"<- DATA seq={message.sequence} "
                  f"\"{message.payload.decode(errors='replace')}\"")


def _summary(client: Any, version: int, elapsed: float) -> dict[str, object]:
    latencies = sorted(client.stats.latencies)

    def quantile(q: float) -> float | None:
        if not latencies:
            return None
        return round(float(latencies[min(len(latencies) - 1, int(q * len(latencies)))]) * 1000, 3)

    return {"version": version, "session": client.session_id.hex() if version == 2 else None,
            "sent": client.stats.sent, "acked": client.stats.acked,
            "resent": client.stats.resent, "reconnects": client.stats.reconnects,
            "elapsed_s": round(elapsed, 3),
            "messages_per_s": round(client.stats.acked / elapsed, 1) if elapsed else None,
            "ack_latency_ms": {"p50": quantile(0.5), "p99": quantile(0.99)}}


def _print_summary(summary: dict[str, object]) -> None:
    parts = [_count_text(summary), f"protocol version {summary['version']}"]
    latency = _latency_text(summary["ack_latency_ms"])
    if latency is not None:
        parts.append(latency)
    parts += [f"{summary['reconnects']} reconnect(s)", f"{summary['resent']} resent"]
    click.echo(", ".join(parts))


def _count_text(summary: dict[str, object]) -> str:
    if not summary["sent"]:
        return "no messages sent"  # e.g. empty stdin: a rate of 0 msg/s would say nothing
    return (f"{summary['acked']} message(s) acknowledged in {summary['elapsed_s']} s "
            f"({summary['messages_per_s']} msg/s)")


def _latency_text(latency: object) -> str | None:
    """The ACK latency quantiles, or None when no ACK was measured (nothing to report)."""
    assert isinstance(latency, dict)
    if latency["p50"] is None:
        return None
    return f"ACK latency p50 {latency['p50']} ms p99 {latency['p99']} ms"


# ---------------------------------------------------------------------- tools


@proto.command(epilog=PROTO_EPILOG)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Lua script here (default: stdout).")
@click.option("--port", "ports", type=click.IntRange(1, 65535), multiple=True,
              help="TCP port(s) to register the dissector on (default 9999).")
def dissector(output: Path | None, ports: tuple[int, ...]) -> None:
    """Write a Wireshark/tshark Lua dissector for both protocol versions.

    \b
    It decodes every header field, HELLO offers and acceptances, ERROR codes and texts,
    and flags bad checksums (v1 byte sum, v2 CRC32C) as expert errors; the field
    wirekit.checksum_bad is present on those frames only.

    \b
      wirekit proto dissector -o wirekit.lua
      tshark -X lua_script:wirekit.lua -d tcp.port==9999,wirekit -r capture.pcap
      tshark -X lua_script:wirekit.lua -r capture.pcap -Y wirekit.checksum_bad
    """
    from wirekit.proto.dissector import render_dissector

    script = render_dissector(ports or (9999,))
    if output is None:
        click.echo(script, nl=False)
    else:
        output.write_text(script)
        click.echo(f"wrote {output}", err=True)


@proto.command(epilog=PROTO_EPILOG)
@click.argument("source")
@click.option("--version", "version", type=click.Choice(["1", "2"]),
              help="Expect this version (default: per frame).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every frame.")
def decode(source: str, version: str | None, as_json: bool) -> None:
    """Decode frames from SOURCE: a hex string, a file, or - for stdin.

    \b
      wirekit proto decode 010300000000000100000000000000050000000000000000
      wirekit proto decode frames.bin --json
    """
    from wirekit.proto.inspect import describe_frames

    data = _read_source(source)
    frames = describe_frames(data, version=int(version) if version else None)
    if as_json:
        print_json({"frames": frames})
        return
    for frame in frames:
        click.echo(frame["summary"])


def _read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    if path.exists():
        return path.read_bytes()
    try:
        return bytes.fromhex(source.replace(" ", "").replace(":", ""))
    except ValueError as exc:
        raise UsageError(f"{source!r} is neither a file nor hex bytes") from exc


@proto.command(epilog=PROTO_EPILOG)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["length", "lines"]), default="length",
              show_default=True, help="Record format the server wrote.")
@click.option("--count", "count_only", is_flag=True, help="Only print how many records.")
@click.option("--json", "as_json", is_flag=True, help="Records as JSON (text or hex).")
def records(file: Path, fmt: str, count_only: bool, as_json: bool) -> None:
    """List the records of a server's --output FILE.

    \b
      wirekit proto records messages.bin
      wirekit proto records messages.txt --format lines --count
    """
    from wirekit.proto.records import RecordFormat, iter_records

    payloads = list(iter_records(file.read_bytes(), RecordFormat(fmt)))
    if count_only:
        click.echo(len(payloads))
    elif as_json:
        print_json({"records": [_printable(p) for p in payloads]})
    else:
        for index, payload in enumerate(payloads, 1):
            click.echo(f"{index}\t{len(payload)}\t{_printable(payload)}")


def _printable(payload: bytes) -> str:
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        return payload.hex()
    return text if text.isprintable() else payload.hex()


@proto.command(epilog=PROTO_EPILOG)
@click.option("--json", "as_json", is_flag=True, help="The table as JSON.")
def errors(as_json: bool) -> None:
    """Print the protocol's error codes: code, name, ERROR text, whether it closes."""
    from wirekit.proto.codes import CODES

    rows = [{"code": int(code), "name": code.name, "text": info.text, "closes": info.closes}
            for code, info in CODES.items()]
    if as_json:
        print_json({"errors": rows})
        return
    for row in rows:
        click.echo(f"{row['code']:>3}  {row['name']:<19} {'closes' if row['closes'] else 'open':<7}"
                   f" {row['text']}")
