"""Named permissions and the roles built from them (viewer, operator, engineer, administrator)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Permission(enum.StrEnum):
    """One protected kind of action; a role is a set of these."""

    WRITE_TAG = "write_tag"
    OPERATE = "operate"
    ACKNOWLEDGE = "acknowledge"
    SHELVE = "shelve"
    OUT_OF_SERVICE = "out_of_service"
    EDIT_ALARM_LIMITS = "edit_alarm_limits"
    EDIT_PROJECT = "edit_project"
    MANAGE_USERS = "manage_users"
    TRUST_CERTIFICATES = "trust_certificates"
    RESEND_SYNC = "resend_sync"


ADMINISTRATOR = "administrator"

_OPERATOR = frozenset({Permission.WRITE_TAG, Permission.OPERATE, Permission.ACKNOWLEDGE, Permission.SHELVE})
_ENGINEER = _OPERATOR | {
    Permission.OUT_OF_SERVICE,
    Permission.EDIT_ALARM_LIMITS,
    Permission.EDIT_PROJECT,
    Permission.TRUST_CERTIFICATES,
    Permission.RESEND_SYNC,
}

BUILT_IN_ROLES: Mapping[str, frozenset[Permission]] = {
    "viewer": frozenset(),  # sees everything, changes nothing
    "operator": _OPERATOR,
    "engineer": frozenset(_ENGINEER),
    ADMINISTRATOR: frozenset(Permission),
}
"""Roles every installation has; they cannot be changed or removed (custom roles sit beside them)."""


def parse_permissions(names: Iterable[str]) -> frozenset[Permission]:
    """The permissions named, or ValueError naming the unknown one and the known ones."""
    known = {p.value: p for p in Permission}
    chosen: set[Permission] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name not in known:
            raise ValueError(f"unknown permission {name!r}; known: {', '.join(known)}")
        chosen.add(known[name])
    return frozenset(chosen)
