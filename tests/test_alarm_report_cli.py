"""``hmi alarms report``: the performance figures of a real journal file, as text, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_alarm_kpi import HOUR, T0, journal_file, plant_hour

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    (root / "project.yaml").write_text("name: Report\nhistory: {path: history.db}\n", "utf-8")
    journal_file(root, plant_hour())
    return root


def hmi(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def period(project: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return hmi("alarms", "report", str(project), "--from", str(T0), "--to", str(T0 + HOUR), *more)


def test_json_has_every_figure(project: Path) -> None:
    done = period(project, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["alarms"] == 16 and report["peak_per_10min"] == 14
    assert report["band"] == "likely over-demanding"
    assert [(f["count"], f["top"][0]) for f in report["floods"]] == [(14, ["F.A", 7])]
    assert [t["alarm"] for t in report["top"]][:3] == ["F.A", "F.B", "F.C"]
    assert [c["alarm"] for c in report["chattering"]] == ["F.A", "F.B"]
    assert [s["alarm"] for s in report["stale"]] == ["STALE"]
    assert [s["alarm"] for s in report["standing"]] == ["STALE", "LOW.ONE"]
    assert {s["alarm"]: s["out_of_service_s"] for s in report["set_aside"]} == {"OOS": 1800.0, "SHELF": 0.0}


def test_text_reads_section_by_section(project: Path) -> None:
    done = period(project)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "Alarms annunciated     16" in text
    assert "Floods (more than 10 alarms in 10 min): 1" in text
    assert "14 alarms; top: F.A x7, F.B x5, F.C x2" in text
    assert "Chattering (3 or more in 1 min): 2" in text
    assert "Stale (active longer than 24 h): 1" in text
    assert "Standing (active at the end of the period): 2" in text
    assert "SHELF  shelved 13.3 min" in text


def test_csv_is_one_table(project: Path) -> None:
    done = period(project, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    sections = {r["section"] for r in rows}
    assert {"summary", "flood", "top", "chattering", "stale", "standing", "shelved"} <= sections
    [flood] = [r for r in rows if r["section"] == "flood"]
    assert flood["count"] == "14" and flood["detail"].startswith("F.A x7")


def test_bad_requests(project: Path, tmp_path: Path) -> None:
    done = hmi("alarms", "report", str(project), "--from", str(T0 + 10), "--to", str(T0))
    assert done.returncode == 2 and "is not before --to" in done.stderr
    done = hmi("alarms", "report", str(project), "--operators", "0")
    assert done.returncode == 2 and "--operators" in done.stderr
    (tmp_path / "project.yaml").write_text("name: Empty\nhistory: {path: history.db}\n", "utf-8")
    done = hmi("alarms", "report", str(tmp_path))
    assert done.returncode == 1 and "no alarm journal yet" in done.stderr


def test_help_has_an_example() -> None:
    done = hmi("alarms", "report", "--help")
    assert done.returncode == 0 and "example: hmi alarms report" in done.stdout
