"""History out of the application: CSV export and the time expressions of ``--from``/``--to``."""

from __future__ import annotations

import csv
import heapq
import math
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from hmi.historian.reader import HistoryReader, HistoryRow

CSV_HEADER = ("timestamp", "tag", "value", "quality", "reason")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST_TIME = (datetime(1, 1, 2, tzinfo=UTC) - _EPOCH).total_seconds()  # a day in: any local offset fits
LATEST_TIME = (datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH).total_seconds()
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
    return export_tags_csv(reader, [tag], start, end, out)


def export_tags_csv(
    reader: HistoryReader, tags: Sequence[str], start: float | None, end: float | None, out: TextIO
) -> int:
    """Several tags' samples as one long CSV (the columns of :func:`export_csv`), in time order.

    Each tag streams page by page and the streams are merged by timestamp (ties
    in the order the tags were given), so memory stays one page per tag. Raises
    LookupError naming every tag that was never recorded, before writing anything.
    """
    wanted = list(dict.fromkeys(tags))  # a tag named twice is exported once
    missing = [tag for tag in wanted if not reader.has_tag(tag)]
    if missing:
        raise LookupError(
            f"no history for tag{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}"
        )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    streams = [_keyed(reader, order, tag, start, end) for order, tag in enumerate(wanted)]
    written = 0
    for _ts, _order, tag, row in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        writer.writerow((format_timestamp(row.ts), tag, row.value, row.quality.name.lower(), row.reason))
        written += 1
    return written


def _keyed(
    reader: HistoryReader, order: int, tag: str, start: float | None, end: float | None
) -> Iterator[tuple[float, int, str, HistoryRow]]:
    for row in reader.iter_rows(tag, start, end):
        yield row.ts, order, tag, row


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
        return _in_range(text, current - float(amount) * _UNIT_SECONDS[unit])
    if _EPOCH_SECONDS.fullmatch(spoken):
        return _in_range(text, float(spoken))
    try:
        seconds = datetime.fromisoformat(spoken).timestamp()  # a naive datetime is taken as local time
    except (ValueError, OverflowError, OSError):  # OverflowError/OSError: local time of year 1 or 9999
        raise ValueError(f"cannot read {_cut(text)!r} as a time: {_TIME_FORMS}") from None
    return _in_range(text, seconds)


def _in_range(text: str, seconds: float) -> float:
    """``seconds`` when a timestamp can show it (years 1 to 9999); ValueError saying so otherwise."""
    if not (math.isfinite(seconds) and EARLIEST_TIME <= seconds <= LATEST_TIME):
        raise ValueError(f"{_cut(text)!r} is outside the years 1 to 9999 that a history time can name")
    return seconds


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:35] + "..."
