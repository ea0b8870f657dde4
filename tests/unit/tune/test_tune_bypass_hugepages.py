"""`wirekit bypass reserve/release/mount/unmount/revert` on a fake tree, with a fake mount(2).

The pools are the fake tree's ``nr_hugepages`` files; mounts are lines of its ``proc/mounts``,
written by :class:`FakeMounts` the way the kernel shows them.  Mount points are real temporary
directories (wirekit creates and removes them).  Nothing here touches the host's huge pages or
mount table: the live checks (CAP_SYS_ADMIN, the mount namespace) only apply to the live host.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.tune_tree import build_tree, snapshot
from wirekit.cli import main as cli_main
from wirekit.errors import PrivilegeError, TuningError, UsageError
from wirekit.tune import Host, Outcome, Roots, hugepages
from wirekit.tune.hugepages import (
    MountTarget,
    format_size,
    mount_namespace_is_private,
    parse_amount,
    parse_size,
)

NODE_POOL = "sys/devices/system/node/node{node}/hugepages/hugepages-{size}kB/{name}"


@dataclass
class FakeMounts:
    """mount(2)/umount2(2) on the fake tree's proc/mounts; ``fail`` makes a call fail."""

    root: Path
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)

    @property
    def table(self) -> Path:
        return self.root / "proc/mounts"

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        self.calls.append(("mount", target, data))
        if "mount" in self.fail:
            raise OSError(self.fail["mount"], os.strerror(self.fail["mount"]))
        options = ["rw", "relatime"]
        for word in filter(None, data.split(",")):
            name, _, value = word.partition("=")
            if name == "pagesize":  # the kernel shows it in K, M (never G: 1 GiB is 1024M)
                kb = _memparse(value) // 1024
                value = f"{kb // 1024}M" if kb >= 1024 else f"{kb}K"
            options.append(f"{name}={value}")
        point = target.replace(" ", "\\040")  # /proc/mounts escapes blanks
        line = f"{source} {point} {fstype} {','.join(options)} 0 0\n"
        self.table.write_text(self.table.read_text() + line)

    def umount(self, target: str) -> None:
        self.calls.append(("umount", target, ""))
        if "umount" in self.fail:
            raise OSError(self.fail["umount"], os.strerror(self.fail["umount"]))
        lines = self.table.read_text().splitlines(keepends=True)
        mine = [i for i, line in enumerate(lines) if line.split()[1] == target]
        del lines[mine[-1]]
        self.table.write_text("".join(lines))


def _memparse(text: str) -> int:
    """The kernel's memparse(): bytes, with an optional K, M or G suffix."""
    suffix = text[-1:].upper()
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(suffix)
    return int(text[:-1]) * factor if factor else int(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = build_tree(tmp_path / "root")
    (root / "proc/meminfo").write_text((root / "proc/meminfo").read_text()
                                       + "Hugepagesize:       2048 kB\n")
    (root / "proc/mounts").write_text("proc /proc proc rw,nosuid 0 0\n"
                                      "tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0\n")
    for size in (2048, 1048576):
        (root / f"sys/kernel/mm/hugepages/hugepages-{size}kB/surplus_hugepages").write_text(
            "0\n")
        for node in (0, 1):
            for name in ("nr_hugepages", "free_hugepages", "surplus_hugepages"):
                path = root / NODE_POOL.format(node=node, size=size, name=name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("0\n")
    return root


@pytest.fixture
def mounts(tree: Path, monkeypatch: pytest.MonkeyPatch) -> FakeMounts:
    fake = FakeMounts(tree)
    monkeypatch.setattr(hugepages, "mount_backend", lambda host: fake)
    return fake


def _host(tree: Path) -> Host:
    return Host(Roots.under(tree))


def _pool(tree: Path, size: int = 2048, node: int | None = None) -> str:
    if node is None:
        return (tree / f"sys/kernel/mm/hugepages/hugepages-{size}kB/nr_hugepages").read_text()
    return (tree / NODE_POOL.format(node=node, size=size, name="nr_hugepages")).read_text()


def _journal(tree: Path) -> Path:
    return tree / "run/wirekit/tune/bypass-journal.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- sizes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kb"), [("2M", 2048), ("2mb", 2048), ("2MiB", 2048),
                                          ("1G", 1048576), ("2048K", 2048), ("2048kB", 2048),
                                          (" 64k ", 64)])
