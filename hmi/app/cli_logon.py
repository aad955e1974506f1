"""Passwords for the command line: from the terminal without echo, or from the environment in scripts."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from hmi.security.audit import AuditEntry
from hmi.security.logon import log_on
from hmi.security.paths import users_path
from hmi.security.policy import AccessPolicy
from hmi.security.users import SecurityError, UserStore

PASSWORD_ENV = "CONVERGE_PASSWORD"
"""The password of the user the command is about (``--user NAME``, or the user being added)."""
AS_PASSWORD_ENV = "CONVERGE_AS_PASSWORD"
"""The password of the administrator given with ``--as NAME``."""


class NoPassword(Exception):
    """No password in the environment and no terminal to ask on."""


def password_from(env: str, prompt: str, *, confirm: bool = False) -> str:
    """``env``'s value, else asked on the terminal without echo (twice when ``confirm``)."""
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise NoPassword(f"no terminal to ask for the password: set {env}")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != first:
        raise NoPassword("the two passwords differ")
    return first


COMMISSIONING_WARNING = (
    "WARNING: no users are configured on this installation (commissioning mode): this action is allowed"
    " as the OS user {actor} and audited as such. Add an administrator with"
    " `hmi users add NAME --role administrator` to require a log-on."
)


def cli_identity(user: str | None, fallback_actor: str, audit: Callable[[AuditEntry], bool]) -> CliIdentity:
    """Who acts for a CLI command that touches the plant, and the policy that judges them.

    Commissioning (no users): the OS user, with a loud warning. Otherwise ``--user NAME`` logs on
    (password from the terminal or ``CONVERGE_PASSWORD``); a failed log-on is audited and the action
    then goes on to be refused (and audited) by the policy, like one without ``--user``.
    """
    store = UserStore(users_path())
    try:
        directory = store.directory()
    except SecurityError as error:  # refuse, never fall back to commissioning on a damaged store
        return CliIdentity(fallback_actor, AccessPolicy(None), str(error))
    policy = AccessPolicy(directory)
    if directory.commissioning:
        if user:
            return CliIdentity(user, policy, f"no users are configured yet: {user} cannot log on")
        print(COMMISSIONING_WARNING.format(actor=fallback_actor), file=sys.stderr, flush=True)
        return CliIdentity(fallback_actor, policy)
    if not user:
        return CliIdentity(fallback_actor, policy)
    try:
        password = password_from(PASSWORD_ENV, f"password for {user}: ")
    except NoPassword as error:
        return CliIdentity(user, policy, str(error))
    try:
        logon = log_on(store, policy, audit, user, password, "cli")
    except SecurityError as error:
        return CliIdentity(user, policy, str(error))
    if not logon.ok:
        return CliIdentity(user, policy, f"log-on of {user} failed: {logon.reason}")
    return CliIdentity(user, policy)


@dataclass(frozen=True, slots=True)
class CliIdentity:
    """The actor, the policy, and why the log-on failed (empty when it did not)."""

    actor: str
    policy: AccessPolicy
    logon_problem: str = ""
