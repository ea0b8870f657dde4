"""The journal: round trip, first original wins, atomic durable writes, clear damage reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wirekit.errors import TuningError
from wirekit.tune import journal as journals
from wirekit.tune.host import Host, Roots
from wirekit.tune.targets import (
    ChannelTarget,
    CoalesceTarget,
    CpuListTarget,
    FileTarget,
    OffloadTarget,
    RingTarget,
    SwapTarget,
    Target,
    target_from_json,
)

TARGETS: list[Target] = [
    FileTarget(key="vm.swappiness", path="proc/sys/vm/swappiness", capability="root"),
    CpuListTarget(key="iface.irq_affinity[irq41]", path="proc/irq/41/smp_affinity_list"),
    RingTarget(key="iface.rings.rx[eth9]", iface="eth9", which="rx"),
    ChannelTarget(key="iface.channels.combined[eth9]", iface="eth9", which="combined"),
    CoalesceTarget(key="iface.coalesce.rx-usecs[eth9]", iface="eth9", field="rx-usecs"),
    OffloadTarget(key="iface.offload.tso[eth9]", iface="eth9", group="tso",
                  members=("tx-tcp-segmentation", "tx-tcp6-segmentation")),
    SwapTarget(key="memory.swap"),
]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.key)
def test_targets_round_trip_through_json(target: Target) -> None:
    document = json.loads(json.dumps(target.to_json()))
    assert target_from_json(document) == target


def _journal() -> journals.Journal:
    return journals.Journal(profile="throughput", iface="eth9", boot_id="b", netns="1")


def test_save_load_round_trip_and_no_leftovers(tmp_path: Path) -> None:
    journal = _journal()
    for index, target in enumerate(TARGETS):
        assert journal.add(target, f"value {index}\n")
    path = tmp_path / "tune" / "journal.json"
    journals.save(journal, path)
    loaded = journals.load(path)
    assert loaded is not None
    assert loaded.to_json() == journal.to_json()
    assert [p.name for p in path.parent.iterdir()] == ["journal.json"]  # temp file renamed
    journals.remove(path)
    assert journals.load(path) is None


def test_first_original_wins() -> None:
    journal = _journal()
    target = TARGETS[0]
    assert journal.add(target, "60\n")
    assert not journal.add(target, "10\n")
    assert [entry.original for entry in journal.entries] == ["60\n"]


@pytest.mark.parametrize(("text", "message"), [
    ("{", "is damaged"),
    ('{"format": 99}', "format 99"),
    ('{"format": 1, "entries": [{"target": {"kind": "warp"}, "original": "1"}]}',
     "unknown target kind"),
])
def test_damaged_journal(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "journal.json"
    path.write_text(text)
    with pytest.raises(TuningError, match=message):
        journals.load(path)


def test_unwritable_state_dir_fails_before_any_change(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(TuningError, match=r"cannot write the journal .*nothing was changed"):
        journals.save(_journal(), blocker / "tune" / "journal.json")


def test_journal_path_of_a_fake_tree(tmp_path: Path) -> None:
    host = Host(Roots.under(tmp_path))
    assert journals.journal_path(host) == tmp_path / "run/wirekit/tune/journal.json"
    host = Host(Roots.under(tmp_path, state=tmp_path / "elsewhere"))
    assert journals.journal_path(host) == tmp_path / "elsewhere/tune/journal.json"
