"""The throughput benchmark's code runs (tiny inputs); its numbers are for benchmarks/, not here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.env import require_tool

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def test_bench_benchmark_runs_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("iperf3")
    monkeypatch.setenv("WIREKIT_BENCH_QUICK", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_bench", None)
    import bench_bench

    results = bench_bench.run()
    assert [r.name for r in results][:2] == ["TCP, one stream", "TCP, -P 4"]
    assert all(r.wirekit > 0 and r.peer > 0 for r in results)
