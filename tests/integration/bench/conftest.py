"""Fixtures of the bench integration tests."""

from __future__ import annotations

import pytest

from tests.integration.bench.bench_support import PairRuns


@pytest.fixture(scope="session")
def pair_runs() -> PairRuns:
    """Each (server, client, arguments) test run once per session, its documents shared."""
    return PairRuns()
