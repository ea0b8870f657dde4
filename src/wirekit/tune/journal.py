"""The journal: every original value, on disk and fsynced before the first change.

One JSON file per network namespace under ``<state>/tune/``.  It is written atomically (temporary
file, ``fsync``, ``rename``, ``fsync`` of the directory, the sequence rename(2) and fsync(2) need
for a crash to leave either the old or the new file, never a torn one).  An entry keeps the
*first* original seen for a target: applying a second profile on top of a first does not
overwrite what was there before either.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wirekit.errors import TuningError
from wirekit.tune.host import Host
from wirekit.tune.targets import Target, target_from_json

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One target and its value before wirekit first changed it."""

    target: Target
    original: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.target.key, "original": self.original, "target": self.target.to_json()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Entry:
        return cls(target=target_from_json(document["target"]), original=str(document["original"]))


@dataclass
class Journal:
    """The journal's content; :func:`save` and :func:`load` move it to and from disk."""

    profile: str
    iface: str | None
    boot_id: str
    netns: str
    state: str = "applying"
    created: float = field(default_factory=time.time)
    entries: list[Entry] = field(default_factory=list)

    def target_keys(self) -> set[str]:
        return {entry.target.key for entry in self.entries}

    def add(self, target: Target, original: str) -> bool:
        """Record ``original`` unless the target is already journaled; True if added."""
        if target.key in self.target_keys():
            return False
        self.entries.append(Entry(target, original))
        return True

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "profile": self.profile, "iface": self.iface,
                "boot_id": self.boot_id, "netns": self.netns, "state": self.state,
                "created": self.created, "entries": [e.to_json() for e in self.entries]}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Journal:
        if document.get("format") != FORMAT:
            raise TuningError(f"journal format {document.get('format')!r} is not {FORMAT}")
        return cls(profile=str(document.get("profile", "")), iface=document.get("iface"),
                   boot_id=str(document.get("boot_id", "")), netns=str(document.get("netns", "")),
                   state=str(document.get("state", "")),
                   created=float(document.get("created", 0.0)),
                   entries=[Entry.from_json(e) for e in document.get("entries", [])])


def journal_path(host: Host) -> Path:
    """``<state>/tune/journal.json``, or ``journal-netns-NAME.json`` inside a child namespace."""
    directory = host.roots.state / "tune"
    identity = host.netns() if host.roots.live else None
    if identity is None or identity.initial is not False:
        return directory / "journal.json"
    return directory / f"journal-netns-{identity.name or identity.inode}.json"


def load(path: Path) -> Journal | None:
    """The journal at ``path``, None if there is none; TuningError if it cannot be read."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TuningError(f"cannot read the journal {path}: {exc.strerror}") from exc
    try:
        return Journal.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise TuningError(f"the journal {path} is damaged ({exc}); its original values are "
                          "in the file for manual recovery") from exc


def save(journal: Journal, path: Path) -> None:
    """Write atomically and durably: temp file, fsync, rename, fsync the directory."""
    data = json.dumps(journal.to_json(), indent=2).encode() + b"\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix=".journal-", dir=path.parent)
        temporary = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        _fsync_directory(path.parent)
    except OSError as exc:
        raise TuningError(f"cannot write the journal {path}: {exc.strerror}; nothing was "
                          "changed (use --state-dir to put it elsewhere)") from exc


def remove(path: Path) -> None:
    """Delete the journal and make the deletion durable."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TuningError(f"cannot remove the journal {path}: {exc.strerror}") from exc
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
