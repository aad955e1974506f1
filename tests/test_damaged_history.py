"""A broken history store never stops the control room.

Each class of damage (not a database, truncated mid-page, a corrupted page, read-only file and
folder, a folder or a blocked lock where the file should be, a folder that cannot be created) is
made for real in a temp folder, then ``hmi run --headless --for N`` runs as a subprocess against a
real Modbus server: it exits 0, its values are live (an alarm on a polled register is raised in the
log) and the urgent ``SYSTEM.HISTORY.AVAILABLE`` alarm says what happened. The damaged file is left
exactly as found, for plant IT to inspect. In the window, the demo with a damaged data folder shows
live values, takes writes and shows the alarm in the banner.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from modbus_peer import SERVER_HOLDING, SERVER_SCRIPT
from project_files import write_project

PAGE = 4096
RUN_SECONDS = 4
LEVEL = SERVER_HOLDING[1]  # what the server holds at hr:1

PROJECT = """\
name: Damaged History
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 1s}}
tags:
  LEVEL: {{connection: plc1, address: "hr:1", type: uint16}}
alarms:
  LEVEL.HI: {{tag: LEVEL, type: hi, limit: 1, message: "level high {{value}}"}}
history: {{path: data/history.db, commit_interval: 100ms}}
"""


@pytest.fixture(scope="module")
def modbus_port() -> Iterator[int]:
    """A real pymodbus server in its own process for every run of this module."""
    from conftest import get_free_port

    port = get_free_port()
    command = [sys.executable, str(SERVER_SCRIPT), str(port)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            assert b"listening" in process.stdout.readline(), "the Modbus server did not start"
            yield port
        finally:
            process.kill()
            process.wait(timeout=30)


def valid_store(path: Path, samples: int = 20_000) -> None:
    """A real store file with history and journal tables and enough rows to span many pages."""
    from hmi.alarms.journal import AlarmJournal
    from hmi.historian.writer import HistoryWriter
    from hmi.model import Sample
    from hmi.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path, 0.05)
    history = HistoryWriter(path, writer=store.writer)
    AlarmJournal(store.writer)
    store.open()
    now = time.time() - samples
    history.extend((f"T{i % 50}", Sample.good(float(i), now + i)) for i in range(samples))
    store.close()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    assert path.stat().st_size > 8 * PAGE


def _immutable(path: Path, on: bool) -> None:
    """Root ignores permission bits: the immutable attribute makes read-only real for it too."""
    if os.geteuid() != 0:
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: a read-only file cannot be made")
    subprocess.run([chattr, "+i" if on else "-i", str(path)], check=True, capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    mode = path.stat().st_mode
    os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    _immutable(path, True)
    try:
        yield
    finally:
        _immutable(path, False)
        os.chmod(path, stat.S_IMODE(mode))


def random_bytes(data: Path) -> None:
    data.mkdir()
    (data / "history.db").write_bytes(os.urandom(5 * PAGE + 123))


def sqlite_header_then_garbage(data: Path) -> None:
    valid_store(data / "history.db")
    raw = bytearray((data / "history.db").read_bytes())
    raw[100:PAGE] = os.urandom(PAGE - 100)  # the schema page after the header: every table unreadable
    (data / "history.db").write_bytes(bytes(raw))


def truncated_mid_page(data: Path) -> None:
    valid_store(data / "history.db")
    size = (data / "history.db").stat().st_size
    with (data / "history.db").open("r+b") as file:
        file.truncate((size // PAGE // 3) * PAGE + PAGE // 2)


def corrupted_page(data: Path) -> None:
    valid_store(data / "history.db")
    raw = bytearray((data / "history.db").read_bytes())
    for page in range(1, len(raw) // PAGE):  # every page but the first: the tables' b-trees are garbage
        start = page * PAGE
        raw[start : start + 64] = b"\xff" * 64
    (data / "history.db").write_bytes(bytes(raw))


def folder_named_history_db(data: Path) -> None:
    (data / "history.db").mkdir(parents=True)


def lock_cannot_be_created(data: Path) -> None:
    (data / "history.db.lock").mkdir(parents=True)  # a folder where the lock file goes


def folder_cannot_be_created(data: Path) -> None:
    data.write_text("a file where the data folder should be\n")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "random bytes": random_bytes,
    "header then garbage": sqlite_header_then_garbage,
    "truncated mid-page": truncated_mid_page,
    "corrupted pages": corrupted_page,
    "folder named history.db": folder_named_history_db,
    "lock cannot be created": lock_cannot_be_created,
    "data folder cannot be created": folder_cannot_be_created,
}


def run_headless(project: Path, log: Path) -> subprocess.CompletedProcess[bytes]:
    with log.open("wb") as output:  # a file, not a pipe: a chatty child never blocks on a full pipe
        command = ["run", str(project), "--headless", "--for", str(RUN_SECONDS)]
        return subprocess.run(
            [sys.executable, "-m", "hmi.app.cli", *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=120,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )


def assert_ran_without_history(result: subprocess.CompletedProcess[bytes], text: str) -> None:
    assert result.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert f"alarm LEVEL.HI raised [medium]: level high {LEVEL}" in text, text[-3000:]  # values are live
    assert "alarm SYSTEM.HISTORY.AVAILABLE raised [urgent]: History unavailable" in text, text[-3000:]


def _snapshot(data: Path) -> dict[str, bytes]:
    if not data.is_dir():
        return {"": data.read_bytes()} if data.exists() else {}
    return {p.name: p.read_bytes() for p in data.iterdir() if p.is_file() and p.name.startswith("history.db")}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_the_station_runs_without_a_damaged_store_and_raises_the_urgent_alarm(tmp_path, modbus_port, damage):
    project = write_project(tmp_path, PROJECT.format(port=modbus_port))
    data = project / "data"
    damage(data)
    before = _snapshot(data)
    log = tmp_path / "run.log"
    result = run_headless(project, log)
    text = log.read_text(errors="replace")
    assert_ran_without_history(result, text)
    assert "history unavailable, running without it" in text
    # The journal's events were held in memory, and what could not be kept is counted, never silent.
    assert "alarms: stopped with" in text and "records not committed: the store never opened" in text
    if "" in before or "history.db" in before:
        after = _snapshot(data)
        assert after.get("history.db", after.get("")) == before.get("history.db", before.get(""))


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_store_file_or_folder_does_not_stop_the_station(tmp_path, modbus_port, what):
    project = write_project(tmp_path, PROJECT.format(port=modbus_port))
    data = project / "data"
    valid_store(data / "history.db")
    target = data / "history.db" if what == "file" else data
    log = tmp_path / "run.log"
    with read_only(target):
        result = run_headless(project, log)
    assert_ran_without_history(result, log.read_text(errors="replace"))


def test_a_sound_store_raises_no_history_alarm(tmp_path, modbus_port):
    """The alarm means something: with a good file, history records and the alarm stays quiet."""
    project = write_project(tmp_path, PROJECT.format(port=modbus_port))
    log = tmp_path / "run.log"
    result = run_headless(project, log)
    text = log.read_text(errors="replace")
    assert result.returncode == 0, text[-3000:]
    assert f"level high {LEVEL}" in text
    assert "SYSTEM.HISTORY.AVAILABLE raised" not in text, text[-3000:]
    assert "history unavailable" not in text


@pytest.mark.gui
def test_the_demo_with_a_damaged_history_file_shows_values_and_the_history_alarm(qtbot, tmp_path):
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    damaged = os.urandom(3 * 4096 + 17)
    (tmp_path / "history.db").write_bytes(damaged)
    project = load_project(demo_project_dir())
    session = GuiSession(project, RuntimeBridge(), demo_data_dir=tmp_path)
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.relay.watch(session.start(), lambda _future: window.on_runtime_started())
    window.context.show_tags("test watch list", project.tags)  # the bridge carries only tags shown
    try:
        qtbot.waitUntil(
            lambda: all(window.latest.get(t) is not None and window.latest[t].is_good for t in project.tags),
            timeout=20000,
        )
        qtbot.waitUntil(lambda: "History unavailable" in window.alarm_strip.text.text(), timeout=10000)
        assert "URGENT" in window.alarm_strip.text.text()
        assert "not a database" in window.alarm_strip.text.text()  # says what happened
        # Writes still go through the command path to the PLC.
        result = session.write("PUMP1.SPEED_SP", 900).result(timeout=10)
        assert result.ok, result.error
        qtbot.waitUntil(lambda: window.latest["PUMP1.SPEED_SP"].value == 900, timeout=10000)
    finally:
        window.close()
        session.stop()
    assert (tmp_path / "history.db").read_bytes() == damaged  # left as found, for plant IT
