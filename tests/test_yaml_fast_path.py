"""The fast YAML path reads a file exactly as the careful reader does, or leaves it to the careful reader.

Exactly: the same plain data (types included) and the same line for every path into it, so an
error found by the schema names the same ``file:line`` whichever path read the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from check_fuzzer import mutants
from hypothesis import HealthCheck, given, settings
from project_files import DEMO

from benchmarks.big_project import write_big_project
from hmi.project.errors import Loc
from hmi.project.yaml_fast import fast_available, read_fast
from hmi.project.yaml_reader import YamlLimits, check_events, compose_and_load, plain_value
from hmi.project.yaml_source import LIMITS, YamlDocument, read_yaml

pytestmark = pytest.mark.skipif(not fast_available(), reason="PyYAML's C parser is not installed")


def _paths(data: Any, prefix: Loc = ()) -> Iterator[Loc]:
    """Every path into ``data``, plus one absent key and one index past the end per container."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key if isinstance(key, str | int) else str(key)))
        yield (*prefix, "no-such-key")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))
        yield (*prefix, len(data))


def _careful(text: str) -> YamlDocument:
    check_events(text, LIMITS)
    _, tree = compose_and_load(text, allow_duplicate_keys=True)
    return YamlDocument(Path("f.yaml"), plain_value(tree), tree)


def _same_or_left(text: str) -> bool:
    """True when the fast path read ``text`` (and agrees with the careful reader); False when it left it."""
    fast = read_fast(text, LIMITS)
    if fast is None:
        return False
    careful, quick = _careful(text), YamlDocument(Path("f.yaml"), *fast)
    assert repr(quick.data) == repr(careful.data)
    for loc in _paths(careful.data):
        assert quick.line_of(loc) == careful.line_of(loc), loc
    return True


READ_FAST = [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "# comment\n\n\nname: x\ntags:\n  T1: {connection: p, address: 'hr:0'}\n  T2:\n    connection: p\n",
    "yes: no\non: off\nx: 0o17\ny: 0x1F\nz: 1_000\nf: .inf\ng: -.5\nh: 1e3\nn: ~\nm:\nt: True\nq: 'true'\n",
    "1: one\n2.5: two\nnull: three\n",
    "- a\n- - b\n  - c\n-\n  - {d: e}\n- |\n  block\n  text\n- >\n  folded\n",
    "key: a plain\n  scalar on\n  three lines\nnext: [1,\n  2,\n  3]\n",
    "a: 1\r\nb:\r\n  c: 2\r\n",
    "text: \"é ü °C m³/h\"\nquoted key \"x\": 1\n'single': \"double\"\n",
    "",
    "# only a comment\n",
    "--- \na: 1\n...\n",
    "plain scalar document\n",
    "[1, 2, 3]\n",
]

LEFT_TO_THE_CAREFUL_READER = [
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: !!int 3\n",  # explicit tags
    "a: 1\na: 2\n",  # a repeated key
    "1: a\n0x1: b\n",  # keys equal once read
    "base: {a: 1}\nb:\n  <<: {a: 1}\n",  # a merge key
    "a:\t1\n",  # a tab
    "a: 1\n---\nb: 2\n",  # two documents
    "when: 2026-01-01\n",  # a timestamp
    "a: [1, 2\n",  # a syntax error
    "%YAML 1.2\n---\na: 1\n",  # a directive
    "a: b\x85c\n",  # YAML 1.1 line breaks
    "a: b\u2028c\n",
    "a: é\u2029\n",
    "a: b\ufeffc\n",  # a byte order mark inside
    "a: b\x7f\n",  # a character YAML refuses
    "? [a, b]\n: c\n",  # a collection as a key
]


@pytest.mark.parametrize("text", READ_FAST)
def test_the_fast_path_reads_plain_files_as_the_careful_reader(text: str) -> None:
    assert _same_or_left(text)


@pytest.mark.parametrize("text", LEFT_TO_THE_CAREFUL_READER)
def test_what_the_fast_path_cannot_read_exactly_goes_to_the_careful_reader(text: str) -> None:
    assert read_fast(text, LIMITS) is None


def test_bounds_are_left_to_the_careful_reader() -> None:
    deep = "a: " + "[" * 39 + "]" * 39 + "\n"
    assert read_fast(deep, LIMITS) is None
    assert read_fast("[" + "1, " * 50 + "]\n", YamlLimits(max_nodes=40)) is None


def test_the_demo_and_a_big_project_read_the_same_both_ways(tmp_path: Path) -> None:
    folder = write_big_project(tmp_path / "big", 2_000)
    for path in [DEMO / "project.yaml", *(DEMO / "screens").glob("*.yaml"), folder / "project.yaml"]:
        assert _same_or_left(path.read_text("utf-8-sig")), path


def test_read_yaml_takes_the_fast_path_and_keeps_lines(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text("name: x\ntags:\n  A: {connection: p}\n  B:\n    address: 'hr:1'\n", "utf-8")
    document, errors = read_yaml(path, path)
    assert errors == [] and document is not None and not hasattr(document.tree, "lc")
    assert document.line_of(("tags", "B", "address")) == 5
    assert document.line_of(("tags", "A", "address")) == 3  # absent: the mapping that lacks it


@given(files=mutants())
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_mutants_of_the_demo_read_the_same_or_are_left(files: dict[str, bytes | str]) -> None:
    for content in files.values():
        if not isinstance(content, bytes):
            continue  # a file kind that cannot be read: neither reader sees text
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        try:
            _same_or_left(text)
        except AssertionError:
            raise
        except Exception as exc:  # the careful reader refused what the fast path read
            raise AssertionError(f"the fast path read a file the careful reader refuses: {exc!r}") from exc


MISTAKES = {
    "an unknown key in a tag": ('type: float32, units: "%"}', 'type: float32, unts: "%"}'),
    "a type that is not one": ("type: uint16,", "type: uint61,"),
    "an unknown connection": ("{connection: plc00,", "{connection: plc0O,"),
    "an address another tag holds": ('address: "hr:2",', 'address: "hr:0",'),
    "a limit that is not a number": ("limits: [0, 1500]", "limits: [0, fast]"),
    "a misspelt section": ("scan_classes:", "scan_clases:"),
    "an alarm on a tag that is not there": ("{tag: AREA00.T000000,", "{tag: AREA00.T0000000,"),
    "a block-style tag with a bad key": (
        '  AREA00.T000001: {connection: plc00, address: "hr:2", type: float32, units: "%"}\n',
        "  AREA00.T000001:\n    connection: plc00\n    address: 'hr:2'\n    deadband: -1\n",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_an_error_in_a_big_project_names_the_same_line_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mistake: str
) -> None:
    from hmi.project import project_cache, yaml_source
    from hmi.project.loader import check_project

    monkeypatch.setenv(project_cache.CACHE_ENV, "")
    folder = write_big_project(tmp_path / "big", 500)
    project_file = folder / "project.yaml"
    old, new = MISTAKES[mistake]
    text = project_file.read_text("utf-8")
    assert old in text
    project_file.write_text(text.replace(old, new), "utf-8")
    fast = [str(error) for error in check_project(folder)]
    monkeypatch.setattr(yaml_source, "read_fast", lambda text, limits: None)
    careful = [str(error) for error in check_project(folder)]
    assert fast == careful and fast
