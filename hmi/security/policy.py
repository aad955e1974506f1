"""The access policy: may this actor do this? Decided in memory, on the runtime loop, without IO.

The command path asks it for every request. An actor counts as a user only once it has logged on
in this process (``log_on``); until the installation has its first user (commissioning mode)
everything is allowed, as whoever asked, and the caller says so loudly.
"""

from __future__ import annotations

import logging
import threading

from hmi.security.permissions import Permission
from hmi.security.users import Directory

log = logging.getLogger(__name__)


class AccessPolicy:
    """Permissions of logged-on users, from a snapshot of the users store."""

    def __init__(self, directory: Directory | None) -> None:
        """Decide from ``directory``; nobody is logged on yet. None: not read yet, everything is refused."""
        self._directory = directory
        self._sessions: set[str] = set()
        self._lock = threading.Lock()  # log-on happens on the GUI thread, decisions on the runtime loop

    @property
    def commissioning(self) -> bool:
        """True while the installation has no users."""
        return self._directory is not None and self._directory.commissioning

    def refresh(self, directory: Directory) -> None:
        """Take a newer snapshot (a user was disabled, a role changed)."""
        with self._lock:
            self._directory = directory

    def log_on(self, user: str) -> None:
        """``user`` proved who they are (the users store authenticated them)."""
        with self._lock:
            self._sessions.add(user)

    def log_off(self, user: str) -> None:
        """``user`` is no longer logged on here."""
        with self._lock:
            self._sessions.discard(user)

    def refusal(self, actor: str, permission: Permission, target: str = "") -> str | None:
        """Why ``actor`` may not use ``permission`` (on ``target``), or None when allowed."""
        with self._lock:
            directory = self._directory
            logged_on = actor in self._sessions
        if directory is None:
            return "the users store has not been read (yet): nothing is allowed until it is"
        if directory.commissioning:
            return None
        user = directory.users.get(actor)
        if user is None or not logged_on:
            return f"{actor} is not logged on as a user (users are configured: log on with --user NAME)"
        if user.disabled:
            return f"user {actor} is disabled"
        granted = directory.roles.get(user.role, frozenset())
        if permission not in granted:
            return f"user {actor} ({user.role}) lacks the permission {permission.value}"
        return None
