"""One log-on, wherever it happens (the CLI, the GUI): authenticate, audit, tell the policy."""

from __future__ import annotations

from collections.abc import Callable

from hmi.security.audit import AuditEntry
from hmi.security.policy import AccessPolicy
from hmi.security.users import LogOn, UserStore

Record = Callable[[AuditEntry], bool]


def log_on(
    store: UserStore, access: AccessPolicy, record: Record, name: str, password: str, origin: str
) -> LogOn:
    """Check ``name``'s password; audit the attempt (and a lockout); on success ``name`` may act.

    Blocking (the users store, argon2): call it off any event loop and off the GUI thread.
    """
    result = store.authenticate(name, password)
    record(AuditEntry(name, origin, "log_on", name, "ok" if result.ok else "refused", detail=result.reason))
    if result.locked_now:
        record(AuditEntry(name, origin, "lockout", name, "ok", detail=result.reason))
    if result.ok:
        access.refresh(store.directory())  # the newest roles and users for the decisions that follow
        access.log_on(name)
    return result


def log_off(access: AccessPolicy, record: Record, name: str, origin: str) -> None:
    """``name`` no longer acts here; audited."""
    access.log_off(name)
    record(AuditEntry(name, origin, "log_off", name, "ok"))
