"""The protocol benchmark's code runs (tiny inputs; the real run is `make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.env import require_tool

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def test_bench_proto_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("gcc")
    monkeypatch.setenv("WIREKIT_BENCH_QUICK", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_proto", None)
    import bench_proto

    results = bench_proto.run()
    names = [r.name for r in results]
    assert names[0] == "64-byte DATA pipelined, 1 connection" and len(results) == 5
    for result in results:
        assert result.wirekit > 0 and result.peer > 0
