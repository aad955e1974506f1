"""The demo's accounts: an operator, an engineer and an administrator with passwords made per data folder.

No password is fixed in the code (the open-source HMIs that shipped ``admin/scada`` are the warning):
each demo data folder gets its own, generated on its first start, kept in a file only its owner can
read so that the console and the About box can show them again.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hmi.security.passwords import PasswordRules
from hmi.security.users import SecurityError, UserStore

ACCOUNTS_FILE = "demo-accounts.json"
DEMO_ROLES = (("admin", "administrator"), ("olga", "operator"), ("erik", "engineer"))
"""(user, role) of the demo accounts; the administrator first (the first user of a store must be one)."""


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """One demo user and the password generated for it."""

    user: str
    role: str
    password: str


def accounts_path(data_dir: Path) -> Path:
    """The file that keeps the demo's generated passwords (mode 0600)."""
    return Path(data_dir) / ACCOUNTS_FILE


def read_demo_accounts(data_dir: Path) -> list[DemoAccount]:
    """The demo accounts kept in ``data_dir`` (empty when there are none or the file is unreadable)."""
    try:
        rows = json.loads(accounts_path(data_dir).read_text("utf-8"))
        return [DemoAccount(str(r["user"]), str(r["role"]), str(r["password"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def ensure_demo_accounts(data_dir: Path, store: UserStore) -> list[DemoAccount]:
    """Create the demo accounts in ``store`` once per ``data_dir``; the accounts (new or kept) after.

    Blocking (argon2 hashing, files). A store that has users but no accounts file was set up by
    hand: it is left alone and no demo accounts are shown.
    """
    kept = read_demo_accounts(data_dir)
    if kept:
        return kept
    if not store.is_empty():
        return []
    rules = store.settings().rules
    accounts = [DemoAccount(user, role, _generate(rules, user)) for user, role in DEMO_ROLES]
    _write_private(accounts_path(data_dir), accounts)  # first: a crash after it still shows them
    for account in accounts:
        try:
            store.add_user(account.user, account.role, account.password)
        except SecurityError as error:
            raise SecurityError(f"demo account {account.user}: {error}") from error
    return accounts


def _generate(rules: PasswordRules, user: str) -> str:
    """A random password the installation's rules accept (a token may lack a digit: draw again)."""
    for _ in range(1000):  # bounded; each draw meets the default rules with probability ~0.9
        password = secrets.token_urlsafe(max(12, rules.min_length))
        if rules.problem(password, user) is None:
            return password
    raise SecurityError("could not generate a demo password that meets the password rules")


def _write_private(path: Path, accounts: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps([{"user": a.user, "role": a.role, "password": a.password} for a in accounts], indent=1)
    # Created 0600 from the start: never a moment where another user could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    os.chmod(path, 0o600)  # an older file with wider rights is narrowed too


def describe(accounts: list[DemoAccount]) -> str:
    """The accounts as lines for the console."""
    lines = [f"  {a.user:<6} {a.role:<13} password {a.password}" for a in accounts]
    return "\n".join(["Demo accounts (generated for this data folder):", *lines])
