"""The round-trip project document: an edit changes only its entry's lines; loading is bounded."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from hmi.core.resources import demo_project_dir
from hmi.project import document as document_module
from hmi.project.document import DocumentError, ProjectDocument
from hmi.project.loader import load_project


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "plant"
    shutil.copytree(demo_project_dir(), folder)
    return folder


def diff(before: str, after: str) -> list[str]:
    """The changed lines, as ``-old`` / ``+new``."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in lines if line[:1] in "+-" and not line.startswith(("---", "+++"))]


def test_changing_one_key_of_an_inline_tag_rewrites_only_its_line(demo: Path) -> None:
    path = demo / "project.yaml"
    before = path.read_text("utf-8")
    document = ProjectDocument.load(path)
    document.set(("tags", "TANK1.LEVEL", "units"), "m")
    document.save()
    after = path.read_text("utf-8")
    [old, new] = diff(before, after)
    assert old.startswith("-  TANK1.LEVEL: {") and 'units: "%"' in old
    assert new == (
        '+  TANK1.LEVEL: {connection: plc1, address: "hr:0", type: float32, byte_order: ABCD, units: m,'
        ' scan: fast, deadband: 0.05, description: "Tank 1 level"}'
    )
    assert load_project(demo).tags["TANK1.LEVEL"].units == "m"


def test_adding_and_removing_a_tag_touch_only_its_line(demo: Path) -> None:
    path = demo / "project.yaml"
    before = path.read_text("utf-8")
    document = ProjectDocument.load(path)
    document.add_tag(
        "TANK1.LEVEL_M", {"connection": "plc1", "address": "hr:30", "type": "float32", "units": "m"}
    )
    added = document.text
    assert diff(before, added) == [
        '+  TANK1.LEVEL_M: {connection: plc1, address: "hr:30", type: float32, units: m}'
    ]
    lines = added.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  TANK1.LEVEL_M:"))
    assert lines[at - 1].startswith("  HEATER1.POWER_SP:") and lines[at + 1] == ""  # after the last tag
    with pytest.raises(DocumentError, match=r"tag 'TANK1\.LEVEL_M' already exists"):
        document.add_tag("TANK1.LEVEL_M", {"connection": "plc1", "address": "hr:31"})
    document.save()
    assert load_project(demo).tags["TANK1.LEVEL_M"].units == "m"
    document = ProjectDocument.load(path)
    document.remove_tag("TANK1.LEVEL_M")
    assert document.text == before  # added then removed: the file is as it was, byte for byte
    with pytest.raises(KeyError):
        document.remove_tag("NOPE")


def test_a_two_line_entry_is_replaced_whole_and_nothing_else_moves(demo: Path) -> None:
    document = ProjectDocument.load(demo / "project.yaml")
    before = document.text
    document.set(("alarms", "TANK1.LEVEL.HI", "limit"), 88)
    changed = diff(before, document.text)
    assert changed[0].startswith("-  TANK1.LEVEL.HI: {tag: TANK1.LEVEL, type: hi, limit: 85,")
    assert changed[1] == '-                   message: "Tank 1 level high ({value:.1f} %)", screen: overview}'
    assert len(changed) == 3 and "limit: 88" in changed[2]
    assert document.get("alarms", "TANK1.TEMP.HI", "limit") == 70