def test_parse_size(text: str, kb: int) -> None:
    assert parse_size(text) == kb


@pytest.mark.parametrize("text", ["2", "2X", "M", "-2M", "1.5G"])
def test_parse_size_needs_a_whole_number_and_a_unit(text: str) -> None:
    with pytest.raises(UsageError, match="bad size"):
        parse_size(text)


def test_amount_is_pages_or_memory() -> None:
    assert parse_amount("512", 2048) == 512
    with pytest.raises(UsageError):  # "²" passed str.isdigit(): int() raised, exit 70
        parse_amount("\u00b2", 2048)
    assert parse_amount("2G", 2048) == 1024          # dpdk-hugepages.py -r 2G
    assert parse_amount("2G", 1048576) == 2
    with pytest.raises(UsageError, match="not a whole number of 1G pages"):
        parse_amount("1536M", 1048576)
    assert [format_size(kb) for kb in (64, 2048, 1048576, 3000)] == ["64K", "2M", "1G", "3000K"]


def test_page_size_default_and_sizes_the_kernel_lacks(tree: Path) -> None:
    host = _host(tree)
    assert hugepages.offered_sizes(host) == (2048, 1048576)
    assert hugepages.choose_size(host, None) == 2048     # Hugepagesize in /proc/meminfo
    assert hugepages.choose_size(host, "1G") == 1048576
    with pytest.raises(UsageError, match=r"no 16M huge pages \(sizes here: 2M, 1G\)"):
        hugepages.choose_size(host, "16M")


# --- pools ----------------------------------------------------------------------------------------

def test_reserve_journal_idempotence_and_revert(tree: Path) -> None:
    host = _host(tree)
    before = snapshot(tree)
    plan = hugepages.reserve(host, 512, 2048, dry_run=True)
    assert [(i.key, i.outcome, i.before, i.after) for i in plan.items] == [
        ("hugepages.2048kB", Outcome.PLANNED, "0", "512")]
    assert snapshot(tree) == before

    done = hugepages.reserve(host, 512, 2048)
    assert [(i.outcome, i.after) for i in done.items] == [(Outcome.APPLIED, "512")]
    assert _pool(tree) == "512\n" and done.journal == str(_journal(tree))
    entries = json.loads(_journal(tree).read_text())["entries"]
    assert [(e["key"], e["original"]) for e in entries] == [("hugepages.2048kB", "0\n")]

    again = hugepages.reserve(host, 512, 2048)
    assert again.items[0].outcome is Outcome.ALREADY_OK
    hugepages.reserve(host, 8, 2048)  # a second change keeps the first original
    assert json.loads(_journal(tree).read_text())["entries"][0]["original"] == "0\n"

    undone = hugepages.revert(host)
    assert [(i.outcome, i.before, i.after) for i in undone.items] == [
        (Outcome.RESTORED, "8", "0")]
    assert snapshot(tree) == before  # byte for byte, journal gone


