"""The alarm performance report straight from a journal file (read-only; for the CLI and the report page).

Only the period's events are read whole. Of the events before it, each alarm's last event (its
state when the period starts), last raise and last clear (whether it is active, and since when)
are enough for the report, and SQLite picks those out, so a long journal costs no Python time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hmi.alarms.history import HistoryQuery, read_events
from hmi.alarms.kpi import AlarmReport, build_report

_BEFORE = """
SELECT seq, ts, alarm, priority, kind, state FROM alarm_events WHERE seq IN (
    SELECT max(seq) FROM alarm_events WHERE ts < :start GROUP BY alarm
    UNION SELECT max(seq) FROM alarm_events WHERE ts < :start AND kind = 'raised' GROUP BY alarm
    UNION SELECT max(seq) FROM alarm_events WHERE ts < :start AND kind = 'cleared' GROUP BY alarm
) ORDER BY seq
"""


def load_report(path: Path, start: float, end: float, operators: int = 1) -> AlarmReport:
    """The report for [start, end) from the journal in ``path``; an empty one when there is no file yet.

    Blocking SQLite reads: call it off the GUI thread and off any event loop. Raises sqlite3.Error
    for a file that is not a journal.
    """
    if not path.is_file():
        return build_report([], start, end, operators)
    rows = [*_state_before(path, start), *read_events(path, HistoryQuery(start=start, end=end))]
    return build_report(rows, start, end, operators)


def _state_before(path: Path, start: float) -> Iterator[dict[str, Any]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        for row in conn.execute(_BEFORE, {"start": round(start * 1e6)}).fetchall():
            event = dict(row)
            event["ts"] = event["ts"] / 1e6
            yield event
    finally:
        conn.close()
