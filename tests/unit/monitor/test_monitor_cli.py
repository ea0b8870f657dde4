"""``wirekit monitor`` with a scripted sampler: options, output modes, errors, the plot."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.unit.monitor.monitor_png import check_png
from tests.unit.monitor.monitor_samples import sample, snap
from wirekit.cli import main as cli_main
from wirekit.cli import monitor as cli_monitor
from wirekit.cli.monitor import parse_duration
from wirekit.errors import UsageError, WirekitError
from wirekit.monitor import LinkFacts, RateCalculator, Snapshot, write_plot


class ScriptedSampler:
    """Real monotonic time, synthetic counters: veth0 receives 1 MB and 1000 packets per
    second of elapsed time, lo is idle."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def take(self) -> Snapshot:
        now = time.monotonic()
        elapsed = now - self.start
        veth = sample("veth0", 5, rx_bytes=int(elapsed * 1e6), rx_packets=int(elapsed * 1e3))
        return Snapshot.of(now, [sample("lo", 1), veth], wall=time.time())

    def close(self) -> None:
        pass

    def __enter__(self) -> ScriptedSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_monitor, "Sampler", ScriptedSampler)
    monkeypatch.setattr("wirekit.monitor.session.read_link_facts",
                        lambda name: LinkFacts(driver="fake"))


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli_monitor.monitor, list(args), catch_exceptions=False)


@pytest.mark.parametrize(("text", "seconds"), [("30", 30.0), ("2.5s", 2.5), ("500ms", 0.5),
                                               ("1.5m", 90.0), ("2h", 7200.0), (" 3 s ", 3.0)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1d", "-3", "0", "1.2.3"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_json_summary(scripted: None) -> None:
    result = _invoke("veth0", "-i", "0.05", "-c", "3", "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["intervals"] == 3 and document["stopped_by"] == "count"
    (veth,) = document["interfaces"]
    assert veth["name"] == "veth0" and veth["link"]["driver"] == "fake"
    assert veth["rx"]["megabytes_per_second"] == pytest.approx(1.0, rel=0.05)
    assert veth["rx"]["packets_per_second"] == pytest.approx(1000.0, rel=0.05)


def test_json_stream_frames(scripted: None) -> None:
    result = _invoke("-i", "0.05", "-d", "0.12", "--json-stream")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    events = [line["event"] for line in lines]
    # grid points at 0.05 and 0.10, then the end at 0.12 (fewer if the machine is very slow)
    assert events[0] == "start" and events[-1] == "end"
    assert 1 <= events.count("interval") <= 3 and set(events[1:-1]) == {"interval"}
    assert lines[0]["data"]["interfaces"] == ["lo", "veth0"]
    assert lines[0]["data"]["time"] == pytest.approx(time.time(), abs=60)
    assert [line["data"]["interval"] for line in lines[1:-1]] == list(range(1, len(lines) - 1))
    assert lines[-1]["data"]["stopped_by"] == "duration"
    assert lines[-1]["data"]["duration"] >= 0.12


def test_pipe_output_is_plain(scripted: None) -> None:
    result = _invoke("-i", "0.05", "-c", "2")
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["elapsed", "interface"]
    assert [line.split()[1] for line in lines[1:5]] == ["lo", "veth0", "lo", "veth0"]
    assert "wirekit monitor summary" in result.output
    quiet = _invoke("-i", "0.05", "-c", "2", "-q")
    assert "elapsed" not in quiet.output and "wirekit monitor summary" in quiet.output


def test_json_and_json_stream_are_exclusive(scripted: None) -> None:
    assert cli_main.main(["monitor", "--json", "--json-stream"]) == 2


def test_unknown_interface_is_one_line_exit_7(scripted: None,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["monitor", "nosuch0", "-c", "1"]) == 7
    err = capsys.readouterr().err
    assert err == "wirekit: error: no such interface: nosuch0 (interfaces here: lo, veth0)\n"


def test_bad_interval_and_duration(scripted: None) -> None:
    assert cli_main.main(["monitor", "-i", "0.001", "-c", "1"]) == 2
    for huge in ("nan", "inf", "1e300"):  # were exit 70: int(NaN), time_t overflow
        assert cli_main.main(["monitor", "-i", huge, "-c", "1"]) == 2
    assert cli_main.main(["monitor", "-d", "soon"]) == 2
    assert cli_main.main(["monitor", "-c", "0"]) == 2


def test_plot_without_matplotlib_fails_before_the_run(
        scripted: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    started = time.monotonic()
    assert cli_main.main(["monitor", "-d", "10", "--plot", str(tmp_path / "x.png")]) == 1
    assert time.monotonic() - started < 5  # did not monitor for 10 s first
    assert "pip install 'wirekit[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_path_is_checked_before_the_run(scripted: None, tmp_path: Path) -> None:
    assert cli_main.main(["monitor", "-c", "1", "--plot", str(tmp_path / "x.jpg")]) == 2
    assert cli_main.main(["monitor", "-c", "1", "--plot", str(tmp_path / "no/dir/x.png")]) == 2


def test_an_unwritable_plot_fails_before_the_run(scripted: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """/proc exists but takes no new file: the run went to its end, then exit 1 and no
    summary.  Now: exit 2 at once, before any sample."""
    started = time.monotonic()
    assert cli_main.main(["monitor", "-d", "10", "--plot", "/proc/wirekit-nope.png"]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.strip() == "wirekit: error: --plot: cannot write /proc/wirekit-nope.png: " \
                          "No such file or directory"


def test_the_plot_path_check_leaves_nothing_behind(scripted: None, tmp_path: Path) -> None:
    from wirekit.monitor.plot import check_plot_path

    fresh, kept = tmp_path / "fresh.png", tmp_path / "kept.png"
    kept.write_bytes(b"old")
    check_plot_path(fresh)
    check_plot_path(kept)
    assert not fresh.exists() and kept.read_bytes() == b"old"


def test_a_plot_that_fails_at_the_end_keeps_the_summary(
        scripted: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fail(*_: object, **__: object) -> None:
        raise WirekitError("cannot write plot x.png: No space left on device")

    monkeypatch.setattr(cli_monitor, "write_plot", fail)
    result = CliRunner().invoke(cli_monitor.monitor, ["veth0", "-i", "0.05", "-c", "2",
                                                      "--json", "--plot",
                                                      str(tmp_path / "x.png")])
    assert isinstance(result.exception, WirekitError)
    assert json.loads(result.stdout)["intervals"] == 2


def test_plot_is_a_valid_png(scripted: None, tmp_path: Path) -> None:
    target = tmp_path / "rates.png"
    result = _invoke("veth0", "-i", "0.05", "-c", "4", "--json", "--plot", str(target))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["intervals"] == 4
    assert check_png(target) == (1000, 800)


def test_write_plot_with_a_gap(tmp_path: Path) -> None:
    """An interface that vanishes leaves a gap (NaN), not an error."""
    calc = RateCalculator()
    calc.baseline(snap(0.0, sample("a", 1), sample("b", 2)))
    intervals = [calc.feed(snap(1.0, sample("a", 1, rx_bytes=10), sample("b", 2))),
                 calc.feed(snap(2.0, sample("a", 1, rx_bytes=30)))]
    write_plot(intervals, tmp_path / "gap.png")
    assert check_png(tmp_path / "gap.png") == (1000, 800)
