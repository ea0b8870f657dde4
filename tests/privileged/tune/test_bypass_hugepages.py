"""`wirekit bypass reserve/mount/unmount/release/revert` on the live kernel, with oracles.

These tests change the host, as the commands are meant to: the 2 MiB huge page pool (a few
pages, 8 MiB) and hugetlbfs mounts on temporary directories the tests create.  The ``live``
fixture restores ``nr_hugepages`` to the value it found and unmounts everything under the test's
directory, whatever happened, then checks that the host's tunables are as they were.  The
oracles are the kernel's own files (``nr_hugepages``, ``free_hugepages``, ``/proc/mounts``)
and ``findmnt``; a file mapped from the mount proves the pool backs it.  wirekit runs as a
program in the test's own mount namespace, never inside ``ip netns exec`` (except for the test
that checks that it refuses there), and keeps its journal in a temporary state directory.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.env import require_root, require_tool, skip_or_fail
from tests.support.netns import NetnsPair
from tests.support.tune_tree import host_snapshot

WIREKIT = (sys.executable, "-m", "wirekit")
POOL = Path("/sys/kernel/mm/hugepages/hugepages-2048kB")
PAGE = 2 * 1024 * 1024


@dataclass
class Live:
    """A test's directory, its journal's state directory, and the pool as it was."""

    base: Path
    state: Path
    original: int

    def wirekit(self, *args: str, prefix: tuple[str, ...] = ()
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *WIREKIT, "bypass", *args, "--state-dir",
                               str(self.state)], capture_output=True, text=True, timeout=60,
                              check=False)


def _pool(name: str = "nr_hugepages") -> int:
    return int((POOL / name).read_text())


def _mounts_under(base: Path) -> list[str]:
    points = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == str(base) or point.startswith(f"{base}/"):
            points.append(point)
    return points


def _findmnt(point: Path) -> dict[str, str] | None:
    require_tool("findmnt")
    done = subprocess.run(["findmnt", "-J", "-o", "TARGET,FSTYPE,OPTIONS", "--mountpoint",
                           str(point)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    found: dict[str, str] = json.loads(done.stdout)["filesystems"][-1]
    return found


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """Restore the pool and unmount everything under the test's directory, always."""
    require_root()
    if not POOL.is_dir():
        skip_or_fail("this kernel has no 2 MiB huge pages")
    original = _pool()
    host_before = host_snapshot()
    base = tmp_path / "mnt"
    try:
        yield Live(base, tmp_path / "state", original)
    finally:
        for point in sorted(_mounts_under(base), key=len, reverse=True):
            done = subprocess.run(["umount", point], capture_output=True, check=False)
            if done.returncode != 0:  # still busy: detach it, it goes when the last user does
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        (POOL / "nr_hugepages").write_text(f"{original}\n")
    assert _pool() == original
    host_after = host_snapshot()
    changed = sorted(key for key in host_before.keys() | host_after.keys()
                     if host_before.get(key) != host_after.get(key))
    assert not changed, f"host values changed: {changed}"


def _items(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    assert done.returncode in (0, 10), done.stderr
    return {item["key"]: item for item in json.loads(done.stdout)["items"]}


@contextlib.contextmanager
def _mapped_page(directory: Path) -> Iterator[None]:
    """A DPDK-style use of the mount: one huge page, mapped and written."""
    path = directory / "page"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, PAGE)
        with mmap.mmap(fd, PAGE) as page:
            page[:5] = b"hello"
            yield
    finally:
        os.close(fd)
        path.unlink()


