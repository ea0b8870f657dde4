"""The netns fixture itself: two namespaces, one veth pair, addresses up, and full cleanup."""

from __future__ import annotations

import subprocess

from tests.support.env import require_root
from tests.support.netns import NetnsPair, create_pair, destroy_pair


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def test_pair_reaches_itself_over_ipv4_and_ipv6(netns: NetnsPair) -> None:
    netns.run(netns.ns_a, "ping", "-c", "1", "-W", "2", netns.ip4_b)
    netns.run(netns.ns_b, "ping", "-6", "-c", "1", "-W", "2", netns.ip6_a)
    assert netns.mac(netns.ns_a) != netns.mac(netns.ns_b)


def test_pair_is_deleted_even_after_a_failure() -> None:
    require_root()
    pair = create_pair()
    proc = pair.popen(pair.ns_a, ["sleep", "60"])
    try:
        assert {pair.ns_a, pair.ns_b} <= _namespaces()
    finally:
        destroy_pair(pair)
    assert proc.poll() is not None
    assert not {pair.ns_a, pair.ns_b} & _namespaces()
