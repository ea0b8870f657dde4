"""The raw-socket benchmark's code runs (WIREKIT_BENCH_QUICK=1: 20,000 frames, one round)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.env import require_root, require_tool

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def test_bench_link_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    require_root()
    for tool in ("tcpdump", "tcpreplay"):
        require_tool(tool)
    monkeypatch.setenv("WIREKIT_BENCH_QUICK", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_link", None)
    import bench_link

    results = {comparison.name: comparison for comparison in bench_link.run()}
    capture = results["capture -w, frames recorded (zero drops)"]
    assert capture.wirekit == capture.peer == bench_link.QUICK_FRAMES  # every frame, both tools
    assert results["replay --topspeed"].wirekit > 0
    assert results["decode to summary lines (> /dev/null)"].peer > 0
