"""``hmi alarms history``: the journal a real engine and store wrote, filtered and formatted."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alarm_journal_files import JOURNAL_PROJECT, journalling
from waiting import wait_until

from hmi.model import Sample

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000.0

class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def journalled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal: both raised, TEMP acknowledged with a comment, LEVEL shelved an hour later."""
    root = tmp_path_factory.mktemp("journal")
    clock = Clock()
    with journalling(root, clock=clock) as (_project, engine, journal):
        engine.on_sample("LEVEL", Sample.good(85.0))
        clock.now += 10
        engine.on_sample("TEMP", Sample.good(95.0))
        clock.now += 10
        engine.acknowledge("TEMP.HIHI", "alice", "called the boiler house")
        clock.now += 3600
        assert engine.shelve("LEVEL.HI", 1800, "transmitter repair", "bob") is None
        wait_until(lambda: journal.stats().written == 4)
    return root


def hmi(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_csv_holds_every_state_change_with_who_from_to_and_comment(journalled: Path) -> None:
    done = hmi("alarms", "history", str(journalled), "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["alarm"], r["kind"], r["from_state"], r["state"], r["user"], r["comment"]) for r in rows] == [
        ("LEVEL.HI", "raised", "normal", "active unacknowledged", "", ""),
        ("TEMP.HIHI", "raised", "normal", "active unacknowledged", "", ""),
        (
            "TEMP.HIHI",
            "acknowledged",
            "active unacknowledged",
            "active acknowledged",
            "alice",
            "called the boiler house",
        ),
        ("LEVEL.HI", "shelved", "active unacknowledged", "shelved", "bob", "transmitter repair"),
    ]
    assert rows[0]["ts"] == "2023-11-14T22:13:20.000Z" and rows[0]["value"] == "85.0"


def test_filters_by_time_area_and_priority_as_json(journalled: Path) -> None:
    done = hmi("alarms", "history", str(journalled), "--priority", "urgent", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [(e["alarm"], e["kind"]) for e in json.loads(done.stdout)] == [
        ("TEMP.HIHI", "raised"),
        ("TEMP.HIHI", "acknowledged"),
    ]
    done = hmi("alarms", "history", str(journalled), "--area", "tanks", "--format", "json")
    assert [(e["alarm"], e["kind"]) for e in json.loads(done.stdout)] == [
        ("LEVEL.HI", "raised"),
        ("LEVEL.HI", "shelved"),
    ]
    done = hmi(
        "alarms", "history", str(journalled), "--from", str(T0 + 5), "--to", str(T0 + 25), "--format", "json"
    )
    assert [(e["alarm"], e["kind"]) for e in json.loads(done.stdout)] == [
        ("TEMP.HIHI", "raised"),
        ("TEMP.HIHI", "acknowledged"),
    ]


def test_text_reads_as_sentences(journalled: Path) -> None:
    done = hmi("alarms", "history", str(journalled))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    assert (
        "TEMP.HIHI  acknowledged: active unacknowledged -> active acknowledged"
        " by alice (called the boiler house)" in lines[2]
    )


def test_bad_requests_exit_2_with_a_reason(journalled: Path, tmp_path: Path) -> None:
    done = hmi("alarms", "history", str(journalled), "--area", "nowhere")
    assert done.returncode == 2 and "--area 'nowhere': no alarm of the project is in that area" in done.stderr
    done = hmi("alarms", "history", str(journalled), "--from", "yesterday-ish")
    assert done.returncode == 2 and "yesterday-ish" in done.stderr
    done = hmi("alarms", "history", str(journalled), "--priority", "critical")
    assert done.returncode == 2 and "critical" in done.stderr
    (tmp_path / "project.yaml").write_text("name: Empty\nhistory: {path: history.db}\n", "utf-8")
    done = hmi("alarms", "history", str(tmp_path))
    assert done.returncode == 1 and "no alarm journal yet" in done.stderr
    (tmp_path / "history.db").write_bytes(b"not a database at all" * 100)
    done = hmi("alarms", "history", str(tmp_path))
    assert done.returncode == 2 and "cannot read the alarm journal" in done.stderr


def test_help_has_an_example() -> None:
    done = hmi("alarms", "history", "--help")
    assert done.returncode == 0 and "example: hmi alarms history" in done.stdout


def test_journal_only_alarms_are_a_priority_of_their_own(tmp_path: Path) -> None:
    """``--priority journal``: the raises and clears nobody is shown, read back for the review."""
    text = textwrap.dedent(JOURNAL_PROJECT).replace(
        "history: {path: history.db}",
        "  LEVEL.LOG: {tag: LEVEL, type: hi, limit: 50, priority: journal}\nhistory: {path: history.db}",
    )
    with journalling(tmp_path, text, Clock()) as (_project, engine, journal):
        engine.on_sample("LEVEL", Sample.good(60.0))
        engine.on_sample("LEVEL", Sample.good(40.0))
        wait_until(lambda: journal.stats().written == 2)
    done = hmi("alarms", "history", str(tmp_path), "--priority", "journal", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [(e["alarm"], e["kind"]) for e in json.loads(done.stdout)] == [
        ("LEVEL.LOG", "raised"),
        ("LEVEL.LOG", "cleared"),
    ]
