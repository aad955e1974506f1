"""Audit records of configuration changes made outside the command path, and a one-shot trail for the CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hmi.security.audit import AuditEntry
from hmi.security.audit_key import NoAuditKey
from hmi.security.trail import AuditTrail


def change_entry(
    actor: str,
    origin: str,
    action: str,
    target: str,
    *,
    value: Any = None,
    old: Any = None,
    error: str = "",
) -> AuditEntry:
    """One configuration change: ``ok``, or ``failed`` with the reason when ``error`` is given."""
    return AuditEntry(actor, origin, action, target, "failed" if error else "ok", value, error, old=old)


def record_now(trail_path: Path, entries: Iterable[AuditEntry]) -> str:
    """Append ``entries`` to the trail at ``trail_path`` and wait for the commit; blocking (the CLI).

    Returns the reason when the trail cannot be opened (the change itself is already made), else "".
    """
    trail = AuditTrail(trail_path, commit_interval=0.05)
    try:
        trail.start()
    except (OSError, sqlite3.Error, NoAuditKey) as error:
        return f"the audit trail {trail_path} cannot be opened: {error}"
    try:
        refused = [entry for entry in entries if not trail.record(entry)]
    finally:
        trail.stop()
    return f"the audit trail refused {len(refused)} records" if refused else ""
