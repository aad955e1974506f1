"""A graceful stop under load: SIGTERM to `hmi run --headless` commits everything it was offered, or
logs exactly what it did not; the file holds exactly what the log says was written."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from project_files import write_project

ROOT = Path(__file__).resolve().parents[1]
TAGS = 3000  # uint16 holding registers 0..2999, every one changing on every read, read every 100 ms
STOPPED = re.compile(
    r"stopped: (\d+) samples written to .*, (\d+) dropped, (\d+) refused, (\d+) filtered, of (\d+) offered"
)
NOT_COMMITTED = re.compile(
    r"history: (\d+) samples not committed at stop \((\d+) tags, source time (\S+) to (\S+)\)"
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")


@contextmanager
def changing_plc(port: int) -> Iterator[None]:
    """A pymodbus server in its own process whose registers all change between two reads."""
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.modbus", str(port), "0", "changing"],
        cwd=ROOT,
        stdin=subprocess.PIPE,  # closed when the test ends, however it ends: the server then ends too
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        assert b"listening" in server.stdout.readline()
        yield
    finally:
        server.kill()
        server.wait(timeout=10)
        for pipe in (server.stdin, server.stdout):
            if pipe is not None:
                pipe.close()


def project(root: Path, port: int) -> Path:
    tags = "\n".join(
        f'  T{i:04d}: {{connection: plc1, address: "hr:{i}", type: uint16, scan: fast}}' for i in range(TAGS)
    )
    text = (
        "name: Load\n"
        f"connections:\n  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 2s}}\n"
        "scan_classes: {fast: 100ms}\n"
        # A long commit interval: at SIGTERM up to ten seconds of samples wait in memory.
        "history: {path: history.db, commit_interval: 10s}\n"
        f"tags:\n{tags}\n"
    )
    return write_project(root, text)


def start(folder: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as output:  # a file, not a pipe: a chatty child never blocks on a full pipe
        return subprocess.Popen(
            [sys.executable, "-m", "hmi.app.cli", "run", str(folder), "--headless", "--for", "120"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )


def rows(path: Path) -> int:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    finally:
        conn.close()


def wait_for_rows(path: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # bounded
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if rows(path) >= TAGS:
                return
        except sqlite3.Error:
            pass  # not created or not migrated yet
        time.sleep(0.2)
    raise AssertionError(f"no history after {timeout} s: {log.read_text()[-3000:]}")


def terminate(process: subprocess.Popen[bytes], log: Path, signalled: bool = False) -> str:
    if not signalled:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=90)
    text = log.read_text()
    assert process.returncode == 0, text[-3000:]
    return text


def test_sigterm_with_a_backlog_commits_every_sample_it_was_offered(tmp_path, free_port):
    port = free_port()
    folder = project(tmp_path, port)
    log = tmp_path / "run.log"
    with changing_plc(port):
        process = start(folder, log)
        try:
            wait_for_rows(folder / "history.db", process, log)  # the first commit is in
            time.sleep(4)  # several seconds of samples in memory, waiting for the next commit
            text = terminate(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    written, dropped, refused, filtered, offered = map(int, STOPPED.search(text).groups())
    assert offered > 3 * TAGS and dropped == refused == filtered == 0, text[-3000:]
    assert written == offered
    assert rows(folder / "history.db") == written
    assert "not committed" not in text


def test_sigterm_while_the_disk_is_locked_names_what_it_drops_and_the_count_is_true(tmp_path, free_port):
    port = free_port()
    folder = project(tmp_path, port)
    log = tmp_path / "run.log"
    path = folder / "history.db"
    with changing_plc(port):
        process = start(folder, log)
        try:
            wait_for_rows(path, process, log)
            # Another process takes the write lock: no commit can get through until the stop's deadline.
            blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
            blocker.execute("BEGIN IMMEDIATE")
            try:
                time.sleep(2)
                process.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 60
                while "not committed at stop" not in log.read_text():  # bounded
                    assert time.monotonic() < deadline and process.poll() is None, log.read_text()[-3000:]
                    time.sleep(0.2)
            finally:
                blocker.execute("ROLLBACK")
                blocker.close()
            text = terminate(process, log, signalled=True)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    written, dropped, refused, filtered, offered = map(int, STOPPED.search(text).groups())
    lost = [int(m.group(1)) for m in NOT_COMMITTED.finditer(text)]
    assert lost and dropped > 0, text[-3000:]
    assert written + dropped + refused + filtered == offered
    assert sum(lost) <= dropped  # the rest were offered after the queue closed, counted as well
    assert rows(path) == written
    assert int(NOT_COMMITTED.search(text).group(2)) >= TAGS  # the plant's tags, and the station's own