def test_comments_blank_lines_and_a_comment_on_the_changed_line_stay(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    text = (
        "# plant\n"
        "name: P   # the plant's name\n"
        "\n"
        "tags:\n"
        "  # level first\n"
        "  A: {connection: c, address: 'hr:0'}    # metres\n"
        "\n"
        "  # then the pump\n"
        "  B: {connection: c, address: 'co:0', type: bool}\n"
        "history:\n"
        "  path: h.db\n"
        "  retention: 30d  # a month\n"
    )
    path.write_text(text, "utf-8")
    document = ProjectDocument.load(path)
    document.set(("tags", "A", "units"), "m")
    document.set(("name",), "Plant 2")
    document.set(("history", "retention"), "60d")
    document.set(("history", "commit_interval"), "1s")
    document.save()
    assert path.read_text("utf-8") == (
        "# plant\n"
        'name: "Plant 2"   # the plant\'s name\n'
        "\n"
        "tags:\n"
        "  # level first\n"
        '  A: {connection: c, address: "hr:0", units: m}    # metres\n'
        "\n"
        "  # then the pump\n"
        "  B: {connection: c, address: 'co:0', type: bool}\n"
        "history:\n"
        "  path: h.db\n"
        "  retention: 60d  # a month\n"
        "  commit_interval: 1s\n"
    )


def test_removing_keeps_the_comment_of_what_follows(tmp_path: Path) -> None:
    document = ProjectDocument("tags:\n  A: {address: x}\n  # about B\n  B: {address: y}\nname: P\n")
    document.remove(("tags", "A"))
    assert document.text == "tags:\n  # about B\n  B: {address: y}\nname: P\n"
    document.remove(("tags", "B", "address"))
    assert document.text == "tags:\n  # about B\n  B: {}\nname: P\n"


def test_new_sections_and_values_that_need_quotes_read_back(tmp_path: Path) -> None:
    document = ProjectDocument("name: P\n")
    document.set(("tags", "yes"), {"address": "101", "units": "°C", "limits": [0, 1.5], "writable": True})
    document.set(("description",), "a: b # not a comment")
    assert document.text == (
        "name: P\n"
        "\n"
        "tags:\n"
        '  "yes": {address: "101", units: "°C", limits: [0, 1.5], writable: true}\n'
        'description: "a: b # not a comment"\n'
    )
    assert document.get("tags", "yes", "address") == "101"
    assert document.get("description") == "a: b # not a comment"


def test_windows_line_ends_are_kept_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_bytes(b"name: P\r\ntags:\r\n  A: {address: x}\r\n")
    document = ProjectDocument.load(path)
    document.add_tag("B", {"address": "z"})
    document.save()
    assert path.read_bytes() == b"name: P\r\ntags:\r\n  A: {address: x}\r\n  B: {address: z}\r\n"


def test_an_edit_through_a_value_that_is_not_a_mapping_is_refused_and_changes_nothing() -> None:
    document = ProjectDocument("name: P\ntags: [a, b]\n")
    with pytest.raises(ValueError, match="'tags' \\(line 2\\) is not a mapping"):
        document.set(("tags", "A"), {"address": "x"})
    assert document.text == "name: P\ntags: [a, b]\n"


def test_saving_is_atomic_and_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text("name: P\n", "utf-8")
    path.chmod(0o640)
    document = ProjectDocument.load(path)
    document.set(("name",), "Q")
    document.save()
    assert path.read_text("utf-8") == "name: Q\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["project.yaml"]  # no temporary file left behind


# --- bounded loading --------------------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_its_line() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    bomb += "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(12)
    )
    with pytest.raises(DocumentError, match=r"project.yaml:13: more than 100 aliases"):
        ProjectDocument(bomb)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(DocumentError, match="nested deeper than 40 levels"):
        ProjectDocument("a: " + "[" * 500 + "]" * 500 + "\n")


def test_a_file_too_big_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "project.yaml"
    path.write_text("name: P\n" + "# padding\n" * 200, "utf-8")
    monkeypatch.setattr(document_module, "MAX_BYTES", 1000)
    with pytest.raises(DocumentError, match="more than the 1000 an edit reads"):
        ProjectDocument.load(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n", "project.yaml:1: the file is not a mapping"),
        ("a: 1\na: 2\n", "project.yaml:2:"),
        ("a: [1\n", "project.yaml:2:"),
        ("{a: 1}\n", "written inline"),
        ("a: 1\rb: 2\n", "line breaks other than"),
    ],
)
def test_files_that_cannot_be_edited_safely_say_why(text: str, expected: str) -> None:
    with pytest.raises(DocumentError, match=expected.replace("(", "\\(")):
        ProjectDocument(text)
