"""``hmi sync status|quarantine|resend`` on a project whose endpoint refused one batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_receiver import Receiver
from sync_store import filled_store, sync_once, sync_project

from hmi.app.cli import main


@pytest.fixture
def refused_once(tmp_path: Path, free_port) -> tuple[Path, Receiver]:
    """A project whose first history batch was refused with 400 (quarantined); the rest delivered."""
    receiver = Receiver(free_port()).start()
    root = tmp_path / "plant"
    project = sync_project(root, receiver.url)
    receiver.plan = lambda n, request: 400 if n == 0 and request.stream == "history" else "ok"
    with filled_store(project.history.path, samples=300, events=10) as filled:
        sync_once(project, filled, receiver, {"history": 200, "alarms": 10})
    yield root, receiver
    receiver.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_quarantine_and_resend(refused_once: tuple[Path, Receiver], capsys) -> None:
    root, receiver = refused_once
    code, out, _ = run(capsys, "sync", "status", str(root), "--format", "json")
    assert code == 0
    status = {row["stream"]: row for row in json.loads(out)}
    assert status["history"]["backlog_rows"] == 0 and status["history"]["quarantined"] == 1
    assert status["history"]["delivered_rows"] == 200 and "HTTP 400" in status["history"]["last_error"]
    assert status["alarms"]["delivered_rows"] == 10 and status["alarms"]["quarantined"] == 0
    code, out, _ = run(capsys, "sync", "status", str(root))
    assert code == 0 and out.splitlines()[0].split()[:3] == ["endpoint", "stream", "backlog_rows"]

    code, out, _ = run(capsys, "sync", "quarantine", str(root), "--format", "json")
    [kept] = json.loads(out)
    assert (kept["stream"], kept["seq_first"], kept["seq_last"], kept["status"]) == ("history", 1, 100, 400)

    code, _, err = run(capsys, "sync", "resend", str(root), "no-such-batch")
    assert code == 2 and kept["key"] in err
    code, out, _ = run(capsys, "sync", "resend", str(root), kept["key"][:8], "--format", "json")
    assert code == 0 and json.loads(out)[0]["delivered"] is True
    assert len({int(row["seq"]) for row in receiver.rows("history")}) == 300
    assert receiver.keys_sent().count(kept["key"]) == 2, "resent under its own key"
    code, _, _ = run(capsys, "sync", "quarantine", str(root))
    assert code == 1
    code, _, _ = run(capsys, "sync", "resend", str(root), "--all")
    assert code == 1
