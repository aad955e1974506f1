"""The audit viewer's data, without Qt: the newest records of a trail, a filter over them, CSV out.

Everything here that touches a file is blocking: the viewer runs it on the runtime thread's
worker pool (``asyncio.to_thread``), never on the GUI thread.
"""

from __future__ import annotations

import csv
import datetime
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.security.audit import COLUMNS

SHOWN_LIMIT = 50_000
"""The newest records the viewer loads (an export of a whole trail is ``hmi audit export``)."""

_NEWEST = f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY seq DESC LIMIT ?"


def read_newest(path: Path, limit: int = SHOWN_LIMIT) -> list[dict[str, Any]]:
    """The newest ``limit`` records of the trail at ``path``, oldest first (none when there is no file)."""
    if not Path(path).exists():
        return []
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        rows = conn.execute(_NEWEST, (limit,)).fetchall()
    except sqlite3.OperationalError:  # a file without the audit table yet
        return []
    finally:
        conn.close()
    return [dict(zip(COLUMNS, row, strict=True)) for row in reversed(rows)]


def local_time(micros: int) -> str:
    """A record's time in the workstation's time zone, to the second."""
    moment = datetime.datetime.fromtimestamp(micros / 1e6, datetime.UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _shown(text: str) -> str:
    """A JSON column as a person reads it: ``null`` is empty, a string without quotes."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def change(record: dict[str, Any]) -> str:
    """``old → new`` (or just the value when nothing was known before)."""
    old, new = _shown(record["old"]), _shown(record["value"])
    if old and new:
        return f"{old} → {new}"
    return new or old


def result(record: dict[str, Any]) -> str:
    """The stage, with the refusal, the device's error or the read-back."""
    detail = record["detail"]
    back = _shown(record["read_back"])
    if back and not detail:
        detail = f"read back {back}"
    return f"{record['stage']}: {detail}" if detail else str(record["stage"])


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the viewer shows: a time range (µs since the epoch, inclusive), a user, an action, a text."""

    since: int | None = None
    until: int | None = None
    user: str = ""
    action: str = ""
    text: str = ""

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` passes every part of the filter (the text anywhere, any case)."""
        ts = int(record["ts"])
        if self.since is not None and ts < self.since:
            return False
        if self.until is not None and ts > self.until:
            return False
        if self.user and record["actor"] != self.user:
            return False
        if self.action and record["action"] != self.action:
            return False
        if self.text:
            needle = self.text.casefold()
            haystack = " ".join(str(record[c]) for c in COLUMNS if c not in ("prev_hash", "hash"))
            return needle in haystack.casefold()
        return True

    def apply(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records that match, in their order."""
        return [record for record in records if self.matches(record)]


CSV_COLUMNS = ("seq", "time", *COLUMNS[1:])


def write_csv(path: Path, records: Sequence[dict[str, Any]]) -> int:
    """Write ``records`` (every column, plus the local time) as CSV; returns how many. Blocking."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({**record, "time": local_time(int(record["ts"]))})
    return len(records)
