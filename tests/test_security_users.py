"""The users store on a real SQLite file: roles, password rules, argon2id, rehash, lockout and its expiry."""

from __future__ import annotations

import sqlite3

import pytest

from hmi.security.passwords import HashParameters
from hmi.security.permissions import BUILT_IN_ROLES, Permission
from hmi.security.users import SecurityError, UserStore

GOOD = "correct horse 42"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> UserStore:
    users = UserStore(tmp_path / "users.db", clock)
    # Cheap hashing for the test run; the defaults are RFC 9106's low-memory profile.
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        users.configure(key, value)
    return users


def stored_hash(store: UserStore, name: str) -> str:
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT hash FROM users WHERE name = ?", (name,)).fetchone()[0]


def test_an_empty_store_is_in_commissioning_and_reading_it_creates_no_file(tmp_path):
    store = UserStore(tmp_path / "nowhere" / "users.db")
    assert store.is_empty() and store.directory().commissioning
    assert not (tmp_path / "nowhere").exists()


def test_the_first_user_must_be_an_administrator(store):
    with pytest.raises(SecurityError, match="the first user must be an administrator"):
        store.add_user("olga", "operator", GOOD)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    assert [(u.name, u.role) for u in store.users()] == [("ada", "administrator"), ("olga", "operator")]
    assert not store.directory().commissioning


def test_passwords_are_argon2id_hashes_never_the_password(store):
    store.add_user("ada", "administrator", GOOD)
    encoded = stored_hash(store, "ada")
    assert encoded.startswith("$argon2id$") and GOOD not in encoded
    raw = store.path.read_bytes()
    assert GOOD.encode() not in raw


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1", "at least 12 characters"),
        ("no digits at all here", "a digit"),
        ("123456789012345", "a letter"),
        ("ada-is-the-admin-1", "must not contain the user name"),
    ],
)
def test_password_rules_refuse_weak_passwords(store, password, problem):
    with pytest.raises(SecurityError, match=problem):
        store.add_user("ada", "administrator", password)
    assert store.is_empty()


def test_password_rules_are_configurable(store):
    store.configure("min_length", "20")
    with pytest.raises(SecurityError, match="at least 20 characters"):
        store.add_user("ada", "administrator", GOOD)


def test_unknown_names_roles_and_settings_are_refused_clearly(store):
    with pytest.raises(SecurityError, match="unknown role 'boss'"):
        store.add_user("ada", "boss", GOOD)
    with pytest.raises(SecurityError, match="user name"):
        store.add_user("ad a", "administrator", GOOD)
    with pytest.raises(SecurityError, match="unknown setting"):
        store.configure("min_len", "3")
    with pytest.raises(SecurityError, match="unknown permission 'fly'"):
        store.add_role("pilot", ["fly"])
    with pytest.raises(SecurityError, match="built-in role"):
        store.add_role("operator", ["write_tag"])


def test_built_in_roles_and_a_custom_role(store):
    roles = store.roles()
    assert roles["viewer"] == frozenset()
    assert Permission.WRITE_TAG in roles["operator"] and Permission.MANAGE_USERS not in roles["operator"]
    assert Permission.EDIT_PROJECT in roles["engineer"] and Permission.MANAGE_USERS not in roles["engineer"]
    assert roles["administrator"] == frozenset(Permission)
    store.add_role("shift_lead", ["acknowledge", "shelve"])
    assert store.roles()["shift_lead"] == {Permission.ACKNOWLEDGE, Permission.SHELVE}
    assert set(BUILT_IN_ROLES) < set(store.roles())


def test_log_on_with_the_right_password_only(store):
    store.add_user("ada", "administrator", GOOD)
    assert store.authenticate("ada", GOOD).ok
    wrong = store.authenticate("ada", GOOD + "x")
    assert not wrong.ok and wrong.reason == "unknown user or wrong password"
    unknown = store.authenticate("nobody", GOOD)
    assert not unknown.ok and unknown.reason == wrong.reason  # names are not revealed


def test_a_disabled_user_cannot_log_on_and_the_last_administrator_stays_enabled(store):
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    with pytest.raises(SecurityError, match="last enabled administrator"):
        store.set_disabled("ada", True)
    store.set_disabled("olga", True)
    assert store.authenticate("olga", GOOD).reason == "user is disabled"
    store.set_disabled("olga", False)
    assert store.authenticate("olga", GOOD).ok


def test_lockout_after_repeated_failures_and_its_expiry(store, clock):
    store.configure("lockout_failures", "3")
    store.configure("lockout_seconds", "60")
    store.add_user("ada", "administrator", GOOD)
    results = [store.authenticate("ada", "wrong password 1") for _ in range(3)]
    assert [r.locked_now for r in results] == [False, False, True]
    assert "locked for 60 s after 3 failures" in results[-1].reason
    clock.now += 59
    locked = store.authenticate("ada", GOOD)  # even the right password while locked
    assert not locked.ok and locked.reason.startswith("locked after failed log-ons until")
    clock.now += 2
    assert store.authenticate("ada", GOOD).ok
    # The count starts afresh after the lock ran out.
    assert not store.authenticate("ada", "wrong password 1").locked_now


def test_a_success_resets_the_failure_count(store):
    store.configure("lockout_failures", "2")
    store.add_user("ada", "administrator", GOOD)
    assert not store.authenticate("ada", "wrong password 1").locked_now
    assert store.authenticate("ada", GOOD).ok
    assert not store.authenticate("ada", "wrong password 1").locked_now


def test_a_new_password_clears_a_lockout(store):
    store.configure("lockout_failures", "1")
    store.add_user("ada", "administrator", GOOD)
    assert store.authenticate("ada", "wrong password 1").locked_now
    store.set_password("ada", "another good one 7")
    assert store.authenticate("ada", "another good one 7").ok


def test_the_hash_is_renewed_when_the_parameters_change(store):
    store.add_user("ada", "administrator", GOOD)
    before = stored_hash(store, "ada")
    assert "m=1024,t=1,p=1" in before
    store.configure("argon2_time_cost", "2")
    assert store.authenticate("ada", GOOD).ok
    after = stored_hash(store, "ada")
    assert "m=1024,t=2,p=1" in after and after != before
    assert store.authenticate("ada", GOOD).ok
    assert stored_hash(store, "ada") == after  # no rehash when nothing changed


def test_the_default_parameters_are_argon2id_with_rfc_9106s_low_memory_profile():
    hasher = HashParameters().hasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)


def test_a_damaged_users_store_is_a_clear_error_naming_the_file(tmp_path):
    path = tmp_path / "users.db"
    path.write_bytes(b"this is not a database, it is " * 100)
    store = UserStore(path)
    for action in (store.directory, store.users, lambda: store.authenticate("ada", GOOD)):
        with pytest.raises(SecurityError, match=f"users store {path} cannot be used: file is not a database"):
            action()
