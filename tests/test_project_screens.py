"""Screen files: item schema per type, tag bindings checked against the project's tags, lines in errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hmi.project.config import ScreenItem
from hmi.project.loader import check_project, load_project

PROJECT = """\
name: Screens
connections:
  plc1: {driver: modbus, host: 127.0.0.1}
tags:
  LEVEL: {connection: plc1, address: "hr:0", type: float32}
  RUN: {connection: plc1, address: "co:0", type: bool, writable: true}
  SPEED_SP: {connection: plc1, address: "hr:10", type: uint16, writable: true, limits: [0, 1500]}
  POSITION: {connection: plc1, address: "hr:11", type: uint16, writable: true}
  NAME: {connection: plc1, address: "hr:20", type: string, length: 8, writable: true}
  STATUS: {connection: plc1, address: "ir:0", type: uint16}
"""

HEADER = "title: Main\nsize: [800, 600]\nitems:\n"
FIRST_ITEM_LINE = 4


def write(root: Path, items: str, screens: dict[str, str] | None = None) -> Path:
    """A project with the tags above, a ``main`` screen made of ``items`` (YAML list lines), other screens."""
    (root / "project.yaml").write_text(PROJECT, "utf-8")
    (root / "screens").mkdir(exist_ok=True)
    (root / "screens" / "main.yaml").write_text(HEADER + textwrap.dedent(items), "utf-8")
    for name, text in (screens or {}).items():
        (root / "screens" / f"{name}.yaml").write_text(textwrap.dedent(text), "utf-8")
    return root


def messages(root: Path, items: str) -> list[str]:
    """``line: message`` for every error once ``items`` make up the main screen."""
    write(root, items)
    return [f"{error.line}: {error.message}" for error in check_project(root)]


def written(item: ScreenItem) -> dict[str, object]:
    """The props the screen file wrote, as plain data (the item carries its typed props model)."""
    return item.props.model_dump(exclude_unset=True)


def box(extra: str = "") -> str:
    return "x: 10, y: 20, w: 100, h: 50" + (f", {extra}" if extra else "")


# --- valid screens ------------------------------------------------------------------------------


def test_every_item_type_loads_with_its_props_and_line(tmp_path: Path) -> None:
    items = f"""\
    - {{type: label, id: caption, {box()}, props: {{text: Hello, size: 14}}}}
    - {{type: tank, id: tank, {box("tag: LEVEL")}, props: {{label: T-1, min: 0, max: 10, hi: 9, lo: 1}}}}
    - {{type: pump, id: pump, {box("tag: RUN")}, props: {{label: P-1}}}}
    - {{type: valve, {box("tag: POSITION")}}}
    - {{type: pipe, {box()}, props: {{points: [[0, 0], [10, 0], [10, 10]], flow_tag: RUN}}}}
    - {{type: value, id: level, {box("tag: LEVEL")}, props: {{label: Level, decimals: 1}}}}
    - {{type: value, id: name, {box("tag: NAME")}}}
    - {{type: setpoint, id: speed, {box("tag: SPEED_SP")}, props: {{label: Speed}}}}
    - {{type: button, id: go, {box()}, props: {{label: Other, screen: other}}}}
    - type: button
      id: start
      x: 10
      y: 20
      w: 100
      h: 50
      props: {{label: Start, write: {{tag: RUN, value: true}}}}
    - {{type: button, id: rename, {box()}, props: {{write: {{tag: NAME, value: pump}}}}}}
    """
    write(tmp_path, items, {"other": "size: [10, 10]\n"})

    screens = load_project(tmp_path).screens

    main = screens["main"]
    assert (main.name, main.title, main.width, main.height) == ("main", "Main", 800, 600)
    assert main.path == (tmp_path / "screens" / "main.yaml").resolve()
    by_id = {item.id: item for item in main.items}
    assert [item.type for item in main.items] == [
        "label", "tank", "pump", "valve", "pipe", "value", "value", "setpoint", "button", "button", "button"
    ]  # fmt: skip
    assert written(by_id["caption"]) == {"text": "Hello", "size": 14.0}
    assert written(by_id["tank"]) == {"label": "T-1", "min": 0.0, "max": 10.0, "hi": 9.0, "lo": 1.0}
    assert (by_id["tank"].tag, by_id["tank"].x, by_id["tank"].w) == ("LEVEL", 10.0, 100.0)
    assert by_id["item4"].type == "valve" and written(by_id["item4"]) == {}
    assert written(by_id["speed"]) == {"label": "Speed"}
    assert by_id["item5"].props.points == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]
    assert written(by_id["start"]) == {"label": "Start", "write": {"tag": "RUN", "value": True}}
    assert written(by_id["go"]) == {"label": "Other", "screen": "other"}
    assert [item.line for item in main.items] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20]
    assert screens["other"].title == "other" and screens["other"].items == ()


def test_generated_ids_skip_ids_already_taken(tmp_path: Path) -> None:
    write(
        tmp_path,
        f"- {{type: value, {box('tag: LEVEL')}}}\n- {{type: value, id: item1, {box('tag: LEVEL')}}}\n",
    )
    assert [item.id for item in load_project(tmp_path).screens["main"].items] == ["item2", "item1"]


# --- bindings -------------------------------------------------------------------------------------


def test_unknown_tag_in_a_binding_names_item_binding_and_suggestion(tmp_path: Path) -> None:
    assert messages(tmp_path, f"- {{type: value, id: level, {box('tag: LEVL')}}}\n") == [
        "4: unknown tag 'LEVL' in binding 'tag' of item 'level' (did you mean 'LEVEL'?)"
    ]


def test_binding_errors_point_at_the_line_of_the_binding(tmp_path: Path) -> None:
    items = """\
    - type: pipe
      x: 0
      y: 0
      w: 10
      h: 10
      props:
        points: [[0, 0], [1, 1]]
        flow_tag: RUNN
    - type: button
      x: 0
      y: 0
      w: 10
      h: 10
      props:
        write:
          tag: SPEED
          value: 1
    """
    assert messages(tmp_path, items) == [
        "11: unknown tag 'RUNN' in binding 'props.flow_tag' of item #1 (did you mean 'RUN'?)",
        "19: unknown tag 'SPEED' in binding 'props.write.tag' of item #2 (did you mean 'SPEED_SP'?)",
    ]


@pytest.mark.parametrize(
    ("item_type", "tag", "needs", "actual"),
    [
        ("tank", "RUN", "a numeric tag", "a writable bool tag"),
        ("pump", "LEVEL", "a bool tag", "a read-only float32 tag"),
        ("valve", "NAME", "a numeric or bool tag", "a writable string tag"),
        ("setpoint", "STATUS", "a writable numeric tag", "a read-only uint16 tag"),
        ("setpoint", "RUN", "a writable numeric tag", "a writable bool tag"),
    ],
)
def test_item_types_accept_only_fitting_tags(
    tmp_path: Path, item_type: str, tag: str, needs: str, actual: str
) -> None:
    assert messages(tmp_path, f"- {{type: {item_type}, id: it, {box(f'tag: {tag}')}}}\n") == [
        f"4: item 'it': binding 'tag' needs {needs}, but {tag!r} is {actual}"
    ]


def test_pipe_flow_tag_cannot_be_text(tmp_path: Path) -> None:
    [message] = messages(
        tmp_path, f"- {{type: pipe, id: p, {box()}, props: {{points: [[0, 0], [1, 1]], flow_tag: NAME}}}}\n"
    )
    assert message == (
        "4: item 'p': binding 'props.flow_tag' needs a numeric or bool tag, "
        "but 'NAME' is a writable string tag"
    )


def test_items_that_need_a_tag_and_items_that_take_none(tmp_path: Path) -> None:
    items = f"""\
    - {{type: tank, id: t, {box()}}}
    - {{type: label, id: l, {box("tag: LEVEL")}, props: {{text: hi}}}}
    - {{type: pipe, id: p, {box("tag: RUN")}, props: {{points: [[0, 0], [1, 1]]}}}}
    """
    assert messages(tmp_path, items) == [
        "4: item 't': missing required key 'tag' (tank needs a numeric tag)",
        "5: item 'l': label items take no tag",
        "6: item 'p': pipe items take no tag (use props.flow_tag)",
    ]


def test_bindings_are_not_checked_when_project_yaml_cannot_be_read(tmp_path: Path) -> None:
    write(tmp_path, f"- {{type: value, {box('tag: NOPE')}}}\n")
    (tmp_path / "project.yaml").write_text("name: [broken\n", "utf-8")
    errors = check_project(tmp_path)
    assert [error.file.name for error in errors] == ["project.yaml"]


# --- schema ---------------------------------------------------------------------------------------


def test_unknown_item_type_gets_a_suggestion(tmp_path: Path) -> None:
    [message] = messages(tmp_path, f"- {{type: tnak, id: t, {box('tag: LEVEL')}}}\n")
    assert message.startswith("4: item 't': type 'tnak' is not one of label, tank, pump")
    assert message.endswith("(did you mean 'tank'?)")


def test_unknown_keys_in_items_and_props_are_errors_per_type(tmp_path: Path) -> None:
    items = f"""\
    - {{type: value, id: v, {box("tag: LEVEL")}, colour: red}}
    - {{type: pump, id: p, {box("tag: RUN")}, props: {{lable: P-1}}}}
    - {{type: tank, id: t, {box("tag: LEVEL")}, props: {{decimal: 1}}}}
    - {{type: label, id: l, {box()}, props: {{text: hi, label: x}}}}
    """
    assert messages(tmp_path, items) == [
        "4: item 'v': unknown key 'colour'",
        "5: item 'p': props: unknown key 'lable' (did you mean 'label'?)",
        "6: item 't': props: unknown key 'decimal' (did you mean 'decimals'?)",
        "7: item 'l': props: unknown key 'label'",
    ]


def test_item_missing_box_and_bad_sizes(tmp_path: Path) -> None:
    items = "- {type: value, id: v, x: 1, y: 2, w: 0, tag: LEVEL}\n"
    assert messages(tmp_path, items) == [
        "4: item 'v': w: should be greater than 0 (got 0)",
        "4: item 'v': missing required key 'h'",
    ]


def test_item_props_rules(tmp_path: Path) -> None:
    items = f"""\
    - {{type: tank, id: t, {box("tag: LEVEL")}, props: {{min: 10, max: 0}}}}
    - {{type: pipe, id: p, {box()}, props: {{points: [[0, 0]]}}}}
    - {{type: label, id: l, {box()}}}
    - {{type: value, id: v, {box("tag: LEVEL")}, props: {{decimals: -1}}}}
    """
    assert messages(tmp_path, items) == [
        "4: item 't': props: min 10 must be below max 0",
        "5: item 'p': props.points: list should have at least 2 items after validation, not 1",
        "6: item 'l': missing required key 'props'",
        "7: item 'v': props.decimals: should be greater than or equal to 0 (got -1)",
    ]


def test_duplicate_item_ids(tmp_path: Path) -> None:
    items = f"- {{type: value, id: v, {box('tag: LEVEL')}}}\n- {{type: value, id: v, {box('tag: RUN')}}}\n"
    assert messages(tmp_path, items) == ["5: duplicate item id 'v' (first used on line 4)"]


def test_screen_level_keys(tmp_path: Path) -> None:
    write(tmp_path, "")
    (tmp_path / "screens" / "main.yaml").write_text("titel: x\nsize: [0, 600]\n", "utf-8")
    assert [f"{error.line}: {error.message}" for error in check_project(tmp_path)] == [
        "1: unknown key 'titel' at the top level (did you mean 'title'?)",
        "2: size[0]: should be greater than 0 (got 0)",
    ]


def test_screen_file_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, "")
    (tmp_path / "screens" / "main.yaml").write_text("- a\n", "utf-8")
    [error] = check_project(tmp_path)
    assert error.message == "a screen file must be a mapping: title, size, items"


def test_one_bad_item_does_not_hide_the_bindings_of_the_others(tmp_path: Path) -> None:
    items = f"- {{type: value, id: a, {box('tag: LEVEL')}, colour: red}}\n"
    items += f"- {{type: value, id: b, {box('tag: LVL')}}}\n"
    assert messages(tmp_path, items) == [
        "4: item 'a': unknown key 'colour'",
        "5: unknown tag 'LVL' in binding 'tag' of item 'b' (did you mean 'LEVEL'?)",
    ]


# --- buttons -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ("{label: x}", "props: a button needs exactly one action"),
        ("{screen: main, write: {tag: RUN, value: true}}", "props: a button needs exactly one action"),
        ("{screen: mian}", "unknown screen 'mian' (did you mean 'main'?)"),
        ("{write: {tag: STATUS, value: 1}}", "needs a writable tag, but 'STATUS' is a read-only uint16 tag"),
        # the runtime takes 0/1 and on/off for a bool, so hmi check does too (test_write_agreement.py)
        ("{write: {tag: RUN, value: 2}}", "write to 'RUN' refused: 2 is not on/off"),
        (
            "{write: {tag: SPEED_SP, value: 2000}}",
            "write to 'SPEED_SP' refused: 2000 is outside the limits [0, 1500]",
        ),
        (
            "{write: {tag: SPEED_SP, value: 1.5}}",
            "write to 'SPEED_SP' refused: 1.5 is not a whole number (uint16)",
        ),
        (
            "{write: {tag: SPEED_SP, value: fast}}",
            "write to 'SPEED_SP' refused: 'fast' is not a number",
        ),
        # a number is written to a string tag as its text, as the runtime does; a bool is refused
        ("{write: {tag: NAME, value: true}}", "write to 'NAME' refused: True is not text"),
        ("{write: {tag: RUN}}", "props.write: missing required key 'value'"),
    ],
)
def test_button_actions(tmp_path: Path, props: str, expected: str) -> None:
    [message] = messages(tmp_path, f"- {{type: button, id: b, {box()}, props: {props}}}\n")
    assert message.startswith("4: item 'b': ") or message.startswith("4: unknown tag")
    assert expected in message


def test_screen_yaml_errors_are_reported_per_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        f"- {{type: value, id: a, {box('tag: LEVEL')}}}\n",
        {"broken": "size: [1, 1\n", "dup": "size: [1, 1]\nsize: [2, 2]\n"},
    )
    assert [(error.file.name, error.line) for error in check_project(tmp_path)] == [
        ("broken.yaml", 2),
        ("dup.yaml", 2),
    ]
