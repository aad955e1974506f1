"""Loading project folders: the demo loads, and every mistake comes back as file:line: message."""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from project_files import BASE, DEMO, line_of, messages, write_project
from ruamel.yaml import YAML

from drivers.settings import ModbusSettings, OpcUaSettings
from hmi.model import DataType
from hmi.project.errors import ProjectError, ProjectInvalid
from hmi.project.loader import check_project, load_project

# --- the demo project ---------------------------------------------------------------------------


def test_demo_project_has_no_errors() -> None:
    assert check_project(DEMO) == []


def test_demo_project_yields_its_tags() -> None:
    project = load_project(DEMO)
    assert project.name == "Demo Plant"
    assert project.root == DEMO
    engineers = [tag for tag in project.tags.values() if tag.source is None]
    # The tank's, pump's and valve's 12 tags, and the bearing's temperature and trip (issue 11);
    # beside them the rules' derived, flag and fault tags.
    assert len(engineers) == 14
    assert sorted(t.name for t in project.tags.values() if t.source == "rules") == [
        "PUMP1.BEARING_RATE",
        "PUMP1.VIB_TREND",
        "PUMP1.WEAR_SUSPECTED",
        "RULE.pump1_bearing_wear.FAULT",
        "RULE.pump1_slow_down.FAULT",
    ]
    level = project.tags["TANK1.LEVEL"]
    assert (level.connection, level.address, level.type) == ("plc1", "hr:0", DataType.FLOAT32)
    assert (level.scan, level.scan_period, level.deadband, level.units) == ("fast", 0.25, 0.05, "%")
    speed_sp = project.tags["PUMP1.SPEED_SP"]
    assert speed_sp.writable and speed_sp.limits == (0.0, 1500.0) and speed_sp.scan_period == 1.0
    assert project.tags["TANK1.TEMP"].address == "ns=2;s=Plant.Tank1.Temperature"
    assert project.tags["PUMP1.RUN"].type is DataType.BOOL


def test_demo_project_yields_connections_alarms_trends_history_and_screens() -> None:
    project = load_project(DEMO)
    assert project.connections["plc1"].settings == ModbusSettings("127.0.0.1", 5020, 1, 1.0)
    assert project.connections["ua1"].settings == OpcUaSettings("opc.tcp://127.0.0.1:4840/")
    assert project.scan_classes == {"fast": 0.25, "normal": 1.0, "slow": 10.0}
    alarm = project.alarms["TANK1.LEVEL.HI"]
    assert (alarm.tag, alarm.type, alarm.limit, alarm.on_delay, alarm.priority) == (
        "TANK1.LEVEL",
        "hi",
        85.0,
        2.0,
        "high",
    )
    assert alarm.screen == "overview"
    assert set(project.alarms) == {"TANK1.LEVEL.HI", "TANK1.TEMP.HI", "PUMP1.TRIP"}
    trend = project.trends["tank1"]
    assert trend.span == 600.0 and trend.pens[0] == "TANK1.LEVEL" and len(trend.pens) == 4
    assert project.history.path == DEMO / "history.db"
    assert (project.history.retention, project.history.max_size) == (30 * 86400.0, 1024**3)
    assert project.start_screen == "overview"
    assert list(project.screens) == ["overview", "pump1"]
    assert len(project.screens["overview"].items) == 19


def test_project_file_itself_or_a_string_path_works(tmp_path: Path) -> None:
    write_project(tmp_path, BASE)
    assert load_project(tmp_path / "project.yaml").tags.keys() == {"LEVEL", "RUN"}
    assert load_project(str(tmp_path)).name == "Test Plant"


# --- all errors at once, with files and lines -----------------------------------------------------


