"""Crash safety, with real processes on a fake tree.

1. A file that cannot be written halfway through ``apply``: the run goes on, reports the item
   with its reason, and the journal holds exactly what changed; ``revert`` restores it.
2. A process killed in the middle of ``apply`` (``os._exit`` in its Nth write, so no ``finally``
   runs): the journal, written and fsynced before the first write, holds every value the run
   was about to change, and ``wirekit tune revert`` in a new process restores the tree byte
   for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.env import require_tool
from tests.support.tune_tree import build_tree, snapshot
from wirekit.tune import journal as journals

WIREKIT = str(Path(sys.executable).with_name("wirekit"))
JOURNAL = "run/wirekit/tune/journal.json"


def _wirekit(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [WIREKIT, *args]
    if prefix:  # capsh -- -c "..." runs one shell command line
        command = [*prefix, " ".join(command)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _unprivileged_prefix() -> tuple[str, ...]:
    """Root writes a r--r--r-- file anyway (CAP_DAC_OVERRIDE); drop that capability."""
    if os.geteuid() != 0:
        return ()
    return (require_tool("capsh"), "--drop=cap_dac_override,cap_dac_read_search", "--", "-c")


def test_unwritable_file_mid_apply(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "root")
    before = snapshot(tree)
    blocked = tree / "sys/devices/system/cpu/cpu2/cpuidle/state2/disable"
    blocked.chmod(0o444)
    done = _wirekit("tune", "apply", "latency", "--root", str(tree), "--json",
                    prefix=_unprivileged_prefix())
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    items = {item["key"]: item for item in report["items"]}
    refused = items["cpu.idle.max_latency_us[cpu2/state2:C1E]"]
    assert refused["outcome"] in ("failed", "unsupported")
    assert refused["reason"].startswith("EACCES")
    applied = {key for key, item in items.items() if item["outcome"] == "applied"}
    assert "cpu.idle.max_latency_us[cpu3/state3:C6]" in applied   # went on after the failure
    assert blocked.read_text() == "0\n"
    journal = journals.load(tree / JOURNAL)
    assert journal is not None
    assert journal.target_keys() == applied                       # exactly what changed
    done = _wirekit("tune", "revert", "--root", str(tree))
    assert done.returncode == 0, done.stderr
    assert snapshot(tree) == before
    assert not (tree / JOURNAL).exists()


CRASH = """
import os, sys
from pathlib import Path
from wirekit.tune import Host, Roots, apply, load_profile
from wirekit.tune.host import Host as HostClass

real_write = HostClass.write
writes = 0

def crash_on_nth_write(self, relative, text, capability=""):
    global writes
    writes += 1
    if writes == int(sys.argv[2]):
        os._exit(137)  # killed: no cleanup, no journal pruning
    real_write(self, relative, text, capability)

HostClass.write = crash_on_nth_write
apply(Host(Roots.under(Path(sys.argv[1]))), load_profile("latency"))
"""


def test_crash_in_the_middle_of_apply(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "root")
    before = snapshot(tree)
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(tree), "9"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert crashed.returncode == 137, crashed.stderr
    changed = {key for key, data in snapshot(tree).items()
               if before.get(key) != data and not key.startswith("run/")}
    assert len(changed) == 8                                     # the 8 writes before the crash
    journal = journals.load(tree / JOURNAL)
    assert journal is not None and journal.state == "applying"
    journaled = {entry.target.path for entry in journal.entries
                 if hasattr(entry.target, "path")}
    assert changed <= journaled                                 # everything that had changed
    assert len(journaled) > len(changed)                        # and what was about to
    done = _wirekit("tune", "revert", "--root", str(tree), "--json")
    assert done.returncode == 0, done.stderr
    outcomes = [item["outcome"] for item in json.loads(done.stdout)["items"]]
    assert outcomes.count("restored") == 8
    assert set(outcomes) == {"restored", "already-ok"}
    assert snapshot(tree) == before
    assert not (tree / JOURNAL).exists()
