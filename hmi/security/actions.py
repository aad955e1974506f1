"""Every protected action and the permission it needs, decided in one function that everything calls.

The command path (writes, operating equipment, acknowledge, shelve, out of service, reset, alarm limit
edits), the window's
configuration changes (trend save, rule enable/disable, certificate trust, sync resend) and the
CLI commands that act all ask :func:`refusal` here, so a role means the same wherever it acts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hmi.model import DataType, TagDef
from hmi.security.audit import (
    DISABLE_RULE,
    ENABLE_RULE,
    REJECT_CERTIFICATE,
    SAVE_TREND,
    SYNC_RESEND,
    TRUST_CERTIFICATE,
    AuditEntry,
)
from hmi.security.permissions import Permission
from hmi.security.policy import AccessPolicy

WRITE = "write"
OPERATE = "operate"
ACKNOWLEDGE = "acknowledge"
SHELVE, UNSHELVE = "shelve", "unshelve"
OUT_OF_SERVICE, IN_SERVICE = "out of service", "return to service"
RESET, EDIT_LIMIT = "reset", "edit limit"

PROTECTED_ACTIONS: Mapping[str, Permission] = {
    WRITE: Permission.WRITE_TAG,
    OPERATE: Permission.OPERATE,
    ACKNOWLEDGE: Permission.ACKNOWLEDGE,
    SHELVE: Permission.SHELVE,
    UNSHELVE: Permission.SHELVE,
    OUT_OF_SERVICE: Permission.OUT_OF_SERVICE,
    IN_SERVICE: Permission.OUT_OF_SERVICE,
    RESET: Permission.ACKNOWLEDGE,  # an operator resets a latched alarm as they acknowledge it
    EDIT_LIMIT: Permission.EDIT_ALARM_LIMITS,
    SAVE_TREND: Permission.EDIT_PROJECT,
    ENABLE_RULE: Permission.EDIT_PROJECT,
    DISABLE_RULE: Permission.EDIT_PROJECT,
    TRUST_CERTIFICATE: Permission.TRUST_CERTIFICATES,
    REJECT_CERTIFICATE: Permission.TRUST_CERTIFICATES,
    SYNC_RESEND: Permission.RESEND_SYNC,
}
"""Action name (as audited) -> the permission it needs. Every protected action is listed here."""

Record = Callable[[AuditEntry], Any]

HAND_OVER = "hand_over"
"""Audited, not protected (anyone may log on): actor and value the next user, old the previous one."""


def is_command(tag: TagDef) -> bool:
    """True for a tag that operates equipment (start/stop, open/close): a writable bool tag.

    The same rule that makes such a tag ask for confirmation by default: decided per tag, at load,
    so a button and a faceplate writing the same command need the same permission.
    """
    return tag.writable and tag.type is DataType.BOOL


def write_permissions(tag: TagDef | None) -> tuple[Permission, ...]:
    """What a write of ``tag`` needs: WRITE_TAG, and for a command (it operates equipment) OPERATE too.

    A command is a write like any other (area scopes of ``write_tag`` included), so a role that may
    change setpoints but not start or stop equipment is ``write_tag`` without ``operate``.
    """
    if tag is not None and is_command(tag):
        return (Permission.WRITE_TAG, Permission.OPERATE)
    return (Permission.WRITE_TAG,)


def write_refusal(
    policy: AccessPolicy, actor: str, tag: str, definition: TagDef | None, area: str
) -> str | None:
    """Why ``actor`` may not write ``tag`` (``definition``, in ``area``), or None: the command path asks."""
    for permission in write_permissions(definition):
        refused = policy.refusal(actor, permission, tag, area)
        if refused:
            return refused
    return None


def refusal(
    policy: AccessPolicy,
    actor: str,
    action: str,
    target: str = "",
    *,
    area: str = "",
    record: Record | None = None,
    origin: str = "",
    value: Any = None,
) -> str | None:
    """Why ``actor`` may not do ``action`` on ``target``, or None when allowed.

    With ``record``, a refusal is audited there (stage ``refused``, the reason as detail): callers
    outside the command path (which audits its own steps) pass their trail.
    """
    permission = PROTECTED_ACTIONS.get(action)
    if permission is None:  # an unlisted action is a programming error: refuse rather than allow
        refused: str | None = f"{action!r} is not a known protected action"
    else:
        refused = policy.refusal(actor, permission, target, area)
    if refused and record is not None:
        record(AuditEntry(actor, origin, action, target, "refused", value, refused))
    return refused
