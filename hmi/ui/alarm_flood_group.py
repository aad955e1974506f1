"""The alarm summary's flood group: while a flood is on, its alarms fold under one row.

A flood (EEMUA 191 / ISA-18.2, as the banner's badge counts it) is more than 10 alarms (raises)
within 10 minutes; one alarm raised again and again counts each time, so the flood usually holds
fewer summary rows than alarms. The summary then shows one row, "Flood HH:MM-now, N alarms",
the first-out alarm (the one whose raise began the window: usually the cause) right under it,
and the flood's other rows folded until the operator opens the group. Qt-free: the panel lays
out what this returns.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hmi.alarms.engine import AlarmEvent, AlarmStatus, EventKind
from hmi.ui.alarm_flood_badge import FLOOD_THRESHOLD, FLOOD_WINDOW_S

GROUP_ROLE_NAME = "\x00flood"
"""The name the group row carries in place of an alarm's (no alarm can be called this)."""


@dataclass(frozen=True, slots=True)
class FloodGroup:
    """The alarms of the flood: the first out, then the others in the summary's order."""

    first_out: AlarmStatus
    others: tuple[AlarmStatus, ...]
    start: float
    count: int
    """Alarms raised in the flood's window (a re-raise counts again)."""

    def label(self, folded: bool) -> str:
        """ "▸ Flood 03:40-now, 14 alarms (first out: NAME)" (the arrow points down when open)."""
        start = time.strftime("%H:%M", time.localtime(self.start))
        arrow = "▸" if folded else "▾"
        return f"{arrow} Flood {start}-now, {self.count} alarms (first out: {self.first_out.name})"


class RaiseWindow:
    """The raises of the last ``window_s`` seconds, oldest first (bounded by the window)."""

    def __init__(self, window_s: float = FLOOD_WINDOW_S) -> None:
        self.window_s = window_s
        self._raises: deque[tuple[float, str]] = deque()

    def add(self, events: Iterable[AlarmEvent]) -> None:
        """Keep the raise events among ``events``."""
        self._raises.extend((e.ts, e.alarm) for e in events if e.kind is EventKind.RAISED)

    def recent(self, now: float) -> list[tuple[float, str]]:
        """(time, alarm) of each raise in the window ending at ``now``; older ones are forgotten."""
        while self._raises and self._raises[0][0] < now - self.window_s:
            self._raises.popleft()
        return list(self._raises)


def flood_group(
    rows: Sequence[AlarmStatus], raises: Sequence[tuple[float, str]], threshold: int = FLOOD_THRESHOLD
) -> FloodGroup | None:
    """The summary rows of the flood when ``raises`` (the window's, oldest first) are over ``threshold``.

    The flood's rows are those raised in the window, in the order of ``rows``; the first out is the
    alarm of the window's first raise (else the row raised first). None without a flood, or when
    the flood has fewer than two rows to fold.
    """
    if len(raises) <= threshold:
        return None
    start = raises[0][0]
    members = [r for r in rows if r.raised_at is not None and r.raised_at >= start]
    if len(members) < 2:
        return None
    by_name = {r.name: r for r in members}
    first = next((by_name[name] for _ts, name in raises if name in by_name), None)
    if first is None:
        first = min(members, key=lambda r: (r.raised_at or 0.0, r.name))
    return FloodGroup(first, tuple(r for r in members if r is not first), start, len(raises))
