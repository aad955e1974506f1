"""Saving a trend into project.yaml: only its entry changes, the file re-loads, comments stay."""

import shutil

import pytest

from hmi.core.resources import demo_project_dir
from hmi.project.loader import load_project
from hmi.project.trend_store import format_span, save_trend, trend_entry


@pytest.fixture
def project_dir(tmp_path):
    folder = tmp_path / "plant"
    shutil.copytree(demo_project_dir(), folder)
    return folder


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]


def test_updating_a_trend_rewrites_only_its_line(project_dir):
    path = project_dir / "project.yaml"
    before = path.read_text(encoding="utf-8")
    save_trend(path, "tank1", ["TANK1.LEVEL", "PUMP1.SPEED"], 3600)
    after = path.read_text(encoding="utf-8")
    assert len(after.splitlines()) == len(before.splitlines())
    [(old, new)] = changed_lines(before, after)
    assert old.strip().startswith("tank1:")
    assert new == '  tank1: {title: "Tank 1", span: 1h, pens: [TANK1.LEVEL, PUMP1.SPEED]}'
    assert "# Converge HMI demo plant" in after  # comments kept
    trend = load_project(project_dir).trends["tank1"]
    assert trend.pens == ("TANK1.LEVEL", "PUMP1.SPEED") and trend.span == 3600 and trend.title == "Tank 1"


def test_a_new_trend_is_added_after_the_others(project_dir):
    path = project_dir / "project.yaml"
    before = path.read_text(encoding="utf-8").splitlines()
    save_trend(path, "pump 1", ["PUMP1.VIBRATION"], 7 * 86400, title="Pump: bearing")
    after = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(before) if line.strip().startswith("tank1:")) + 1
    assert after == [
        *before[:at],
        '  "pump 1": {title: "Pump: bearing", span: 7d, pens: [PUMP1.VIBRATION]}',
        *before[at:],
    ]
    trends = load_project(project_dir).trends
    assert list(trends) == ["tank1", "pump 1"]
    assert trends["pump 1"].title == "Pump: bearing" and trends["pump 1"].span == 7 * 86400


def test_a_project_without_trends_gets_the_section(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text("# plant\nname: P\n\nhistory: {path: h.db}  # kept\n", encoding="utf-8")
    save_trend(path, "t", ["A"], 600)
    assert path.read_text(encoding="utf-8") == (
        "# plant\nname: P\n\nhistory: {path: h.db}  # kept\n\ntrends:\n  t: {span: 10m, pens: [A]}\n"
    )


def test_an_empty_or_inline_section_becomes_a_block(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text("name: P\ntrends: {}\nhistory: {path: h.db}\n", encoding="utf-8")
    save_trend(path, "t", ["A"], 90)
    assert path.read_text(encoding="utf-8") == (
        "name: P\ntrends:\n  t: {span: 90s, pens: [A]}\nhistory: {path: h.db}\n"
    )
    path.write_text("name: P\ntrends: {a: {pens: [X], span: 2h}}\n", encoding="utf-8")
    save_trend(path, "t", ["A"], 60)
    assert path.read_text(encoding="utf-8") == (
        "name: P\ntrends:\n  a: {span: 2h, pens: [X]}\n  t: {span: 1m, pens: [A]}\n"
    )


def test_windows_line_ends_are_kept(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_bytes(b"name: P\r\ntrends:\r\n  t: {span: 10m, pens: [A]}\r\n")
    save_trend(path, "t", ["A", "B"], 600)
    assert path.read_bytes() == b"name: P\r\ntrends:\r\n  t: {span: 10m, pens: [A, B]}\r\n"


def test_bad_requests_are_refused_and_leave_the_file(tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text("name: P\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least one pen"):
        save_trend(path, "t", [], 600)
    with pytest.raises(ValueError, match="positive"):
        save_trend(path, "t", ["A"], 0)
    assert path.read_text(encoding="utf-8") == "name: P\n"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(600, "10m"), (3600, "1h"), (86400, "24h"), (7 * 86400, "7d"), (90, "90s"), (1.5, "1.5s")],
)
def test_spans_are_written_as_engineers_write_them(seconds, text):
    assert format_span(seconds) == text


def test_odd_names_are_quoted():
    assert trend_entry(
        "yes", ["A B"], 60, 'Say "hi"'
    ) == 'yes: {title: "Say \\"hi\\"", span: 1m, pens: ["A B"]}'.replace("yes:", '"yes":')


@pytest.mark.gui
def test_the_panel_saves_its_pens_and_span_into_the_project(qtbot, project_dir):
    from hmi.ui.futures import FutureRelay
    from hmi.ui.trend_panel import TrendPanel

    project = load_project(project_dir)
    relay = FutureRelay()
    panel = TrendPanel(project.trends["tank1"], project, relay)
    qtbot.addWidget(panel)
    try:
        panel.remove_pen("TANK1.INFLOW")
        assert panel.add_pen("PUMP1.SPEED")
        panel.set_preset(8 * 3600)
        panel.toolbar.sig_save_requested.emit()
        assert "Saved trend 'tank1'" in panel.status.text()
        saved = load_project(project_dir).trends["tank1"]
        assert saved.pens == ("TANK1.LEVEL", "TANK1.TEMP", "PUMP1.VIBRATION", "PUMP1.SPEED")
        assert saved.span == 8 * 3600
        assert project.trends["tank1"] == saved  # screens opening it now get the saved pens
    finally:
        panel.close_panel()
        relay.close()
