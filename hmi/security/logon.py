"""One log-on, wherever it happens (the CLI, the GUI): authenticate, audit, tell the policy."""

from __future__ import annotations

from collections.abc import Callable

from hmi.security.audit import AuditEntry
from hmi.security.permissions import ADMINISTRATOR
from hmi.security.policy import AccessPolicy
from hmi.security.users import LogOn, SecurityError, UserStore

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


def add_first_administrator(
    store: UserStore, access: AccessPolicy, record: Record, name: str, password: str, origin: str
) -> LogOn:
    """Create the installation's first user, an administrator, and log them on; audited.

    Refused (``LogOn.ok`` False, with the reason) when a user exists already or the password is weak.
    Blocking: call it off any event loop and off the GUI thread.
    """
    try:
        if not store.is_empty():
            raise SecurityError("users exist already: log on instead")
        store.add_user(name, ADMINISTRATOR, password)
    except SecurityError as error:
        return LogOn(False, name, reason=str(error))
    record(AuditEntry(name, origin, "add_user", name, "ok", value=ADMINISTRATOR))
    return log_on(store, access, record, name, password, origin)
