"""The alarm summary's flood group: while a flood is on, its alarms fold under one row.

A flood (EEMUA 191 / ISA-18.2, as the banner's badge counts it) is more than 10 alarms raised
within 10 minutes. The summary then shows one row, "Flood HH:MM-now, N alarms", the first-out
alarm (the one raised first, which usually names the cause) right under it, and the rest folded
until the operator opens the group. Qt-free: the panel lays out what this returns.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from hmi.alarms.engine import AlarmStatus
from hmi.ui.alarm_flood_badge import FLOOD_THRESHOLD, FLOOD_WINDOW_S

GROUP_ROLE_NAME = "\x00flood"
"""The name the group row carries in place of an alarm's (no alarm can be called this)."""


@dataclass(frozen=True, slots=True)
class FloodGroup:
    """The alarms of the flood: the first out, then the others in the summary's order."""

    first_out: AlarmStatus
    others: tuple[AlarmStatus, ...]

    @property
    def count(self) -> int:
        """Alarms in the flood."""
        return 1 + len(self.others)

    def label(self, folded: bool) -> str:
        """ "▸ Flood 03:40-now, 14 alarms" (the arrow points down when open)."""
        start = time.strftime("%H:%M", time.localtime(self.first_out.raised_at or 0.0))
        arrow = "▸" if folded else "▾"
        return f"{arrow} Flood {start}-now, {self.count} alarms (first out: {self.first_out.name})"


def flood_group(
    rows: Sequence[AlarmStatus],
    now: float,
    window_s: float = FLOOD_WINDOW_S,
    threshold: int = FLOOD_THRESHOLD,
) -> FloodGroup | None:
    """The alarms of ``rows`` raised in the last ``window_s`` when more than ``threshold``, else None.

    ``rows`` in the summary's order; the others keep it.
    """
    recent = [r for r in rows if r.raised_at is not None and now - window_s <= r.raised_at <= now]
    if len(recent) <= threshold:
        return None
    first = min(recent, key=lambda r: (r.raised_at or 0.0, r.name))
    return FloodGroup(first, tuple(r for r in recent if r is not first))
