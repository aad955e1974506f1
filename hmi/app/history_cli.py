"""``hmi history export``: the history of one or more tags as CSV on standard output."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from hmi.historian.export import export_tags_csv, format_timestamp, parse_time
from hmi.historian.reader import HistoryReader

NO_HISTORY = 1
"""Exit code when there is nothing to export yet (no history file, a tag never recorded)."""
BAD_INPUT = 2
"""Exit code for a request that cannot be answered: bad times, an empty range, a damaged history file."""


def history_path(project: str, data_dir: Path | None) -> Path:
    """The history database of a project folder, or of the demo when ``project`` is 'demo'.

    Only what the export needs is read: the path, not the whole project (see hmi.project.history_lookup).
    """
    if project == "demo":
        from hmi.core.demo import default_data_dir

        return (data_dir or default_data_dir()) / "history.db"
    from hmi.project.history_lookup import history_path as project_history_path

    return project_history_path(project)


def export_history(args: argparse.Namespace) -> int:
    """Print the rows of every ``--tag`` between ``--from`` and ``--to`` as one CSV.

    Exit 1 when there is no history to export, 2 with a message for bad input or a damaged file.
    """
    tags: list[str] = args.tag if isinstance(args.tag, list) else [args.tag]
    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else None
    except ValueError as exc:
        return _fail(BAD_INPUT, str(exc))
    if start is not None and end is not None and start > end:
        when = f"{format_timestamp(start)} is later than --to {format_timestamp(end)}"
        return _fail(BAD_INPUT, f"--from {when}: the range is empty")
    path = history_path(args.project, args.data_dir)
    if not path.exists():
        return _fail(NO_HISTORY, f"{path}: no history yet", prefix=False)
    if not path.is_file():
        return _fail(BAD_INPUT, f"{path}: not a history file (not a regular file)", prefix=False)
    try:
        export_tags_csv(HistoryReader(path), tags, start, end, sys.stdout)
    except LookupError as exc:
        return _fail(NO_HISTORY, f"{path}: {exc.args[0]}", prefix=False)
    except sqlite3.Error as exc:  # not a database, truncated, malformed, or not ours
        sys.stdout.flush()
        return _fail(
            BAD_INPUT, f"{path}: cannot read the history file ({exc}); it may be damaged", prefix=False
        )
    return 0


def _fail(code: int, message: str, prefix: bool = True) -> int:
    print(f"hmi history export: {message}" if prefix else message, file=sys.stderr)
    return code
