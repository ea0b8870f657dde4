"""The capture-file benchmark's code runs (2 MB input); its numbers belong to benchmarks/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.env import require_tool

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def test_pcap_benchmark_runs_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("tcpdump")
    monkeypatch.setenv("WIREKIT_BENCH_QUICK", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_pcap", None)
    import bench_pcap

    results = bench_pcap.run()
    names = [r.name for r in results]
    assert names[0].startswith("read a 2 MB pcap")
    assert any(name.startswith("peak RSS") for name in names)
    assert any(r.peer_name == "tcpdump -r -w /dev/null" for r in results)
    assert all(r.wirekit > 0 and r.peer > 0 for r in results)
    rss = next(r for r in results if r.name.startswith("peak RSS"))
    assert rss.wirekit < bench_pcap.RSS_LIMIT_MIB
