"""Tuning profiles: TOML data with ``include`` inheritance, found by name or path.

A profile name is looked up in ``$WIREKIT_PROFILE_PATH`` (colon-separated directories), then
``/etc/wirekit/profiles``, then the profiles shipped in this package, so a copied and edited
profile shadows the built-in one of the same name (tuned's /etc/tuned over /usr/lib/tuned).
Anything containing ``/`` or ending in ``.toml`` is a path.

Sections map to setting names: ``[sysctl]`` keys are sysctl names; ``[cpu]``, ``[memory]`` and
``[iface]`` keys get that prefix (``[iface] rings.rx`` is ``iface.rings.rx``).  TOML dotted keys
flatten, so ``vm.swappiness = 10`` and ``"vm.swappiness" = 10`` are the same.  ``true``/``false``
mean ``on``/``off``; an empty string drops a setting inherited through ``include``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from wirekit.tune.catalog import Setting, SysctlSetting, lookup
from wirekit.tune.values import ProfileError, Requirement

SECTIONS: dict[str, str] = {"sysctl": "", "cpu": "cpu.", "memory": "memory.", "iface": "iface."}
SYSTEM_DIR = Path("/etc/wirekit/profiles")
#: Deepest include chain accepted; a deeper one is almost certainly a mistake.
MAX_INCLUDE_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Profile:
    """A resolved profile: settings in order, each with the file that set it."""

    name: str
    summary: str
    settings: tuple[tuple[str, Requirement], ...]
    origins: tuple[tuple[str, str], ...]
    files: tuple[str, ...]

    def get(self, name: str) -> Requirement | None:
        return dict(self.settings).get(name)

    def origin(self, name: str) -> str:
        return dict(self.origins).get(name, "")

    def names(self) -> list[str]:
        return [name for name, _ in self.settings]


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """One entry of ``wirekit tune list``."""

    name: str
    summary: str
    path: str
    builtin: bool


def builtin_dir() -> Path:
    """The directory of the profiles shipped in the package."""
    return Path(str(resources.files("wirekit.tune") / "profiles"))


def search_path() -> list[Path]:
    """Directories searched for a profile name, first match wins."""
    extra = [Path(p) for p in os.environ.get("WIREKIT_PROFILE_PATH", "").split(":") if p]
    return [*extra, SYSTEM_DIR, builtin_dir()]


def find_profile(name: str, relative_to: Path | None = None) -> Path:
    """The file of a profile name or path; ProfileError listing the search path if missing."""
    if "/" in name or name.endswith(".toml"):
        path = Path(name)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if not path.is_file():
            raise ProfileError(f"no profile file {path}")
        return path
    for directory in search_path():
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    known = ", ".join(info.name for info in list_profiles())
    raise ProfileError(f"no profile named {name!r} (known: {known})")


def list_profiles() -> list[ProfileInfo]:
    """Every profile on the search path (a name shadowed by an earlier directory appears once)."""
    seen: dict[str, ProfileInfo] = {}
    for directory in search_path():
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            if path.stem not in seen:
                seen[path.stem] = ProfileInfo(path.stem, _summary(path), str(path),
                                              directory == builtin_dir())
    return sorted(seen.values(), key=lambda info: info.name)


def _summary(path: Path) -> str:
    try:
        return str(_read_toml(path).get("main", {}).get("summary", ""))
    except ProfileError as exc:
        return f"(unreadable: {exc})"


def load_profile(names: str | Iterable[str]) -> Profile:
    """Load one profile or merge several (later ones win), resolving ``include`` chains."""
    wanted = [names] if isinstance(names, str) else list(names)
    if not wanted:
        raise ProfileError("no profile given")
    merged: dict[str, tuple[Requirement, str]] = {}
    files: list[str] = []
    summaries: list[str] = []
    for name in wanted:
        path = find_profile(name)
        _merge(path, merged, files, stack=())
        summaries.append(str(_read_toml(path).get("main", {}).get("summary", "")))
    label = "+".join(Path(n).stem if n.endswith(".toml") else n for n in wanted)
    return Profile(name=label, summary="; ".join(s for s in summaries if s),
                   settings=tuple((name, req) for name, (req, _) in merged.items()),
                   origins=tuple((name, origin) for name, (_, origin) in merged.items()),
                   files=tuple(files))


def _merge(path: Path, merged: dict[str, tuple[Requirement, str]], files: list[str],
           stack: tuple[Path, ...]) -> None:
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack, resolved))
        raise ProfileError(f"include cycle: {chain}")
    if len(stack) >= MAX_INCLUDE_DEPTH:
        raise ProfileError(f"{path}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
    document = _read_toml(path)
    for parent in _includes(document, path):
        _merge(find_profile(parent, path.parent), merged, files, (*stack, resolved))
    files.append(str(path))
    for name, value in _settings(document, path):
        merged.pop(name, None)  # re-insert so the order follows the most specific file
        if value is not None:
            merged[name] = (value, str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise ProfileError(f"{path}: {exc.strerror}") from exc


def _includes(document: dict[str, Any], path: Path) -> list[str]:
    main = document.get("main", {})
    include = main.get("include", []) if isinstance(main, dict) else []
    if isinstance(include, str):
        include = [include]
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise ProfileError(f"{path}: [main] include must be a name or a list of names")
    return list(include)


def _settings(document: dict[str, Any], path: Path) -> list[tuple[str, Requirement | None]]:
    unknown = set(document) - set(SECTIONS) - {"main"}
    if unknown:
        raise ProfileError(f"{path}: unknown section(s) {', '.join(sorted(unknown))} "
                           f"(sections: main, {', '.join(SECTIONS)})")
    result: list[tuple[str, Requirement | None]] = []
    for section, prefix in SECTIONS.items():
        table = document.get(section, {})
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: [{section}] must be a table")
        for key, value in _flatten(table):
            name = prefix + key
            result.append((name, _requirement(section, name, value, path)))
    return result


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _requirement(section: str, name: str, value: Any, path: Path) -> Requirement | None:
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, int | str):
        text = str(value)
    else:
        raise ProfileError(f"{path}: {name}: use a string or an integer, not {value!r}")
    if text.strip() == "":
        return None
    setting = _setting(section, name, path)
    try:
        requirement = Requirement.parse(text)
        setting.validate(requirement)
    except ProfileError as exc:
        raise ProfileError(f"{path}: {name}: {exc}") from exc
    return requirement


def _setting(section: str, name: str, path: Path) -> Setting:
    try:
        setting = lookup(name)
    except ProfileError as exc:
        raise ProfileError(f"{path}: [{section}] {exc}") from exc
    if (section == "sysctl") != isinstance(setting, SysctlSetting):
        raise ProfileError(f"{path}: {name} does not belong in [{section}]")
    return setting
