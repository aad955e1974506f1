"""A protected CLI command's identity and its one permission check (``hmi certs``, ``hmi sync resend``).

The log-on is ``hmi write``'s (``--user NAME``, the password from the terminal or
``CONVERGE_PASSWORD``); the decision is :func:`hmi.security.actions.refusal`, the one the
command path and the window use; a refusal is audited where the action would have been.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hmi.app.cli_logon import cli_identity
from hmi.security.actions import refusal
from hmi.security.audit import AuditEntry
from hmi.security.audit_key import NoAuditKey
from hmi.security.config_audit import record_now
from hmi.security.paths import users_path
from hmi.security.users import SecurityError, UserStore

REFUSED = 2
"""Exit status of a protected command refused for its user (as ``hmi write``)."""


@dataclass(frozen=True, slots=True)
class Permit:
    """Who acts, and why not (empty when allowed)."""

    actor: str
    refused: str = ""


def authorise(
    command: str,
    user: str | None,
    os_actor: str,
    action: str,
    target: str,
    record: Callable[[AuditEntry], bool],
) -> Permit:
    """Log ``user`` on and decide ``action`` on ``target``; a refusal is printed and audited (``record``).

    Commissioning mode (no users yet) allows it as the OS user, with ``hmi write``'s loud warning.
    """
    identity = cli_identity(user, os_actor, record)
    if identity.logon_problem:
        print(f"{command}: {identity.logon_problem}", file=sys.stderr)
    refused = refusal(identity.policy, identity.actor, action, target, record=record, origin="cli")
    if refused:
        print(f"{command}: refused: {refused}", file=sys.stderr)
        return Permit(identity.actor, refused)
    return Permit(identity.actor)


def installation_record() -> Callable[[AuditEntry], bool]:
    """Records into the users store's own chain (installation-wide decisions: the PKI folder)."""
    store = UserStore(users_path())

    def record(entry: AuditEntry) -> bool:
        try:
            return store.record_entry(entry)
        except (SecurityError, sqlite3.Error, OSError, NoAuditKey) as error:
            print(f"the installation's audit chain cannot be written: {error}", file=sys.stderr)
            return False

    return record


def trail_record(trail: Path) -> Callable[[AuditEntry], bool]:
    """Records into a project's audit trail, each committed before the command goes on."""

    def record(entry: AuditEntry) -> bool:
        problem = record_now(trail, [entry])
        if problem:
            print(problem, file=sys.stderr)
        return not problem

    return record
