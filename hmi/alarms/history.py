"""Reading the alarm journal back: events between two times, by priority and alarm, for people and scripts.

Read-only and off any runtime: a separate SQLite connection in ``mode=ro``, so it runs beside
a station that is writing the same file (WAL) and never creates or migrates one.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

FIELDS = (
    "seq",
    "ts",
    "alarm",
    "priority",
    "kind",
    "from_state",
    "state",
    "value",
    "user",
    "comment",
    "message",
)
"""The columns of a history row, in output order (``ts`` in epoch seconds)."""

PAGE = 5000


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which journal events to read: a time range (epoch seconds, None = open), priorities and alarms."""

    start: float | None = None
    end: float | None = None
    priorities: Collection[str] = ()
    alarms: Collection[str] | None = None
    """Only these alarms (an area's), or None for every alarm."""


def read_events(path: Path, query: HistoryQuery) -> Iterator[dict[str, Any]]:
    """The journal events matching ``query`` in commit order, page by page (any range fits in memory).

    Raises sqlite3.Error for a file that is not a journal (damaged, not ours).
    """
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        present = {row[1] for row in conn.execute("PRAGMA table_info(alarm_events)")}
        if not present:
            raise sqlite3.DatabaseError(f"{path.name} holds no alarm journal")
        # A journal not yet migrated to from_state/comment still reads, with those empty.
        columns = ", ".join(c if c in present else f"'' AS {c}" for c in FIELDS if c != "ts")
        where, params = _where(query)
        last = 0
        while True:
            sql = f"SELECT ts, {columns} FROM alarm_events WHERE seq > ?{where} ORDER BY seq LIMIT {PAGE}"
            rows = conn.execute(sql, (last, *params)).fetchall()
            for row in rows:
                event = dict(row)
                event["ts"] = event["ts"] / 1e6
                yield event
            if len(rows) < PAGE:
                return
            last = rows[-1]["seq"]
    finally:
        conn.close()


def _where(query: HistoryQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.start is not None:
        clauses.append("ts >= ?")
        params.append(round(query.start * 1e6))
    if query.end is not None:
        clauses.append("ts <= ?")
        params.append(round(query.end * 1e6))
    if query.priorities:
        clauses.append(f"priority IN ({', '.join('?' * len(query.priorities))})")
        params += list(query.priorities)
    if query.alarms is not None:
        names = list(query.alarms) or [""]  # an area with no alarms matches nothing, not everything
        clauses.append(f"alarm IN ({', '.join('?' * len(names))})")
        params += names
    return "".join(f" AND {c}" for c in clauses), params


def write_events(events: Iterator[dict[str, Any]], form: str, out: TextIO, when: Any) -> int:
    """Write ``events`` as ``csv``, ``json`` (one array) or ``text``; ``when`` formats a timestamp."""
    count = 0
    if form == "csv":
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for event in events:
            writer.writerow([when(event["ts"]) if f == "ts" else _cell(event[f]) for f in FIELDS])
            count += 1
    elif form == "json":
        out.write("[")
        for event in events:
            out.write(("," if count else "") + "\n " + json.dumps({**event, "time": when(event["ts"])}))
            count += 1
        out.write("\n]\n")
    else:
        for event in events:
            change = f"{event['from_state']} -> {event['state']}" if event["from_state"] else event["state"]
            who = f" by {event['user']}" if event["user"] else ""
            why = f" ({event['comment']})" if event["comment"] else ""
            out.write(
                f"{when(event['ts'])}  {event['priority']:<7} {event['alarm']}  {event['kind']}: {change}"
                f"{who}{why}  value={_cell(event['value'])}  {event['message']}\n"
            )
            count += 1
    return count


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
