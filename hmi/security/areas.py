"""Area-scoped grants: a custom role may hold a permission in some plant areas only.

A grant is written ``PERMISSION`` (everywhere) or ``PERMISSION@AREA+AREA`` (only on the tags and
alarms of those areas), e.g. ``write_tag@tank_farm+boiler``. A scoped grant never reaches a target
without an area: an unassigned tag belongs to no area, so only an unscoped grant covers it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hmi.security.permissions import Permission, parse_permissions

AREA_MARK = "@"
AREA_JOIN = "+"
_AREA = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

AreaScopes = Mapping[Permission, frozenset[str]]
"""Permission -> the only areas it holds in; a permission not listed holds everywhere."""


@dataclass(frozen=True, slots=True)
class Grants:
    """What a role holds: its permissions, and for some of them the areas they are limited to."""

    permissions: frozenset[Permission]
    scopes: AreaScopes

    def texts(self) -> list[str]:
        """The grants as written (``write_tag@a+b``), sorted."""
        out = []
        for permission in sorted(self.permissions):
            areas = self.scopes.get(permission)
            scope = f"{AREA_MARK}{AREA_JOIN.join(sorted(areas))}" if areas else ""
            out.append(f"{permission}{scope}")
        return out


def parse_grants(texts: Iterable[str]) -> Grants:
    """Grants from their texts, or ValueError naming the bad one."""
    permissions: set[Permission] = set()
    scopes: dict[Permission, frozenset[str]] = {}
    for raw in texts:
        text = raw.strip()
        if not text:
            continue
        name, mark, areas_text = text.partition(AREA_MARK)
        if not name.strip():
            raise ValueError(f"{text!r}: no permission before {AREA_MARK!r}")
        (permission,) = parse_permissions([name])  # one name, never empty here: exactly one
        permissions.add(permission)
        if mark:
            areas = frozenset(a.strip() for a in areas_text.split(AREA_JOIN) if a.strip())
            bad = [a for a in areas if not _AREA.fullmatch(a)]
            if not areas or bad:
                raise ValueError(f"{text!r}: give the areas as {name}{AREA_MARK}AREA{AREA_JOIN}AREA")
            scopes[permission] = scopes.get(permission, frozenset()) | areas
    return Grants(frozenset(permissions), scopes)


def area_refusal(scopes: AreaScopes, permission: Permission, area: str, who: str) -> str | None:
    """Why ``who`` may not use ``permission`` on a target in ``area`` under ``scopes``, or None."""
    allowed = scopes.get(permission)
    if allowed is None or area in allowed:
        return None
    where = f"area {area!r}" if area else "no area"
    return f"{who} holds {permission.value} only in {', '.join(sorted(allowed))}; the target is in {where}"
