"""Host tuning: audit, apply and revert profiles with a journal; kernel-bypass readiness.

The layout and the design are in ``docs/tune.md``.
"""

from wirekit.tune.changes import apply, revert
from wirekit.tune.engine import (
    ChangeReport,
    ItemResult,
    Outcome,
    SettingState,
    ShowReport,
    Status,
    show,
    verify,
)
from wirekit.tune.host import Host, Roots
from wirekit.tune.journal import Journal, journal_path
from wirekit.tune.profiles import Profile, list_profiles, load_profile
from wirekit.tune.values import ProfileError, Requirement

__all__ = [
    "ChangeReport",
    "Host",
    "ItemResult",
    "Journal",
    "Outcome",
    "Profile",
    "ProfileError",
    "Requirement",
    "Roots",
    "SettingState",
    "ShowReport",
    "Status",
    "apply",
    "journal_path",
    "list_profiles",
    "load_profile",
    "revert",
    "show",
    "verify",
]
