"""After a restart, shelved and out-of-service alarms stay so: their last such event is read from the journal.

Read on the store's own open (off the loop), before any sample is evaluated, so an alarm shelved
before the restart is journalled but never announced again when its first value comes in.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind

log = logging.getLogger(__name__)

_SET_ASIDE_KINDS = (EventKind.SHELVED, EventKind.UNSHELVED, EventKind.OUT_OF_SERVICE, EventKind.IN_SERVICE)

_LAST = f"""
SELECT alarm, kind, until, user, comment FROM alarm_events
WHERE seq IN (
    SELECT max(seq) FROM alarm_events WHERE kind IN ({", ".join("?" * len(_SET_ASIDE_KINDS))}) GROUP BY alarm
)
"""


SetAside = tuple[str, str, float | None, str, str]
"""(alarm, kind, until in epoch seconds or None, by, reason) of an alarm's last set-aside event."""


def last_set_aside(path: Path) -> list[SetAside]:
    """The last set-aside event of each alarm in the journal at ``path`` (blocking: call off the loop)."""
    if not path.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(alarm_events)")}
            if "until" not in columns:
                return []
            rows = conn.execute(_LAST, [kind.value for kind in _SET_ASIDE_KINDS]).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as error:  # a journal that cannot be read must not keep the station from starting
        log.error("alarm journal %s unreadable, shelved alarms not restored: %s", path, error)
        return []
    return [
        (alarm, kind, None if until is None else until / 1e6, user, comment)
        for alarm, kind, until, user, comment in rows
    ]


def restore_set_aside(engine: AlarmEngine, entries: list[SetAside]) -> int:
    """Put the alarms ``entries`` left shelved or out of service back so (on the runtime loop); how many.

    A shelving that ran out while the station was down ends now, as it would have.
    """
    restored = 0
    for alarm, kind, until, user, comment in entries:
        if kind == EventKind.SHELVED.value and until is not None:
            restored += engine.restore_set_aside(alarm, AlarmState.SHELVED, until, user, comment)
        elif kind == EventKind.OUT_OF_SERVICE.value:
            restored += engine.restore_set_aside(alarm, AlarmState.OUT_OF_SERVICE, None, user, comment)
    if restored:
        log.info("%d shelved or out-of-service alarms restored from the journal", restored)
        engine.expire_shelving()
        engine.arm_shelving()
    return restored
