"""A short fuzz run (the long one is scripts/fuzz_proto.py, a million inputs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.errors import RemoteProtocolError
from wirekit.proto import Connection, ErrorCode, Role, State

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fuzz_proto.py"


def _load_fuzzer() -> Any:
    spec = importlib.util.spec_from_file_location("fuzz_proto", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mutated_streams_get_only_documented_outcomes() -> None:
    outcomes = _load_fuzzer().fuzz(20_000, seed=7)
    assert sum(outcomes.values()) == 20_000
    assert outcomes["ok"] > 0
    for name in ("BAD_CHECKSUM", "BAD_VERSION", "TOO_LARGE"):
        assert outcomes[name] > 0, outcomes  # the run really reached the error paths


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_before_hello(data: bytes) -> None:
    server = Connection(Role.SERVER)
    try:
        server.receive_data(data)
        while server.state not in (State.CLOSED, State.NEGOTIATING) and server.next_events():
            pass
    except RemoteProtocolError as exc:
        assert ErrorCode(exc.code).closes
        assert server.state is State.CLOSED
        assert server.data_to_send()[1] == 4