def test_reserve_per_node_and_all_nodes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bypass", "reserve", "2", "-p", "1G", "--node", "1",
                        "--root", str(tree))
    assert code == 0 and "applied      hugepages.1048576kB[node1]  0 -> 2" in out
    assert (_pool(tree, 1048576, 0), _pool(tree, 1048576, 1)) == ("0\n", "2\n")
    code, out, _ = _run(capsys, "bypass", "reserve", "64M", "--node", "all", "--root", str(tree))
    assert code == 0
    assert _pool(tree, 2048, 0) == _pool(tree, 2048, 1) == "32\n"  # 32 pages on each node
    assert _pool(tree) == "0\n"  # the host-wide file was not written
    code, _, err = _run(capsys, "bypass", "reserve", "1", "--node", "7", "--root", str(tree))
    assert code == 2 and "no NUMA node 7 with 2M huge pages here (nodes: 0, 1)" in err
    code, out, _ = _run(capsys, "bypass", "revert", "--root", str(tree))
    assert code == 0 and out.count("restored") == 4  # three pools, and the summary line
    assert _pool(tree, 1048576, 1) == _pool(tree, 2048, 0) == "0\n"


class ShortHost(Host):
    """A kernel that finds only ``limit`` huge pages and keeps ``in_use`` pages in use."""

    limit = 100
    in_use = 0

    def write(self, relative: str, text: str, capability: str = "") -> None:
        if relative.endswith("nr_hugepages"):
            wanted = int(text)
            kept = max(min(wanted, self.limit), self.in_use)
            surplus = self.path(relative).parent / "surplus_hugepages"
            surplus.write_text(f"{max(self.in_use - wanted, 0)}\n")
            text = f"{kept}\n"
        super().write(relative, text, capability)


def test_a_short_reservation_keeps_what_the_kernel_gave_and_fails(
        tree: Path) -> None:
    host = ShortHost(Roots.under(tree))
    report = hugepages.reserve(host, 512, 2048)
    (item,) = report.items
    assert item.outcome is Outcome.FAILED and item.after == "100"
    assert "reserved only 100 of 512 pages" in item.reason
    assert _pool(tree) == "100\n" and report.journal is not None  # revert can undo it
    hugepages.revert(host)
    assert _pool(tree) == "0\n"


def test_release_with_pages_in_use_is_applied_with_a_note(tree: Path) -> None:
    host = ShortHost(Roots.under(tree))
    hugepages.reserve(host, 64, 2048)
    host.in_use = 3
    report = hugepages.release(host, [2048])
    assert [(i.outcome, i.after) for i in report.items] == [(Outcome.APPLIED, "3")]
    assert "3 page(s) still in use" in report.notes[0]
    host.in_use = 0
    hugepages.revert(host)
    assert _pool(tree) == "0\n"


