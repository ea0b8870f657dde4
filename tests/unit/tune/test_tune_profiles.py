"""Profiles: the built-in ones, include inheritance, the search path, and every refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wirekit.tune import ProfileError, Requirement, list_profiles, load_profile
from wirekit.tune.catalog import CATALOG, lookup
from wirekit.tune.profiles import builtin_dir
from wirekit.tune.values import Op

BUILTIN = ("throughput", "latency", "capture", "bypass")


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profiles_load(name: str) -> None:
    profile = load_profile(name)
    assert profile.summary
    assert profile.settings
    for setting, _ in profile.settings:
        lookup(setting)  # every name is known


def test_shipped_comments_say_include_goes_under_main(tmp_path: Path) -> None:
    # A comment that shows `include = "x"` alone reads as a top-level key, which is refused
    # ("unknown section(s) include"); docs/tune.md puts it under [main].
    shown = 0
    for path in sorted(builtin_dir().glob("*.toml")):
        comment = " ".join(line.lstrip("# ") for line in path.read_text().splitlines()
                           if line.startswith("#"))
        for found in re.finditer(r'`include = "([^"]+)"`', comment):
            shown += 1
            assert comment[found.end():].startswith(" under `[main]`"), path.name
            followed = _write(tmp_path / "mine.toml", f"[main]\n{found.group(0).strip('`')}\n")
            assert load_profile(str(followed)).settings == load_profile(found.group(1)).settings
    assert shown
    with pytest.raises(ProfileError, match="unknown section"):
        load_profile(str(_write(tmp_path / "top.toml", 'include = "throughput"\n')))


def test_throughput_has_the_seeds_settings_and_tuneds_values() -> None:
    profile = load_profile("throughput")
    expect = {
        "cpu.governor": "performance",                    # seed + tuned
        "memory.swap": "off",                             # seed (swapoff -a)
        "kernel.numa_balancing": "0",                     # seed
        "vm.swappiness": "10",                            # tuned throughput-performance
        "vm.dirty_ratio": "40",                           # tuned throughput-performance
        "net.core.rmem_max": ">134217728",                # seed
        "net.ipv4.tcp_rmem": ">4096 131072 134217728",    # tuned default, seed max
        "net.core.netdev_max_backlog": ">5000",           # seed
        "net.core.netdev_budget": ">600",                 # seed
        "iface.rings.rx": ">4096",                        # seed ethtool -G
        "iface.offload.tso": "on",                        # seed ethtool -K
        "iface.offload.rxhash": "on",
        "iface.coalesce.rx-usecs": "50",                  # seed ethtool -C
        "iface.irq_affinity": "spread",                   # not the seed's "all on CPU 0"
    }
    for name, value in expect.items():
        assert str(profile.get(name)) == value, name


def test_latency_and_capture() -> None:
    latency = load_profile("latency")
    assert str(latency.get("net.core.busy_poll")) == "50"
    assert str(latency.get("net.core.busy_read")) == "50"
    assert str(latency.get("cpu.idle.max_latency_us")) == "0"
    capture = load_profile("capture")
    assert str(capture.get("iface.offload.gro")) == "off"
    assert str(capture.get("iface.rings.rx")) == "max"
    assert str(load_profile("bypass").get("memory.hugepages.2048kB")) == ">1024"


def test_later_profiles_win_when_merged() -> None:
    merged = load_profile(["throughput", "capture"])
    assert merged.name == "throughput+capture"
    assert str(merged.get("iface.rings.rx")) == "max"                    # capture's
    assert str(merged.get("net.core.netdev_max_backlog")) == ">250000"  # capture's
    assert str(merged.get("cpu.governor")) == "performance"             # throughput's
    assert merged.origin("iface.rings.rx").endswith("capture.toml")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_include_inherits_overrides_and_removes(tmp_path: Path) -> None:
    base = _write(tmp_path / "base.toml", """
[main]
summary = "base"
[sysctl]
vm.swappiness = 30
"vm.dirty_ratio" = 15
[iface]
offload.gro = true
""")
    child = _write(tmp_path / "child.toml", """
