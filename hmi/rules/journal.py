"""The rule journal: what rules did (fired, cleared, wrote, maintenance events, errors), in the store.

One more event stream on the store's shared writer (``REFUSE_AND_FLAG``: nothing queued is dropped
while the store runs); each record gets a ``seq`` at commit that a sync cursor follows. A maintenance
event is acknowledged by appending an ``acknowledged`` record that names its id, so the table stays
append-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from hmi.rules.events import EventKind, RuleEvent
from hmi.store.event_stream import EventStream
from hmi.store.migrations import Component
from hmi.store.writer import StoreWriter

RULE_STREAM = "rule_events"
"""The journal's sequence in ``store_sequences``, and its stream name for ``Store.read_since``."""

_COLUMNS = "ts, id, rule, kind, tag, old, new, message, priority, actor, ref, dry_run, sync"

_VERSION_1 = """
CREATE TABLE rule_events (
    seq INTEGER PRIMARY KEY,      -- append-only, assigned at commit in arrival order
    ts INTEGER NOT NULL,          -- microseconds since the epoch, UTC
    id TEXT NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,           -- fired | cleared | maintenance | acknowledged | write | write failed | ...
    tag TEXT NOT NULL DEFAULT '',
    old,
    new,
    message TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',
    dry_run INTEGER NOT NULL DEFAULT 0,
    sync INTEGER NOT NULL DEFAULT 0
)
"""


def _create(conn: sqlite3.Connection) -> None:
    conn.execute(_VERSION_1)
    conn.execute("CREATE INDEX rule_events_ts ON rule_events (ts)")


RULE_JOURNAL_COMPONENT = Component("rule_journal", (_create,))

INSERT = f"INSERT INTO rule_events (seq, {_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_SINCE = f"SELECT seq, {_COLUMNS} FROM rule_events WHERE seq > ? ORDER BY seq LIMIT ?"
_MAINTENANCE = f"""
SELECT e.seq, {", ".join("e." + c.strip() for c in _COLUMNS.split(","))},
       a.actor AS acked_by, a.ts AS acked_ts
FROM rule_events e
LEFT JOIN rule_events a ON a.kind = 'acknowledged' AND a.ref = e.id
WHERE e.kind = 'maintenance'
ORDER BY e.seq DESC LIMIT ?
"""


def _storable(value: object) -> object:
    return value if isinstance(value, int | float | str) or value is None else str(value)


def _rows(events: Sequence[RuleEvent], first_seq: int) -> list[tuple[Any, ...]]:
    return [
        (
            seq, round(e.ts * 1e6), e.id, e.rule, e.kind.value, e.tag, _storable(e.old), _storable(e.new),
            e.message, e.priority, e.actor, e.ref, int(e.dry_run), int(e.sync),
        )
        for seq, e in enumerate(events, first_seq)
    ]  # fmt: skip


class RuleJournal(EventStream[RuleEvent]):
    """Appends rule events to the ``rule_events`` table of the store's file."""

    def __init__(self, writer: StoreWriter, bound: int = 100_000) -> None:
        """Attach to the store's ``writer``; at most ``bound`` records wait for a commit."""
        super().__init__(writer, RULE_STREAM, RULE_JOURNAL_COMPONENT, INSERT, _rows, bound)

    def record(self, event: RuleEvent) -> None:
        """The engine's recorder: queue the event (never blocks; a refusal is counted and flagged)."""
        self.append(event)

    def read_since(self, conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Records committed after ``seq``, in seq order, as dicts of the table's columns."""
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(_SINCE, (seq, limit))]


def acknowledgement(event_id: str, actor: str, ts: float) -> RuleEvent:
    """The record that acknowledges maintenance event ``event_id``."""
    return RuleEvent(ts, "", EventKind.ACKNOWLEDGED, actor=actor, ref=event_id)


def maintenance_events(conn: sqlite3.Connection, limit: int = 500) -> list[dict[str, Any]]:
    """The newest maintenance events, each with who acknowledged it and when (None: not yet)."""
    conn.row_factory = sqlite3.Row
    return [dict(row) for row in conn.execute(_MAINTENANCE, (limit,))]
