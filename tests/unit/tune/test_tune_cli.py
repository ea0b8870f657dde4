"""`wirekit tune` and `wirekit bypass` on a fake tree (--root): output, JSON, exit codes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.support.tune_tree import build_tree, snapshot
from wirekit.cli import bypass as cli_bypass
from wirekit.cli import main as cli_main
from wirekit.tune import Host, list_profiles
from wirekit.tune.bypass import BypassStatus, Nic, bypass_status


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "root")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_json(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tune", "show", "--root", str(tree), "--iface", "eth9",
                        "--json")
    assert code == 0
    report = json.loads(out)
    rows = {row["name"]: row for row in report["settings"]}
    assert rows["vm.swappiness"]["current"] == "60"
    assert rows["vm.swappiness"]["status"] == "differs"
    assert rows["iface.rings.rx"]["status"] == "unsupported"
    assert "live kernel" in rows["iface.rings.rx"]["reason"]
    assert rows["iface.irq_affinity"]["status"] == "differs"
    assert report["profile"] == "throughput"


def test_show_table_has_the_why_line(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tune", "show", "--root", str(tree), "-p", "latency")
    assert code == 0
    assert "net.core.busy_poll" in out
    assert "poll()/select()" in out       # the first words of why it matters
    assert "skipped (needs --iface)" in out


def test_apply_dry_run_apply_verify_revert(tree: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    root = ("--root", str(tree))
    code, out, _ = _run(capsys, "tune", "apply", "latency", "--dry-run", *root)
    assert code == 0 and "dry run: nothing changed" in out
    assert "planned      vm.swappiness" in out and "60 -> 10" in out
    assert snapshot(tree) == before

    code, out, _ = _run(capsys, "tune", "verify", "latency", *root)
    assert code == 10 and "differs     vm.swappiness: current '60', profile '10'" in out

    code, out, err = _run(capsys, "tune", "apply", "latency", *root)
    assert code == 0, err
    assert "applied      vm.swappiness" in out
    assert "journal:" in out and "undo with: wirekit tune revert" in out

    code, out, _ = _run(capsys, "tune", "verify", *root)          # the applied profile
    assert code == 0 and "Verification succeeded" in out

    code, out, _ = _run(capsys, "tune", "revert", *root)
    assert code == 0 and "restored     vm.swappiness" in out
    assert snapshot(tree) == before


def test_swap_and_ethtool_are_refused_under_root_one_line_each(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "tune", "all", "--iface", "eth9", "--root", str(tree),
                          "--json")
    assert code == 0, err
    items = {item["key"]: item for item in json.loads(out)["items"]}
    assert items["memory.swap"]["outcome"] == "unsupported"
    assert items["memory.swap"]["reason"] == \
        "swap changes need the live kernel (not available under --root)"
    assert items["iface.offload.gro[eth9]"]["outcome"] == "unsupported"
    _run(capsys, "tune", "revert", "--root", str(tree))


def test_apply_failure_exit_code_and_no_traceback(tree: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "proc/sys/vm/swappiness").unlink()
    (tree / "proc/sys/vm/swappiness").mkdir()  # reading a directory fails: EISDIR
    code, out, err = _run(capsys, "tune", "apply", "latency", "--root", str(tree))
    assert code == 10
    assert "failed       vm.swappiness" in out and "EISDIR" in out
    assert err.startswith("wirekit: error: 1 item(s) failed") and "Traceback" not in err
    _run(capsys, "tune", "revert", "--root", str(tree))


def test_unknown_profile_and_verify_without_profile(tree: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "tune", "apply", "turbo", "--root", str(tree))
    assert code == 10 and "no profile named 'turbo'" in err
    code, _, err = _run(capsys, "tune", "verify", "--root", str(tree))
    assert code == 10 and "no profile applied here" in err
    code, _, err = _run(capsys, "tune", "show", "--root", str(tree), "--iface", "nope0")
    assert code == 7 and "no such interface: nope0" in err


@pytest.mark.parametrize("command", [("show",), ("apply", "throughput", "--dry-run"),
                                     ("verify", "throughput")])
def test_unknown_iface_lists_the_interfaces_like_other_commands(
        tree: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]) -> None:
    code, out, err = _run(capsys, "tune", *command, "--root", str(tree), "--iface", "nosuch0")
    assert code == 7 and out == ""
    assert err == "wirekit: error: no such interface: nosuch0 (interfaces here: eth9)\n"


def test_unknown_iface_on_the_live_host_lists_this_namespaces_links(
        capsys: pytest.CaptureFixture[str]) -> None:
    from wirekit.link.interfaces import interface_names

    code, _, err = _run(capsys, "tune", "show", "--iface", "nosuch0", "--json")
    assert code == 7
    assert err == (f"wirekit: error: no such interface: nosuch0 (interfaces here: "
                   f"{', '.join(interface_names())})\n")


def test_a_bad_profile_value_is_one_line_before_anything_is_planned(
        tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[sysctl]\n"net.core.rmem_max" = "abc"\n')
    code, out, err = _run(capsys, "tune", "apply", str(mine), "--dry-run", "--root", str(tree))
    assert code == 10 and out == ""  # the code of every profile that cannot be read
    assert err == f"wirekit: error: {mine}: net.core.rmem_max: 'abc': expected an integer\n"


def _cells(line: str) -> list[str]:
    """The cells of one line of a boxed rich table (header rules are heavy)."""
    return [cell.strip() for cell in line.replace("┃", "│").split("│")[1:-1]]


@pytest.mark.parametrize("columns", [80, 100, 132])
def test_show_keeps_the_status_column_at_any_width(
        tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        columns: int) -> None:
    # Piped output is 80 columns wide in rich unless COLUMNS says otherwise.
    monkeypatch.setenv("COLUMNS", str(columns))
    args = ("tune", "show", "--root", str(tree), "--iface", "eth9")
    _, text, _ = _run(capsys, *args)
    _, document, _ = _run(capsys, *args, "--json")
    assert max(len(line) for line in text.splitlines()) <= columns
    rows = {cells[0]: cells for cells in map(_cells, text.splitlines()) if cells}
    assert rows["setting / why it matters"] == ["setting / why it matters", "current",
                                                "profile", "status"]
    for setting in json.loads(document)["settings"]:
        cells = rows[setting["name"]]                       # the name is whole, on one line
        assert cells[3] == setting["status"], setting["name"]


def test_list_prints_every_profile_file_whole_at_80_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / ("a-directory-with-a-long-name/" * 3) / "profiles"
    deep.mkdir(parents=True)
    (deep / "mine.toml").write_text('[main]\nsummary = "my own"\n')
    monkeypatch.setenv("WIREKIT_PROFILE_PATH", str(deep))
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run(capsys, "tune", "list")
    assert code == 0 and len(str(deep / "mine.toml")) > 80
    lines = [line.strip() for line in out.splitlines()]
    assert str(deep / "mine.toml") in lines
    for info in list_profiles():
        assert info.path in lines


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tune", "list", "--json")
    assert code == 0
    names = [p["name"] for p in json.loads(out)["profiles"]]
    assert {"throughput", "latency", "capture", "bypass"} <= set(names)


VIRTIO = Nic(name="enp0s3f0", ifindex=2, kind="physical", driver="virtio_net",
             pci_address="0000:00:03.0", pci_driver="virtio-pci", iommu_group=None,
             native_xdp=True, afxdp_zero_copy=True, afxdp_mode="zero-copy",
             xdp_flags=("basic", "xsk-zerocopy"), xdp_source="kernel (netdev xdp-features)",
             dpdk_pmd="net_virtio", default_route=False)


def _with_virtio(monkeypatch: pytest.MonkeyPatch, *, keep_tree_nic: bool) -> None:
    """bypass status of the fake tree plus a virtio NIC, as the kernel reports one."""
    def status(host: Host, fs_root: Path) -> BypassStatus:
        found = bypass_status(host, fs_root=fs_root)
        nics = (*found.nics, VIRTIO) if keep_tree_nic else (VIRTIO,)
        return dataclasses.replace(found, nics=nics)

    monkeypatch.setattr(cli_bypass, "bypass_status", status)


@pytest.mark.parametrize("columns", [80, 120])
def test_bypass_status_crops_nothing(tree: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    _with_virtio(monkeypatch, keep_tree_nic=True)
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree))
    assert code == 0 and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= columns
    text = " ".join(out.split())
    if columns == 80:
        # eth9's AF_XDP cell ("copy mode (zero-copy unknown)") does not fit a table in 80
        # columns; then each interface is one line, wrapped at spaces.
        assert ("enp0s3f0: physical, driver virtio_net, PCI 0000:00:03.0, native XDP yes, "
                "AF_XDP zero-copy, DPDK PMD net_virtio") in text
        assert "eth9: physical, driver -, PCI 0000:00:05.0, native XDP unknown" in text
    else:
        assert ["enp0s3f0", "physical", "virtio_net", "0000:00:03.0", "yes", "zero-copy",
                "net_virtio"] in [line.split() for line in out.splitlines()]
    assert "XDP support of enp0s3f0 decided by: kernel (netdev xdp-features)" in text


def test_bypass_status_table_at_80_columns(tree: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _with_virtio(monkeypatch, keep_tree_nic=False)
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree))
    words = [line.split() for line in out.splitlines()]
    assert code == 0
    assert ["interface", "kind", "driver", "PCI", "native", "XDP", "AF_XDP", "DPDK",
            "PMD"] in words
    assert ["enp0s3f0", "physical", "virtio_net", "0000:00:03.0", "yes", "zero-copy",
            "net_virtio"] in words
    assert "XDP support decided by: kernel (netdev xdp-features)" in out


def test_bypass_status_on_a_fake_tree(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree), "--json")
    assert code == 0
    status = json.loads(out)
    assert status["kernel"] == "6.1.0-fake"
    assert [nic["name"] for nic in status["nics"]] == ["eth9"]
    assert status["nics"][0]["pci_address"] == "0000:00:05.0"
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree))
    assert code == 0 and "DPDK cannot run here" in out
