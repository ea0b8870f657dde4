"""``wirekit monitor`` as a real process on the real netlink dump: pipes, signals, errors.

Nothing here sends traffic; the counters are read only.  Exact byte counts are checked in
tests/privileged/monitor, inside namespaces whose traffic the test controls.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from tests.integration.monitor.monitor_process import WIREKIT, StreamedMonitor, interface


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WIREKIT, "monitor", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_pipe_gets_plain_lines_and_a_summary() -> None:
    done = _run("lo", "-i", "0.1", "-c", "3")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout  # no cursor movement, no colour: stdout is a pipe
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["elapsed", "interface", "rx", "bit/s"]
    interval_lines = lines[1:4]
    assert [line.split()[1] for line in interval_lines] == ["lo", "lo", "lo"]
    assert "stopped by count" in done.stdout
    assert done.stderr == ""


def test_json_summary_reads_real_counters_and_link_facts() -> None:
    done = _run("lo", "-i", "0.1", "-c", "2", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    lo = interface(summary, "lo")
    assert lo["index"] == 1 and lo["mtu"] == 65536 and lo["present_at_end"]
    assert lo["seconds"] == pytest.approx(summary["duration"])
    # lo reports offloads but no link mode and no rings
    assert lo["link"]["speed_mbps"] is None and lo["link"]["rings"] is None
    assert lo["link"]["offloads"]["rx-checksum"]["enabled"] is True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_with_a_summary(sig: signal.Signals) -> None:
    with StreamedMonitor(["lo", "-i", "0.1"]) as monitor:
        monitor.started()
        monitor.wait_for(lambda event: event["event"] == "interval")
        end = monitor.stop(sig)
    assert end["data"]["stopped_by"] == sig.name
    assert end["data"]["intervals"] >= 1
    assert interface(end["data"], "lo")["present_at_end"]


def test_unknown_interface_is_one_line() -> None:
    done = _run("wk-no-such0", "-c", "1")
    assert done.returncode == 7
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("wirekit: error: no such interface: wk-no-such0 (interfaces here: lo")


def test_help_has_examples() -> None:
    done = subprocess.run([*WIREKIT, "monitor", "--help"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "wirekit monitor eth0 -i 0.5 -d 30s" in done.stdout
    assert "--json-stream" in done.stdout and "--plot FILE.png" in done.stdout
