"""``alarm_settings: {horn_priority, horn_sound}``: validated strictly, and what the horn sounds by."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest
from project_files import BASE, write_project

from hmi.app.cli import main
from hmi.project.loader import load_project
from hmi.ui.alarm_horn import Horn
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext

SETTINGS_LINE = BASE.count("\n") + 2
"""The line of the first key under ``alarm_settings:``."""


def settings(text: str) -> str:
    return BASE + "alarm_settings:\n" + text


def write_wav(path: Path) -> None:
    """A short silent WAV file (a real one: Qt Multimedia may open it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)


def test_horn_settings_load_with_the_sound_file_from_the_project_folder(tmp_path: Path) -> None:
    write_wav(tmp_path / "sounds" / "horn.wav")
    write_project(tmp_path, settings("  horn_priority: medium\n  horn_sound: sounds/horn.wav\n"))
    loaded = load_project(tmp_path).alarm_settings
    assert loaded.horn_priority == "medium"
    assert loaded.horn_sound == (tmp_path / "sounds" / "horn.wav").resolve()


def test_default_horn_settings(tmp_path: Path) -> None:
    write_project(tmp_path, BASE)
    loaded = load_project(tmp_path).alarm_settings
    assert (loaded.horn_priority, loaded.horn_sound) == ("high", None)


@pytest.mark.parametrize(
    "text, message",
    [
        ("  horn_priority: critical\n", "horn_priority: 'critical' is not one of"),
        ("  horn_priority: journal\n", "horn_priority: 'journal' is not one of"),
        ("  horn_sound: sounds/missing.wav\n", "horn_sound: no such file"),
        ("  horn_sound: 3\n", "horn_sound:"),
        ("  horn_volume: 5\n", "horn_volume"),
    ],
)
def test_bad_horn_settings_are_errors_at_their_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    write_project(tmp_path, settings(text))
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if message in line]
    assert lines and f"project.yaml:{SETTINGS_LINE}:" in lines[0], out.out + out.err


def test_the_horn_takes_its_threshold_from_the_project(tmp_path: Path, qtbot: Any) -> None:
    write_project(tmp_path, settings("  horn_priority: low\n"))
    context = PanelContext(
        load_project(tmp_path),
        RuntimeBridge(),
        Commands(write=lambda *_a: None, acknowledge=lambda _a: None),
        FutureRelay(),
        lambda: None,
        lambda _t: None,
    )
    horn = Horn(sound=lambda: None)
    horn.attach(context)
    try:
        assert horn.threshold == "low" and horn.sounds_for("low") and not horn.sounds_for("journal")
    finally:
        horn.detach()
        context.close()
