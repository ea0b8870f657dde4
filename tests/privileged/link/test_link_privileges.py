"""Without CAP_NET_RAW and CAP_NET_ADMIN every raw-socket command says so in one line (exit 77).

The commands run under ``capsh --drop=cap_net_raw,cap_net_admin`` inside the test namespace:
still uid 0, so this checks capabilities, not the uid.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import require_root, require_tool
from tests.support.netns import NetnsPair, create_pair, destroy_pair


@pytest.fixture(scope="module")
def pair() -> Iterator[NetnsPair]:
    """One namespace pair for every command here: each only has to fail in it."""
    require_root()
    made = create_pair()
    try:
        yield made
    finally:
        destroy_pair(made)


@pytest.fixture(scope="module")
def one_frame_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from wirekit.packet import LinkType
    from wirekit.pcap import Writer

    path = tmp_path_factory.mktemp("caps") / "one.pcap"
    with Writer(str(path), LinkType.ETHERNET) as writer:
        writer.write(bytes(60), 0)
    return path


def _without_caps(netns: NetnsPair, command: str) -> tuple[int, str, str]:
    require_tool("capsh")
    done = netns.run(netns.ns_a, "capsh", "--drop=cap_net_raw,cap_net_admin", "--", "-c",
                     f"{sys.executable} -m wirekit {command}", check=False, timeout=60)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


COMMANDS = [
    "capture veth0 -c 1",
    "capture any -c 1 -w /tmp/wk-never.pcap",
    "capture veth0 --workers 2 -c 1",
    "send tcp {a} {b} 1 2 veth0",
    "send udp {a} {b} 1 2 veth0",
    "send icmp {a} {b} veth0",
    "send arp veth0 --pdst {b}",
    "send raw veth0 ffffffffffff02000000000188b5000000000000",
    "replay {file} veth0 --topspeed",
    "ping {b} -c 1",
    "probe {b} 22",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_capability_is_one_line_and_exit_77(pair: NetnsPair, one_frame_capture: Path,
                                                    command: str) -> None:
    text = command.format(a=pair.ip4_a, b=pair.ip4_b, file=one_frame_capture)
    code, out, err = _without_caps(pair, text)
    assert code == 77, (text, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("wirekit: error: ") and "CAP_NET_RAW" in lines[0]
    assert "Traceback" not in err


def test_info_needs_no_capability(pair: NetnsPair) -> None:
    code, out, err = _without_caps(pair, "info veth0")
    assert code == 0, err
    assert "veth0" in out and pair.ip4_a in out


def test_filter_dump_needs_no_capability(pair: NetnsPair) -> None:
    code, out, err = _without_caps(pair, "capture veth0 -d tcp")
    assert code == 0, err
    assert out.strip().splitlines()[-1].endswith("ret      #0")
