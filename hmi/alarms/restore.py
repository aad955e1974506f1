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


# A restart reads a few rows per alarm, never the whole journal: the alarms' names, then each
# alarm's kinds of event, are skip-scans of the (alarm, kind, seq) index of journal version 4 (one
# seek each), and the last event of each kind is one more seek.
_ALARMS = """
WITH RECURSIVE names(alarm) AS (
    SELECT min(alarm) FROM alarm_events
    UNION ALL
    SELECT (SELECT min(alarm) FROM alarm_events WHERE alarm > names.alarm) FROM names WHERE alarm IS NOT NULL
)
SELECT alarm FROM names WHERE alarm IS NOT NULL
"""
_LAST_PER_KIND = """
WITH RECURSIVE kinds(kind) AS (
    SELECT min(kind) FROM alarm_events WHERE alarm = :alarm
    UNION ALL
    SELECT (SELECT min(kind) FROM alarm_events WHERE alarm = :alarm AND kind > kinds.kind)
    FROM kinds WHERE kind IS NOT NULL
)
SELECT kind, (SELECT max(seq) FROM alarm_events WHERE alarm = :alarm AND kind = kinds.kind)
FROM kinds WHERE kind IS NOT NULL
"""
_EVENT = "SELECT state, kind, ts, value, message, until, user, comment FROM alarm_events WHERE seq = ?"


@dataclass(frozen=True, slots=True)
class JournalledAlarm:
    """What the journal last said of one alarm."""

    alarm: str
    state: str
    alarmed: bool = False
    """The last raise was not followed by a clear."""
    raised_at: float | None = None
    """When the alarm was last raised, cleared since or not (None: never raised)."""
    value: Any = None
    message: str = ""
    """What the last raise said."""
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
            names = [row[0] for row in conn.execute(_ALARMS)]
            entries = [_journalled(conn, name) for name in names]
        finally:
            conn.close()
    except sqlite3.Error as error:  # a journal that cannot be read must not keep the station from starting
        log.error("alarm journal %s unreadable, alarm states not restored: %s", path, error)
        return []
    return entries


def _journalled(conn: sqlite3.Connection, alarm: str) -> JournalledAlarm:
    """What the journal last said of ``alarm``: its last event, last raise or clear, last set-aside."""
    last = dict(conn.execute(_LAST_PER_KIND, {"alarm": alarm}).fetchall())
    state = _event(conn, max(last.values()))[0]
    condition = _last_among(conn, last, _CONDITION_KINDS)
    kind, value = ("", None) if condition is None else (condition[1], condition[3])
    aside = _last_among(conn, last, _SET_ASIDE_KINDS)
    aside_kind, until, by, reason = (
        ("", None, "", "") if aside is None else (aside[1], aside[5], aside[6], aside[7])
    )
    alarmed = kind == EventKind.RAISED.value
    # The live engine keeps the raise's time and message after a clear: a returned alarm still
    # waiting for its acknowledgement (or reset) shows when it came and what it said.
    raised = condition if alarmed else None  # the last condition event is the raise: no second seek
    if raised is None and EventKind.RAISED.value in last:
        raised = _event(conn, last[EventKind.RAISED.value])
    raised_at = raised[2] / 1e6 if raised is not None and raised[2] is not None else None
    return JournalledAlarm(
        alarm,
        state,
        alarmed,
        raised_at,
        value,
        raised[4] if raised is not None else "",
        aside_kind,
        None if until is None else until / 1e6,
        by,
        reason,
    )


def _last_among(
    conn: sqlite3.Connection, last: dict[str, int], kinds: tuple[EventKind, ...]
) -> tuple[Any, ...] | None:
    seqs = [last[k.value] for k in kinds if k.value in last]
    return _event(conn, max(seqs)) if seqs else None


def _event(conn: sqlite3.Connection, seq: int) -> tuple[Any, ...]:
    return tuple(conn.execute(_EVENT, (seq,)).fetchone())


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
