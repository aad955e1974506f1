"""Project and screen files built at random load as a project or fail with ``file:line`` errors: never an
exception of another kind, never a hang.

``tests/check_fuzzer.py`` mutates the demo project (a value replaced, a key dropped, hostile YAML spliced
in). This builds documents from nothing instead: random mappings under the keys the loader knows
(connections, tags, alarms, rules, sync, screens' items...) with random values, written as YAML (block or
flow style) or as raw bytes, so that the loader meets shapes no mutant of the demo would reach. Each load
runs under an interval timer: a load that takes longer than ``LOAD_SECONDS`` fails as a hang.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hmi.project.errors import ProjectInvalid
from hmi.project.loader import load_project

SCALE = int(os.environ.get("HMI_FUZZ_SCALE", "1"))
"""``make fuzz`` raises it for a long run with fresh randomness; the suite runs a fixed set."""
FUZZ = settings(
    max_examples=150 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LOAD_SECONDS = 20.0

PROJECT_KEYS = [
    "name", "start_screen", "connections", "scan_classes", "tags", "alarms", "alarm_settings", "rules",
    "history", "sync", "acquisition", "trends", "security",
]  # fmt: skip
FIELD_KEYS = [
    "driver", "host", "port", "unit", "timeout", "endpoint", "security", "connection", "address", "type",
    "units", "scan", "deadband", "writable", "rule_writable", "limits", "expr", "tag", "limit", "priority",
    "on_delay", "off_delay", "message", "screen", "area", "when", "for", "clear", "cooldown", "do", "raise",
    "write", "value", "byte_order", "scale", "url", "format", "streams", "batch", "auth", "tls", "path",
    "retention", "commit_interval", "processes", "items", "id", "x", "y", "w", "h", "props", "title",
]  # fmt: skip
DRIVERS = ["modbus", "opcua", "sim", "", "MODBUS"]
TYPES = ["bool", "int16", "uint16", "int32", "float32", "float64", "string", "double", "hi", "lo", "tank"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        DRIVERS + TYPES + ["hr:0", "co:1", "ir:9.3", "1s", "250ms", "-1s", "opc.tcp://127.0.0.1:1/"]
    ),
    st.sampled_from(
        ["TANK1.LEVEL", "A.B", "x > 1 and", "max(", "1/0", "${env}", "*alias", "&a", "!!python/object"]
    ),
)
names = st.one_of(st.sampled_from(FIELD_KEYS), st.text(min_size=1, max_size=12))


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=6)),
        max_leaves=25,
    )


entries = st.dictionaries(st.text(min_size=1, max_size=16), _nested(scalars), max_size=5)
projects = st.fixed_dictionaries(
    {}, optional={key: st.one_of(entries, _nested(scalars)) for key in PROJECT_KEYS}
)
screens = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=10),
        "title": scalars,
        "size": _nested(scalars),
        "items": st.lists(st.dictionaries(names, _nested(scalars), max_size=8), max_size=6),
    },
)


def _yaml_text(document: Any, flow: bool) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise _Hang(f"loading took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load_cleanly(folder: Path) -> None:
    """A project, or errors that each name a file of the folder and a line: nothing else."""
    with _bounded(LOAD_SECONDS):
        try:
            load_project(folder)
        except ProjectInvalid as invalid:
            assert invalid.errors
            for error in invalid.errors:
                assert error.line >= 0 and error.message, error
                assert Path(error.file).resolve().is_relative_to(folder.resolve()), error


def _write(folder: Path, project: bytes, screen_files: list[bytes]) -> None:
    (folder / "project.yaml").write_bytes(project)
    if screen_files:
        (folder / "screens").mkdir()
        for number, text in enumerate(screen_files):
            (folder / "screens" / f"s{number}.yaml").write_bytes(text)


@FUZZ
@given(projects, st.lists(screens, max_size=2), st.booleans())
def test_random_documents_load_or_fail_with_file_and_line(
    project: dict[str, Any], screen_docs: list[dict[str, Any]], flow: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        screen_files = [_yaml_text(doc, flow).encode() for doc in screen_docs]
        _write(Path(folder), _yaml_text(project, flow).encode(), screen_files)
        _load_cleanly(Path(folder))


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.binary(max_size=500), max_size=2))
def test_random_bytes_load_or_fail_with_file_and_line(project: bytes, screen_files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), project, screen_files)
        _load_cleanly(Path(folder))


@FUZZ
@given(projects, st.data())
def test_documents_cut_or_spliced_load_or_fail_with_file_and_line(
    project: dict[str, Any], data: st.DataObject
) -> None:
    text = _yaml_text(project, data.draw(st.booleans()))
    at = data.draw(st.integers(0, len(text)))
    noise = data.draw(
        st.sampled_from(["", ":", "- ", "{", "[", "'", '"', "\t", "&a ", "*a", "? ", "\n  x: ", "\ufeff"])
    )
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), (text[:at] + noise + text[at:]).encode(), [])
        _load_cleanly(Path(folder))
