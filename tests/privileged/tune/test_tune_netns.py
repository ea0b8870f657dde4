"""Real changes inside the netns fixture, exactly reverted; refusals; bypass facts vs oracles.

Per-namespace sysctls and the veth's offloads and channels are real and safe to change inside
the fixture's namespace.  wirekit runs there as a program (``ip netns exec NS wirekit ...``), so
these tests also drive the CLI end to end.  Every test compares byte-for-byte snapshots of the
namespace (all of /proc/sys/net plus ``ethtool -k/-l`` as the oracle) before and after, and the
autouse fixture proves that the host's own tunables never changed.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import require_tool
from tests.support.netns import NetnsPair
from tests.support.tune_tree import host_snapshot
from tests.support.xdp_probe import native_xdp

WIREKIT = str(Path(sys.executable).with_name("wirekit"))
IFACE = "veth0"

#: Read every readable file under /proc/sys/net of the namespace it runs in.
SNAPSHOT = """
import json, os, sys
found = {}
for directory, _, files in os.walk("/proc/sys/net"):
    for name in files:
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as handle:
                found[path] = handle.read().decode("latin-1")
        except OSError:
            pass
json.dump(found, sys.stdout)
"""

#: throughput + capture, plus per-namespace values that differ from the kernel defaults and
#: offload changes with a kernel-side dependency: TSO needs TX checksums, so revert must bring
#: the checksums back before TSO can come back (a second pass if the order is wrong).
PROFILE = """
[main]
include = ["throughput", "capture"]
summary = "test: everything a namespace can change"
[sysctl]
"net.core.somaxconn" = 8192
"net.ipv4.tcp_fastopen" = 3
"net.ipv4.tcp_notsent_lowat" = 16384
"net.ipv4.tcp_congestion_control" = "reno"
[iface]
offload.tx = "off"
offload.tso = "off"
offload.gro = "on"
"""


@pytest.fixture(autouse=True)
def _host_untouched() -> Iterator[None]:
    """No test here may change a host-wide value: compare the host before and after."""
    before = host_snapshot()
    yield
    after = host_snapshot()
    changed = sorted(key for key in before.keys() | after.keys()
                     if before.get(key) != after.get(key))
    assert not changed, f"host values changed: {changed}"


def _snapshot(pair: NetnsPair, ns: str) -> dict[str, str]:
    require_tool("ethtool")
    files = json.loads(pair.run(ns, sys.executable, "-c", SNAPSHOT).stdout)
    for option in ("-k", "-l"):
        files[f"ethtool {option}"] = pair.run(ns, "ethtool", option, IFACE).stdout.decode()
    return dict(files)


def _wirekit(pair: NetnsPair, ns: str, *args: str,
             prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    command = (WIREKIT, *args)
    if prefix:
        return pair.run(ns, *prefix, " ".join(command), check=False)
    return pair.run(ns, *command, check=False)


def _sysctl(pair: NetnsPair, ns: str, name: str) -> str:
    return pair.run(ns, "sysctl", "-n", name).stdout.decode().strip()


def _items(done: subprocess.CompletedProcess[bytes]) -> dict[str, dict[str, str]]:
    return {item["key"]: item for item in json.loads(done.stdout)["items"]}


def test_apply_in_a_namespace_then_revert_byte_for_byte(netns: NetnsPair,
                                                        tmp_path: Path) -> None:
    profile = tmp_path / "ns.toml"
    profile.write_text(PROFILE)
    state = ("--state-dir", str(tmp_path / "state"))
    before_a, before_b = _snapshot(netns, netns.ns_a), _snapshot(netns, netns.ns_b)

    done = _wirekit(netns, netns.ns_a, "tune", "apply", str(profile), "--iface", IFACE,
                    *state, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["scope"] == "netns"   # auto: inside a child namespace
    items = _items(done)
    for key in ("net.core.somaxconn", "net.ipv4.tcp_rmem", "net.ipv4.tcp_fastopen",
                "net.ipv4.tcp_congestion_control", "iface.channels.rx[veth0]",
                "iface.offload.tx[veth0]", "iface.offload.tso[veth0]",
                "iface.offload.gro[veth0]"):
        assert items[key]["outcome"] == "applied", (key, items[key])
    assert items["net.core.rmem_max"]["outcome"] == "unsupported"       # read-only in a netns
    assert items["net.core.netdev_max_backlog"]["outcome"] == "unsupported"  # not per-netns
    assert items["iface.rings.rx"]["reason"] == \
        "EOPNOTSUPP: the veth driver has no ring parameters"
    assert "vm.swappiness" in dict(report["skipped"])                   # host-wide: skipped

    # the oracles agree that the values changed
    assert _sysctl(netns, netns.ns_a, "net.core.somaxconn") == "8192"
    assert _sysctl(netns, netns.ns_a, "net.ipv4.tcp_rmem").split() == \
        ["4096", "131072", "134217728"]
    assert _sysctl(netns, netns.ns_a, "net.ipv4.tcp_congestion_control") == "reno"
    features = netns.run(netns.ns_a, "ethtool", "-k", IFACE).stdout.decode()
    assert "tx-checksumming: off" in features
    assert "tcp-segmentation-offload: off" in features
    assert "generic-receive-offload: on" in features
    assert "RX:\t\t2" in netns.run(netns.ns_a, "ethtool", "-l", IFACE).stdout.decode()
    assert _snapshot(netns, netns.ns_b) == before_b                    # the peer untouched

    done = _wirekit(netns, netns.ns_a, "tune", "revert", *state)
    assert done.returncode == 0, done.stderr
    assert b"restored" in done.stdout
    assert _snapshot(netns, netns.ns_a) == before_a                    # byte for byte
    assert not list((tmp_path / "state" / "tune").iterdir())           # journal removed


def test_all_is_idempotent_and_verifies_and_show_changes_nothing(netns: NetnsPair,
                                                                 tmp_path: Path) -> None:
    state = ("--state-dir", str(tmp_path / "state"))
    ns = netns.ns_a
    before = _snapshot(netns, ns)
    for args in (("tune", "show", "--iface", IFACE), ("tune", "all", "--iface", IFACE,
                                                      "--dry-run")):
        done = _wirekit(netns, ns, *args, *state)
        assert done.returncode == 0, done.stderr
        assert _snapshot(netns, ns) == before
    assert b"dry run: nothing changed" in done.stdout

    first = _wirekit(netns, ns, "tune", "all", "--iface", IFACE, *state, "--json")
    assert first.returncode == 0, first.stderr
    journal = next((tmp_path / "state" / "tune").iterdir())
    assert journal.name == f"journal-netns-{ns}.json"
    journal_bytes, applied = journal.read_bytes(), _snapshot(netns, ns)
    second = _wirekit(netns, ns, "tune", "all", "--iface", IFACE, *state, "--json")
    outcomes = {item["outcome"] for item in _items(second).values()}
    assert outcomes <= {"already-ok", "unsupported"}
    assert journal.read_bytes() == journal_bytes
    assert _snapshot(netns, ns) == applied

    done = _wirekit(netns, ns, "tune", "verify", "--iface", IFACE, "--ignore-missing", *state)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"Verification succeeded" in done.stdout

    assert _wirekit(netns, ns, "tune", "revert", *state).returncode == 0
    assert _snapshot(netns, ns) == before


def _refused_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip().startswith("failed")]


def test_refusals_without_cap_net_admin_are_one_line_each(netns: NetnsPair,
                                                          tmp_path: Path) -> None:
    capsh = require_tool("capsh")
    profile = tmp_path / "ns.toml"
    profile.write_text(PROFILE)
    state = ("--state-dir", str(tmp_path / "state"))
    ns = netns.ns_a
    before = _snapshot(netns, ns)
    apply = ("tune", "apply", str(profile), "--iface", IFACE)

    # uid 0 without CAP_NET_ADMIN/CAP_SYS_ADMIN: the kernel still lets root write the
    # namespace's own sysctls (plain file permissions), but every ethtool change needs
    # CAP_NET_ADMIN
    dropped = (capsh, "--drop=cap_net_admin,cap_sys_admin", "--", "-c")
    done = _wirekit(netns, ns, *apply, *state, prefix=dropped)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 10, out + err
    assert "Traceback" not in out + err
    assert err.strip() == "wirekit: error: 5 item(s) failed; each is listed with its reason"
    refused = _refused_lines(out)
    assert len(refused) == 5
    for key in ("iface.channels.rx[veth0]", "iface.channels.tx[veth0]",
                "iface.offload.tx[veth0]", "iface.offload.tso[veth0]",
                "iface.offload.gro[veth0]"):
        assert any(key in line and line.endswith("EPERM: needs CAP_NET_ADMIN")
                   for line in refused), (key, refused)
    assert _wirekit(netns, ns, "tune", "revert", *state).returncode == 0

    # an ordinary user (keeping only CAP_DAC_READ_SEARCH, to reach the interpreter and the
    # test's files wherever they are): the sysctls are refused too
    nobody = (capsh, "--caps=cap_dac_read_search+eip cap_setpcap,cap_setuid,cap_setgid+ep",
              "--keep=1", "--user=nobody", "--addamb=cap_dac_read_search", "--", "-c")
    own_state = tmp_path / "nobody-state"
    own_state.mkdir()
    own_state.chmod(0o777)  # nobody writes its journal here (it never gets to, see below)
    state = ("--state-dir", str(own_state))
    done = _wirekit(netns, ns, *apply, *state, prefix=nobody)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 10 and "Traceback" not in out + err, out + err
    refused = _refused_lines(out)
    assert len(refused) == 12, out + err                 # 7 sysctls, 5 ethtool changes
    assert any("net.core.somaxconn" in line and line.endswith("EACCES: needs CAP_NET_ADMIN")
               for line in refused), refused
    assert all(line.endswith(("EACCES: needs CAP_NET_ADMIN", "EPERM: needs CAP_NET_ADMIN"))
               for line in refused), refused
    assert "journal:" not in out                    # nothing changed, so no journal is left
    assert _wirekit(netns, ns, "tune", "revert", *state).returncode == 0
    assert _snapshot(netns, ns) == before


def _ip_links(pair: NetnsPair, ns: str) -> dict[str, str | None]:
    found = json.loads(pair.run(ns, "ip", "-d", "-j", "link", "show").stdout)
    return {link["ifname"]: link.get("linkinfo", {}).get("info_kind")
            for link in found if link["ifname"] != "lo"}


def test_bypass_status_matches_ip_link_config_and_a_real_xdp_attach(netns: NetnsPair) -> None:
    ns = netns.ns_a
    netns.run(ns, "ip", "link", "add", "ifb7", "type", "ifb")  # a device without native XDP
    done = _wirekit(netns, ns, "bypass", "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    nics = {nic["name"]: nic for nic in status["nics"]}
    links = _ip_links(netns, ns)
    assert set(nics) == set(links)                                     # ip -d link
    assert {name: nic["kind"] for name, nic in nics.items()} == links  # veth, ifb
    veth, ifb = nics[IFACE], nics["ifb7"]
    assert (veth["driver"], veth["pci_address"]) == ("veth", None)
    assert (veth["native_xdp"], veth["afxdp_zero_copy"]) == (True, False)
    assert veth["afxdp_mode"] == "copy mode only"
    assert ifb["native_xdp"] is False

    config_gz = Path("/proc/config.gz")
    if config_gz.exists():                                             # /proc/config.gz
        text = gzip.decompress(config_gz.read_bytes()).decode()
        expected = "y" if "CONFIG_XDP_SOCKETS=y" in text else "n"
        assert status["config"]["CONFIG_XDP_SOCKETS"] == expected
        assert status["config_source"] == "/proc/config.gz"

    # the kernel agrees: veth takes an XDP program in driver mode, ifb refuses it
    with native_xdp(IFACE, ns):
        flags = netns.run(ns, "ip", "link", "show", IFACE).stdout.decode().split("\n")[0]
        assert " xdp " in flags and "xdpgeneric" not in flags
    from pyroute2.netlink.exceptions import NetlinkError

    with pytest.raises(NetlinkError) as refused, native_xdp("ifb7", ns):
        pass
    assert refused.value.code == 95  # EOPNOTSUPP

    text = _wirekit(netns, ns, "bypass", "status").stdout.decode()
    paragraph = " ".join(text.split())
    assert "veth0 (veth): native XDP, AF_XDP copy mode only." in paragraph
    assert "No DPDK-capable NIC." in paragraph
