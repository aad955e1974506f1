"""The validated-project cache: answers for the same files, never hides an error, survives damage."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from project_files import BASE, DEMO, write_project

from hmi.app.cli import main
from hmi.project import loader, project_cache
from hmi.project.loader import check_project, check_project_with_warnings, load_project

SCREEN = """\
title: Main
size: [800, 600]
items:
  - {type: value, x: 0, y: 0, w: 100, h: 30, tag: LEVEL}
"""

WARNED = """\
name: Warned
connections:
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/", security: None, username: op,
        password_env: OP_PW, allow_insecure_password: true}
  ua2: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4841/", security: Basic256Sha256, mode: SignAndEncrypt,
        user_certificate: user.der, user_private_key: user.pem}
tags:
  T: {connection: ua1, address: "ns=2;s=T"}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(project_cache.CACHE_ENV, str(folder))
    return folder


def _new(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.entry")) if cache.exists() else []


def _plant(tmp_path: Path) -> Path:
    return write_project(_new(tmp_path / "plant"), BASE, {"main": SCREEN})


def test_a_valid_project_is_cached_and_loads_the_same_from_the_entry(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _plant(tmp_path)
    cold = load_project(folder)
    [entry] = _entries(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    monkeypatch.setattr(loader, "_check_files", lambda *args: pytest.fail("checked again"))
    warm = load_project(folder)
    assert warm == cold and warm is not cold
    assert check_project(folder) == [] and check_project(folder / "project.yaml") == []


def test_the_demo_round_trips_through_the_cache(tmp_path: Path, cache: Path) -> None:
    cold = load_project(DEMO)
    assert load_project(DEMO) == cold and len(_entries(cache)) == 1


@pytest.mark.parametrize(
    "change",
    ["a tag's connection misspelt", "a screen binding a tag that is not there", "a new screen file"],
)
def test_an_error_made_after_a_valid_check_is_reported(tmp_path: Path, cache: Path, change: str) -> None:
    folder = _plant(tmp_path)
    assert check_project(folder) == [] and len(_entries(cache)) == 1
    if change == "a tag's connection misspelt":
        write_project(folder, BASE.replace("LEVEL: {connection: plc1", "LEVEL: {connection: plc9"))
        expected = (folder / "project.yaml", 6)
    elif change == "a screen binding a tag that is not there":
        (folder / "screens" / "main.yaml").write_text(SCREEN.replace("LEVEL", "LEVLE"), "utf-8")
        expected = (folder / "screens" / "main.yaml", 4)
    else:
        (folder / "screens" / "extra.yaml").write_text("title: x\nsize: [10, 10]\nitems: 5\n", "utf-8")
        expected = (folder / "screens" / "extra.yaml", 3)
    for _ in range(2):  # and again: an error is never cached as valid
        errors = check_project(folder)
        assert [(error.file, error.line) for error in errors] == [expected]
    with pytest.raises(loader.ProjectInvalid):
        load_project(folder)


def test_an_invalid_project_writes_no_entry(tmp_path: Path, cache: Path) -> None:
    folder = write_project(_new(tmp_path / "plant"), BASE + "  BAD: {connection: nowhere, address: 'hr:9'}\n")
    assert check_project(folder) and check_project(folder)
    assert _entries(cache) == []


def test_warnings_come_back_from_the_cache_and_a_named_file_is_looked_at_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_project(_new(tmp_path / "plant"), WARNED)
    (folder / "user.der").write_bytes(b"der")
    (folder / "user.pem").write_bytes(b"pem")
    cold = check_project_with_warnings(folder)
    assert cold[0] == [] and len(cold[1]) == 1 and _entries(cache)
    with monkeypatch.context() as patched:
        patched.setattr(loader, "_check_files", lambda *args: pytest.fail("checked again"))
        assert check_project_with_warnings(folder) == cold
    (folder / "user.pem").unlink()
    errors, _ = check_project_with_warnings(folder)
    assert [error.message for error in errors] == [
        f"connection 'ua2': user_private_key: no such file {folder / 'user.pem'}"
    ]


@pytest.mark.parametrize(
    "damage",
    ["empty", "garbage", "truncated", "a payload byte flipped", "a header that lies", "group-writable"],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, cache: Path, damage: str) -> None:
    folder = _plant(tmp_path)
    cold = load_project(folder)
    [entry] = _entries(cache)
    data = entry.read_bytes()
    if damage == "empty":
        entry.write_bytes(b"")
    elif damage == "garbage":
        entry.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        entry.write_bytes(data[: len(data) - 100])
    elif damage == "a payload byte flipped":
        entry.write_bytes(data[:-50] + bytes([data[-50] ^ 0xFF]) + data[-49:])
    elif damage == "a header that lies":
        entry.write_bytes(data.replace(b'"payload_length": ', b'"payload_length": 1', 1))
    else:
        entry.chmod(0o666)
    assert load_project(folder) == cold
    assert check_project(folder) == []
    [rebuilt] = _entries(cache)
    assert rebuilt.read_bytes()[:64] == data[:64] and stat.S_IMODE(rebuilt.stat().st_mode) == 0o600


def test_an_entry_of_other_files_is_not_used(tmp_path: Path, cache: Path) -> None:
    folder = _plant(tmp_path)
    load_project(folder)
    write_project(folder, BASE.replace("Test Plant", "Other Plant"))
    assert load_project(folder).name == "Other Plant"


def test_the_cache_can_be_turned_off_and_an_unwritable_cache_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _plant(tmp_path)
    monkeypatch.setenv(project_cache.CACHE_ENV, "")
    assert load_project(folder).name == "Test Plant"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", "utf-8")
    monkeypatch.setenv(project_cache.CACHE_ENV, str(blocker / "cache"))
    assert load_project(folder).name == "Test Plant"


def test_old_entries_are_pruned(tmp_path: Path, cache: Path) -> None:
    for index in range(project_cache.MAX_ENTRIES + 3):
        check_project(write_project(_new(tmp_path / f"plant{index}"), BASE))
    assert len(_entries(cache)) == project_cache.MAX_ENTRIES


def test_hmi_check_answers_from_the_cache_and_prints_the_same(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_project(_new(tmp_path / "plant"), WARNED)
    (folder / "user.der").write_bytes(b"der")
    (folder / "user.pem").write_bytes(b"pem")
    assert main(["check", str(folder)]) == 0
    cold = capsys.readouterr().out
    monkeypatch.setattr(loader, "_check_files", lambda *args: pytest.fail("checked again"))
    assert main(["check", str(folder)]) == 0
    assert capsys.readouterr().out == cold and "(1 warnings)" in cold


def test_the_project_benchmark_reports_cold_and_warm_beside_bare(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import project_load

    monkeypatch.setenv(project_load.SIZES_ENV, "300")
    figures = project_load.run()["tags_300"]
    for name in ("bare_libyaml_s", "cold_check_s", "warm_check_s", "cold_load_s", "warm_load_s"):
        assert figures[name] > 0, name
    assert "careful_yaml_s" in figures and "cold_history_path_s" in figures
