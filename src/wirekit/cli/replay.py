"""``wirekit replay FILE IFACE``: send a capture file's frames again, paced like tcpreplay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from wirekit.capture.engine import StopFlag, stop_on_signals
from wirekit.cli.common import FiniteFloatRange, print_json
from wirekit.cli.rewrite import rewrite_from, rewrite_options
from wirekit.errors import UsageError
from wirekit.link.caps import require_capability
from wirekit.link.privileges import drop_privileges
from wirekit.link.replay import Limits, Pacing, load_capture
from wirekit.link.replay import replay as run_replay
from wirekit.link.sender import FrameSender


def _pacing(topspeed: bool, pps: float | None, mbps: float | None,
            multiplier: float | None) -> Pacing:
    chosen = [(mode, value) for mode, value in (("pps", pps), ("mbps", mbps),
                                                ("multiplier", multiplier)) if value is not None]
    if topspeed:
        chosen.append(("topspeed", 0.0))
    if len(chosen) > 1:
        raise UsageError("choose one of --topspeed, --pps, --mbps and --multiplier")
    mode, value = chosen[0] if chosen else ("multiplier", 1.0)
    return Pacing(mode, value)


@click.command(epilog="""\b
Examples:
  wirekit replay trace.pcap eth0                 at the speed it was captured
  wirekit replay trace.pcap eth0 --topspeed      as fast as the kernel takes it
  wirekit replay trace.pcap eth0 --pps 10000 --loop 5
  wirekit replay trace.pcapng eth0 --mbps 100
  wirekit replay trace.pcap eth0 --multiplier 2  twice as fast as captured
  wirekit replay trace.pcap eth0 -t -L 1000000 --duration 30
                                                 stop at a million frames or 30 s
  wirekit replay trace.pcap eth0 --enet-dmac 02:00:00:00:00:02 -D 10.0.0.0/8:10.9.0.0/16
                                                 rewrite while replaying (tcpreplay-edit)
""")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("iface")
@click.option("--topspeed", "-t", is_flag=True, help="Send as fast as possible.")
@click.option("--pps", "-p", type=float, help="Send this many packets per second.")
@click.option("--mbps", "-M", type=float, help="Send at this many megabits per second.")
@click.option("--multiplier", "-x", type=float,
              help="Replay at this multiple of the captured speed (default 1).")
@click.option("--loop", "-l", "loops", type=click.IntRange(min=0), default=1, show_default=True,
              help="Send the file this many times (0: until interrupted).")
@click.option("--loopdelay-ms", "loop_delay_ms", type=click.IntRange(min=0), default=0,
              help="Pause between two passes of --loop, in milliseconds.")
@click.option("-L", "--limit", type=click.IntRange(min=1),
              help="Stop after sending this many frames (all passes together).")
@click.option("--duration", type=FiniteFloatRange(min=0, min_open=True, max=10 ** 7),
              help="Stop after this many seconds.")
@click.option("-Z", "--drop-privileges", "user", metavar="USER",
              help="Switch to USER once the socket is open.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@rewrite_options
def replay(*, file: Path, iface: str, topspeed: bool, pps: float | None, mbps: float | None,
           multiplier: float | None, loops: int, loop_delay_ms: int, limit: int | None,
           duration: float | None, user: str | None, as_json: bool, **edits: Any) -> None:
    """Replay the frames of a pcap or pcapng FILE onto IFACE (needs CAP_NET_RAW).

    The file is loaded once and sent with batched sendmmsg calls; paced modes keep an
    absolute schedule, so the average rate does not drift.  Ctrl-C stops early and still
    prints tcpreplay's statistics.  The edit options are tcprewrite's (see `wirekit rewrite
    --help`); frames are edited once, when the file is loaded.
    """
    pacing = _pacing(topspeed, pps, mbps, multiplier)
    edit = rewrite_from(edits)
    limits = Limits(packets=limit or 0, seconds=duration or 0.0,
                    loop_delay=loop_delay_ms / 1000)
    require_capability("CAP_NET_RAW", f"replaying onto {iface}")
    capture = load_capture(file, edit)
    if capture.damaged is not None:  # the complete records are replayed, as wirekit read shows
        click.echo(f"wirekit: warning: {file}: {capture.damaged}", err=True)
    if capture.frames.count == 0:  # before the "replaying 0 frames" line, not after it
        raise UsageError(f"{file} holds no frames to replay")
    stop = StopFlag()
    with FrameSender(iface, action=f"replay onto {iface}") as sender:
        if user is not None:
            drop_privileges(user)
        loops_text = "until interrupted" if loops == 0 else f"{loops} time{'s' * (loops != 1)}"
        click.echo(f"replaying {capture.frames.count} frames ({capture.frames.total_bytes} "
                   f"bytes) from {file} onto {iface}, {pacing.describe()}, {loops_text}",
                   err=True)
        with stop_on_signals(stop):
            stats = run_replay(sender, capture.frames, pacing, timestamps_ns=capture.timestamps,
                               loops=loops, truncated=capture.truncated, stop=lambda: bool(stop),
                               limits=limits)
    if as_json:
        print_json({"file": str(file), "interface": iface, "pacing": pacing.describe(),
                    "packets": stats.packets, "bytes": stats.bytes, "seconds": stats.elapsed,
                    "pps": stats.pps, "mbps": stats.mbps, "failed": stats.failed,
                    "truncated": stats.truncated, "retried_enobufs": stats.retried_enobufs,
                    "retried_eagain": stats.retried_eagain, "loops": stats.passes,
                    "interrupted": stats.interrupted})
        return
    for line in stats.report_lines(iface):
        click.echo(line)
