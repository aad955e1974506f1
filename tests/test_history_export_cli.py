"""``hmi history export``: several tags as one long CSV, and every bad request or damaged file a clear
error (exit 2, or 1 when there is simply no history), never a traceback or a silent empty file."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_files import BASE, write_project

from hmi.app.cli import main
from hmi.historian import HistoryWriter
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
ROOT = Path(__file__).resolve().parents[1]


def _project_with_history(root: Path) -> Path:
    """A project whose history holds LEVEL at even seconds and RUN at odd ones, 5 of each, from T0."""
    root.mkdir(exist_ok=True)
    write_project(root, BASE)
    writer = HistoryWriter(root / "history.db", commit_interval=0.05)
    writer.start()
    try:
        writer.extend([("LEVEL", Sample(float(i), Quality.GOOD, T0 + 2 * i)) for i in range(5)])
        writer.extend([("RUN", Sample(i % 2 == 0, Quality.GOOD, T0 + 2 * i + 1)) for i in range(4)])
        writer.extend([("RUN", Sample(None, Quality.BAD, T0 + 9, Reason.COMM_FAILURE))])
    finally:
        writer.stop()
    return root


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project_with_history(tmp_path_factory.mktemp("plant"))


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hmi history export ARGS`` in this process: exit code, standard output, standard error."""
    try:
        code = main(["history", "export", *args])
    except SystemExit as exited:  # argparse refusing the arguments
        code = int(exited.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _rows(out: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(out)))


# --- several tags ------------------------------------------------------------------------------------------


def test_two_tags_make_one_long_csv_in_time_order(plant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = export(capsys, str(plant), "--tag", "LEVEL", "--tag", "RUN")
    assert (code, err) == (0, "")
    rows = _rows(out)
    assert rows[0] == ["timestamp", "tag", "value", "quality", "reason"]
    assert [row[1] for row in rows[1:]] == ["LEVEL", "RUN"] * 5
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])
    assert rows[-1][1:] == ["RUN", "", "bad", "comm failure"]


