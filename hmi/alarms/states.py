"""The alarm states of ISA-18.2 and the priorities, ranked: shared by the engine and the views' ordering."""

from __future__ import annotations

import enum

PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
"""Lower is more important."""


class AlarmState(enum.StrEnum):
    """ISA-18.2 alarm states (suppression by design comes later)."""

    NORMAL = "normal"
    UNACKED = "active unacknowledged"
    ACKED = "active acknowledged"
    RETURNED_UNACKED = "returned unacknowledged"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out of service"


SET_ASIDE = (AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE)
"""States in which an alarm is evaluated and journalled but not announced."""
