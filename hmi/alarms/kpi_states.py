"""Replaying the alarm journal per alarm: when each was active, and how long it was set aside."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SHELVED = "shelved"
OUT_OF_SERVICE = "out of service"


@dataclass(frozen=True, slots=True)
class ActiveSpan:
    """One stretch during which an alarm's condition held (raised until cleared)."""

    alarm: str
    priority: str
    start: float
    end: float | None
    """None: still active at the end of the period."""
    state: str
    """The alarm's state when the span ended, or at the end of the period."""


def active_spans(rows: Iterable[dict[str, Any]], start: float, end: float) -> list[ActiveSpan]:
    """Every active stretch that overlaps [start, end), from rows in time order."""
    opened: dict[str, tuple[float, str]] = {}
    states: dict[str, str] = {}
    spans: list[ActiveSpan] = []
    for row in rows:
        if row["ts"] >= end:
            break
        name = row["alarm"]
        states[name] = row["state"]
        if row["kind"] == "raised" and name not in opened:
            opened[name] = (row["ts"], row["priority"])
        elif row["kind"] == "cleared" and name in opened:
            since, priority = opened.pop(name)
            if row["ts"] >= start:
                spans.append(ActiveSpan(name, priority, since, row["ts"], row["state"]))
    spans += [
        ActiveSpan(name, priority, since, None, states[name]) for name, (since, priority) in opened.items()
    ]
    spans.sort(key=lambda s: (s.start, s.alarm))
    return spans


def set_aside_seconds(
    rows: Iterable[dict[str, Any]], start: float, end: float
) -> list[tuple[str, float, float]]:
    """(alarm, seconds shelved, seconds out of service) within [start, end), for alarms with any."""
    current: dict[str, tuple[str, float]] = {}
    totals: dict[str, list[float]] = {}

    def close(name: str, until: float) -> None:
        state, since = current[name]
        if state in (SHELVED, OUT_OF_SERVICE):
            seconds = max(0.0, min(until, end) - max(since, start))
            if seconds > 0:
                totals.setdefault(name, [0.0, 0.0])[state == OUT_OF_SERVICE] += seconds

    for row in rows:
        if row["ts"] >= end:
            break
        name, state = row["alarm"], row["state"]
        if name in current and current[name][0] == state:
            continue
        if name in current:
            close(name, row["ts"])
        current[name] = (state, row["ts"])
    for name in current:
        close(name, end)
    return [(name, shelved, out) for name, (shelved, out) in sorted(totals.items())]