def test_the_order_of_the_tags_breaks_ties_and_a_repeated_tag_counts_once(
    plant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = export(capsys, str(plant), "--tag", "RUN", "--tag", "LEVEL", "--tag", "RUN")
    assert code == 0 and len(_rows(out)) == 11


def test_a_range_applies_to_every_tag(plant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(
        capsys, str(plant), "--tag", "LEVEL", "--tag", "RUN", "--from", f"{T0 + 3}", "--to", f"{T0 + 6}"
    )
    assert code == 0
    assert [(row[1], row[2]) for row in _rows(out)[1:]] == [
        ("RUN", "0.0"),
        ("LEVEL", "2.0"),
        ("RUN", "1.0"),
        ("LEVEL", "3.0"),
    ]


def test_a_tag_never_recorded_is_named_and_nothing_is_printed(
    plant: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = export(capsys, str(plant), "--tag", "LEVEL", "--tag", "NOPE", "--tag", "GONE")
    assert (code, out) == (1, "")
    assert "no history for tags 'NOPE', 'GONE'" in err


# --- times ------------------------------------------------------------------------------------------

OUT_OF_RANGE = [
    "-99999999999d",
    "-99999999999w",
    "-1" + "0" * 400 + "s",
    "9" * 400,
    "99999999999999",
    "-3000000d",
]


@pytest.mark.parametrize("option", ["--from", "--to"])
@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_a_time_no_timestamp_can_name_is_a_clear_error(
    plant: Path, capsys: pytest.CaptureFixture[str], option: str, when: str
) -> None:
    code, out, err = export(capsys, str(plant), "--tag", "LEVEL", option, when)
    assert (code, out) == (2, "")
    assert "outside the years 1 to 9999" in err and len(err) < 300


@pytest.mark.parametrize(
    ("start", "end"),
    [(f"{T0 + 5}", f"{T0 + 4}"), ("now", "-1h"), ("-1m", "-1d"), ("2024-05-02", "2024-05-01T23:59:59")],
)
def test_from_later_than_to_is_an_error_not_an_empty_file(
    plant: Path, capsys: pytest.CaptureFixture[str], start: str, end: str
) -> None:
    code, out, err = export(capsys, str(plant), "--tag", "LEVEL", "--from", start, "--to", end)
    assert (code, out) == (2, "")
    assert "is later than --to" in err


def test_from_equal_to_to_is_one_instant(plant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(capsys, str(plant), "--tag", "LEVEL", "--from", f"{T0 + 2}", "--to", f"{T0 + 2}")
    assert code == 0 and [row[2] for row in _rows(out)[1:]] == ["1.0"]


@given(
    start=st.text(max_size=30) | st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{0,3})?[smhdw]?", fullmatch=True),
    end=st.none() | st.text(max_size=30),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_time_text_is_an_answer_never_a_traceback(
    plant: Path, capsys: pytest.CaptureFixture[str], start: str, end: str | None
) -> None:
    if "\0" in start or (end is not None and "\0" in end):
        return  # the OS cannot pass a NUL in an argument
    args = [str(plant), "--tag", "LEVEL", f"--from={start}"] + ([f"--to={end}"] if end is not None else [])
    code, out, err = export(capsys, *args)
    assert code in (0, 2), (code, err)
    if code == 2:
        assert out == "" and err.strip()


# --- damaged history files ----------------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _no_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\0" * 100
    path.write_bytes(bytes(data))


def _pages_scrambled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    for start in range(page, len(data), page):
        data[start : start + 64] = b"\xa5" * 64  # every page header after the first
    path.write_bytes(bytes(data))


def _another_database(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "random bytes": _garbage,
    "truncated": _truncated,
    "empty": _empty,
    "header wiped": _no_header,
    "pages scrambled": _pages_scrambled,
    "another application's database": _another_database,
    "a directory": _directory,
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_history_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None]
) -> None:
    root = _project_with_history(tmp_path / "plant")
    for side in ("history.db-wal", "history.db-shm"):
        (root / side).unlink(missing_ok=True)
    damage(root / "history.db")
    code, _, err = export(capsys, str(root), "--tag", "LEVEL", "--tag", "RUN")
    assert code == 2, (code, err)
    assert str(root / "history.db") in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_the_command_itself_exits_2_on_a_damaged_file(tmp_path: Path) -> None:
    root = _project_with_history(tmp_path / "plant")
    _pages_scrambled(root / "history.db")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hmi.app.cli",
            "history",
            "export",
            str(root),
            "--tag",
            "LEVEL",
            "--from",
            "-99999999999d",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    shutil.rmtree(root)


# --- only what the export needs is read ----------------------------------------------------------------


def test_the_export_reads_only_the_history_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tag half-edited elsewhere in project.yaml does not stop an export of what was recorded."""
    root = _project_with_history(tmp_path / "plant")
    write_project(root, BASE + "  HALF: {connection: plc9, address: 'hr:99'}\n")
    from hmi.project import loader

    monkeypatch.setattr(loader, "_check_files", lambda *args: pytest.fail("the whole project was checked"))
    code, out, err = export(capsys, str(root), "--tag", "LEVEL")
    assert (code, err) == (0, "") and len(_rows(out)) == 6


def test_a_project_checked_before_answers_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project_with_history(tmp_path / "plant")
    assert main(["check", str(root)]) == 0
    capsys.readouterr()
    from hmi.project import history_lookup

    monkeypatch.setattr(history_lookup, "read_yaml", lambda *args: pytest.fail("project.yaml was read"))
    code, out, _ = export(capsys, str(root / "project.yaml"), "--tag", "RUN")
    assert code == 0 and len(_rows(out)) == 6


@pytest.mark.parametrize(
    "history",
    [
        "history: {path: history.db, retention: 5m}\n",
        "history:\n  path: history.db\n  retension: 30d\n",
        "history: 5\n",
        "history: {path: ''}\n",
    ],
)
def test_a_bad_history_section_is_the_same_error_as_hmi_check_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], history: str
) -> None:
    root = _project_with_history(tmp_path / "plant")
    write_project(root, BASE + history)
    assert main(["check", str(root)]) == 2
    checked = capsys.readouterr().out.splitlines()
    code, out, err = export(capsys, str(root), "--tag", "LEVEL")
    assert (code, out) == (2, "")
    assert err.splitlines() == checked
    assert all(line.startswith(f"{root / 'project.yaml'}:") for line in checked)


def test_a_project_file_that_cannot_be_read_is_an_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project_with_history(tmp_path / "plant")
    write_project(root, BASE + "history: {path: [unclosed\n")
    code, _, err = export(capsys, str(root), "--tag", "LEVEL")
    assert code == 2 and err.startswith(f"{root / 'project.yaml'}:") and "Traceback" not in err
