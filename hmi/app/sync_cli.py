"""``hmi sync status|quarantine|resend PROJECT``: the enterprise sync as plant IT sees it.

Reads the sync state file beside the history (``history.sync.db``), so it works beside a
running ``hmi run`` and after it stopped. ``resend`` posts each quarantined batch as it
was kept, under its own key: a receiver that deduplicates by key makes that safe.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

EXAMPLE = """\
examples:
  hmi sync status plant/                 backlog, rate, last success and error per endpoint and stream
  hmi sync status plant/ --format json
  hmi sync quarantine plant/             the batches an endpoint refused (kept, resendable)
  hmi sync resend plant/ 3f2c9a1e-...    resend one quarantined batch (its key, or a unique prefix)
  hmi sync resend plant/ --all

exit status: 0 done; 1 nothing to show or resend; 2 a bad project, an unknown batch, a resend refused
(by the endpoint, or for the user: --user NAME, password from the terminal or $CONVERGE_PASSWORD).
"""

OK, NOTHING, FAILED = 0, 1, 2


def add_sync_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi sync``."""
    sync = sub.add_parser(
        "sync",
        help="enterprise sync: status, quarantined batches, resend",
        description="Store-and-forward to the enterprise endpoints of a project (its sync: section).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = sync.add_subparsers(dest="sync_command", required=True)
    for name, text in (
        ("status", "backlog rows and age, rows/s, last success and error, quarantined batches"),
        ("quarantine", "list the batches an endpoint refused for good"),
        ("resend", "resend quarantined batches (one by key, or --all)"),
    ):
        command = commands.add_parser(
            name,
            help=text,
            description=text,
            epilog=EXAMPLE,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("project", type=Path, help="project folder")
        command.add_argument("--format", choices=["table", "json"], default="table")
        if name == "resend":
            which = command.add_mutually_exclusive_group(required=True)
            which.add_argument("batch", nargs="?", help="the key of a quarantined batch (or a unique prefix)")
            which.add_argument("--all", action="store_true", help="every quarantined batch")
            command.add_argument(
                "--user", metavar="NAME", help="log on as NAME (password: terminal or $CONVERGE_PASSWORD)"
            )


def run_sync(args: argparse.Namespace) -> int:
    """Dispatch ``hmi sync ...``."""
    from hmi.project.errors import ProjectInvalid
    from hmi.project.loader import load_project
    from hmi.sync.outbox import Outbox, outbox_path

    try:
        project = load_project(args.project)
    except (ProjectInvalid, OSError) as error:
        print(f"hmi sync: {error}", file=sys.stderr)
        return FAILED
    if not project.sync:
        print(f"{args.project}: no sync: endpoints in project.yaml", file=sys.stderr)
        return NOTHING
    outbox = Outbox(outbox_path(project.history.path))
    try:
        return _command(args, outbox, project)
    finally:
        outbox.close()


def _command(args: argparse.Namespace, outbox: Any, project: Any) -> int:
    if args.sync_command == "status":
        from hmi.security.paths import audit_path
        from hmi.sync.status import read_status

        trail = {"audit": audit_path(project.history.path)}
        rows = [s.as_dict() for s in read_status(outbox, project.history.path, project.sync, trail)]
        _print(rows, args.format, _STATUS_COLUMNS)
        return OK
    if args.sync_command == "quarantine":
        batches = [_batch_row(batch) for batch in outbox.quarantined()]
        _print(batches, args.format, _BATCH_COLUMNS)
        return OK if batches else NOTHING
    return _resend(args, outbox, project.sync, project.history.path)


def _resend(args: argparse.Namespace, outbox: Any, endpoints: dict[str, Any], history: Path) -> int:
    from hmi.sync.resend import resend

    kept = outbox.quarantined()
    chosen = kept if args.all else [batch for batch in kept if batch.key.startswith(args.batch)]
    if not args.all and len(chosen) != 1:
        known = "; quarantined: " + ", ".join(b.key for b in kept) if kept else "; nothing is quarantined"
        what = "matches several batches" if chosen else "is not a quarantined batch"
        print(f"hmi sync resend: {args.batch!r} {what}{known}", file=sys.stderr)
        return FAILED
    if not chosen:
        print("nothing is quarantined", file=sys.stderr)
        return NOTHING
    actor = _authorised(args, history, chosen)
    if actor is None:
        return FAILED  # refused for this user (audited), nothing was sent
    results = asyncio.run(resend(outbox, endpoints, chosen))
    _audit_resend(history, chosen, results, actor)
    rows = [{"key": r.key, "delivered": r.delivered, "detail": r.detail} for r in results]
    _print(rows, args.format, ("key", "delivered", "detail"))
    return OK if all(r.delivered for r in results) else FAILED


def _authorised(args: argparse.Namespace, history: Path, batches: list[Any]) -> str | None:
    """The actor allowed to resend, or None (refused: said, and audited in the project's trail)."""
    from hmi.app.cli_protect import authorise, trail_record
    from hmi.core.commands import os_user
    from hmi.security.audit import SYNC_RESEND
    from hmi.security.paths import audit_path

    target = "all" if args.all else batches[0].key
    record = trail_record(audit_path(history))
    permit = authorise("hmi sync resend", args.user, os_user(), SYNC_RESEND, target, record)
    return None if permit.refused else permit.actor


def _audit_resend(history: Path, batches: list[Any], results: list[Any], actor: str) -> None:
    """One audit record per batch resent, in the project's trail (a resend is a decision about data)."""
    from hmi.security.audit import SYNC_RESEND
    from hmi.security.config_audit import change_entry, record_now
    from hmi.security.paths import audit_path

    ranges = {b.key: f"{b.endpoint}/{b.stream} {b.seq_first}..{b.seq_last}" for b in batches}
    entries = [
        change_entry(
            actor, "cli", SYNC_RESEND, r.key, value=ranges.get(r.key), error="" if r.delivered else r.detail
        )
        for r in results
    ]
    problem = record_now(audit_path(history), entries)
    if problem:
        print(f"hmi sync resend: {problem}", file=sys.stderr)


_STATUS_COLUMNS = (
    "endpoint", "stream", "backlog_rows", "backlog_age_s", "rows_per_s", "delivered_rows",
    "last_success", "quarantined", "last_error",
)  # fmt: skip
_BATCH_COLUMNS = ("key", "endpoint", "stream", "seq_first", "seq_last", "rows", "status", "created", "error")


def _batch_row(batch: Any) -> dict[str, Any]:
    return {
        "key": batch.key,
        "endpoint": batch.endpoint,
        "stream": batch.stream,
        "seq_first": batch.seq_first,
        "seq_last": batch.seq_last,
        "rows": batch.rows,
        "bytes": batch.size,
        "status": batch.status,
        "attempts": batch.attempts,
        "created": batch.created,
        "error": batch.error,
    }


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if column in ("last_success", "created") and isinstance(value, float):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    return str(value)


def _print(rows: list[dict[str, Any]], form: str, columns: tuple[str, ...]) -> None:
    if form == "json":
        json.dump(rows, sys.stdout, indent=2)
        print()
        return
    table = [list(columns)] + [[_cell(row.get(c), c) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
