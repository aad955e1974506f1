"""``hmi history export``: a tag's history as CSV on standard output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hmi.historian.export import export_csv, parse_time
from hmi.historian.reader import HistoryReader


def history_path(project: str, data_dir: Path | None) -> Path:
    """The history database of a project folder, or of the demo when ``project`` is 'demo'."""
    if project == "demo":
        from hmi.core.demo import default_data_dir

        return (data_dir or default_data_dir()) / "history.db"
    from hmi.project.loader import load_project

    return load_project(project).history.path


def export_history(args: argparse.Namespace) -> int:
    """Print the rows of ``args.tag`` between ``--from`` and ``--to``; exit 1 with a message on bad input."""
    path = history_path(args.project, args.data_dir)
    if not path.exists():
        print(f"{path}: no history yet", file=sys.stderr)
        return 1
    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else None
    except ValueError as exc:
        print(f"hmi history export: {exc}", file=sys.stderr)
        return 1
    reader = HistoryReader(path)
    if args.tag not in reader.tag_names():
        print(f"{path}: no history for tag {args.tag!r}", file=sys.stderr)
        return 1
    export_csv(reader, args.tag, start, end, sys.stdout)
    return 0
