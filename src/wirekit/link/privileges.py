"""Give up root after the sockets are open (tcpdump's ``-Z USER``).

Order matters (setuid(2), capabilities(7)): supplementary groups first (``initgroups``), then
the group, then the user — once the uid is gone, changing groups is no longer allowed.  Moving
every uid away from 0 also clears the permitted and effective capability sets, so the process
keeps its open sockets and nothing else.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import pwd
from collections.abc import Iterable

from wirekit.errors import PrivilegeError, UsageError
from wirekit.link.caps import has_capability


def drop_privileges(user: str) -> pwd.struct_passwd:
    """Become ``user`` (name or numeric uid) for good; return its passwd entry."""
    entry = _lookup(user)
    for capability in ("CAP_SETUID", "CAP_SETGID"):
        if not has_capability(capability):
            raise PrivilegeError(f"switching to user {entry.pw_name} needs {capability}",
                                 capability=capability)
    try:
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
        os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    except OSError as exc:
        raise PrivilegeError(f"cannot switch to user {entry.pw_name}: {exc.strerror}",
                             capability="CAP_SETUID") from exc
    if entry.pw_uid != 0 and (os.getuid() == 0 or os.geteuid() == 0):
        raise PrivilegeError(f"still root after switching to {entry.pw_name}",
                             capability="CAP_SETUID")
    return entry


def preload(modules: Iterable[str]) -> None:
    """Import ``modules`` (packages with every submodule) while we can still read them all.

    After the switch the new user may not be allowed to read the Python installation (a
    Python under /root, say), and any import that happens later would fail half-way through
    the capture.  tcpdump has no such problem; a Python program has to load first.
    """
    for name in modules:
        module = importlib.import_module(name)
        for found in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            importlib.import_module(found.name)


def _lookup(user: str) -> pwd.struct_passwd:
    try:
        if user.isascii() and user.isdigit():  # not "²", which int() refuses
            return pwd.getpwuid(int(user))
        return pwd.getpwnam(user)
    except (KeyError, OverflowError, UnicodeError):  # a uid past uid_t, bytes that are not UTF-8
        raise UsageError(f"no such user: {user}") from None