def test_reserve_mount_use_and_revert(live: Live) -> None:
    pages = live.original + 4
    point = live.base / "huge"   # neither mnt nor huge exists: wirekit creates both
    reserved = _items(live.wirekit("reserve", str(pages), "-p", "2M", "--json"))
    assert reserved["hugepages.2048kB"]["outcome"] == "applied"
    assert _pool() == pages

    mounted = live.wirekit("mount", str(point), "-p", "2M", "--json")
    assert mounted.returncode == 0, mounted.stderr
    assert [item["outcome"] for item in json.loads(mounted.stdout)["items"]] == ["applied"] * 3
    found = _findmnt(point)
    assert found is not None and found["fstype"] == "hugetlbfs"
    assert "pagesize=2M" in found["options"].split(",")

    free = _pool("free_hugepages")
    with _mapped_page(point):
        assert _pool("free_hugepages") == free - 1   # the page came from the pool
        busy = live.wirekit("unmount", str(point))
        assert busy.returncode == 10
        assert "EBUSY" in busy.stdout and busy.stderr.startswith("wirekit: error: 1 item(s)")
        assert _findmnt(point) is not None           # still mounted
    status = json.loads(subprocess.run([*WIREKIT, "bypass", "status", "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert f"{point} (pagesize=2M)" in status["hugetlbfs_mounts"]

    reverted = live.wirekit("revert")
    assert reverted.returncode == 0, reverted.stderr
    lines = [line.split()[:2] for line in reverted.stdout.splitlines()
             if line.startswith("  ")]
    assert lines == [["restored", f"hugetlbfs[{point}]"], ["restored", f"directory[{point}]"],
                     ["restored", f"directory[{live.base}]"],
                     ["restored", "hugepages.2048kB"]]
    assert _findmnt(point) is None and not live.base.exists()
    assert _pool() == live.original
    assert not (live.state / "tune/bypass-journal.json").exists()


def test_unmount_and_release_then_revert_to_the_start(live: Live) -> None:
    live.base.mkdir()
    assert live.wirekit("reserve", "8M").returncode == 0      # 4 pages of the default 2 MiB
    assert _pool() == 4
    assert live.wirekit("mount", str(live.base)).returncode == 0
    unmounted = live.wirekit("unmount", str(live.base))
    assert unmounted.returncode == 0, unmounted.stderr
    assert "hugetlbfs (pagesize=2M) -> unmounted" in unmounted.stdout
    assert _findmnt(live.base) is None
    released = live.wirekit("release", "-p", "2M")
    assert released.returncode == 0 and "4 -> 0" in released.stdout
    assert _pool() == 0
    # Everything wirekit changed is back where it was (the pool was empty, the mount made and
    # undone): the journal keeps only what still differs, here the pool if it was not empty.
    journal = live.state / "tune/bypass-journal.json"
    if live.original == 0:
        assert not journal.exists()
    else:
        entries = json.loads(journal.read_text())["entries"]
        assert [(entry["key"], entry["original"]) for entry in entries] == [
            ("hugepages.2048kB", f"{live.original}\n")]
    assert live.wirekit("revert").returncode == 0
    assert _pool() == live.original and live.base.is_dir()   # wirekit did not create it


def test_refusals_are_one_line_with_their_exit_codes(live: Live, tmp_path: Path) -> None:
    live.base.mkdir()
    file = tmp_path / "file"
    file.write_text("")
    offered = {name.removeprefix("hugepages-") for name in os.listdir(POOL.parent)}
    absent = next(size for size, name in (("64K", "64kB"), ("4M", "4096kB"), ("16M", "16384kB"))
                  if name not in offered)
    cases = [
        (("mount", str(file)), 2, f"{file} is not a directory"),
        (("mount", str(live.base), "-p", absent), 2, f"this kernel offers no {absent} huge"),
        (("reserve", "1", "-p", absent), 2, f"this kernel offers no {absent} huge"),
        (("unmount", str(live.base)), 2, f"{live.base} is not a mount point"),
        (("unmount", "/proc"), 2, "/proc holds a proc mount, not hugetlbfs"),
    ]
    for args, code, message in cases:
        done = live.wirekit(*args)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.startswith(f"wirekit: error: {message}"), (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1

    assert live.wirekit("mount", str(live.base)).returncode == 0
    again = live.wirekit("mount", str(live.base))
    assert again.returncode == 2
    assert f"{live.base} is already a mount point (hugetlbfs," in again.stderr
    assert live.wirekit("revert").returncode == 0
    assert _findmnt(live.base) is None


def test_missing_privileges_exit_77_and_change_nothing(live: Live) -> None:
    require_tool("capsh")
    live.base.mkdir()
    live.base.chmod(0o755)
    command = " ".join([*WIREKIT, "bypass", "mount", str(live.base), "--state-dir",
                        str(live.state)])
    no_admin = subprocess.run(["capsh", "--drop=cap_sys_admin", "--", "-c", command],
                              capture_output=True, text=True, check=False)
    assert no_admin.returncode == 77, no_admin.stderr
    assert "needs CAP_SYS_ADMIN" in no_admin.stderr
    # an ordinary user keeping only CAP_DAC_READ_SEARCH, to reach the interpreter and the
    # checkout wherever it is (a fresh clone under a root-only directory, in CI)
    as_nobody = ("capsh", "--caps=cap_dac_read_search+eip cap_setpcap,cap_setuid,cap_setgid+ep",
                 "--keep=1", "--user=nobody", "--addamb=cap_dac_read_search", "--", "-c",
                 " ".join([*WIREKIT, "bypass", "reserve", "4", "--state-dir", str(live.state)]))
    nobody = subprocess.run(as_nobody, capture_output=True, text=True, timeout=60, check=False)
    assert nobody.returncode == 77, nobody.stderr
    assert "needs root (CAP_DAC_OVERRIDE)" in nobody.stderr
    assert _findmnt(live.base) is None and _pool() == live.original
    assert not live.state.exists()  # refused before the journal was written


def test_inside_ip_netns_exec_a_mount_is_refused(live: Live, netns: NetnsPair) -> None:
    """ip netns exec gives the command a mount namespace of its own, gone when it exits."""
    live.base.mkdir()
    done = live.wirekit("mount", str(live.base), prefix=tuple(netns.prefix(netns.ns_a)))
    assert done.returncode == 10
    assert "the only process in its mount namespace" in done.stderr
    assert _findmnt(live.base) is None
    # the pool is host-wide and stays reserved after exit: that works from a namespace
    reserved = live.wirekit("reserve", str(live.original + 1),
                            prefix=tuple(netns.prefix(netns.ns_a)))
    assert reserved.returncode == 0, reserved.stderr
    assert _pool() == live.original + 1
    assert live.wirekit("revert").returncode == 0 and _pool() == live.original
