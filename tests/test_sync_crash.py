"""``hmi run --headless`` killed with SIGKILL mid-batch, then restarted: no row lost, none twice (dedup)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sync_receiver import Receiver
from sync_store import FilledStore

HISTORY, EVENTS = 6000, 300


def project(root: Path, url: str, in_flight: int = 2) -> Path:
    root.mkdir()
    (root / "project.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: Crash Plant
            history: {{commit_interval: 200ms, retention: 36500d}}  # the backlog below is from 2023
            sync:
              enterprise:
                url: "{url}"
                streams: [history, alarms]
                batch: {{rows: 500, max_age: 100ms}}
                retry: {{initial: 50ms, max: 500ms}}
                timeout: {{connect: 1s, read: 30s}}
                in_flight: {in_flight}
            """
        ),
        encoding="utf-8",
    )
    return root


def hmi(root: Path, *extra: str) -> subprocess.Popen[str]:
    """``hmi run ROOT --headless`` as a child process; its log goes to ROOT/run.log."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    with (root / "run.log").open("a") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "hmi.app.cli", "run", str(root), "--headless", *extra],
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
            env=env,
        )


def committed(path: Path) -> dict[str, list[int]]:
    conn = sqlite3.connect(path)
    try:
        return {
            "history": [row[0] for row in conn.execute("SELECT seq FROM samples ORDER BY seq")],
            "alarms": [row[0] for row in conn.execute("SELECT seq FROM alarm_events ORDER BY seq")],
        }
    finally:
        conn.close()


def backlog_project(tmp_path: Path, receiver: Receiver, in_flight: int = 2) -> Path:
    """A plant whose history holds a backlog from before (an outage the station comes back from)."""
    root = project(tmp_path / "plant", receiver.url, in_flight)
    backlog = FilledStore(root / "history.db")
    backlog.add_samples(HISTORY)
    backlog.add_events(EVENTS)
    backlog.commit()
    backlog.close()
    return root


def kill_and_restart(root: Path, receiver: Receiver, until: Callable[[], None]) -> list[str]:
    """Run the station until ``until()`` returns (it waits, bounded), SIGKILL it, run it again for 3 s
    with every request answered; the keys of the requests left hanging at the kill."""
    child = hmi(root)
    children = [child]
    try:
        try:
            until()
        except AssertionError:
            raise AssertionError((root / "run.log").read_text()) from None
        hung = [r.key for r in list(receiver.requests) if r.action == "hang"]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        receiver.plan = lambda number, request: "ok"
        again = hmi(root, "--for", "3")
        children.append(again)
        assert again.wait(timeout=120) == 0, (root / "run.log").read_text()
    finally:
        for process in children:
            if process.poll() is None:
                process.kill()
                process.wait()
        receiver.stop()
    return hung


def assert_every_row_arrived_once(root: Path, receiver: Receiver) -> dict[str, list[int]]:
    stored = committed(root / "history.db")
    for stream in ("history", "alarms"):
        arrived = Counter(int(row["seq"]) for row in receiver.rows(stream))
        assert sorted(arrived) == stored[stream], f"{stream}: every committed row arrived"
        assert max(arrived.values()) == 1, f"{stream}: none twice after dedup by key"
    return stored


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_batch_then_restart_loses_nothing_and_the_receiver_dedups_the_resend(tmp_path, free_port):
    receiver = Receiver(free_port()).start()
    root = backlog_project(tmp_path, receiver)
    history_requests: list[int] = []

    def plan(number: int, request: object) -> str:
        if getattr(request, "stream", "") == "history":
            history_requests.append(number)
            if len(history_requests) == 4:
                return "hang"  # the receiver keeps this batch, the answer never leaves: then the kill
        return "ok"

    def until() -> None:
        receiver.wait_for(lambda: len(history_requests) >= 4, timeout=60)
        # The plan runs before the body is read: wait until the hung request is recorded whole.
        receiver.wait_for(lambda: any(r.action == "hang" for r in list(receiver.requests)), timeout=60)

    receiver.plan = plan
    [hung] = kill_and_restart(root, receiver, until)
    assert receiver.keys_sent().count(hung) == 2, "the batch in flight at the kill went again, under its key"
    assert receiver.repeats >= 1
    stored = assert_every_row_arrived_once(root, receiver)
    assert len(stored["history"]) >= HISTORY and len(stored["alarms"]) >= EVENTS


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_with_several_batches_on_the_wire_and_later_ones_answered_loses_and_doubles_nothing(
    tmp_path, free_port
):
    receiver = Receiver(free_port()).start()
    root = backlog_project(tmp_path, receiver, in_flight=4)
    history_requests: list[int] = []

    def plan(number: int, request: object) -> str:
        if getattr(request, "stream", "") == "history":
            history_requests.append(number)
            if len(history_requests) in (4, 6):
                return "hang"  # two batches out, never answered; the ones around them are
        return "ok"

    def until() -> None:
        # Later batches answered while the two hang: the cursor waits on the first of them.
        receiver.wait_for(lambda: len(history_requests) >= 9, timeout=60)
        receiver.wait_for(lambda: sum(r.action == "hang" for r in list(receiver.requests)) == 2, timeout=60)

    receiver.plan = plan
    hung = kill_and_restart(root, receiver, until)
    assert len(hung) == 2
    for key in hung:
        assert receiver.keys_sent().count(key) == 2, "each batch out at the kill went again, under its key"
    assert_every_row_arrived_once(root, receiver)
