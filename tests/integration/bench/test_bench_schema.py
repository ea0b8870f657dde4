"""wirekit's -J output has every key, of the same JSON type, that iperf3 3.12's -J has for
the same kind of run (schemas in schemas/, derived from real iperf3 runs)."""

from __future__ import annotations

import jsonschema
import pytest

from tests.integration.bench.bench_support import (
    SCHEMA_RUNS,
    PairRuns,
    load_schema,
    run_pair,
)
from tests.support.env import require_tool


@pytest.mark.parametrize("kind", sorted(SCHEMA_RUNS))
def test_wirekit_json_matches_iperf3_schema(kind: str, pair_runs: PairRuns) -> None:
    require_tool("iperf3")
    args = SCHEMA_RUNS[kind]
    # wirekit in both roles, each against a real iperf3, so each document is wirekit's own
    # (the interop matrix runs the same pairs; the session keeps their documents).
    client_doc, _ = pair_runs("iperf3", "wirekit", args)
    _, server_doc = pair_runs("wirekit", "iperf3", args)
    jsonschema.validate(client_doc, load_schema(f"{kind}_client"))
    jsonschema.validate(server_doc, load_schema(f"{kind}_server"))


def test_schema_is_iperf3s_own() -> None:
    """The stored schema still describes today's iperf3 (it was not bent to fit wirekit)."""
    require_tool("iperf3")
    client_doc, server_doc = run_pair("iperf3", "iperf3", SCHEMA_RUNS["udp"])
    jsonschema.validate(client_doc, load_schema("udp_client"))
    jsonschema.validate(server_doc, load_schema("udp_server"))


def test_schema_rejects_a_document_without_end_sums() -> None:
    schema = load_schema("tcp_client")
    broken = {"start": {}, "intervals": [], "end": {"streams": []}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
