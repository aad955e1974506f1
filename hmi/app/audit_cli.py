"""``hmi audit verify|export PROJECT``: check the project's hash-chained audit trail, or export it."""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from pathlib import Path

from hmi.security.audit import COLUMNS, read_records
from hmi.security.audit_key import NoAuditKey, load_key
from hmi.security.audit_verify import verify_trail
from hmi.security.paths import audit_path, users_path

EXAMPLE = """\
examples:
  hmi audit verify plant/                  exit 0 intact; 2 naming the first broken record
  hmi audit export plant/ --format csv > audit.csv
  hmi audit export plant/ --format json
  hmi audit verify --users                 the installation's user management (hmi users), chained too
"""


def add_audit_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi audit``."""
    audit = sub.add_parser(
        "audit",
        help="verify or export the project's audit trail",
        description="The audit trail of a project: every write, acknowledgement and log-on, chained by hash.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = actions.add_parser("verify", help="check the chain; name the first broken record")
    verify.add_argument("project", nargs="?", help="project folder")
    verify.add_argument("--users", action="store_true", help="the installation's user management instead")
    verify.add_argument("--format", choices=["text", "json"], default="text")
    export = actions.add_parser("export", help="print every record as CSV or JSON")
    export.add_argument("project", nargs="?", help="project folder")
    export.add_argument("--users", action="store_true", help="the installation's user management instead")
    export.add_argument("--format", choices=["csv", "json"], default="csv")


def trail_of(project: str) -> Path:
    """The audit trail file of the project folder ``project``."""
    from hmi.project.history_lookup import history_path

    return audit_path(history_path(project))


def run_audit(args: argparse.Namespace) -> int:
    """Entry point of ``hmi audit``."""
    if args.users == bool(args.project):
        print("hmi audit: give a project folder, or --users for the users store", file=sys.stderr)
        return 2
    path = users_path() if args.users else trail_of(args.project)
    if not path.exists():
        print(
            f"hmi audit: {path}: no audit trail yet (nothing has been audited for this project)",
            file=sys.stderr,
        )
        return 2
    if args.audit_command == "verify":
        try:
            key = load_key()
        except NoAuditKey as error:
            print(f"hmi audit: {path}: cannot verify: {error}", file=sys.stderr)
            return 2
        verdict = verify_trail(path, key)
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "ok": verdict.ok,
                        "records": verdict.records,
                        "broken_at": verdict.broken_at,
                        "problem": verdict.problem,
                        "file": str(path),
                    }
                )
            )
        elif verdict.ok:
            print(f"{path}: {verdict.records} records, chain intact")
        else:
            print(f"{path}: {verdict.problem}", file=sys.stderr)
        return 0 if verdict.ok else 2
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        records = read_records(conn)
    finally:
        conn.close()
    if args.format == "json":
        print(json.dumps(records))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return 0
