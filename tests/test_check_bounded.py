"""``hmi check`` is total and bounded: hostile YAML, ill-typed tags, broken screen files and out-of-range
values are ``file:line: message`` lines with exit 2, never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from check_runner import assert_refused, run_check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_files import BASE, DEMO, write_project
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from drivers.modbus_address import parse_address
from drivers.modbus_check import PAIRS_UP_TO, check_modbus_overlaps
from drivers.registry import TagToCheck
from hmi.app.cli import main
from hmi.model import DataType
from hmi.project.errors import ProjectError
from hmi.project.loader import check_project
from hmi.project.schema import TagSpec
from hmi.project.yaml_reader import YamlLimits, YamlReadError, check_events

# --- files built to exhaust the reader: each in a child process with a memory and time bound --------------


def _laughs(width: int, levels: int, merge: bool = False) -> str:
    """The billion-laughs shape: each level names the one before ``width`` times."""
    lines = [f"x0: &x0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        if merge:
            lines.append(
                f"x{level}: &x{level} {{<<: [{', '.join([f'*x{level - 1}'] * width)}], k{level}: 1}}"
            )
        else:
            lines.append(f"x{level}: &x{level} [{', '.join([f'*x{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "billion laughs in sequences": _laughs(9, 10),
    "billion laughs in mappings": "".join(
        f"m{level}: &m{level} {{" + ", ".join(f"k{i}: *m{level - 1}" for i in range(9)) + "}\n"
        if level
        else "m0: &m0 {a: lol}\n"
        for level in range(10)
    ),
    "billion laughs through merge keys": _laughs(3, 25, merge=True).replace("[lol, lol, lol]", "{a: 1}"),
    "nesting of 300 levels (flow)": "deep: " + "[" * 300 + "]" * 300 + "\n",
    "nesting of 5000 levels (flow)": "deep: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "nesting of 300 levels (block)": "".join("  " * level + f"k{level}:\n" for level in range(300)) + "\n",
    "nesting through a chain of aliases": "".join(
        f"n{level}: &n{level} [*n{level - 1}]\n" if level else "n0: &n0 [1]\n" for level in range(60)
    ),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_is_refused_within_memory_and_time(tmp_path: Path, text: str) -> None:
    write_project(tmp_path, BASE + text)
    lines = assert_refused(run_check(tmp_path))
    assert all(line.startswith(str(tmp_path / "project.yaml")) for line in lines)


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_in_a_screen_file_is_refused_too(tmp_path: Path, text: str) -> None:
    write_project(tmp_path, BASE, {"bomb": "size: [100, 100]\n" + text})
    [error] = check_project(tmp_path)
    assert error.file == tmp_path / "screens" / "bomb.yaml" and error.line > 0


def test_an_alias_loop_is_an_error_at_its_line(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "loop: &loop [1, *loop]\n")
    assert [str(error) for error in check_project(tmp_path)] == [
        f"{tmp_path / 'project.yaml'}:8: alias *loop refers to a collection it is in (a loop)"
    ]


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """Nodes a consumer builds from ``node`` once every alias is expanded (shared nodes counted each time)."""
    if id(node) not in sizes:
        if isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        else:
            children = []
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[id(node)]


@given(width=st.integers(2, 12), levels=st.integers(2, 30))
@settings(max_examples=60, deadline=None)
def test_expansion_is_counted_not_built(width: int, levels: int) -> None:
    """Whatever the shape, the check answers from counts: refused exactly when the expansion is too big."""
    limits = YamlLimits(max_nodes=100_000, max_depth=80)
    text = _laughs(width, levels)
    expanded = _expanded_size(YAML(typ="rt").compose(text), {})
    try:
        check_events(text, limits)
    except YamlReadError as exc:
        assert "expand" in exc.message and expanded > limits.max_nodes
    else:
        assert expanded <= limits.max_nodes


# --- tags: only the core ones, and a value its tag cannot read is an error at its line -------------------

ILL_TYPED = [
    "!!int abc",
    "!!int 1.5",
    "!!float abc",
    "!!bool maybe",
    "!!null nothing",
    "!!int ''",
    '!!float "1,5"',
    "!!timestamp 2024-13-45",
    "!!timestamp 2024-01-01",
    "!!binary '*** not base64 ***'",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!python/object:os.system ls",
    "!!python/name:os.system ''",
    "!custom thing",
    "!<tag:example.com,2024:x> thing",
    "! plain",
    "2024-13-45",  # an implicit timestamp with no such month
    "2024-02-30 10:00:00",
    "1" * 5000,  # past Python's int-from-text limit
]


@pytest.mark.parametrize("value", ILL_TYPED)
@pytest.mark.parametrize("key", ["description", "deadband", "units"])
def test_a_value_its_tag_cannot_read_is_an_error_at_its_line(tmp_path: Path, key: str, value: str) -> None:
    write_project(
        tmp_path, BASE + f"  BAD:\n    connection: plc1\n    address: 'hr:20'\n    {key}: {value}\n"
    )
    errors = check_project(tmp_path)
    assert errors, value
    assert {error.line for error in errors} == {11}, errors
    assert all(len(error.message) < 400 for error in errors)


@given(
    tag=st.sampled_from(["!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp", "!!binary", "!x"]),
    text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_tagged_scalar_is_checked_never_raised(tmp_path: Path, tag: str, text: str) -> None:
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    write_project(
        tmp_path, BASE + f"  BAD: {{connection: plc1, address: 'hr:20', deadband: {tag} {quoted}}}\n"
    )
    errors = check_project(tmp_path)
    assert all(isinstance(error, ProjectError) and error.line == 8 for error in errors)


KEYS_NOT_TEXT = {
    "a list": "[1, 2]: v",
    "a mapping": "{a: 1}: v",
    "a list holding a mapping": "? [a, {b: c}]\n: v",
    "a mapping holding a list": "? {x: [1]}\n: v",
    "a number": "12: v",
    "null": "~: v",
    "a bool": "true: v",
    "infinity": ".inf: v",
}


def _nested(key: str, indent: str) -> str:
    return "".join(indent + line + "\n" for line in key.splitlines())


@pytest.mark.parametrize("where", ["top level", "tags", "alarms", "a screen"])
@pytest.mark.parametrize("key", KEYS_NOT_TEXT.values(), ids=KEYS_NOT_TEXT.keys())
def test_a_key_that_is_not_text_is_an_error_at_its_line(tmp_path: Path, where: str, key: str) -> None:
    screens = {}
    if where == "top level":
        text = BASE + _nested(key, "")
    elif where == "tags":
        text = BASE + _nested(key, "  ")
    elif where == "alarms":
        text = BASE + "alarms:\n" + _nested(key, "  ")
    else:
        text, screens = BASE, {"main": "size: [10, 10]\n" + _nested(key, "")}
    write_project(tmp_path, text, screens)
    errors = check_project(tmp_path)
    assert errors and all(error.line > 0 for error in errors), errors


# --- keys through a merge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merged", "expected"),
    [
        ("{bogus: 1}", "unknown key 'bogus'"),
        ("{deadband: abc}", "deadband: should be a valid number"),
        ("{type: float65}", "type"),
        ("{unit: 999}", "unit"),
        ("{scan: fasst}", "unknown scan class 'fasst'"),
        ("{limits: [5, 1]}", "the low limit 5 must be below the high limit 1"),
        ("{deadband: !!float abc}", "cannot read 'abc' as !!float"),
    ],
)
@pytest.mark.parametrize("how", ["<<: *base", "<<: [*base]", "<<: [*ok, *base]"])
def test_an_error_in_a_merged_mapping_is_at_the_line_it_is_written(
    tmp_path: Path, merged: str, expected: str, how: str
) -> None:
    text = BASE.replace("tags:\n", f"x-ok: &ok {{writable: false}}\nx-base: &base {merged}\ntags:\n")
    write_project(tmp_path, text + f"  MERGED: {{{how}, connection: plc1, address: 'hr:30'}}\n")
    project_file = tmp_path / "project.yaml"
    errors = [error for error in check_project(tmp_path) if "x-" not in error.message]
    assert errors and all(error.file == project_file for error in errors)
    assert any(expected in error.message for error in errors), errors
    assert {error.line for error in errors} <= {6, 10}, errors


# --- numbers, durations, ports, paths ----------------------------------------------------------------

HUGE_DURATIONS = [
    "9" * 400,
    "9" * 400 + "d",
    "9" * 400 + ".5ms",
    "1" + "0" * 308 + "d",
]


@pytest.mark.parametrize("duration", HUGE_DURATIONS)
@pytest.mark.parametrize(
    "where",
    [
        "scan_classes: {{normal: {d}}}\n",
        "history: {{retention: {d}}}\n",
        "history: {{commit_interval: {d}}}\n",
        "history: {{max_size: {d}}}\n",
        "alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1, on_delay: {d}}}\n",
        "trends:\n  T: {{pens: [LEVEL], span: {d}}}\n",
    ],
)
def test_a_number_too_big_for_a_duration_or_size_is_an_error(
    tmp_path: Path, where: str, duration: str
) -> None:
    text = BASE.replace("plc1: {driver: modbus", f"plc1: {{timeout: {duration}, driver: modbus")
    write_project(tmp_path, text + where.format(d=duration))
    errors = check_project(tmp_path)
    lines = {error.line for error in errors}
    assert 3 in lines, errors  # the connection's timeout
    assert max(lines) >= 8, errors
    assert all(len(str(error)) < 400 for error in errors)  # a hostile value is not echoed in full


@pytest.mark.parametrize("port", ["0", "65536", "99999", "123456789012345678901234567890", "-1", "x"])
def test_an_endpoint_port_outside_1_to_65535_is_refused(tmp_path: Path, port: str) -> None:
    write_project(tmp_path, BASE.replace(":4840/", f":{port}/"))
    [error] = check_project(tmp_path)
    assert error.line == 4 and "endpoint" in error.message


@pytest.mark.parametrize("port", ["1", "65535"])
def test_endpoint_ports_at_the_ends_of_the_range_are_accepted(tmp_path: Path, port: str) -> None:
    write_project(tmp_path, BASE.replace(":4840/", f":{port}/"))
    assert check_project(tmp_path) == []


@pytest.mark.parametrize("port", ["0", "65536", "99999", "-5"])
def test_a_modbus_port_outside_1_to_65535_is_refused(tmp_path: Path, port: str) -> None:
    write_project(tmp_path, BASE.replace("port: 5020", f"port: {port}"))
    [error] = check_project(tmp_path)
    assert error.line == 3 and "port" in error.message


BAD_PATHS = {
    "a NUL": '"hist\\0ory.db"',
    "a NUL at the end": '"history.db\\0"',
    "a name too long": "a" * 5000,
    "an unknown user": '"~nosuchuser-t3/history.db"',
}


@pytest.mark.parametrize("path", BAD_PATHS.values(), ids=BAD_PATHS.keys())
@pytest.mark.parametrize(
    "key", ["history.path", "ua1.pki_dir", "ua1.user_certificate", "ua1.user_private_key"]
)
def test_a_path_the_os_cannot_take_is_refused(tmp_path: Path, path: str, key: str) -> None:
    section, name = key.split(".")
    if section == "history":
        text = BASE + f"history: {{{name}: {path}}}\n"
    else:
        # A certificate and its key go together, over a secure channel.
        other = {"user_certificate": "user_private_key", "user_private_key": "user_certificate"}.get(name)
        extra = f", {other}: k.pem, security: Basic256Sha256" if other else ""
        text = BASE.replace('4840/"}', f'4840/", {name}: {path}{extra}}}')
    write_project(tmp_path, text)
    errors = check_project(tmp_path)
    bad = [error for error in errors if name in error.message]
    assert bad and all(error.line in (4, 8) for error in bad), errors
    assert all(len(str(error)) < 400 for error in errors)


# --- screen files that cannot be read are errors, never skipped ----------------------------------------


def _screen_dir(root: Path) -> Path:
    shutil.copytree(DEMO, root)
    return root / "screens"


def _loop(folder: Path) -> Path:
    (folder / "loop_a.yaml").symlink_to(folder / "loop_b.yaml")
    (folder / "loop_b.yaml").symlink_to(folder / "loop_a.yaml")
    return folder / "loop_a.yaml"


def _dangling(folder: Path) -> Path:
    (folder / "gone.yaml").symlink_to(folder / "not_there.yaml")
    return folder / "gone.yaml"


def _directory(folder: Path) -> Path:
    (folder / "folder.yaml").mkdir()
    return folder / "folder.yaml"


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.yaml")
    return folder / "pipe.yaml"


def _socket(folder: Path) -> Path:
    path = folder / "sock.yaml"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _latin1(folder: Path) -> Path:
    (folder / "latin.yaml").write_bytes("title: Kessel\nsize: [10, 10]\n# Größe\n".encode("latin-1"))
    return folder / "latin.yaml"


def _empty(folder: Path) -> Path:
    (folder / "empty.yaml").write_bytes(b"")
    return folder / "empty.yaml"


def _misnamed(folder: Path) -> Path:
    (folder / "Upper.YAML").write_text("size: [10, 10]\n", "utf-8")
    return folder / "Upper.YAML"


BROKEN_SCREENS = {
    "symlink loop": _loop,
    "dangling link": _dangling,
    "directory": _directory,
    "FIFO": _fifo,
    "socket": _socket,
    "not UTF-8": _latin1,
    "empty": _empty,
    "misnamed": _misnamed,
}


@pytest.mark.parametrize("make", BROKEN_SCREENS.values(), ids=BROKEN_SCREENS.keys())
def test_a_screen_file_that_cannot_be_read_is_an_error_naming_it(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    broken = make(_screen_dir(tmp_path / "plant"))
    lines = assert_refused(run_check(tmp_path / "plant", timeout=30))
    assert any(line.startswith(f"{broken}:") for line in lines), lines


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_screen_file_is_an_error(tmp_path: Path) -> None:
    folder = _screen_dir(tmp_path / "plant")
    (folder / "pump1.yaml").chmod(0)
    [error] = check_project(tmp_path / "plant")
    assert (error.file, error.line) == (folder / "pump1.yaml", 0) and "cannot read" in error.message


PROJECT_FILE_KINDS = {
    "symlink loop": lambda path: path.symlink_to(path),
    "dangling link": lambda path: path.symlink_to(path.with_name("nowhere.yaml")),
    "directory": lambda path: path.mkdir(),
    "FIFO": os.mkfifo,
}


@pytest.mark.parametrize("make", PROJECT_FILE_KINDS.values(), ids=PROJECT_FILE_KINDS.keys())
def test_a_project_file_that_cannot_be_read_is_an_error(tmp_path: Path, make: Callable[[Path], None]) -> None:
    make(tmp_path / "project.yaml")
    lines = assert_refused(run_check(tmp_path, timeout=30))
    assert lines == [line for line in lines if line.startswith(f"{tmp_path / 'project.yaml'}:0: ")]


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_screens_entry_that_is_not_a_folder_is_an_error(tmp_path: Path, kind: str) -> None:
    write_project(tmp_path, BASE)
    if kind == "file":
        (tmp_path / "screens").write_text("oops", "utf-8")
    else:
        (tmp_path / "screens").symlink_to(tmp_path / "nowhere")
    errors = check_project(tmp_path)
    assert [(error.file, error.line) for error in errors] == [(tmp_path / "screens", 0)]


def test_a_file_larger_than_the_bound_is_refused_unread(tmp_path: Path) -> None:
    write_project(tmp_path, BASE)
    with (tmp_path / "project.yaml").open("a", encoding="utf-8") as file:
        file.write("#" * (YamlLimits().max_bytes + 10) + "\n")
    [error] = check_project(tmp_path)
    assert error.line == 0 and "larger than" in error.message


def test_the_cli_exits_2_and_prints_each_error_as_file_line_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _screen_dir(tmp_path / "plant")
    _fifo(folder)
    _dangling(folder)
    assert main(["check", str(tmp_path / "plant")]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{folder / 'gone.yaml'}:0: a dangling symbolic link",
        f"{folder / 'pipe.yaml'}:0: not a regular file (a FIFO)",
    ]


# --- address overlaps: once per group, growing with tags, not with pairs ----------------------------------

_OVERLAP_TYPES = {"bool": 0, "uint16": 1, "float32": 2, "float64": 4}


@st.composite
def _modbus_tags(draw: st.DrawFn) -> list[TagToCheck]:
    """Up to 30 tags on two connections, packed into a few registers so that they collide often."""
    entries = []
    top = draw(st.integers(0, 12))  # sometimes all in one or two registers: groups larger than PAIRS_UP_TO
    for index in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(sorted(_OVERLAP_TYPES)))
        register = draw(st.integers(0, top))
        bit = draw(st.none() | st.integers(0, 2)) if kind == "bool" else None
        table = "co" if kind == "bool" and bit is None else "hr"  # a whole-register bool is not valid
        address = f"{table}:{register}" + (f".{bit}" if bit is not None else "")
        unit = draw(st.sampled_from([None, 1, 2]))
        connection = draw(st.sampled_from(["plc1", "plc2"]))
        spec = TagSpec(connection=connection, address=address, type=DataType(kind), unit=unit)
        entries.append(TagToCheck(f"T{index}", spec, connection, None))
    return entries


def _clash(one: TagToCheck, other: TagToCheck) -> bool:
    """The rule, the slow way: same connection, unit and table, a shared register, not two distinct bits."""
    a, b = parse_address(one.tag.address), parse_address(other.tag.address)
    if (one.connection, one.tag.unit, a.table) != (other.connection, other.tag.unit, b.table):
        return False
    span_a = 1 if a.bit is not None or a.table.is_bit else max(1, _OVERLAP_TYPES[one.tag.type.value])
    span_b = 1 if b.bit is not None or b.table.is_bit else max(1, _OVERLAP_TYPES[other.tag.type.value])
    if a.index >= b.index + span_b or b.index >= a.index + span_a:
        return False
    return a.bit is None or b.bit is None or a.bit == b.bit


@given(_modbus_tags())
@settings(max_examples=300, deadline=None)
def test_overlaps_are_reported_once_per_group_as_the_pairwise_rule_says(entries: list[TagToCheck]) -> None:
    parent = list(range(len(entries)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    pairs = [(j, i) for j in range(len(entries)) for i in range(j) if _clash(entries[j], entries[i])]
    for j, i in pairs:
        parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for index in range(len(entries)):
        groups.setdefault(root(index), []).append(index)
    issues = check_modbus_overlaps(entries)
    expected_tags = []
    for members in groups.values():
        if len(members) == 1:
            continue
        if len(members) <= PAIRS_UP_TO:
            expected_tags += [f"T{j}" for j, i in pairs if j in members]
        else:
            expected_tags.append(f"T{sorted(members)[1]}")
    assert sorted(issue.tag for issue in issues) == sorted(expected_tags)
    named = {
        (issue.tag, issue.message.split("overlaps tag ")[1].split(" ")[0])
        for issue in issues
        if "overlaps tag" in issue.message
    }
    small = {(f"T{j}", repr(f"T{i}")) for j, i in pairs if len(groups[root(j)]) <= PAIRS_UP_TO}
    assert named == small


@pytest.mark.parametrize("count", [2_000, 20_000])
def test_thousands_of_tags_on_one_address_are_one_line(count: int) -> None:
    entries = [
        TagToCheck(
            f"T{index}", TagSpec(connection="plc1", address="hr:0", type=DataType.UINT16), "plc1", None
        )
        for index in range(count)
    ]
    [issue] = check_modbus_overlaps(entries)
    assert issue.tag == "T1"
    assert f"one of {count} overlapping tags in hr:0 on connection 'plc1'" in issue.message
    assert f"and {count - 4} more" in issue.message


def test_hmi_check_on_2000_tags_sharing_an_address_prints_one_overlap(tmp_path: Path) -> None:
    tags = "".join(
        f"  T{index}: {{connection: plc1, address: 'hr:0', type: uint16}}\n" for index in range(2000)
    )
    write_project(tmp_path, BASE + tags)
    lines = assert_refused(run_check(tmp_path))
    assert len(lines) == 1 and "'T1'" in lines[0] and "one of 2001 overlapping tags" in lines[0]


@pytest.mark.parametrize(
    "change",
    [
        ("start_screen: x\n", "start_screen: {long}\n"),
        ("connection: plc1, address: 'hr:0'", "connection: {long}, address: 'hr:0'"),
        ("address: 'hr:0'", "address: '{long}'"),
        ("type: float32", "type: {long}"),
        ("LEVEL:", "{long}:"),
    ],
    ids=["screen", "connection", "address", "type", "tag name"],
)
def test_a_hostile_long_value_is_quoted_cut_not_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str]
) -> None:
    old, new = change
    text = (BASE + "start_screen: x\n").replace('address: "hr:0"', "address: 'hr:0'")
    assert old in text
    write_project(tmp_path, text.replace(old, new.format(long="Q" * 20_000)))
    assert main(["check", str(tmp_path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line) < len(str(tmp_path)) + 700 for line in lines), max(map(len, lines))
