"""Test tiers, the CI rule (no skips under CI=true), and the shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import in_ci, require_root
from tests.support.netns import NetnsPair, create_pair, destroy_pair, remove_stale_namespaces

TIERS = ("unit", "integration", "privileged")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the tier named by its directory (tests/unit, tests/integration, ...)."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a skipped test is a failed test: a missing tool must never pass quietly."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true: {report.longrepr}"


@pytest.fixture(scope="session", autouse=True)
def _stale_namespaces() -> None:
    """Remove namespaces that an earlier, killed test run could not delete."""
    from tests.support.env import CAP_NET_ADMIN, has_capability

    if has_capability(CAP_NET_ADMIN):
        remove_stale_namespaces()


@pytest.fixture
def netns() -> Iterator[NetnsPair]:
    """Two namespaces joined by a veth pair, addresses and links up; always deleted afterwards."""
    require_root()
    pair = create_pair()
    try:
        yield pair
    finally:
        destroy_pair(pair)
