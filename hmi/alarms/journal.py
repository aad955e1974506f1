"""The alarm journal: every alarm event appended to the store file by the store's shared writer.

Events queue under the ``REFUSE_AND_FLAG`` policy (:mod:`hmi.store.queues`):
nothing queued is ever dropped while the store runs; a journal that cannot
keep up refuses, counts and flags rather than blocking the alarm engine. Each
event gets a ``seq`` at commit, in arrival order, that a sync cursor follows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from hmi.alarms.engine import AlarmEvent, AlarmStatus
from hmi.store import sequences
from hmi.store.event_stream import EventStream
from hmi.store.migrations import Component
from hmi.store.stats import StreamStats
from hmi.store.writer import StoreWriter

JOURNAL_STREAM = "alarms"
"""The journal's sequence in ``store_sequences``, and its stream name for ``Store.read_since``."""

_V2_COLUMNS = "ts, alarm, kind, state, priority, value, message, user"
_COLUMNS = f"{_V2_COLUMNS}, from_state, comment, until"

# The table as journals before the store made it: adopted as version 1, so an old file migrates.
_VERSION_1 = """
CREATE TABLE IF NOT EXISTS alarm_events (
    ts INTEGER NOT NULL,
    alarm TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    priority TEXT NOT NULL,
    value,
    message TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT ''
)
"""

NUMBERED_DDL = """
CREATE TABLE alarm_events_numbered (
    seq INTEGER PRIMARY KEY,      -- append-only, assigned at commit in arrival order
    ts INTEGER NOT NULL,          -- microseconds since the epoch, UTC
    alarm TEXT NOT NULL,
    kind TEXT NOT NULL,           -- raised | cleared | acknowledged | quality bad | quality good
    state TEXT NOT NULL,
    priority TEXT NOT NULL,
    value,
    message TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT ''
)
"""

INSERT_EVENT = f"INSERT INTO alarm_events (seq, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

_SINCE = f"SELECT seq, {_COLUMNS} FROM alarm_events WHERE seq > ? ORDER BY seq LIMIT ?"


def _adopt_version_1(conn: sqlite3.Connection) -> None:
    conn.execute(_VERSION_1)


def _number_version_2(conn: sqlite3.Connection) -> None:
    """Give every event a seq; events already there keep their insertion order (their rowid)."""
    conn.execute(NUMBERED_DDL)
    conn.execute(
        f"INSERT INTO alarm_events_numbered (seq, {_V2_COLUMNS})"
        f" SELECT rowid, {_V2_COLUMNS} FROM alarm_events ORDER BY rowid"
    )
    conn.execute("DROP TABLE alarm_events")  # drops its old ts index too
    conn.execute("ALTER TABLE alarm_events_numbered RENAME TO alarm_events")
    conn.execute("CREATE INDEX alarm_events_ts ON alarm_events (ts)")
    last = conn.execute("SELECT coalesce(max(seq), 0) FROM alarm_events").fetchone()[0]
    sequences.advance_to(conn, JOURNAL_STREAM, last)


def _transitions_version_3(conn: sqlite3.Connection) -> None:
    """Each event says the state it left and the operator's comment (ISA-18.2: from -> to, why)."""
    conn.execute("ALTER TABLE alarm_events ADD COLUMN from_state TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE alarm_events ADD COLUMN comment TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE alarm_events ADD COLUMN until INTEGER")  # a shelving's end, microseconds


def _alarm_index_version_4(conn: sqlite3.Connection) -> None:
    """Each alarm's events by kind in seq order: a restart reads each alarm's last events without a scan."""
    conn.execute("CREATE INDEX IF NOT EXISTS alarm_events_alarm_kind_seq ON alarm_events (alarm, kind, seq)")


JOURNAL_COMPONENT = Component(
    "alarm_journal",
    (_adopt_version_1, _number_version_2, _transitions_version_3, _alarm_index_version_4),
)
"""The journal's table in the store's migration registry."""


def _rows(events: Sequence[AlarmEvent], first_seq: int) -> list[tuple[Any, ...]]:
    return [
        (
            seq,
            round(e.ts * 1e6),
            e.alarm,
            e.kind.value,
            e.state.value,
            e.priority,
            _storable(e.value),
            e.message,
            e.user,
            e.from_state.value if e.from_state is not None else "",
            e.comment,
            None if e.until is None else round(e.until * 1e6),
        )
        for seq, e in enumerate(events, first_seq)
    ]


class AlarmJournal(EventStream[AlarmEvent]):
    """Appends alarm events to the ``alarm_events`` table of the store's file."""

    def __init__(self, writer: StoreWriter, bound: int = 100_000) -> None:
        """Attach to the store's ``writer``; at most ``bound`` events wait for a commit."""
        super().__init__(writer, JOURNAL_STREAM, JOURNAL_COMPONENT, INSERT_EVENT, _rows, bound)

    def on_event(self, event: AlarmEvent, _status: AlarmStatus) -> None:
        """Alarm engine listener: queue the event (never blocks; a refusal is counted and flagged)."""
        self.append(event)

    def stats(self) -> StreamStats:
        """The journal's counters."""
        return self.stream_stats()

    def read_since(self, conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Events committed after ``seq``, in seq order, as dicts of the table's columns."""
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(_SINCE, (seq, limit))]


def _storable(value: object) -> object:
    return value if isinstance(value, int | float | str) or value is None else str(value)
