"""`hmi users` as plant IT scripts it: real processes, a real users store in a temporary data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = "correct horse 42"
ALSO_GOOD = "battery staple 9"


def hmi(data: Path, *args: str, password: str | None = None, as_password: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("CONVERGE_PASSWORD", "CONVERGE_AS_PASSWORD")}
    env["CONVERGE_HMI_DATA_DIR"] = str(data)
    if password is not None:
        env["CONVERGE_PASSWORD"] = password
    if as_password is not None:
        env["CONVERGE_AS_PASSWORD"] = as_password
    return subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "users", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "machine-data"
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        done = hmi(folder, "config", key, value)
        assert done.returncode == 0, done.stderr
    return folder


def test_the_first_user_is_an_administrator_added_without_a_log_on(data):
    refused = hmi(data, "add", "olga", "--role", "operator", password=GOOD)
    assert refused.returncode == 2
    assert "hmi users: the first user must be an administrator (given: operator)" in refused.stderr
    added = hmi(data, "add", "ada", "--role", "administrator", password=GOOD)
    assert added.returncode == 0, added.stderr
    listed = hmi(data, "list", "--format", "json")
    assert json.loads(listed.stdout) == [
        {"name": "ada", "role": "administrator", "disabled": False, "locked_until": 0.0}
    ]
    assert (data / "users.db").exists()


def test_later_changes_need_an_administrator_given_with_as(data):
    assert hmi(data, "add", "ada", "--role", "administrator", password=GOOD).returncode == 0
    missing = hmi(data, "add", "olga", "--role", "operator", password=GOOD)
    assert missing.returncode == 2 and "give --as NAME" in missing.stderr
    wrong = hmi(data, "add", "olga", "--role", "operator", "--as", "ada", password=GOOD, as_password="nope")
    assert wrong.returncode == 2 and "ada: unknown user or wrong password" in wrong.stderr
    done = hmi(data, "add", "olga", "--role", "operator", "--as", "ada", password=GOOD, as_password=GOOD)
    assert done.returncode == 0, done.stderr
    by_operator = hmi(data, "add", "eve", "--role", "viewer", "--as", "olga", password=GOOD, as_password=GOOD)
    assert by_operator.returncode == 2
    assert "olga (operator) lacks the permission manage_users" in by_operator.stderr


def test_passwd_disable_enable_and_roles(data):
    assert hmi(data, "add", "ada", "--role", "administrator", password=GOOD).returncode == 0
    admin = {"as_password": GOOD}
    added = hmi(data, "add", "olga", "--role", "operator", "--as", "ada", password=GOOD, **admin)
    assert added.returncode == 0, added.stderr
    assert hmi(data, "passwd", "olga", "--as", "ada", password=ALSO_GOOD, **admin).returncode == 0
    assert hmi(data, "disable", "olga", "--as", "ada", **admin).returncode == 0
    assert "olga\toperator (disabled)" in hmi(data, "list").stdout
    assert hmi(data, "enable", "olga", "--as", "ada", **admin).returncode == 0
    permissions = ("--permissions", "acknowledge,shelve")
    made = hmi(data, "roles", "--add", "shift_lead", *permissions, "--as", "ada", **admin)
    assert made.returncode == 0, made.stderr
    roles = json.loads(hmi(data, "roles", "--format", "json").stdout)
    assert roles["shift_lead"] == ["acknowledge", "shelve"] and roles["viewer"] == []
    weak = hmi(data, "passwd", "olga", "--as", "ada", password="short", **admin)
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr


def test_without_a_terminal_or_the_variable_the_password_is_refused_not_hung(data):
    missing = hmi(data, "add", "ada", "--role", "administrator")
    assert missing.returncode == 2 and "set CONVERGE_PASSWORD" in missing.stderr


def test_help_says_what_it_does_with_an_example(tmp_path):
    shown = hmi(tmp_path, "--help")
    assert shown.returncode == 0
    assert "hmi users add alice --role administrator" in shown.stdout
    assert "CONVERGE_HMI_DATA_DIR" in shown.stdout


def test_a_damaged_store_exits_2_naming_it(tmp_path):
    folder = tmp_path / "machine-data"
    folder.mkdir()
    (folder / "users.db").write_bytes(b"not a database " * 200)
    listed = hmi(folder, "list")
    assert listed.returncode == 2
    assert f"hmi users: users store {folder / 'users.db'} cannot be used" in listed.stderr
