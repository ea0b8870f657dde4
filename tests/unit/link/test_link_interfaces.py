"""Interface facts through netlink: the loopback is always there to look at."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from wirekit.cli.info import info
from wirekit.errors import InterfaceError
from wirekit.link.interfaces import (
    InterfaceAddress,
    get_interface,
    interface_index,
    interface_to_dict,
    list_interfaces,
)


def test_loopback_in_full() -> None:
    lo = get_interface("lo")
    assert lo.is_loopback
    assert lo.index == interface_index("lo")
    assert {"UP", "LOOPBACK", "RUNNING"} <= set(lo.flags)
    assert "BROADCAST" not in lo.flags
    assert lo.mtu > 0
    assert lo.rx_queues and lo.tx_queues
    assert lo.stats is not None and lo.stats.rx_packets >= 0
    v4 = [a for a in lo.ipv4() if a.address == "127.0.0.1"]
    assert v4 and v4[0].prefixlen == 8 and v4[0].netmask == "255.0.0.0"


def test_list_contains_loopback_first_by_index() -> None:
    found = list_interfaces(with_ethtool=False)
    assert [i.index for i in found] == sorted(i.index for i in found)
    assert "lo" in {i.name for i in found}


def test_unknown_interface_lists_the_real_ones() -> None:
    with pytest.raises(InterfaceError) as info_:
        get_interface("wk-nope0")
    assert "no such interface: wk-nope0" in str(info_.value)
    assert "lo" in str(info_.value).split("interfaces here:")[1]
    with pytest.raises(InterfaceError):
        interface_index("wk-nope0")


@pytest.mark.parametrize(("prefix", "mask"), [(0, "0.0.0.0"), (24, "255.255.255.0"),
                                               (19, "255.255.224.0"), (32, "255.255.255.255")])
def test_netmask_written_out(prefix: int, mask: str) -> None:
    assert InterfaceAddress("inet", "10.1.2.3", prefix, "global").netmask == mask
    assert InterfaceAddress("inet6", "fd00::1", prefix, "global").netmask is None


def test_json_form_has_netmask_and_flags() -> None:
    document = interface_to_dict(get_interface("lo"))
    assert isinstance(document["flags"], list)
    assert any(a["netmask"] == "255.0.0.0" for a in document["addresses"])
    json.dumps(document)


def test_cli_info_one_and_all() -> None:
    runner = CliRunner()
    one = runner.invoke(info, ["lo"])
    assert one.exit_code == 0, one.output
    assert "LOOPBACK" in one.output and "127.0.0.1/8" in one.output
    assert "netmask 255.0.0.0" in one.output
    every = runner.invoke(info, ["--json"])
    assert every.exit_code == 0
    assert "lo" in {entry["name"] for entry in json.loads(every.output)}


def test_cli_unknown_interface_exit_code() -> None:
    from wirekit.cli.main import main

    assert main(["info", "wk-nope0"]) == InterfaceError.exit_code
