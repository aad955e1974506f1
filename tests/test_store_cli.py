"""Two processes on one data folder: the second `hmi demo --headless` refuses (exit 3) and writes nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXIT_STORE_LOCKED = 3


def demo(data_dir: Path, seconds: float, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = ["demo", "--headless", "--data-dir", str(data_dir), "--for", str(seconds)]
    with log.open("wb") as output:  # a file, not a pipe: a chatty child never blocks on a full pipe
        return subprocess.Popen(
            [sys.executable, "-m", "hmi.app.cli", *command], stdout=output, stderr=subprocess.STDOUT, env=env
        )


def run_while_held(store: Path, args: list[str], log: Path) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """Run ``hmi ARGS`` (its output into ``log``) while this test process holds the store ``store``, as
    a running instance would; the finished process and its output."""
    from hmi.store import StoreLock

    held = StoreLock(store)
    held.acquire()
    try:
        with log.open("wb") as output:
            result = subprocess.run(
                [sys.executable, "-m", "hmi.app.cli", *args],
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=90,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            )
    finally:
        held.release()
    return result, log.read_text()


def counts(path: Path) -> tuple[int, int, int, int]:
    """Samples, their highest seq, alarm events, theirs: what a second writer would change."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        samples = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM samples").fetchone()
        events = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM alarm_events").fetchone()
        return (*samples, *events)
    finally:
        conn.close()


def wait_for_history(path: Path, first: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # bounded
        assert first.poll() is None, log.read_text()[-3000:]
        try:
            if counts(path)[0] > 0:
                return
        except sqlite3.Error:
            pass  # not created or not migrated yet
        time.sleep(0.2)
    raise AssertionError("the first demo wrote no history in time")


@pytest.mark.skipif(sys.platform == "win32", reason="freezes the first process with SIGSTOP")
def test_a_second_demo_on_the_same_data_folder_refuses_naming_the_first_and_writes_nothing(tmp_path):
    history = tmp_path / "history.db"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = demo(tmp_path, 20, first_log)
    try:
        wait_for_history(history, first, first_log)
        # Freeze the first one so its own writes cannot move the counts; it keeps its lock meanwhile.
        os.kill(first.pid, signal.SIGSTOP)
        try:
            before = counts(history)
            second = demo(tmp_path, 5, second_log)
            second.wait(timeout=90)
            after = counts(history)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        err = second_log.read_text()
        assert second.returncode == EXIT_STORE_LOCKED, err[-3000:]
        assert f"pid {first.pid}" in err and "already being written" in err, err[-3000:]
        assert "demo --headless --data-dir" in err  # the first one's command line
        assert after == before
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0, first_log.read_text()[-3000:]
    assert counts(history)[0] > before[0]  # the first one carried on writing


def test_hmi_run_headless_refuses_a_project_whose_store_is_held(tmp_path):
    from project_files import BASE, write_project

    project = write_project(tmp_path, BASE)
    result, err = run_while_held(
        project / "history.db", ["run", str(project), "--headless", "--for", "5"], tmp_path / "run.log"
    )
    assert result.returncode == EXIT_STORE_LOCKED, err[-3000:]
    assert f"pid {os.getpid()}" in err and "already being written" in err
    assert not (project / "history.db").exists()


@pytest.mark.gui
def test_the_window_refuses_a_held_store_and_exits_3(tmp_path):
    # --for: no person to read a dialog, so the message goes to stderr only.
    result, err = run_while_held(
        tmp_path / "history.db", ["demo", "--for", "30", "--data-dir", str(tmp_path)], tmp_path / "gui.log"
    )
    assert result.returncode == EXIT_STORE_LOCKED, err[-3000:]
    assert f"pid {os.getpid()}" in err and "already being written" in err
    assert not (tmp_path / "history.db").exists()