def test_release_every_size_by_default(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages").write_text("2\n")
    (tree / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").write_text("16\n")
    code, out, _ = _run(capsys, "bypass", "release", "--root", str(tree))
    assert code == 0 and "16 -> 0" in out and "2 -> 0" in out
    assert _pool(tree) == _pool(tree, 1048576) == "0\n"
    assert _run(capsys, "bypass", "revert", "--root", str(tree))[0] == 0
    assert _pool(tree) == "16\n"


def test_without_the_right_to_write_the_pool_nothing_happens(
        tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "access",
                        lambda path, *args, **kwargs: not str(path).endswith("nr_hugepages"))
    before = snapshot(tree)
    with pytest.raises(PrivilegeError) as caught:
        hugepages.reserve(_host(tree), 4, 2048)
    assert caught.value.capability == "CAP_DAC_OVERRIDE"
    code, _, err = _run(capsys, "bypass", "reserve", "4", "--root", str(tree))
    assert code == 77 and "needs root (CAP_DAC_OVERRIDE)" in err
    assert snapshot(tree) == before  # no journal either
    assert _run(capsys, "bypass", "reserve", "4", "-n", "--root", str(tree))[0] == 0  # dry run


# --- mounts ---------------------------------------------------------------------------------------

def test_mount_creates_the_directory_and_revert_removes_both(
        tree: Path, tmp_path: Path, mounts: FakeMounts,
        capsys: pytest.CaptureFixture[str]) -> None:
    point = tmp_path / "huge" / "pages"
    code, out, _ = _run(capsys, "bypass", "mount", str(point), "-p", "1G", "--root", str(tree))
    assert code == 0, out
    assert f"directory[{tmp_path / 'huge'}]" in out
    assert f"hugetlbfs[{point}]" in out and "unmounted -> hugetlbfs (pagesize=1G)" in out
    assert point.is_dir()
    assert mounts.calls == [("mount", str(point), "pagesize=1073741824")]
    assert f"hugetlbfs {point} hugetlbfs rw,relatime,pagesize=1024M" in mounts.table.read_text()
    status = json.loads(_run(capsys, "bypass", "status", "--root", str(tree), "--json")[1])
    assert status["hugetlbfs_mounts"] == [f"{point} (pagesize=1024M)"]

    code, out, _ = _run(capsys, "bypass", "revert", "--root", str(tree))
    assert code == 0
    lines = [line.split()[:2] for line in out.splitlines() if "restored" in line.split()[:1]]
    assert lines == [["restored", f"hugetlbfs[{point}]"], ["restored", f"directory[{point}]"],
                     ["restored", f"directory[{tmp_path / 'huge'}]"]]
    assert not (tmp_path / "huge").exists()
    assert str(point) not in mounts.table.read_text() and not _journal(tree).exists()


def test_mount_refusals_have_their_exit_codes(tree: Path, tmp_path: Path, mounts: FakeMounts,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = ("--root", str(tree))
    file = tmp_path / "file"
    file.write_text("")
    code, _, err = _run(capsys, "bypass", "mount", str(file), *root)
    assert code == 2 and err.strip() == f"wirekit: error: {file} is not a directory"
    code, _, err = _run(capsys, "bypass", "mount", str(tmp_path), "-p", "4M", *root)
    assert code == 2 and "this kernel offers no 4M huge pages (sizes here: 2M, 1G)" in err
    code, _, err = _run(capsys, "bypass", "mount", "/run", *root)
    assert code == 2 and "/run is already a mount point (tmpfs," in err
    assert _run(capsys, "bypass", "mount", str(tmp_path), *root)[0] == 0
    code, _, err = _run(capsys, "bypass", "mount", str(tmp_path), *root)
    assert code == 2 and "already a mount point (hugetlbfs" in err
    assert f"wirekit bypass unmount {tmp_path} first" in err
    assert len(err.strip().splitlines()) == 1
    assert mounts.calls == [("mount", str(tmp_path), "pagesize=2097152")]


def test_a_refused_mount_removes_the_directories_it_made(
        tree: Path, tmp_path: Path, mounts: FakeMounts,
        capsys: pytest.CaptureFixture[str]) -> None:
    mounts.fail["mount"] = errno.EINVAL
    point = tmp_path / "a" / "b"
    code, out, err = _run(capsys, "bypass", "mount", str(point), "--root", str(tree))
    assert code == 10 and "1 item(s) failed" in err
    assert "EINVAL: the kernel refused the mount options" in out
    assert "undone: a later step failed" in out
    assert not (tmp_path / "a").exists() and not _journal(tree).exists()


def test_unmount_only_hugetlbfs_and_revert_remounts_it(
        tree: Path, tmp_path: Path, mounts: FakeMounts,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = ("--root", str(tree))
    mounts.mount("nodev", str(tmp_path), "hugetlbfs", 0, "mode=1770,pagesize=2097152")
    mounts.calls.clear()
    code, _, err = _run(capsys, "bypass", "unmount", "/run", *root)
    assert code == 2 and "holds a tmpfs mount, not hugetlbfs" in err
    code, _, err = _run(capsys, "bypass", "unmount", str(tmp_path / "x"), *root)
    assert code == 2 and "is not a mount point" in err
    mounts.fail["umount"] = errno.EBUSY
    code, out, _ = _run(capsys, "bypass", "unmount", "--all", *root)
    assert code == 10 and "EBUSY" in out and "in use" in out
    assert not _journal(tree).exists()  # nothing changed, nothing kept
    del mounts.fail["umount"]

    code, out, _ = _run(capsys, "bypass", "unmount", "--all", *root)
    assert code == 0 and "hugetlbfs (mode=1770,pagesize=2M) -> unmounted" in out
    code, out, _ = _run(capsys, "bypass", "revert", *root)
    assert code == 0 and "unmounted -> hugetlbfs (mode=1770,pagesize=2M)" in out
    assert mounts.calls[-1] == ("mount", str(tmp_path), "mode=1770,pagesize=2M")
    assert f"{tmp_path} hugetlbfs rw,relatime,mode=1770,pagesize=2M" in mounts.table.read_text()


def test_without_a_mount_backend_under_root_mounts_are_refused(
        tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bypass", "mount", str(tmp_path), "--root", str(tree))
    assert code == 10 and "mounts need the live kernel" in out


def test_mount_values_compare_by_meaning() -> None:
    target = MountTarget(key="hugetlbfs[/x]", path="/x")
    assert target.restored("hugetlbfs pagesize=1024M", "hugetlbfs pagesize=1073741824")
    assert target.restored("hugetlbfs pagesize=1G", "hugetlbfs pagesize=1024M")
    assert not target.restored("hugetlbfs pagesize=2M", "hugetlbfs pagesize=1G")
    assert not target.restored("unmounted", "hugetlbfs pagesize=2M")
    assert target.display("hugetlbfs ro,pagesize=1073741824") == "hugetlbfs (ro,pagesize=1G)"


def test_a_private_mount_namespace_is_recognised(tmp_path: Path) -> None:
    """ip netns exec leaves wirekit alone in a new mount namespace: nothing else shares it."""
    proc = tmp_path / "proc"
    (proc / "self/ns").mkdir(parents=True)
    (proc / "self/ns/mnt").write_text("")
    (proc / "4242/ns").mkdir(parents=True)
    (proc / "4242/ns/mnt").write_text("")  # another namespace (another inode)
    assert mount_namespace_is_private(proc)
    (proc / "4243/ns").mkdir(parents=True)
    (proc / "4243/ns/mnt").hardlink_to(proc / "self/ns/mnt")  # a process sharing ours
    assert not mount_namespace_is_private(proc)


def test_revert_without_a_journal_says_so(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "bypass", "revert", "--root", str(tree))
    assert code == 0 and "nothing to revert: no journal at" in out


def test_no_huge_pages_in_this_kernel(tmp_path: Path) -> None:
    with pytest.raises(TuningError, match="offers no huge pages"):
        hugepages.choose_size(Host(Roots.under(tmp_path)), None)


def test_an_empty_directory_is_not_the_current_one(tree: Path, mounts: FakeMounts,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """click's Path made "" (an unset shell variable) into ".": mount planned hugetlbfs on
    the current directory."""
    for argv in (("mount", ""), ("unmount", ""), ("unmount", "/x", "")):
        code, _, err = _run(capsys, "bypass", *argv, "--root", str(tree))
        assert code == 2 and "DIRECTORY is empty" in err, err
    assert mounts.calls == []


def test_a_reservation_larger_than_memory_is_refused_before_any_change(tree: Path) -> None:
    meminfo = tree / "proc/meminfo"
    meminfo.write_text("MemTotal:        4194304 kB\nHugepagesize:       2048 kB\n")  # 4 GiB
    host = _host(tree)
    before = snapshot(tree)
    with pytest.raises(UsageError, match=r"8\.0 GiB of huge pages is more than this machine's "
                                         r"memory \(4\.0 GiB\)"):
        hugepages.reserve(host, 4096, 2048)
    with pytest.raises(UsageError, match="more than this machine's memory"):
        hugepages.reserve(host, 3, 1048576, nodes=(0, 1), dry_run=True)  # 3 GiB on each node
    assert snapshot(tree) == before
    assert hugepages.reserve(host, 1024, 2048, dry_run=True).items  # 2 GiB fits
