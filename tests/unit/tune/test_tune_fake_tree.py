"""show / apply / revert / verify of host-wide settings against a fake /proc and /sys.

Nothing here touches the real machine: the host is rooted at a temporary tree and its ethtool and
swap backends are fakes (tests/support/tune_tree.py).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from tests.support.tune_tree import FakeEthtool, FakeSwap, build_tree, fake_host, snapshot
from wirekit.errors import InterfaceError, TuningError
from wirekit.tune import Outcome, Status, apply, journal_path, load_profile, revert, show, verify
from wirekit.tune import journal as journals
from wirekit.tune.host import Host
from wirekit.tune.targets import OffloadTarget

IFACE = "eth9"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "root")


@pytest.fixture
def ethtool() -> FakeEthtool:
    return FakeEthtool()


@pytest.fixture
def swap(tree: Path) -> FakeSwap:
    return FakeSwap(tree)


@pytest.fixture
def host(tree: Path, ethtool: FakeEthtool, swap: FakeSwap) -> Host:
    return fake_host(tree, ethtool, swap)


def _file(tree: Path, relative: str) -> str:
    return (tree / relative).read_text()


def _rows(report: object) -> dict[str, object]:
    return {row.name: row for row in report.settings}  # type: ignore[attr-defined]


def _ethtool_state(fake: FakeEthtool) -> tuple[object, ...]:
    return (fake.rings_state, fake.channels_state, dict(fake.coalesce_state),
            fake.features(IFACE))


def _profile(tmp_path: Path, body: str, name: str = "custom.toml") -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def test_show_reports_every_setting_and_changes_nothing(tree: Path, host: Host,
                                                        ethtool: FakeEthtool) -> None:
    before = snapshot(tree)
    report = show(host, load_profile(["throughput", "bypass"]), iface=IFACE)
    rows = _rows(report)
    governor = rows["cpu.governor"]
    assert (governor.current, governor.profile_value, governor.status) == (  # type: ignore[attr-defined]
        "powersave", "performance", Status.DIFFERS)
    assert len(governor.targets) == 4  # type: ignore[attr-defined]
    assert rows["vm.swappiness"].status is Status.DIFFERS  # type: ignore[attr-defined]
    assert rows["net.core.somaxconn"].status is Status.OK  # type: ignore[attr-defined]
    assert rows["memory.swap"].current.startswith("on (1 area")  # type: ignore[attr-defined]
    assert rows["memory.hugepages.2048kB"].status is Status.DIFFERS  # type: ignore[attr-defined]
    assert rows["iface.offload.tx"].current == "on"  # type: ignore[attr-defined]
    assert rows["iface.offload.lro"].current == "off [fixed]"  # type: ignore[attr-defined]
    assert rows["iface.offload.gro"].status is Status.UNSET  # type: ignore[attr-defined]
    irq = rows["iface.irq_affinity"]
    assert [t.key for t in irq.targets] == [  # type: ignore[attr-defined]
        "iface.irq_affinity[irq41]", "iface.irq_affinity[irq42]", "iface.irq_affinity[irq43]"]
    assert rows["cpu.idle.max_latency_us"].current == "enabled: C1 C1E C6 POLL"  # type: ignore[attr-defined]
    assert report.scope == "all" and not report.skipped
    assert snapshot(tree) == before
    assert ethtool.calls == []
    json.dumps(report.to_json())  # JSON-clean


def test_apply_changes_everything_then_revert_restores_byte_for_byte(
        tree: Path, host: Host, ethtool: FakeEthtool, swap: FakeSwap) -> None:
    before, eth_before = snapshot(tree), _ethtool_state(ethtool)
    report = apply(host, load_profile(["throughput", "capture"]), iface=IFACE)
    outcomes = {item.key: item.outcome for item in report.items}
    assert not report.failed, report.failed
    for cpu in range(4):
        assert _file(tree, f"sys/devices/system/cpu/cpufreq/policy{cpu}/scaling_governor") == \
            "performance\n"
        assert outcomes[f"cpu.governor[policy{cpu}]"] is Outcome.APPLIED
    assert _file(tree, "proc/sys/vm/swappiness") == "10\n"
    assert _file(tree, "proc/sys/net/ipv4/tcp_rmem") == "4096 131072 134217728\n"
    assert _file(tree, "proc/sys/net/core/rmem_max") == "268435456\n"
    assert outcomes["net.core.somaxconn"] is Outcome.ALREADY_OK
    # spread: one queue IRQ per CPU; the control vector (eth9-config) is left alone
    assert [_file(tree, f"proc/irq/{n}/smp_affinity_list") for n in (40, 41, 42, 43)] == \
        ["0-3\n", "0\n", "1\n", "2\n"]
    assert ethtool.rings_state.rx == 4096 and ethtool.rings_state.tx == 4096
    assert ethtool.channels_state.combined == 8
    assert ethtool.coalesce_state["rx_coalesce_usecs"] == 50
    assert ethtool.features(IFACE)["rx-gro"].enabled is False  # type: ignore[index]
    assert ("swapoff", "/swapfile", None) in swap.calls
    assert _file(tree, "proc/swaps").count("\n") == 1
    saved = journals.load(journal_path(host))
    assert saved is not None and saved.state == "applied"
    changed = {item.key for item in report.items if item.outcome is Outcome.APPLIED}
    assert changed <= saved.target_keys()
    assert saved.target_keys() - changed <= {t.key for t in _offload_keys()}  # only companions
    restored = revert(host)
    assert not restored.failed
    assert {i.key for i in restored.items if i.outcome is Outcome.RESTORED} == changed
    # the same swap area is back with its priority (its "Used" column starts from 0 again,
    # as the kernel's would)
    swaps_before, swaps_after = before.pop("proc/swaps"), snapshot(tree).pop("proc/swaps")
    assert [line.split()[::4] for line in swaps_after.decode().splitlines()] == \
        [line.split()[::4] for line in swaps_before.decode().splitlines()]
    assert swap.calls[-1] == ("swapon", "/swapfile", -2)
    after = snapshot(tree)
    del after["proc/swaps"]
    assert after == before
    assert _ethtool_state(ethtool) == eth_before
    assert not journal_path(host).exists()


def _offload_keys() -> list[OffloadTarget]:
    from wirekit.tune.catalog import offload_targets

    return [t for t in offload_targets(IFACE) if isinstance(t, OffloadTarget)]


def test_spread_warns_when_irqbalance_would_undo_it(tree: Path, host: Host) -> None:
    (tree / "proc/812").mkdir()
    (tree / "proc/812/comm").write_text("irqbalance\n")
    report = apply(host, load_profile("throughput"), iface=IFACE)
    assert report.notes and report.notes[0].startswith("irqbalance is running")


def test_apply_is_idempotent(tree: Path, host: Host, ethtool: FakeEthtool) -> None:
    apply(host, load_profile("throughput"), iface=IFACE)
    after_first, journal_first = snapshot(tree), journal_path(host).read_bytes()
    calls = len(ethtool.calls)
    second = apply(host, load_profile("throughput"), iface=IFACE)
    assert {item.outcome for item in second.items} <= {Outcome.ALREADY_OK, Outcome.UNSUPPORTED}
    assert snapshot(tree) == after_first
    assert journal_path(host).read_bytes() == journal_first
    assert len(ethtool.calls) == calls


def test_dry_run_changes_nothing(tree: Path, host: Host, ethtool: FakeEthtool,
                                 swap: FakeSwap) -> None:
    before = snapshot(tree)
    report = apply(host, load_profile(["throughput", "latency"]), iface=IFACE, dry_run=True)
    planned = {item.key: item for item in report.items if item.outcome is Outcome.PLANNED}
    assert planned["vm.swappiness"].before == "60"
    assert planned["vm.swappiness"].after == "10"
    assert planned["iface.rings.rx[eth9]"].after == "4096"
    assert snapshot(tree) == before
    assert not journal_path(host).exists()
    assert ethtool.calls == [] and swap.calls == []


def test_verify_like_tuned_adm(host: Host) -> None:
    profile = load_profile("throughput")
    _, mismatches = verify(host, profile, iface=IFACE)
    assert "vm.swappiness" in {row.name for row in mismatches}
    apply(host, profile, iface=IFACE)
    _, mismatches = verify(host, profile, iface=IFACE)
    assert mismatches == []


def test_verify_counts_unsupported_unless_ignore_missing(tree: Path, host: Host) -> None:
    (tree / "proc/sys/net/core/busy_poll").unlink()
    profile = load_profile("latency")
    apply(host, profile, iface=IFACE)
    _, mismatches = verify(host, profile, iface=IFACE)
    assert [row.name for row in mismatches] == ["net.core.busy_poll"]
    assert mismatches[0].status is Status.UNSUPPORTED
    assert "ENOENT" in mismatches[0].reason
    _, tolerated = verify(host, profile, iface=IFACE, ignore_missing=True)
    assert tolerated == []


def test_latency_disables_every_idle_state_but_poll(tree: Path, host: Host) -> None:
    before = snapshot(tree)
    apply(host, load_profile("latency"), iface=IFACE)
    for cpu in range(4):
        disabled = [_file(tree, f"sys/devices/system/cpu/cpu{cpu}/cpuidle/state{i}/disable")
                    for i in range(4)]
        assert disabled == ["0\n", "1\n", "1\n", "1\n"]
    assert _file(tree, "proc/sys/net/core/busy_poll") == "50\n"
    row = _rows(show(host, load_profile("latency"), iface=IFACE))["cpu.idle.max_latency_us"]
    assert row.current == "enabled: POLL" and row.status is Status.OK  # type: ignore[attr-defined]
    revert(host)
    assert snapshot(tree) == before


def test_bypass_reserves_hugepages(tree: Path, host: Host) -> None:
    apply(host, load_profile("bypass"))
    assert _file(tree, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") == "1024\n"
    revert(host)
    assert _file(tree, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") == "0\n"


def test_dependent_offloads_are_journaled_and_restored(tmp_path: Path, host: Host,
                                                       ethtool: FakeEthtool) -> None:
    before = _ethtool_state(ethtool)
    report = apply(host, load_profile(_profile(tmp_path, '[iface]\noffload.tx = "off"\n')),
                   iface=IFACE)
    assert [i.outcome for i in report.items] == [Outcome.APPLIED]
    # TSO went off with the TX checksums, as netdev_fix_features() does
    assert ethtool.features(IFACE)["tx-tcp-segmentation"].enabled is False  # type: ignore[index]
    saved = journals.load(journal_path(host))
    assert saved is not None
    assert {"iface.offload.tx[eth9]", "iface.offload.tso[eth9]"} <= saved.target_keys()
    revert(host)
    assert _ethtool_state(ethtool) == before


def test_a_setting_undone_by_a_later_one_is_reported(tmp_path: Path, host: Host) -> None:
    body = '[iface]\noffload.tso = "on"\noffload.tx = "off"\n'
    report = apply(host, load_profile(_profile(tmp_path, body)), iface=IFACE)
    outcomes = {item.key: (item.outcome, item.reason) for item in report.items}
    assert outcomes["iface.offload.tx[eth9]"][0] is Outcome.APPLIED
    assert outcomes["iface.offload.tso[eth9]"][0] is Outcome.FAILED
    assert "undone by another change" in outcomes["iface.offload.tso[eth9]"][1]


def test_fixed_offload_is_unsupported(tmp_path: Path, host: Host) -> None:
    report = apply(host, load_profile(_profile(tmp_path, '[iface]\noffload.lro = "on"\n')),
                   iface=IFACE)
    assert report.items[0].outcome is Outcome.UNSUPPORTED
    assert "[fixed]" in report.items[0].reason


def test_refusals_name_the_capability_and_leave_no_journal(host: Host,
                                                           ethtool: FakeEthtool) -> None:
    ethtool.refuse = errno.EPERM
    profile = load_profile("capture")
    report = apply(host, profile, iface=IFACE, scope="netns")
    failed = {item.key: item.reason for item in report.failed}
    assert failed["iface.rings.rx[eth9]"] == "EPERM: needs CAP_NET_ADMIN"
    assert failed["iface.offload.gro[eth9]"] == "EPERM: needs CAP_NET_ADMIN"
    revert(host)  # the sysctls that did change
    report = apply(host, load_profile("capture"), iface=IFACE, scope="host")
    assert report.items == ()  # capture has no host-wide setting
    assert not journal_path(host).exists()


def test_value_the_kernel_does_not_keep_is_a_failure(tree: Path, host: Host,
                                                     ethtool: FakeEthtool) -> None:
    ethtool.set_channels = lambda *_a, **_k: None  # type: ignore[method-assign]
    report = apply(host, load_profile("throughput"), iface=IFACE)
    item = next(i for i in report.items if i.key == "iface.channels.combined[eth9]")
    assert item.outcome is Outcome.FAILED
    assert item.reason == "the kernel kept '2'"
    saved = journals.load(journal_path(host))
    assert saved is not None and "iface.channels.combined[eth9]" not in saved.target_keys()


def test_swapoff_refused_when_memory_cannot_take_it_back(tree: Path, host: Host,
                                                         swap: FakeSwap) -> None:
    (tree / "proc/meminfo").write_text("MemTotal: 100000 kB\nMemAvailable: 9000 kB\n")
    report = apply(host, load_profile("throughput"), iface=IFACE)
    item = next(i for i in report.items if i.key == "memory.swap")
    assert item.outcome is Outcome.FAILED
    assert item.reason.startswith("ENOMEM: 10 MiB in use on /swapfile, only 8 MiB available")
    assert swap.calls == []


def test_second_profile_keeps_the_first_original(tmp_path: Path, tree: Path,
                                                 host: Host) -> None:
    apply(host, load_profile("latency"), iface=IFACE)                # swappiness 60 -> 10
    apply(host, load_profile(_profile(tmp_path, "[sysctl]\nvm.swappiness = 33\n")))
    assert _file(tree, "proc/sys/vm/swappiness") == "33\n"
    saved = journals.load(journal_path(host))
    assert saved is not None
    originals = {entry.target.key: entry.original for entry in saved.entries}
    assert originals["vm.swappiness"] == "60\n"
    revert(host)
    assert _file(tree, "proc/sys/vm/swappiness") == "60\n"


def test_scope_netns_leaves_host_wide_settings_alone(tree: Path, host: Host) -> None:
    report = apply(host, load_profile("throughput"), iface=IFACE, scope="netns")
    assert _file(tree, "proc/sys/vm/swappiness") == "60\n"
    assert _file(tree, "proc/sys/net/core/rmem_max") == "134217728\n"
    skipped = dict(report.skipped)
    assert skipped["vm.swappiness"] == "host-wide, scope is netns"
    assert "iface.irq_affinity" in skipped


def test_interface_settings_need_an_interface(host: Host) -> None:
    report = show(host, load_profile("capture"))
    assert ("iface.offload.gro", "needs --iface") in report.skipped
    with pytest.raises(InterfaceError, match="no such interface: eth7"):
        show(host, load_profile("capture"), iface="eth7")


def test_revert_without_journal_is_a_no_op(host: Host) -> None:
    report = revert(host)
    assert report.items == () and "nothing to revert" in report.notes[0]


def test_revert_drops_entries_whose_interface_is_gone(tree: Path, host: Host) -> None:
    apply(host, load_profile("capture"), iface=IFACE)
    path = journal_path(host)
    document = json.loads(path.read_text())
    for entry in document["entries"]:
        if "iface" in entry["target"]:
            entry["target"]["iface"] = "eth8"           # as if its namespace were deleted
    path.write_text(json.dumps(document))
    report = revert(host)
    gone = [item for item in report.items if item.key.startswith("iface.")]
    assert gone and {item.outcome for item in gone} == {Outcome.UNSUPPORTED}
    assert gone[0].reason == "ENODEV: no interface eth8 here"
    assert _file(tree, "proc/sys/net/core/rmem_max") == "212992\n"   # the rest was restored
    assert not path.exists()


def test_damaged_journal_is_refused_clearly(host: Host) -> None:
    path = journal_path(host)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(TuningError, match="is damaged"):
        revert(host)


def test_revert_dry_run_shows_the_plan(tree: Path, host: Host) -> None:
    apply(host, load_profile("throughput"), iface=IFACE)
    applied = snapshot(tree)
    plan = revert(host, dry_run=True)
    assert {i.outcome for i in plan.items} == {Outcome.PLANNED}
    assert snapshot(tree) == applied
    assert journal_path(host).exists()
