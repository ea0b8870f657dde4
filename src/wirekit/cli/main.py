"""Entry point of the ``wirekit`` command.

Sub-commands are loaded lazily: ``wirekit --help`` and ``wirekit read`` must not pay for importing
asyncio servers or matplotlib.  Each entry of :data:`COMMANDS` names the module and the click object
that implements it, plus the one-line help shown by ``wirekit --help``.

Errors: every :class:`~wirekit.errors.WirekitError` becomes one line on stderr and the exit code of
its class; anything else becomes one line and exit code 70 unless ``WIREKIT_DEBUG=1`` asks for the
traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from wirekit import __version__
from wirekit.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, WirekitError

#: name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    # packets and capture files
    "read": ("wirekit.cli.read", "read", "Decode a pcap or pcapng file, one line per packet."),
    "rewrite": ("wirekit.cli.rewrite", "rewrite",
                "Edit a capture file's frames: MACs, address maps, TTL, MTU, checksums."),
    # raw sockets
    "info": ("wirekit.cli.info", "info",
            "Show network interfaces: state, addresses, driver, counters."),
    "capture": ("wirekit.cli.capture", "capture",
               "Capture live packets (TPACKET_V3 ring, BPF filter)."),
    "send": ("wirekit.cli.send", "send", "Craft and send TCP, UDP, ICMP, ARP or raw frames."),
    "replay": ("wirekit.cli.replay", "replay", "Replay a capture file onto an interface, paced."),
    "ping": ("wirekit.cli.ping", "ping", "Send ICMP echo requests over IPv4 or IPv6."),
    "probe": ("wirekit.cli.probe", "probe",
             "TCP SYN probe: report ports open, closed or filtered."),
    # the message protocol
    "proto": ("wirekit.cli.proto", "proto",
             "Run the framed message protocol: server, client, tools."),
    # performance
    "monitor": ("wirekit.cli.monitor", "monitor",
               "Watch interface rates live; summarise at the end."),
    "bench": ("wirekit.cli.bench", "bench", "iperf3-compatible throughput server and client."),
    "tune": ("wirekit.cli.tune", "tune", "Audit, apply and revert host tuning profiles."),
    "bypass": ("wirekit.cli.bypass", "bypass",
               "Kernel-bypass (XDP, DPDK) readiness; huge pages for DPDK."),
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute, _ = entry
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="wirekit")
def cli() -> None:
    """wirekit: craft, send, capture and decode packets; run a framed protocol;
    measure, impair and tune network performance.

    Run `wirekit COMMAND --help` for the options of one command.  Exit codes are
    listed in README.md ("Exit codes").
    """


def _fail(message: str, code: int) -> int:
    click.echo(f"wirekit: error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn every failure into one line and an exit code."""
    debug = os.environ.get("WIREKIT_DEBUG") == "1"
    try:
        # Not cli.main(): click's own main() turns a broken pipe into sys.exit(1), and we want
        # `wirekit read big.pcap | head` to end quietly with 0, as tcpdump does.
        args = sys.argv[1:] if argv is None else argv
        with cli.make_context("wirekit", list(args)) as ctx:
            cli.invoke(ctx)
        sys.stdout.flush()
    except click.exceptions.Abort:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except WirekitError as exc:
        if debug:
            raise
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Output piped into `head`: stop quietly, as tcpdump does.
        _silence_stdout()
        return 0
    except Exception as exc:
        if debug:
            raise
        detail = f"{type(exc).__name__}: {exc}"
        return _fail(f"internal error: {detail} (set WIREKIT_DEBUG=1 for details)", EXIT_INTERNAL)
    return 0


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> Any:
    """Console-script shim kept for ``python -m wirekit``."""
    sys.exit(main())
