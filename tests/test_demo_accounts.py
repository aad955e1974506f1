"""The demo's accounts: generated per data folder, kept 0600, printed at start and shown in Help > About."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hmi.security.demo_accounts import DEMO_ROLES, accounts_path, ensure_demo_accounts, read_demo_accounts
from hmi.security.users import UserStore

ROOT = Path(__file__).resolve().parents[1]


def cheap_store(folder: Path) -> UserStore:
    """A users store of its own with cheap hashing (the defaults cost a good part of a second per user)."""
    store = UserStore(folder / "installation" / "users.db")
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    return store


def test_two_data_folders_get_different_passwords_that_log_on(tmp_path):
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first = ensure_demo_accounts(first_dir, store_one := cheap_store(first_dir))
    second = ensure_demo_accounts(second_dir, cheap_store(second_dir))

    assert [(a.user, a.role) for a in first] == list(DEMO_ROLES)
    assert [(a.user, a.role) for a in second] == list(DEMO_ROLES)
    assert {a.password for a in first}.isdisjoint({a.password for a in second})
    assert len({a.password for a in first}) == 3
    assert all(store_one.authenticate(a.user, a.password).ok for a in first)
    assert {(u.name, u.role) for u in store_one.users()} == set(DEMO_ROLES)


def test_the_accounts_are_made_once_per_folder_and_kept_readable_only_by_the_owner(tmp_path):
    store = cheap_store(tmp_path)
    made = ensure_demo_accounts(tmp_path, store)
    again = ensure_demo_accounts(tmp_path, store)

    assert again == made == read_demo_accounts(tmp_path)
    mode = stat.S_IMODE(os.stat(accounts_path(tmp_path)).st_mode)
    assert mode == 0o600
    assert len(store.users()) == 3


def test_a_store_set_up_by_hand_gets_no_demo_accounts(tmp_path):
    store = cheap_store(tmp_path)
    store.add_user("ada", "administrator", "correct horse 42")
    assert ensure_demo_accounts(tmp_path, store) == []
    assert not accounts_path(tmp_path).exists()


@pytest.mark.gui
def test_the_about_box_shows_the_demo_accounts(qtbot, tmp_path):
    from hmi.ui.about import AboutDialog

    accounts = ensure_demo_accounts(tmp_path, cheap_store(tmp_path))
    about = AboutDialog("Demo Plant", tmp_path)
    qtbot.addWidget(about)
    about.show()
    table = about.table
    assert table is not None and table.rowCount() == 3
    shown = [tuple(table.item(row, col).text() for col in range(3)) for row in range(3)]
    assert shown == [(a.user, a.role, a.password) for a in accounts]


@pytest.mark.gui
def test_the_about_box_of_a_plant_shows_no_accounts(qtbot, tmp_path):
    from hmi.ui.about import AboutDialog

    about = AboutDialog("Plant", None)
    qtbot.addWidget(about)
    assert about.table is None and about.accounts == []


def test_hmi_demo_prints_the_generated_accounts_at_start(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("CONVERGE_HMI_DATA_DIR", None)  # the demo keeps its own installation in its data folder
    data = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "demo", "--headless", "--for", "1", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    accounts = read_demo_accounts(data)
    assert len(accounts) == 3
    for account in accounts:
        assert f"password {account.password}" in done.stdout
    assert (data / "installation" / "users.db").exists()


@pytest.mark.gui
def test_help_about_in_the_demo_window_shows_the_accounts(qtbot, tmp_path):
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    accounts = ensure_demo_accounts(tmp_path, cheap_store(tmp_path))
    project = load_project(demo_project_dir())
    session = GuiSession(project, RuntimeBridge(), tmp_path)  # never started: no plant, no station
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    try:
        window.about_action.trigger()
        table = window.about.table
        assert window.about.isVisible() and table is not None
        assert [table.item(row, 2).text() for row in range(3)] == [a.password for a in accounts]
        window.about.close()
    finally:
        for thread in (session.runtime_thread, session.plant_thread):
            if thread is not None:
                thread.loop.close()  # their loops were made but never run


def test_hmi_demo_adds_no_accounts_to_a_plants_users_store(tmp_path, monkeypatch, capsys):
    from hmi.app.demo_accounts_cli import announce_demo_accounts
    from hmi.security.paths import users_path

    monkeypatch.setenv("CONVERGE_HMI_DATA_DIR", str(tmp_path / "plant-installation"))
    announce_demo_accounts(tmp_path / "demo")
    assert "no demo accounts made" in capsys.readouterr().err
    assert UserStore(users_path()).is_empty() and read_demo_accounts(tmp_path / "demo") == []
