"""The alarm states of ISA-18.2 and the priorities, ranked: shared by the engine and the views' ordering."""

from __future__ import annotations

import enum

PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
"""The announced priorities, lower is more important; a ``journal`` alarm is logged, never shown or ranked."""


class AlarmState(enum.StrEnum):
    """ISA-18.2 alarm states."""

    NORMAL = "normal"
    UNACKED = "active unacknowledged"
    ACKED = "active acknowledged"
    RETURNED_UNACKED = "returned unacknowledged"
    LATCHED = "returned latched"
    """A latched alarm returned to normal and acknowledged: shown until an operator resets it."""
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out of service"
    SUPPRESSED = "suppressed by design"
    """Its suppressing tag is true or its parent alarm active: evaluated and journalled, not announced."""


SET_ASIDE = (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE, AlarmState.SUPPRESSED)
"""States in which an alarm is evaluated and journalled but not announced."""

OPERATOR_SET_ASIDE = (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
"""Set aside by a person: they win over suppression by design, which resumes when they end."""
