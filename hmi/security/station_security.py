"""A station's security at start: read the users store into the policy, open the audit trail."""

from __future__ import annotations

import logging
import sqlite3

from hmi.security.paths import users_path
from hmi.security.policy import AccessPolicy
from hmi.security.trail import AuditTrail
from hmi.security.users import SecurityError, UserStore

log = logging.getLogger(__name__)

COMMISSIONING = (
    "NO USERS ARE CONFIGURED on this installation (commissioning mode): every action is allowed and"
    " audited as the OS user. Add an administrator with `hmi users add NAME --role administrator`."
)


def open_security(trail: AuditTrail, access: AccessPolicy) -> None:
    """Blocking (run it off the loop). Neither failure stops the plant: a users store that cannot be
    read leaves the policy refusing everything; a trail that cannot be opened keeps its records in
    memory (bounded, counted) and says so."""
    try:
        access.refresh(UserStore(users_path()).directory())
    except SecurityError as error:
        path = users_path()
        log.error("users store %s cannot be read (%s): every protected action is refused", path, error)
    else:
        if access.commissioning:
            log.warning(COMMISSIONING)
    try:
        trail.start()
    except (OSError, sqlite3.Error) as error:
        log.error("audit trail %s cannot be opened (%s): records wait in memory", trail.path, error)