def test_three_mistakes_yield_exactly_three_errors_with_files_and_lines(tmp_path: Path) -> None:
    root = tmp_path / "plant"
    shutil.copytree(DEMO, root)
    project_file, screen_file = root / "project.yaml", root / "screens" / "overview.yaml"
    text = project_file.read_text("utf-8")
    text = text.replace('address: "hr:2"', 'adress: "hr:2"').replace('address: "hr:11"', 'address: "hx:11"')
    project_file.write_text(text, "utf-8")
    screen_file.write_text(
        screen_file.read_text("utf-8").replace("tag: TANK1.TEMP", "tag: TANK1.TMP"), "utf-8"
    )

    errors = check_project(root)

    assert [(error.file, error.line) for error in errors] == [
        (project_file, line_of(project_file, "TANK1.INFLOW:")),
        (project_file, line_of(project_file, "PUMP1.SPEED:")),
        (screen_file, line_of(screen_file, "TANK1.TMP")),
    ]
    assert errors[0].message == "tag 'TANK1.INFLOW': unknown key 'adress' (did you mean 'address'?)"
    assert errors[1].message.startswith("tag 'PUMP1.SPEED': bad Modbus address 'hx:11'")
    assert errors[2].message == (
        "unknown tag 'TANK1.TMP' in binding 'tag' of item 'temp' (did you mean 'TANK1.TEMP'?)"
    )
    with pytest.raises(ProjectInvalid) as raised:
        load_project(root)
    assert raised.value.errors == errors
    assert str(raised.value) == "\n".join(str(error) for error in errors)


def test_error_paths_start_with_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, BASE + "colour: red\n")
    monkeypatch.chdir(tmp_path)
    assert [str(error) for error in check_project(".")] == [
        "project.yaml:8: unknown key 'colour' at the top level",
    ]


def test_project_error_formats_as_file_line_message() -> None:
    assert str(ProjectError(Path("screens/a.yaml"), 12, "bad")) == f"{Path('screens/a.yaml')}:12: bad"
    assert str(ProjectError(Path("p.yaml"), 0, "unknown line")) == "p.yaml:0: unknown line"


def test_missing_project_file_and_folder_are_clear_errors(tmp_path: Path) -> None:
    [error] = check_project(tmp_path)
    assert (error.file, error.line) == (tmp_path / "project.yaml", 0)
    assert "no project.yaml" in error.message
    [error] = check_project(tmp_path / "nowhere")
    assert "no such project folder" in error.message


@pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n- b\n", "just text\n"])
def test_project_file_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    (tmp_path / "project.yaml").write_text(text, "utf-8")
    [error] = check_project(tmp_path)
    assert "must be a mapping" in error.message


# --- YAML itself ---------------------------------------------------------------------------------


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "alarms:\n  A: {tag: LEVEL, type: hi, limit: [5\n  B: 3\n")
    [error] = check_project(tmp_path)
    assert error.line == 10
    assert error.message.startswith("YAML syntax error:")


def test_tab_indentation_is_a_syntax_error_with_its_line(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "alarms:\n\tA: 1\n")
    [error] = check_project(tmp_path)
    assert error.line == 9 and "YAML syntax error" in error.message


def test_every_duplicate_key_is_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    text = "  LEVEL: {connection: plc1, address: 'hr:4'}\nname: Again\nhistory: {max_size: lots}\n"
    assert messages(tmp_path, text) == [
        "8: duplicate key 'LEVEL' (first defined on line 6)",
        "9: duplicate key 'name' (first defined on line 1)",
        "10: history: max_size: bad size 'lots': expected a number of bytes or a number with a unit "
        "B, KB, MB, GB or TB (e.g. 500MB, 1GB, 20GB)",
    ]


def test_duplicate_keys_within_one_flow_mapping(tmp_path: Path) -> None:
    assert messages(tmp_path, "trends: {t: {pens: [LEVEL], span: 1m, span: 2m}}\n") == [
        "8: duplicate key 'span' (first defined on line 8)"
    ]


def test_text_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_bytes(b"name: x\ndescription: caf\xe9\n")
    [error] = check_project(tmp_path)
    assert error.line == 2 and "not valid UTF-8" in error.message


# --- keys and values ----------------------------------------------------------------------------


