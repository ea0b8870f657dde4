"""The runtime helpers: the descriptor limit is raised to the hard limit."""

from __future__ import annotations

import resource

from wirekit.aio.runtime import raise_nofile_limit


def test_raise_nofile_limit_reaches_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    old, new = raise_nofile_limit()
    assert old == min(soft, 256)
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == new
    assert new == hard or hard == resource.RLIM_INFINITY