[main]
include = "base.toml"
summary = "child"
[sysctl]
vm.swappiness = ">40"
"vm.dirty_ratio" = ""
[iface]
rings.rx = "max"
""")
    profile = load_profile(str(child))
    assert profile.get("vm.swappiness") == Requirement(Op.AT_LEAST, "40")
    assert profile.get("vm.dirty_ratio") is None            # removed by the empty string
    assert str(profile.get("iface.offload.gro")) == "on"     # TOML true
    assert str(profile.get("iface.rings.rx")) == "max"
    assert profile.files == (str(base), str(child))
    assert profile.summary == "child"


def test_include_a_builtin_by_name(tmp_path: Path) -> None:
    child = _write(tmp_path / "mine.toml", '[main]\ninclude = ["throughput"]\n'
                   '[sysctl]\n"net.core.somaxconn" = 8192\n')
    profile = load_profile(str(child))
    assert str(profile.get("net.core.somaxconn")) == "8192"
    assert str(profile.get("cpu.governor")) == "performance"


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", '[main]\ninclude = "b.toml"\n')
    _write(tmp_path / "b.toml", '[main]\ninclude = "a.toml"\n')
    with pytest.raises(ProfileError, match=r"include cycle: a\.toml -> b\.toml -> a\.toml"):
        load_profile(str(tmp_path / "a.toml"))


@pytest.mark.parametrize(("body", "message"), [
    ("[sysctl\n", "Expected"),
    ("[cpus]\ngovernor = 'x'\n", "unknown section"),
    ("[cpu]\nturbo = 1\n", "unknown setting 'cpu.turbo'"),
    ("[cpu]\n'vm.swappiness' = 1\n", "unknown setting"),
    ("[sysctl]\n'cpu.governor' = 'x'\n", r"does not belong in \[sysctl\]"),
    ("[iface]\noffload.gro = 'maybe'\n", "'maybe': expected on or off"),
    ("[iface]\nrings.rx = 'lots'\n", "'lots': expected max or an integer"),
    ("[iface]\nrings.rx = '4096 8192'\n", "expected max or an integer"),
    ("[iface]\nirq_affinity = 'everywhere'\n", "neither 'spread' nor a CPU list"),
    ("[memory]\nswap = 'on'\n", "'on': expected off"),
    ("[sysctl]\nvm.swappiness = 1.5\n", "use a string or an integer"),
    ("[sysctl]\nvm.swappiness = '>ten'\n", "needs a number"),
    ("[main]\ninclude = 3\n", "include must be"),
    ("[main]\ninclude = 'no-such-profile'\n", "no profile named 'no-such-profile'"),
])
def test_bad_profiles_are_refused_with_the_file_named(tmp_path: Path, body: str,
                                                       message: str) -> None:
    path = _write(tmp_path / "bad.toml", body)
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(str(path))
    assert "bad.toml" in str(caught.value) or "no profile named" in message


@pytest.mark.parametrize(("line", "shown"), [
    ('"net.core.rmem_max" = "abc"', "net.core.rmem_max: 'abc': expected an integer"),
    ('"net.core.rmem_max" = ">4096 1"', "net.core.rmem_max: '>4096 1': expected an integer"),
    ("vm.swappiness = true", "vm.swappiness: 'on': expected an integer"),
    ('"net.ipv4.tcp_rmem" = "4096 131072"',
     "net.ipv4.tcp_rmem: '4096 131072': expected three integers"),
    ('"net.ipv4.tcp_wmem" = ">lots"', "needs a number"),
    ('"net.ipv4.tcp_congestion_control" = "bbr cubic"',
     "net.ipv4.tcp_congestion_control: 'bbr cubic': expected one word"),
])
def test_a_value_its_sysctl_cannot_take_is_refused_at_load(tmp_path: Path, line: str,
                                                           shown: str) -> None:
    # Refused when the profile loads, not planned as "4194304 -> abc" and left to the kernel.
    path = _write(tmp_path / "mine.toml", f"[sysctl]\n{line}\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and shown in message
    assert "\n" not in message


@pytest.mark.parametrize("line", [
    '"net.core.rmem_max" = -1', '"net.ipv4.tcp_rmem" = "<4096 87380 6291456"',
    '"net.ipv4.tcp_congestion_control" = "bbr"', '"net.ipv4.tcp_mtu_probing" = "anything"',
])
def test_values_a_sysctl_accepts_load(tmp_path: Path, line: str) -> None:
    load_profile(str(_write(tmp_path / "mine.toml", f"[sysctl]\n{line}\n")))


def test_search_path_shadows_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "throughput.toml", '[main]\nsummary = "my own"\n[sysctl]\n'
           'vm.swappiness = 1\n')
    monkeypatch.setenv("WIREKIT_PROFILE_PATH", str(tmp_path))
    profile = load_profile("throughput")
    assert profile.summary == "my own"
    assert profile.names() == ["vm.swappiness"]
    listed = {info.name: info for info in list_profiles()}
    assert listed["throughput"].path == str(tmp_path / "throughput.toml")
    assert not listed["throughput"].builtin
    assert listed["latency"].builtin


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"known: .*bypass.*capture.*latency.*throughput"):
        load_profile("fast")


def test_every_catalogue_setting_has_a_reason_and_a_section() -> None:
    names = [setting.name for setting in CATALOG]
    assert len(names) == len(set(names))
    for setting in CATALOG:
        assert len(setting.why) > 20, setting.name
    covered = {"cpu.governor", "cpu.idle.max_latency_us", "iface.irq_affinity",
               "kernel.numa_balancing", "memory.swap", "vm.dirty_ratio",
               "vm.dirty_background_ratio", "vm.swappiness", "net.core.rmem_max",
               "net.core.wmem_max", "net.core.rmem_default", "net.core.wmem_default",
               "net.core.netdev_max_backlog", "net.core.netdev_budget", "net.core.somaxconn",
               "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_congestion_control",
               "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_fastopen",
               "net.ipv4.tcp_notsent_lowat", "net.core.busy_poll", "net.core.busy_read",
               "iface.rings.rx", "iface.rings.tx", "iface.offload.rx", "iface.offload.tx",
               "iface.offload.tso", "iface.offload.gso", "iface.offload.gro",
               "iface.offload.rxhash", "iface.channels", "iface.coalesce.rx-usecs",
               "memory.hugepages.2048kB"}
    assert covered <= set(names)


def test_any_sysctl_and_patterned_names_resolve() -> None:
    assert lookup("net.ipv4.tcp_mtu_probing").scope.value == "netns"
    assert lookup("kernel.sched_migration_cost_ns").scope.value == "host"
    assert lookup("memory.hugepages.1048576kB").name == "memory.hugepages.1048576kB"
    assert lookup("iface.coalesce.rx-frames").needs_iface
    with pytest.raises(ProfileError):
        lookup("iface.coalesce.warp-speed")
