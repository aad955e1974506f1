"""History out of the application: CSV export and the time expressions of ``--from``/``--to``."""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

from hmi.historian.reader import HistoryReader

CSV_HEADER = ("timestamp", "tag", "value", "quality", "reason")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELATIVE = re.compile(r"-\s*(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_EPOCH_SECONDS = re.compile(r"\d+(?:\.\d*)?")
_TIME_FORMS = (
    "use an ISO-8601 date or date-time (2024-05-01, 2024-05-01T08:30:00Z, 2024-05-01 08:30+02:00;"
    " without an offset it is local time), epoch seconds (1714552200), 'now',"
    " or a time relative to now (-30s, -10m, -2h, -1d, -1w)"
)


def format_timestamp(ts: float) -> str:
    """Epoch seconds as ISO-8601 UTC with milliseconds (truncated), e.g. 2024-05-01T08:30:00.250Z."""
    # Arithmetic from the epoch rather than fromtimestamp: no platform limit on dates before 1970.
    moment = _EPOCH + timedelta(seconds=ts)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def export_csv(reader: HistoryReader, tag: str, start: float | None, end: float | None, out: TextIO) -> int:
    """Write one tag's samples between start and end (inclusive, None = open) as CSV; returns rows written.

    Columns: timestamp (ISO-8601 UTC, ms), tag, value (empty when none),
    quality (good/uncertain/bad), reason. Rows stream page by page, so any
    range fits in memory. Raises LookupError for a tag that was never recorded.
    """
    if not reader.has_tag(tag):
        raise LookupError(f"no history for tag {tag!r}")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    written = 0
    for row in reader.iter_rows(tag, start, end):
        writer.writerow((format_timestamp(row.ts), tag, row.value, row.quality.name.lower(), row.reason))
        written += 1
    return written


def parse_time(text: str, now: float | None = None) -> float:
    """Epoch seconds from a command-line time; ValueError naming the accepted forms otherwise.

    Accepts an ISO-8601 date or date-time (naive means local time), epoch
    seconds, ``now``, or ``-N`` with a unit s/m/h/d/w counted back from ``now``.
    """
    spoken = text.strip()
    current = time.time() if now is None else now
    if spoken.lower() == "now":
        return current
    relative = _RELATIVE.fullmatch(spoken.lower())
    if relative:
        amount, unit = relative.groups()
        return current - float(amount) * _UNIT_SECONDS[unit]
    if _EPOCH_SECONDS.fullmatch(spoken):
        return float(spoken)
    try:
        moment = datetime.fromisoformat(spoken)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time: {_TIME_FORMS}") from None
    return moment.timestamp()  # a naive datetime is taken as local time
