"""``hmi alarms history|report``: the alarm journal between two times, filtered; its performance figures."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

from hmi.alarms.history import HistoryQuery, read_events, write_events
from hmi.app.alarms_report_cli import add_report_parser, run_report
from hmi.historian.export import format_timestamp, parse_time

PRIORITIES = ("urgent", "high", "medium", "low", "journal")  # journal: the journal-only alarms

NO_JOURNAL = 1
"""Exit code when there is no journal yet."""
BAD_INPUT = 2
"""Exit code for bad times, an unknown area or a damaged file."""


def add_alarms_parser(sub: Any) -> None:
    """Add ``hmi alarms ...`` to the command line."""
    alarms = sub.add_parser("alarms", help="alarm journal tools")
    alarms_sub = alarms.add_subparsers(dest="alarms_command", required=True)
    history = alarms_sub.add_parser(
        "history",
        help="print the alarm journal: every state change with who, from -> to and comment",
        description="Print the alarm journal's events in time order, filtered by time, area and priority.",
        epilog="example: hmi alarms history demo --from -8h --priority urgent --priority high --format csv",
    )
    history.add_argument("project", help="project folder, or 'demo'")
    history.add_argument("--from", dest="start", help="ISO time, epoch seconds or relative (-1h)")
    history.add_argument("--to", dest="end", help="ISO time, epoch seconds or relative (-10m)")
    history.add_argument("--area", help="only the alarms of this area (the alarms' area: in project.yaml)")
    history.add_argument(
        "--priority", action="append", choices=PRIORITIES, help="only this priority (repeat for more)"
    )
    history.add_argument("--format", choices=["text", "csv", "json"], default="text")
    history.add_argument("--data-dir", type=Path, help="the demo's data folder (with project 'demo')")
    add_report_parser(alarms_sub)


def run_alarms(args: argparse.Namespace) -> int:
    """Carry out ``hmi alarms ...``."""
    if args.alarms_command == "report":
        return run_report(args)
    from hmi.app.history_cli import history_path

    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else None
    except ValueError as exc:
        return _fail(BAD_INPUT, str(exc))
    if start is not None and end is not None and start > end:
        return _fail(
            BAD_INPUT, f"--from {format_timestamp(start)} is later than --to {format_timestamp(end)}"
        )
    alarms = None
    if args.area is not None:
        alarms = _alarms_of_area(args.project, args.area)
        if not alarms:
            return _fail(BAD_INPUT, f"--area {args.area!r}: no alarm of the project is in that area")
    path = history_path(args.project, args.data_dir)
    if not path.is_file():
        return _fail(NO_JOURNAL, f"{path}: no alarm journal yet")
    query = HistoryQuery(start, end, tuple(args.priority or ()), alarms)
    try:
        write_events(read_events(path, query), args.format, sys.stdout, format_timestamp)
    except sqlite3.Error as exc:
        sys.stdout.flush()
        return _fail(BAD_INPUT, f"{path}: cannot read the alarm journal ({exc}); it may be damaged")
    return 0


def _alarms_of_area(project: str, area: str) -> set[str]:
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project

    loaded = load_project(demo_project_dir() if project == "demo" else project)
    return {name for name, alarm in loaded.alarms.items() if alarm.area == area}


def _fail(code: int, message: str) -> int:
    print(f"hmi alarms history: {message}", file=sys.stderr)
    return code
