"""Linux capabilities: check the one an operation needs and name it when it is missing.

wirekit never checks for uid 0: a process may be root without CAP_NET_RAW (inside a restricted
container, or after ``capsh --drop``), or not root but granted the capability with setcap.
"""

from __future__ import annotations

from pathlib import Path

from wirekit.errors import PrivilegeError

#: Bit numbers from linux/capability.h.
CAPABILITIES: dict[str, int] = {
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
}


def effective_capabilities(status_path: Path = Path("/proc/self/status")) -> int:
    """The effective capability mask of this process (the ``CapEff`` line)."""
    for line in status_path.read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_capability(name: str) -> bool:
    """True when the effective set holds capability ``name`` (e.g. ``"CAP_NET_RAW"``)."""
    return bool(effective_capabilities() >> CAPABILITIES[name] & 1)


def require_capability(name: str, action: str) -> None:
    """Raise :class:`PrivilegeError` naming ``name`` when this process lacks it.

    ``action`` says what needed it, e.g. ``"open a packet socket on eth0"``.
    """
    if not has_capability(name):
        raise PrivilegeError(f"{action} needs {name} (run as root or grant it: "
                             f"setcap {name.lower()}+ep)", capability=name)


def privilege_error_from_oserror(exc: OSError, name: str, action: str) -> PrivilegeError:
    """Translate an EPERM/EACCES from the kernel into the capability the caller was missing."""
    return PrivilegeError(f"{action} needs {name}: {exc.strerror}", capability=name)
