"""``hmi alarms report``: alarm system performance (EEMUA 191) over a period of the journal."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from hmi.alarms.history import HistoryQuery, read_events
from hmi.alarms.kpi import WINDOW_S
from hmi.alarms.kpi_file import load_report
from hmi.alarms.kpi_format import write_report
from hmi.historian.export import format_timestamp, parse_time

NO_JOURNAL = 1
BAD_INPUT = 2


def add_report_parser(alarms_sub: Any) -> None:
    """Add ``hmi alarms report`` to the ``hmi alarms`` subcommands."""
    report = alarms_sub.add_parser(
        "report",
        help="alarm system performance: alarms per 10 min, floods, top 10, chattering, stale, standing",
        description=(
            "Alarm system performance over a period, per EEMUA 191 / ISA-18.2: alarms per operator per"
            " 10 minutes (average, peak, band), floods (more than 10 alarms in 10 minutes), the 10 most"
            " frequent alarms, chattering (3 or more in 1 minute), stale (active over 24 h) and standing"
            " alarms, counts per priority and time shelved or out of service."
        ),
        epilog="example: hmi alarms report demo --from -8h --format json",
    )
    report.add_argument("project", help="project folder, or 'demo'")
    report.add_argument(
        "--from", dest="start", help="ISO time, epoch seconds or relative (-8h); default: the first event"
    )
    report.add_argument("--to", dest="end", help="ISO time, epoch seconds or relative; default: now")
    report.add_argument("--operators", type=int, default=1, help="operators sharing the alarms (default 1)")
    report.add_argument("--format", choices=["text", "csv", "json"], default="text")
    report.add_argument("--data-dir", type=Path, help="the demo's data folder (with project 'demo')")


def run_report(args: argparse.Namespace) -> int:
    """Carry out ``hmi alarms report``."""
    from hmi.app.history_cli import history_path

    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else time.time()
    except ValueError as exc:
        return _fail(BAD_INPUT, str(exc))
    if start is not None and start >= end:
        return _fail(
            BAD_INPUT, f"--from {format_timestamp(start)} is not before --to {format_timestamp(end)}"
        )
    if args.operators < 1:
        return _fail(BAD_INPUT, f"--operators must be at least 1, not {args.operators}")
    path = history_path(args.project, args.data_dir)
    if not path.is_file():
        return _fail(NO_JOURNAL, f"{path}: no alarm journal yet")
    try:
        if start is None:
            events = read_events(path, HistoryQuery(end=end))
            first = next(events, None)
            events.close()  # only the first event was wanted: close the file now
            start = min(first["ts"] if first is not None else end - WINDOW_S, end - 1.0)
        report = load_report(path, start, end, args.operators)
    except sqlite3.Error as exc:
        return _fail(BAD_INPUT, f"{path}: cannot read the alarm journal ({exc}); it may be damaged")
    write_report(report, args.format, sys.stdout, format_timestamp)
    return 0


def _fail(code: int, message: str) -> int:
    print(f"hmi alarms report: {message}", file=sys.stderr)
    return code
