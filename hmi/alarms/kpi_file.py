"""The alarm performance report straight from a journal file (read-only; for the CLI and the report page)."""

from __future__ import annotations

from pathlib import Path

from hmi.alarms.history import HistoryQuery, read_events
from hmi.alarms.kpi import AlarmReport, build_report


def load_report(path: Path, start: float, end: float, operators: int = 1) -> AlarmReport:
    """The report for [start, end) from the journal in ``path``; an empty one when there is no file yet.

    Blocking SQLite reads: call it off the GUI thread and off any event loop. Raises sqlite3.Error
    for a file that is not a journal.
    """
    if not path.is_file():
        return build_report([], start, end, operators)
    return build_report(read_events(path, HistoryQuery(end=end)), start, end, operators)