def test_misspelt_key_is_one_error_with_a_suggestion(tmp_path: Path) -> None:
    assert messages(tmp_path, "  SPEED: {connection: plc1, adress: 'hr:9', type: uint16}\n") == [
        "8: tag 'SPEED': unknown key 'adress' (did you mean 'address'?)"
    ]


def test_unknown_top_level_key_suggests_the_section(tmp_path: Path) -> None:
    assert messages(tmp_path, "alrams: {}\n") == [
        "8: unknown key 'alrams' at the top level (did you mean 'alarms'?)"
    ]


def test_missing_required_key_points_at_its_entry(tmp_path: Path) -> None:
    assert messages(tmp_path, "  SPEED: {connection: plc1, type: uint16}\n") == [
        "8: tag 'SPEED': missing required key 'address'"
    ]


def test_wrong_value_types_are_named(tmp_path: Path) -> None:
    assert messages(
        tmp_path, "  SPEED: {connection: plc1, address: 'hr:9', type: uint16, writable: yes}\n"
    ) == ["8: tag 'SPEED': writable: should be a valid boolean (got 'yes')"]


def test_a_boolean_is_not_a_number(tmp_path: Path) -> None:
    assert messages(
        tmp_path, "  SPEED: {connection: plc1, address: 'hr:9', type: uint16, deadband: true}\n"
    ) == ["8: tag 'SPEED': deadband: should be a valid number (got True)"]


def test_unknown_data_type_lists_the_types_and_suggests_one(tmp_path: Path) -> None:
    [message] = messages(tmp_path, "  SPEED: {connection: plc1, address: 'hr:9', type: flaot32}\n")
    assert message.startswith("8: tag 'SPEED': type: 'flaot32' is not one of bool, int16")
    assert message.endswith("(did you mean 'float32'?)")


def test_an_unquoted_modicon_address_reads_as_written(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "  SPEED: {connection: plc1, address: 400101, type: uint16}\n")
    assert load_project(tmp_path).tags["SPEED"].address == "400101"


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "alarms:\ntrends:\n")
    assert load_project(tmp_path).alarms == {}


# --- alarms, trends, history, start screen ------------------------------------------------------------


def test_alarm_references(tmp_path: Path) -> None:
    text = """\
    alarms:
      A1: {tag: LEVL, type: hi, limit: 90}
      A2: {tag: RUN, type: hi, limit: 1}
      A3: {tag: LEVEL, type: hi, limit: 90, screen: nowhere}
      A4: {tag: LEVEL, type: high, limit: 90, priority: critical}
    """
    assert messages(tmp_path, textwrap.dedent(text)) == [
        "9: alarm 'A1': unknown tag 'LEVL' (did you mean 'LEVEL'?)",
        "10: alarm 'A2': tag 'RUN' is bool; limit alarms need a number",
        "11: alarm 'A3': unknown screen 'nowhere'",
        "12: alarm 'A4': type: 'high' is not one of hihi, hi, lo, lolo, deviation, roc, discrete,"
        " bad_quality, expr (did you mean 'hihi'?)",
        "12: alarm 'A4': priority: 'critical' is not one of low, medium, high, urgent, journal",
    ]


def test_alarm_durations_become_seconds(tmp_path: Path) -> None:
    write_project(
        tmp_path, BASE + "alarms:\n  A: {tag: LEVEL, type: lo, limit: 5, on_delay: 250ms, off_delay: 1m}\n"
    )
    alarm = load_project(tmp_path).alarms["A"]
    assert (alarm.on_delay, alarm.off_delay, alarm.priority, alarm.deadband) == (0.25, 60.0, "medium", 0.0)


def test_trend_pens_are_reported_at_their_own_line(tmp_path: Path) -> None:
    text = "trends:\n  t:\n    span: 1h\n    pens:\n      - LEVEL\n      - LEVELL\n"
    assert messages(tmp_path, text) == ["13: trend 't': unknown tag 'LEVELL' (did you mean 'LEVEL'?)"]
    write_project(tmp_path, BASE + "trends:\n  t: {pens: [LEVEL, RUN]}\n")
    trend = load_project(tmp_path).trends["t"]
    assert (trend.title, trend.span, trend.pens) == ("t", 600.0, ("LEVEL", "RUN"))


