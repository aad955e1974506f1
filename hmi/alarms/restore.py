"""After a restart every alarm comes back in the state its last journal event left it in.

Active, unacknowledged, acknowledged, latched, shelved, out-of-service and suppressed states are
read from the journal on the store's own open (off the loop), before any sample is evaluated:
an alarm active before the restart is not raised again when its first value confirms it, an
acknowledgement is not lost, and a shelved alarm stays unannounced. A condition that ended while
the station was down clears on the first sample, as it would have.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind

log = logging.getLogger(__name__)

_SET_ASIDE_KINDS = (EventKind.SHELVED, EventKind.UNSHELVED, EventKind.OUT_OF_SERVICE, EventKind.IN_SERVICE)
_CONDITION_KINDS = (EventKind.RAISED, EventKind.CLEARED)


def _last_of(kinds: tuple[EventKind, ...] | None, columns: str) -> str:
    where = "" if kinds is None else f"WHERE kind IN ({', '.join(repr(k.value) for k in kinds)})"
    last = f"SELECT max(seq) FROM alarm_events {where} GROUP BY alarm"
    return f"SELECT {columns} FROM alarm_events WHERE seq IN ({last})"


_LAST_STATE = _last_of(None, "alarm, state")
_LAST_CONDITION = _last_of(_CONDITION_KINDS, "alarm, kind, ts, value, message")
_LAST_SET_ASIDE = _last_of(_SET_ASIDE_KINDS, "alarm, kind, until, user, comment")


@dataclass(frozen=True, slots=True)
class JournalledAlarm:
    """What the journal last said of one alarm."""

    alarm: str
    state: str
    alarmed: bool = False
    """The last raise was not followed by a clear."""
    raised_at: float | None = None
    value: Any = None
    message: str = ""
    set_aside_kind: str = ""
    """The last shelve/unshelve/out of service/return to service event, with its end, who and why."""
    until: float | None = None
    by: str = ""
    reason: str = ""


SetAside = JournalledAlarm
"""The name the station knows the journal's last word on an alarm by."""


def last_states(path: Path) -> list[JournalledAlarm]:
    """The last state of each alarm in the journal at ``path`` (blocking: call off the loop)."""
    if not path.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(alarm_events)")}
            if "until" not in columns:
                return []
            states = dict(conn.execute(_LAST_STATE).fetchall())
            conditions = {row[0]: row[1:] for row in conn.execute(_LAST_CONDITION)}
            set_aside = {row[0]: row[1:] for row in conn.execute(_LAST_SET_ASIDE)}
        finally:
            conn.close()
    except sqlite3.Error as error:  # a journal that cannot be read must not keep the station from starting
        log.error("alarm journal %s unreadable, alarm states not restored: %s", path, error)
        return []
    entries = []
    for alarm, state in states.items():
        kind, ts, value, message = conditions.get(alarm, ("", None, None, ""))
        aside_kind, until, by, reason = set_aside.get(alarm, ("", None, "", ""))
        alarmed = kind == EventKind.RAISED.value
        entries.append(
            JournalledAlarm(
                alarm,
                state,
                alarmed,
                ts / 1e6 if alarmed and ts is not None else None,
                value,
                message if alarmed else "",
                aside_kind,
                None if until is None else until / 1e6,
                by,
                reason,
            )
        )
    return entries


last_set_aside = last_states
"""The station's name for :func:`last_states`."""


def restore_states(engine: AlarmEngine, entries: list[JournalledAlarm]) -> int:
    """Put the alarms back as the journal left them (on the runtime loop, before any sample); how many.

    A shelving that ran out while the station was down ends now, as it would have.
    """
    restored = 0
    for entry in entries:
        try:
            state = AlarmState(entry.state)
        except ValueError:  # a state this version does not know: the alarm starts normal
            log.warning("alarm %s: journalled state %r unknown, not restored", entry.alarm, entry.state)
            continue
        if not engine.restore_state(
            entry.alarm, state, entry.alarmed, entry.raised_at, entry.value, entry.message
        ):
            continue
        restored += 1
        if entry.set_aside_kind == EventKind.SHELVED.value and entry.until is not None:
            engine.restore_set_aside(entry.alarm, AlarmState.SHELVED, entry.until, entry.by, entry.reason)
        elif entry.set_aside_kind == EventKind.OUT_OF_SERVICE.value:
            engine.restore_set_aside(entry.alarm, AlarmState.OUT_OF_SERVICE, None, entry.by, entry.reason)
    if restored:
        log.info("%d alarm states restored from the journal", restored)
        engine.expire_shelving()
        engine.arm_shelving()
    return restored


restore_set_aside = restore_states
"""The station's name for :func:`restore_states`."""
