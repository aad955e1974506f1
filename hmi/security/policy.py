"""The access policy: may this actor do this? Decided in memory, on the runtime loop, without IO.

The command path asks it for every request. An actor counts as a user only once it has logged on
in this process (``log_on``); until the installation has its first user (commissioning mode)
everything is allowed, as whoever asked, and the caller says so loudly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hmi.security.areas import area_refusal
from hmi.security.permissions import Permission
from hmi.security.users import Directory

log = logging.getLogger(__name__)


class AccessPolicy:
    """Permissions of logged-on users, from a snapshot of the users store."""

    def __init__(self, directory: Directory | None, clock: Callable[[], float] = time.monotonic) -> None:
        """Decide from ``directory``; nobody is logged on yet. None: not read yet, everything is refused.

        ``clock`` (seconds) measures inactivity: a user with no action for their role's idle limit is
        logged off (tests control it).
        """
        self._directory = directory
        self._clock = clock
        self._sessions: dict[str, float] = {}  # user -> time of the last log-on or allowed action
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
            self._sessions[user] = self._clock()

    def log_off(self, user: str) -> None:
        """``user`` is no longer logged on here."""
        with self._lock:
            self._sessions.pop(user, None)

    def touch(self, user: str) -> None:
        """``user`` is active at the workstation (keys, mouse): their idle time starts again."""
        with self._lock:
            if user in self._sessions:
                self._sessions[user] = self._clock()

    def idle_remaining(self, user: str) -> float | None:
        """Seconds until ``user`` is logged off for inactivity (0 or less: due); None when not logged on."""
        with self._lock:
            directory, last = self._directory, self._sessions.get(user)
        if directory is None or last is None or user not in directory.users:
            return None
        return directory.idle_limit(directory.users[user].role) - (self._clock() - last)

    def refusal(self, actor: str, permission: Permission, target: str = "", area: str = "") -> str | None:
        """Why ``actor`` may not use ``permission`` (on ``target``, in ``area``), or None when allowed."""
        with self._lock:
            directory = self._directory
            last = self._sessions.get(actor)
        if directory is None:
            return "the users store has not been read (yet): nothing is allowed until it is"
        if directory.commissioning:
            return None
        user = directory.users.get(actor)
        if user is None or last is None:
            return f"{actor} is not logged on as a user (users are configured: log on with --user NAME)"
        now, limit = self._clock(), directory.idle_limit(user.role)
        if now - last > limit:
            self.log_off(actor)
            return f"{actor} was logged off after {limit:g} s without an action: log on again"
        refused = _grant_refusal(directory, actor, permission, area)
        if refused:
            return refused
        with self._lock:
            if actor in self._sessions:
                self._sessions[actor] = now  # an action keeps the session alive
        return None

    def grant_refusal(self, user: str, permission: Permission, area: str = "") -> str | None:
        """Why ``user``'s role does not cover ``permission`` in ``area`` (no session needed), or None.

        For a second person who is not logged on here: the verifier of a double signature.
        """
        with self._lock:
            directory = self._directory
        if directory is None:
            return "the users store has not been read (yet): nothing is allowed until it is"
        return _grant_refusal(directory, user, permission, area)

    def logged_on(self, user: str) -> bool:
        """True while ``user`` is logged on and within the idle limit of their role."""
        with self._lock:
            directory, last = self._directory, self._sessions.get(user)
        if directory is None or last is None or user not in directory.users:
            return False
        return self._clock() - last <= directory.idle_limit(directory.users[user].role)


def _grant_refusal(directory: Directory, name: str, permission: Permission, area: str) -> str | None:
    user = directory.users.get(name)
    if user is None:
        return f"no user {name}"
    if user.disabled:
        return f"user {name} is disabled"
    granted = directory.roles.get(user.role, frozenset())
    if permission not in granted:
        return f"user {name} ({user.role}) lacks the permission {permission.value}"
    scopes = directory.role_areas.get(user.role, {})
    return area_refusal(scopes, permission, area, f"user {name} ({user.role})")
