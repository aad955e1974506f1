"""The users store of one installation: users, custom roles and settings in one SQLite file.

Blocking file IO: call it off any event loop (the CLI before its loop starts, the GUI in a worker).
Every method opens its own short connection, so several processes (a running station, ``hmi users``)
share the file safely; changes run in ``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import getpass
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from hmi.security.areas import AREA_JOIN, AreaScopes, Grants, parse_grants
from hmi.security.audit import AUDIT_COMPONENT, AuditEntry, chain_rows
from hmi.security.audit_key import AuditKey, load_key
from hmi.security.passwords import HashParameters, PasswordRules, hash_password, verify_password
from hmi.security.permissions import ADMINISTRATOR, BUILT_IN_ROLES, Permission, parse_permissions
from hmi.store.migrations import MigrationRegistry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    hash TEXT NOT NULL,           -- argon2id, encoded with its salt and parameters
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,   -- consecutive failed log-ons
    locked_until REAL NOT NULL DEFAULT 0   -- epoch seconds; 0 when not locked
);
CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, permissions TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Added later, additively: a custom role's permission limited to plant areas ('+'-joined names).
CREATE TABLE IF NOT EXISTS role_areas (
    role TEXT NOT NULL, permission TEXT NOT NULL, areas TEXT NOT NULL, PRIMARY KEY (role, permission)
);
"""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SecurityError(Exception):
    """A refused user-management step, with a message for the person who asked."""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After ``failures`` consecutive failed log-ons the user is locked for ``seconds``."""

    failures: int = 5
    seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """The installation's configurable rules (kept in the users store's ``settings`` table)."""

    rules: PasswordRules = field(default_factory=PasswordRules)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    hashing: HashParameters = field(default_factory=HashParameters)


_SETTING_KEYS: dict[str, tuple[str, str, type]] = {
    "min_length": ("rules", "min_length", int),
    "lockout_failures": ("lockout", "failures", int),
    "lockout_seconds": ("lockout", "seconds", float),
    "argon2_time_cost": ("hashing", "time_cost", int),
    "argon2_memory_kib": ("hashing", "memory_kib", int),
    "argon2_parallelism": ("hashing", "parallelism", int),
}
IDLE_KEY = "idle_logoff_seconds"
"""Log a user off after this long without an action; ``idle_logoff_seconds.ROLE`` sets one role's."""
DEFAULT_IDLE = 900.0
SETTING_NAMES = (*_SETTING_KEYS, IDLE_KEY)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as listed (no hash)."""

    name: str
    role: str
    disabled: bool
    locked_until: float


@dataclass(frozen=True, slots=True)
class LogOn:
    """The outcome of one log-on attempt."""

    ok: bool
    user: str
    role: str = ""
    reason: str = ""
    locked_now: bool = False  # this attempt locked the user


@dataclass(frozen=True, slots=True)
class Directory:
    """A snapshot of users and roles for the access policy (no IO when it decides)."""

    users: Mapping[str, UserInfo]
    roles: Mapping[str, frozenset[Permission]]
    idle_limits: Mapping[str, float] = field(default_factory=dict)
    """Role -> seconds without an action after which its users are logged off."""
    role_areas: Mapping[str, AreaScopes] = field(default_factory=dict)
    """Role -> the permissions it holds in some areas only (and those areas)."""

    def idle_limit(self, role: str) -> float:
        """Seconds of inactivity ``role`` is allowed."""
        return self.idle_limits.get(role, DEFAULT_IDLE)

    @property
    def commissioning(self) -> bool:
        """True until the first user exists: writes are allowed as the OS user, loudly."""
        return not self.users


class UserStore:
    """Users, roles and settings of the installation in ``path``."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        """A store at ``path`` (created on first change); ``clock`` gives epoch seconds (tests control it)."""
        self.path = Path(path)
        self.clock = clock
        self.actor = ""
        """Who makes the changes (the ``--as`` administrator); empty: the OS user (the first user)."""
        self._key: AuditKey | None = None
        self._migrated = False

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            with self._open(write) as conn:
                yield conn
        except (sqlite3.DatabaseError, OSError) as error:  # a damaged or unreadable file: name it
            raise SecurityError(f"users store {self.path} cannot be used: {error}") from error

    @contextmanager
    def _open(self, write: bool) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            conn = sqlite3.connect(":memory:", isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if write and not self._migrated:  # the store's own audit chain of user management
                registry = MigrationRegistry()
                registry.register(AUDIT_COMPONENT)
                registry.ensure(self.path)
                self._migrated = True
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            if write:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            else:
                yield conn
        finally:
            conn.close()

    def _record(self, conn: sqlite3.Connection, action: str, target: str, value: object = None) -> None:
        """Chain an audit record of this change into the store, in the change's own transaction."""
        if self._key is None:
            self._key = load_key(create=True)
        actor = self.actor or _os_user()
        entry = AuditEntry(actor, "cli", action, target, "ok", value=value, ts=self.clock())
        chain_rows(conn, [entry], self._key)

    def record_change(self, action: str, target: str, value: object = None) -> None:
        """Chain an audit record of an installation-wide change made elsewhere (a certificate trusted)."""
        with self._connect(write=True) as conn:
            self._record(conn, action, target, value)

    def record_entry(self, entry: AuditEntry) -> bool:
        """Chain ``entry`` as it is (a refused decision, a log-on for it) into the store; True when done."""
        if self._key is None:
            self._key = load_key(create=True)
        stamped = entry if entry.ts else replace(entry, ts=self.clock())
        with self._connect(write=True) as conn:
            chain_rows(conn, [stamped], self._key)
        return True

    # -- settings -----------------------------------------------------------------

    def settings(self) -> SecuritySettings:
        """The configured rules, defaults where nothing is set."""
        with self._connect() as conn:
            return _settings(conn)

    def configure(self, key: str, value: str) -> SecuritySettings:
        """Set one setting (see ``SETTING_NAMES``); returns the settings now in force."""
        if key == IDLE_KEY or key.startswith(IDLE_KEY + "."):
            return self._configure_idle(key, value)
        if key not in _SETTING_KEYS:
            raise SecurityError(f"unknown setting {key!r}; known: {', '.join(SETTING_NAMES)}")
        kind = _SETTING_KEYS[key][2]
        try:
            parsed = kind(value)
        except ValueError:
            raise SecurityError(f"{key}: {value!r} is not a {kind.__name__}") from None
        if parsed <= 0:
            raise SecurityError(f"{key}: must be positive")
        with self._connect(write=True) as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, str(parsed)),
            )
            self._record(conn, "configure", key, parsed)
            return _settings(conn)

    def _configure_idle(self, key: str, value: str) -> SecuritySettings:
        role = key.partition(".")[2]
        try:
            seconds = float(value)
        except ValueError:
            raise SecurityError(f"{key}: {value!r} is not a number of seconds") from None
        if not seconds > 0:
            raise SecurityError(f"{key}: must be positive")
        with self._connect(write=True) as conn:
            if role and role not in _roles(conn):
                raise SecurityError(f"{key}: unknown role {role!r}")
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, str(seconds)),
            )
            self._record(conn, "configure", key, seconds)
            return _settings(conn)

    # -- users and roles ------------------------------------------------------------

    def is_empty(self) -> bool:
        """True while no user exists (commissioning mode)."""
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0

    def roles(self) -> dict[str, frozenset[Permission]]:
        """Built-in and custom roles with their permissions."""
        with self._connect() as conn:
            return _roles(conn)

    def add_role(self, name: str, permissions: list[str]) -> frozenset[Permission]:
        """Create or change a custom role; built-in roles cannot be changed.

        A permission may be limited to areas: ``write_tag@tank_farm+boiler`` (see :mod:`hmi.security.areas`).
        """
        _check_name(name, "role")
        if name in BUILT_IN_ROLES:
            raise SecurityError(f"{name} is a built-in role and cannot be changed")
        try:
            grants = parse_grants(permissions)
        except ValueError as error:
            raise SecurityError(str(error)) from None
        chosen = grants.permissions
        with self._connect(write=True) as conn:
            conn.execute(
                "INSERT INTO roles (name, permissions) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions",
                (name, ",".join(sorted(chosen))),
            )
            conn.execute("DELETE FROM role_areas WHERE role = ?", (name,))
            conn.executemany(
                "INSERT INTO role_areas (role, permission, areas) VALUES (?, ?, ?)",
                [(name, str(p), AREA_JOIN.join(sorted(a))) for p, a in grants.scopes.items()],
            )
            self._record(conn, "add_role", name, grants.texts())
        return chosen

    def role_grants(self) -> dict[str, Grants]:
        """Every role's grants, with the areas a custom role's permissions are limited to."""
        with self._connect() as conn:
            scopes = _role_areas(conn)
            return {name: Grants(perms, scopes.get(name, {})) for name, perms in _roles(conn).items()}

    def users(self) -> list[UserInfo]:
        """Every user, by name."""
        with self._connect() as conn:
            return _users(conn)

    def directory(self) -> Directory:
        """A snapshot for the access policy."""
        with self._connect() as conn:
            users = {u.name: u for u in _users(conn)}
            return Directory(users, _roles(conn), _idle_limits(conn), _role_areas(conn))

    def add_user(self, name: str, role: str, password: str) -> UserInfo:
        """Create a user; the first one of an empty store must be an administrator."""
        _check_name(name, "user")
        with self._connect(write=True) as conn:
            settings = _settings(conn)
            roles = _roles(conn)
            if role not in roles:
                raise SecurityError(f"unknown role {role!r}; known: {', '.join(roles)}")
            empty = conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
            if empty and role != ADMINISTRATOR:
                raise SecurityError(f"the first user must be an {ADMINISTRATOR} (given: {role})")
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise SecurityError(f"user {name} exists already")
            _check_password(settings, password, name)
            conn.execute(
                "INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)",
                (name, role, hash_password(password, settings.hashing), self.clock()),
            )
            self._record(conn, "add_user", name, role)
        return UserInfo(name, role, False, 0.0)

    def set_password(self, name: str, password: str) -> None:
        """Give ``name`` a new password (and clear a lockout)."""
        with self._connect(write=True) as conn:
            settings = _settings(conn)
            _require_user(conn, name)
            _check_password(settings, password, name)
            conn.execute(
                "UPDATE users SET hash = ?, failures = 0, locked_until = 0 WHERE name = ?",
                (hash_password(password, settings.hashing), name),
            )
            self._record(conn, "set_password", name)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable ``name``; the last enabled administrator cannot be disabled."""
        with self._connect(write=True) as conn:
            role = _require_user(conn, name)
            if disabled and role == ADMINISTRATOR:
                others = conn.execute(
                    "SELECT count(*) FROM users WHERE role = ? AND disabled = 0 AND name != ?",
                    (ADMINISTRATOR, name),
                ).fetchone()[0]
                if others == 0:
                    raise SecurityError(f"{name} is the last enabled {ADMINISTRATOR}")
            conn.execute(
                "UPDATE users SET disabled = ?, failures = 0, locked_until = 0 WHERE name = ?",
                (int(disabled), name),
            )
            self._record(conn, "disable_user" if disabled else "enable_user", name)

    # -- log-on ---------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> LogOn:
        """Check a password, counting failures; a locked or disabled user is refused either way."""
        with self._connect(write=True) as conn:
            settings = _settings(conn)
            row = conn.execute(
                "SELECT role, hash, disabled, failures, locked_until FROM users WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                _burn(password, settings.hashing)  # the same cost as a known user: names are not revealed
                return LogOn(False, name, reason="unknown user or wrong password")
            role, encoded, disabled, failures, locked_until = row
            now = self.clock()
            if locked_until > now:
                return LogOn(False, name, role, f"locked after failed log-ons until {_when(locked_until)}")
            if locked_until:  # the lock ran out: a fresh count
                failures = 0
            matches, stale = verify_password(encoded, password, settings.hashing)
            if not matches:
                failures += 1
                lock = failures >= settings.lockout.failures
                until = now + settings.lockout.seconds if lock else 0.0
                conn.execute(
                    "UPDATE users SET failures = ?, locked_until = ? WHERE name = ?",
                    (0 if lock else failures, until, name),
                )
                reason = "unknown user or wrong password"
                if lock:
                    reason += f"; locked for {settings.lockout.seconds:g} s after {failures} failures"
                return LogOn(False, name, role, reason, locked_now=lock)
            if disabled:
                return LogOn(False, name, role, "user is disabled")
            new_hash = hash_password(password, settings.hashing) if stale else encoded
            conn.execute(
                "UPDATE users SET failures = 0, locked_until = 0, hash = ? WHERE name = ?", (new_hash, name)
            )
            return LogOn(True, name, role)


def _settings(conn: sqlite3.Connection) -> SecuritySettings:
    settings = SecuritySettings()
    for key, value in conn.execute("SELECT key, value FROM settings"):
        if key not in _SETTING_KEYS:
            continue
        part, attr, kind = _SETTING_KEYS[key]
        settings = replace(settings, **{part: replace(getattr(settings, part), **{attr: kind(value)})})
    return settings


def _idle_limits(conn: sqlite3.Connection) -> dict[str, float]:
    stored = dict(conn.execute("SELECT key, value FROM settings WHERE key LIKE ?", (IDLE_KEY + "%",)))
    default = float(stored.get(IDLE_KEY, DEFAULT_IDLE))
    return {role: float(stored.get(f"{IDLE_KEY}.{role}", default)) for role in _roles(conn)}


def _roles(conn: sqlite3.Connection) -> dict[str, frozenset[Permission]]:
    roles = dict(BUILT_IN_ROLES)
    for name, text in conn.execute("SELECT name, permissions FROM roles ORDER BY name"):
        roles[name] = parse_permissions(text.split(","))
    return roles


def _role_areas(conn: sqlite3.Connection) -> dict[str, AreaScopes]:
    scopes: dict[str, dict[Permission, frozenset[str]]] = {}
    for role, permission, areas in conn.execute("SELECT role, permission, areas FROM role_areas"):
        if role in BUILT_IN_ROLES or permission not in {p.value for p in Permission}:
            continue  # built-in roles are never scoped; an unknown permission grants nothing anyway
        scopes.setdefault(role, {})[Permission(permission)] = frozenset(areas.split(AREA_JOIN))
    return dict(scopes)


def _users(conn: sqlite3.Connection) -> list[UserInfo]:
    rows = conn.execute("SELECT name, role, disabled, locked_until FROM users ORDER BY name")
    return [UserInfo(name, role, bool(disabled), float(until)) for name, role, disabled, until in rows]


def _require_user(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise SecurityError(f"no user {name}")
    return str(row[0])


def _check_name(name: str, what: str) -> None:
    if not _NAME.fullmatch(name):
        raise SecurityError(f"{what} name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")


def _check_password(settings: SecuritySettings, password: str, user: str) -> None:
    problem = settings.rules.problem(password, user)
    if problem:
        raise SecurityError(problem)


_DUMMY: dict[HashParameters, str] = {}


def _burn(password: str, parameters: HashParameters) -> None:
    encoded = _DUMMY.get(parameters)
    if encoded is None:
        encoded = _DUMMY[parameters] = hash_password("not a password 0", parameters)
    verify_password(encoded, password, parameters)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (a service without USER)
        return "unknown"


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
