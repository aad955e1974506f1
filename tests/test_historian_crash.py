"""Durability: a writer killed with SIGKILL while writing hard leaves a sound file that lost at most
what it had not committed yet."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from hmi.historian import HistoryReader, HistoryWriter
from hmi.model import Sample

CHILD = textwrap.dedent(
    """
    import sys, time
    from hmi.historian import HistoryWriter
    from hmi.model import Sample

    writer = HistoryWriter(sys.argv[1], commit_interval=0.2)
    writer.start()
    appended = 0
    while True:
        writer.extend((f"T{i % 20}", Sample.good(float(i % 1000), 1.7e9 + (appended + i) / 1e3))
                      for i in range(10_000))
        appended += 10_000
        print(appended, writer.stats()["written"], flush=True)
        time.sleep(0.01)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_minus_9_during_heavy_writing_loses_only_the_uncommitted_tail(tmp_path):
    path = tmp_path / "h.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        committed = appended = 0
        deadline = time.monotonic() + 60
        while committed < 100_000:  # several commits in, and still appending
            assert time.monotonic() < deadline, "the child never got going"
            line = child.stdout.readline()
            assert line, f"the child ended early with {child.poll()}"
            appended, committed = map(int, line.split())
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        # Whatever was committed before the last report survived; nothing beyond what was appended.
        assert committed <= rows <= appended + 10_000
        # Rollups commit in the same transaction as their raw rows: a crash never leaves them apart.
        for table in ("rollup_10s", "rollup_1m", "rollup_1h"):
            assert conn.execute(f"SELECT sum(count) FROM {table}").fetchone()[0] == rows

    writer = HistoryWriter(path, commit_interval=0.05)  # the file is usable as it is
    writer.start()
    writer.append("T0", Sample.good(1.0, 1.8e9))
    writer.stop()
    assert writer.stats()["written"] == 1
    assert HistoryReader(path).count() == rows + 1
