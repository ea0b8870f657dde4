"""`wirekit tune` and `wirekit bypass` on a fake tree (--root): output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.tune_tree import build_tree, snapshot
from wirekit.cli import main as cli_main


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


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "tune", "list", "--json")
    assert code == 0
    names = [p["name"] for p in json.loads(out)["profiles"]]
    assert {"throughput", "latency", "capture", "bypass"} <= set(names)


def test_bypass_status_on_a_fake_tree(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree), "--json")
    assert code == 0
    status = json.loads(out)
    assert status["kernel"] == "6.1.0-fake"
    assert [nic["name"] for nic in status["nics"]] == ["eth9"]
    assert status["nics"][0]["pci_address"] == "0000:00:05.0"
    code, out, _ = _run(capsys, "bypass", "status", "--root", str(tree))
    assert code == 0 and "DPDK cannot run here" in out
