"""The order an operator must see alarms in, and the counts the banner shows.

ISA-18.2 / ISA-101: what needs the operator comes first. An active unacknowledged alarm
outranks a returned-unacknowledged one of any priority, which outranks one already
acknowledged; within each group the most important priority, then the newest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hmi.alarms.states import PRIORITY_RANK, AlarmState

if TYPE_CHECKING:
    from hmi.alarms.engine import AlarmStatus

_STATE_RANK = {
    AlarmState.UNACKED: 0,
    AlarmState.RETURNED_UNACKED: 1,
    AlarmState.ACKED: 2,
    AlarmState.LATCHED: 2,  # acknowledged, waiting for its reset
}


def operator_key(status: AlarmStatus) -> tuple[int, int, float, str]:
    """Sort key: state group, priority, newest first, then name (a stable order for equal times)."""
    return (
        _STATE_RANK.get(status.state, 3),
        PRIORITY_RANK.get(status.definition.priority, 9),
        -(status.raised_at or 0.0),
        status.name,
    )


def operator_order(rows: Iterable[AlarmStatus]) -> list[AlarmStatus]:
    """``rows`` in the order the operator must see them (see the module docstring)."""
    return sorted(rows, key=operator_key)


def banner_alarm(rows: Iterable[AlarmStatus]) -> AlarmStatus | None:
    """The one alarm the banner shows: the first announced alarm in operator order, or None."""
    shown = [row for row in rows if row.shown]
    return min(shown, key=operator_key) if shown else None


def counts(rows: Iterable[AlarmStatus]) -> dict[str, Counter[str]]:
    """Alarms per priority in each state group (unacked, returned, acked, shelved, out_of_service, latched,
    suppressed)."""
    names = {
        AlarmState.UNACKED: "unacked",
        AlarmState.RETURNED_UNACKED: "returned",
        AlarmState.ACKED: "acked",
        AlarmState.SHELVED: "shelved",
        AlarmState.OUT_OF_SERVICE: "out_of_service",
        AlarmState.LATCHED: "latched",
        AlarmState.SUPPRESSED: "suppressed",
    }
    result: dict[str, Counter[str]] = {name: Counter() for name in names.values()}
    for row in rows:
        group = names.get(row.state)
        if group is not None:
            result[group][row.definition.priority] += 1
    return result