def test_references_to_a_broken_tag_are_not_reported_again(tmp_path: Path) -> None:
    text = "  SPEED: {connection: plc1, address: 'hr:9', type: uint16, colour: red}\n"
    text += "alarms:\n  A: {tag: SPEED, type: hi, limit: 9}\ntrends:\n  t: {pens: [SPEED]}\n"
    assert messages(tmp_path, text) == ["8: tag 'SPEED': unknown key 'colour'"]


def test_history_settings(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        BASE + "history: {path: data/h.db, retention: 2h, max_size: 500MB, commit_interval: 250ms}\n",
    )
    history = load_project(tmp_path).history
    assert history.path == tmp_path.resolve() / "data" / "h.db"
    assert (history.retention, history.max_size, history.commit_interval) == (7200.0, 500 * 1024**2, 0.25)
    write_project(tmp_path, BASE)
    assert load_project(tmp_path).history.path == tmp_path.resolve() / "history.db"


def test_start_screen_must_exist(tmp_path: Path) -> None:
    assert messages(tmp_path, "start_screen: main\n") == ["8: start_screen: unknown screen 'main'"]


def test_a_yml_screen_file_is_not_silently_skipped(tmp_path: Path) -> None:
    write_project(tmp_path, BASE)
    (tmp_path / "screens").mkdir()
    (tmp_path / "screens" / "main.yml").write_text("title: x\n", "utf-8")
    [error] = check_project(tmp_path)
    assert (error.file.name, error.line, error.message) == ("main.yml", 0, "screen files must end in .yaml")


# --- robustness ----------------------------------------------------------------------------------

_FIELDS = st.sampled_from(
    ["driver", "host", "port", "endpoint", "security", "mode", "password", "username", "password_env",
     "connection", "address", "type", "byte_order", "scan", "deadband", "writable", "limits", "length",
     "tag", "limit", "screen", "pens", "span", "points", "flow_tag", "props", "id", "x", "w", "adress"]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False), st.text(max_size=6),
    st.sampled_from(["hr:0", "hr:1.2", "co:1", "ir:3", "ns=2;s=A", "1s", "modbus", "opcua", "float32",
                     "bool", "string", "plc1", "ua1", "LEVEL", "RUN", "Basic256", "tank", "button"]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_FIELDS, inner, max_size=3)),
    max_leaves=8,
)
_ENTRY = st.one_of(_SCALARS, st.dictionaries(_FIELDS, _VALUES, max_size=6))
_SECTION = st.one_of(_SCALARS, st.dictionaries(st.sampled_from(["plc1", "ua1", "LEVEL", "RUN", "A"]), _ENTRY))
_PROJECTS = st.fixed_dictionaries(
    {},
    optional={
        "name": _SCALARS,
        "start_screen": _SCALARS,
        "connections": _SECTION,
        "tags": _SECTION,
        "alarms": _SECTION,
        "trends": _SECTION,
        "scan_classes": _SECTION,
        "history": _ENTRY,
        "extra": _VALUES,
    },
)
_SCREENS = st.fixed_dictionaries({}, optional={"title": _SCALARS, "size": _VALUES, "items": st.lists(_ENTRY)})


@settings(max_examples=200, deadline=None)
@given(_PROJECTS, _SCREENS)
def test_any_yaml_documents_yield_errors_never_an_exception(project: dict, screen: dict) -> None:
    yaml = YAML()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "screens").mkdir()
        for path, document in [(root / "project.yaml", project), (root / "screens" / "main.yaml", screen)]:
            with path.open("w", encoding="utf-8") as stream:
                yaml.dump(document, stream)
        errors = check_project(root)
    assert all(isinstance(error, ProjectError) and error.line >= 0 for error in errors)
