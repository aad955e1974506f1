"""Run-time limit edits (an engineer's action): what makes a new limit acceptable.

A limit changed at run time holds until the station restarts; the project file stays the truth:
it is what ``hmi check`` validated and what sits in the plant's git. The journal records every
edit old -> new (with who and why), so the engineer can carry a change that proved right into
the file. Restoring edits from the journal at start would let a value nobody re-checked outlive
the file that says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hmi.project.alarm_types import NEEDS_LIMIT, ORDER_ABOVE
from hmi.project.config import AlarmDef


def limit_problem(definition: AlarmDef, limit: float, siblings: Iterable[AlarmDef]) -> str:
    """Why ``definition`` may not take ``limit`` (``siblings``: the other alarms on its tag), or ''."""
    if definition.type not in NEEDS_LIMIT:
        return f"a {definition.type} alarm has no limit to edit"
    if not isinstance(limit, int | float) or isinstance(limit, bool) or not math.isfinite(limit):
        return f"the limit must be a finite number, not {limit!r}"
    if definition.type in ("deviation", "roc") and limit <= 0:
        return f"a {definition.type} limit must be positive, not {limit:g}"
    for other in siblings:
        for upper, lower in ORDER_ABOVE:
            if definition.type == upper and other.type == lower and limit <= other.limit:
                return f"{upper} limit {limit:g} must stay above {other.name}'s {lower} limit {other.limit:g}"
            if definition.type == lower and other.type == upper and limit >= other.limit:
                return f"{lower} limit {limit:g} must stay below {other.name}'s {upper} limit {other.limit:g}"
    return ""
