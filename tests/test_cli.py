"""The command-line contract, run as a user runs it: a real `hmi` process."""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hmi.core.resources import demo_project_dir


def hmi(*args, timeout=90):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_version():
    result = hmi("--version")
    assert result.returncode == 0 and result.stdout.startswith("hmi ")


def test_check_accepts_the_demo_project():
    result = hmi("check", str(demo_project_dir()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_reports_a_typo_an_unknown_tag_and_a_bad_address_with_file_and_line(tmp_path):
    project = tmp_path / "plant"
    shutil.copytree(demo_project_dir(), project)
    yaml_file = project / "project.yaml"
    text = yaml_file.read_text()
    text = text.replace(
        'TANK1.OUTFLOW: {connection: plc1, address: "hr:4"',
        'TANK1.OUTFLOW: {connection: plc1, address: "hx:4"',
    )
    text = text.replace("PUMP1.SPEED: {connection: plc1, address:", "PUMP1.SPEED: {connection: plc1, adress:")
    yaml_file.write_text(text)
    screen = project / "screens" / "overview.yaml"
    screen.write_text(screen.read_text().replace("tag: TANK1.TEMP,", "tag: TANK1.TEMPERATURE,"))

    result = hmi("check", str(project))

    assert result.returncode == 2
    lines = [line for line in result.stdout.splitlines() if line.strip()]

    def line_of(path, needle):
        return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)

    expected = {
        (str(yaml_file), line_of(yaml_file, "adress:"), "adress"),
        (str(yaml_file), line_of(yaml_file, '"hx:4"'), "hx:4"),
        (str(screen), line_of(screen, "TANK1.TEMPERATURE"), "TANK1.TEMPERATURE"),
    }
    for file, line, word in expected:
        assert any(out.startswith(f"{file}:{line}:") and word in out for out in lines), (file, line, lines)
    assert len(lines) == 3, lines


def test_demo_headless_runs_for_a_while_and_records_every_tag(tmp_path):
    result = hmi("demo", "--headless", "--for", "8", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    import sqlite3

    db = sqlite3.connect(tmp_path / "history.db")
    counts = dict(
        db.execute("SELECT t.name, count(*) FROM samples s JOIN tags t ON t.id = s.tag_id GROUP BY t.name")
    )
    from hmi.project.loader import load_project

    for tag in load_project(demo_project_dir()).tags:
        assert counts.get(tag, 0) > 0, f"no history for {tag}: {counts}"

    export = hmi("history", "export", "demo", "--data-dir", str(tmp_path), "--tag", "TANK1.LEVEL")
    assert export.returncode == 0, export.stderr
    rows = export.stdout.splitlines()
    assert rows[0] == "timestamp,tag,value,quality,reason"
    assert len(rows) > 5 and rows[1].split(",")[1] == "TANK1.LEVEL"


@pytest.mark.gui
def test_demo_window_snapshot_offscreen(tmp_path):
    png = tmp_path / "shot.png"
    result = hmi("demo", "--for", "5", "--snapshot", str(png), "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert image.width() >= 1200 and image.height() >= 700


def test_run_refuses_an_invalid_project(tmp_path):
    (tmp_path / "project.yaml").write_text("name: x\nconections: {}\n")
    result = hmi("run", str(tmp_path), "--headless", "--for", "1")
    assert result.returncode == 2
    assert "project.yaml:2:" in result.stderr


def test_history_export_without_history_says_so(tmp_path):
    result = hmi("history", "export", "demo", "--data-dir", str(tmp_path), "--tag", "X")
    assert result.returncode == 1 and "no history" in result.stderr
    assert Path(tmp_path).exists()


@pytest.mark.gui
def test_sigterm_closes_the_window_gracefully_and_flushes_history(tmp_path):
    import signal
    import sqlite3
    import time

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hmi.app.cli", "demo", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        db_path = tmp_path / "history.db"
        while time.monotonic() < deadline:
            if db_path.exists():
                with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(db_path) as db:
                    # The file exists a moment before its tables do.
                    if db.execute("SELECT count(*) FROM samples").fetchone()[0] > 20:
                        break
            time.sleep(0.2)  # test process, not an event loop: polling a child is fine here
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)  # reap it and close its pipe
    assert process.returncode == 0, output[-2000:]
    assert "history flushed" in output
    with sqlite3.connect(db_path) as db:
        reasons = {r for (r,) in db.execute("SELECT DISTINCT reason FROM samples")}
    assert "not connected" in reasons  # the stop itself is in history: every tag went bad at close


def test_history_export_accepts_relative_times_after_the_option(tmp_path):
    result = hmi(
        "history",
        "export",
        "demo",
        "--data-dir",
        str(tmp_path),
        "--tag",
        "X",
        "--from",
        "-1d",
        "--to",
        "-10m",
    )
    assert "expected one argument" not in result.stderr
    assert result.returncode == 1 and "no history" in result.stderr
