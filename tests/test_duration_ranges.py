"""Every duration and size in a project has a sane range that `hmi check` enforces, and the history
writer never dies silently on a value it is handed anyway.

The fields are found by walking the project schema and every driver kind's connection schema, so a
new duration or size field fails here until it has a range and a place in ``SNIPPETS``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_files import BASE, write_project
from pydantic import AfterValidator, BaseModel, BeforeValidator
from ruamel.yaml import YAML

from drivers import registry
from drivers.units import DURATION_UNITS, SIZE_UNITS, parse_duration, parse_size
from hmi.alarms.engine import AlarmState
from hmi.core.station import HISTORY_UNAVAILABLE_ALARM, Station
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample
from hmi.project.loader import check_project, load_project
from hmi.project.schema import ProjectSpec
from hmi.project.system_tags import HISTORY_AVAILABLE, HISTORY_OK
from hmi.store import StoreWriter

Field = tuple[str, str]  # (model name, field name)


def _metadata(annotation: Any) -> Iterator[Any]:
    """Every validator in ``annotation``, through Annotated, containers and unions."""
    if typing.get_origin(annotation) is typing.Annotated:
        yield from annotation.__metadata__
        yield from _metadata(typing.get_args(annotation)[0])
        return
    for argument in typing.get_args(annotation):
        yield from _metadata(argument)


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def measured_fields() -> dict[Field, tuple[str, list[Any]]]:
    """Each duration or size field of the schemas: its kind and its validators."""
    found: dict[Field, tuple[str, list[Any]]] = {}
    todo: list[type[BaseModel]] = [ProjectSpec, *(kind.connection_model for kind in registry.kinds())]
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            validators = [*info.metadata, *_metadata(info.annotation)]
            todo.extend(_models(info.annotation))
            parsers = {v.func for v in validators if isinstance(v, BeforeValidator)}
            kind = "duration" if parse_duration in parsers else "size" if parse_size in parsers else None
            if kind is not None:
                found[(model.__name__, name)] = (kind, validators)
    return found


def _connection(kind: str) -> Callable[[str, str], str]:
    needle = {"modbus": "port: 5020}", "opcua": 'endpoint: "opc.tcp://127.0.0.1:4840/"}'}[kind]
    return lambda key, value: BASE.replace(needle, needle[:-1] + f", {key}: {value}}}")


def _extra(text: str) -> Callable[[str, str], str]:
    return lambda key, value: BASE + text.format(key=key, value=value)


_SYNC = 'sync:\n  e: {{{{url: "http://127.0.0.1:9/in", {part}}}}}\n'
"""A sync endpoint with one part given: formatted once here, then again with the key and value."""

SNIPPETS: dict[Field, Callable[[str, str], str]] = {
    ("ProjectSpec", "scan_classes"): _extra("scan_classes: {{normal: 1s, fast: {value}}}\n"),
    ("AlarmSpec", "on_delay"): _extra("alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1, {key}: {value}}}\n"),
    ("AlarmSpec", "off_delay"): _extra("alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1, {key}: {value}}}\n"),
    ("AlarmSpec", "suppress_release"): _extra(
        "alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1, suppress_by: SYSTEM.LINK.plc1.LOST,"
        " {key}: {value}}}\n"
    ),
    ("AlarmSpec", "window"): _extra("alarms:\n  A: {{tag: LEVEL, type: roc, limit: 1, {key}: {value}}}\n"),
    ("TrendSpec", "span"): _extra("trends:\n  t: {{{key}: {value}, pens: [LEVEL]}}\n"),
    ("HistorySpec", "retention"): _extra("history: {{{key}: {value}}}\n"),
    ("HistorySpec", "max_size"): _extra("history: {{{key}: {value}}}\n"),
    ("HistorySpec", "commit_interval"): _extra("history: {{{key}: {value}}}\n"),
    ("ModbusConnectionSpec", "timeout"): _connection("modbus"),
    ("OpcUaConnectionSpec", "timeout"): _connection("opcua"),
    ("OpcUaConnectionSpec", "max_clock_skew"): _connection("opcua"),
    ("OpcUaConnectionSpec", "max_source_age"): _connection("opcua"),
    ("AlarmSettingsSpec", "max_shelve"): _extra("alarm_settings: {{{key}: {{high: {value}}}}}\n"),
    ("SyncBatchSpec", "bytes"): _extra(_SYNC.format(part="batch: {{{key}: {value}}}")),
    ("SyncBatchSpec", "max_age"): _extra(_SYNC.format(part="batch: {{{key}: {value}}}")),
    ("SyncEndpointSpec", "flush_timeout"): _extra(_SYNC.format(part="{key}: {value}")),
    # The other bound at its far end, so that only the field's own range can refuse it.
    ("SyncRetrySpec", "initial"): _extra(_SYNC.format(part="retry: {{{key}: {value}, max: 1h}}")),
    ("SyncRetrySpec", "max"): _extra(_SYNC.format(part="retry: {{initial: 10ms, {key}: {value}}}")),
    ("SyncTimeoutSpec", "connect"): _extra(_SYNC.format(part="timeout: {{{key}: {value}}}")),
    ("SyncTimeoutSpec", "read"): _extra(_SYNC.format(part="timeout: {{{key}: {value}}}")),
}
"""How to write each field into a project (BASE plus the field)."""


def test_every_duration_and_size_field_is_known_here_and_has_a_range():
    fields = measured_fields()
    assert set(fields) == set(SNIPPETS), "a duration or size field was added or removed: list it in SNIPPETS"
    for field, (_kind, validators) in fields.items():
        assert any(isinstance(v, AfterValidator) for v in validators), f"{field} has no range"


def _number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, 10**30).map(str),
        st.floats(0, 1e300, allow_nan=False, allow_infinity=False).map(repr),
        st.integers(1, 500).map(lambda digits: "9" * digits),
        st.sampled_from(["0", "0.0", "1e-9", "0.001", "1e308", "99999999999"]),
    )


def _value_text(kind: str) -> st.SearchStrategy[str]:
    units = ["", *(DURATION_UNITS if kind == "duration" else SIZE_UNITS)]
    return st.tuples(_number_text(), st.sampled_from(units)).map("".join)


def _range_of(field: Field, kind: str) -> tuple[float, float]:
    """The accepted range, read from the error message for a value far outside (0 and a huge one)."""
    low_text = high_text = ""
    for probe in ("0", "9" * 20):
        errors = _errors(field, probe)
        if errors and "must be between " in errors[0]:
            message = errors[0]
            low_text, high_text = message.split("must be between ", 1)[1].split(",", 1)[0].split(" and ")
    parse = parse_duration if kind == "duration" else parse_size
    return float(parse(low_text)), float(parse(high_text))


def _errors(field: Field, value: str) -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = write_project(Path(folder), SNIPPETS[field](field[1], value))
        return [f"{error.file.name}:{error.line}: {error.message}" for error in check_project(root)]


@pytest.mark.parametrize("field", sorted(SNIPPETS), ids=lambda f: ".".join(f))
def test_extreme_values_are_refused_naming_the_range_and_accepted_ones_lie_within(field):
    kind, _validators = measured_fields()[field]
    low, high = _range_of(field, kind)
    assert 0 <= low < high
    parse = parse_duration if kind == "duration" else parse_size

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_value_text(kind))
    def check(value: str) -> None:
        errors = _errors(field, value)  # never a traceback: check_project returns or the test fails
        try:
            parsed = float(parse(YAML(typ="safe").load(value)))  # as the project file reads it
        except ValueError:
            parsed = None
        if parsed is not None and low <= parsed <= high:
            assert errors == [], (value, errors)
            return
        assert len(errors) == 1, (value, errors)
        assert errors[0].startswith("project.yaml:"), errors
        assert int(errors[0].split(":")[1]) > 0, errors  # a real line
        assert field[1] in errors[0] or "scan class" in errors[0], errors
        if parsed is not None:  # a number, outside the range: the message names it (or says above 0)
            assert "must be between" in errors[0] or "greater than 0" in errors[0], errors

    check()


def _project(tmp_path: Path, **history: Any) -> Any:
    project = load_project(write_project(tmp_path, "name: P\n"))
    return dataclasses.replace(project, history=dataclasses.replace(project.history, **history))


async def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):  # bounded
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize(
    "history",
    [
        {"commit_interval": 99999999999 * 86400.0},
        {"retention": 99999999999 * 86400.0, "commit_interval": 0.05},
    ],
    ids=["commit_interval", "retention"],
)
async def test_a_writer_handed_an_absurd_setting_stays_alive_and_raises_the_history_alarm(
    tmp_path, caplog, history
):
    """The values `hmi check` now refuses, forced past it: the failure is an alarm and a log line."""
    project = _project(tmp_path, **history)
    station = Station(project, project.history.path)
    caplog.set_level(logging.ERROR, logger="hmi.store.writer")
    await station.start()
    try:
        station.history.append("T", Sample.good(1.0))
        status = station.alarms.statuses[HISTORY_UNAVAILABLE_ALARM]
        await _wait(lambda: status.state is AlarmState.UNACKED)
        assert status.definition.priority == "urgent"
        assert station.runtime.values[HISTORY_AVAILABLE].value is False
        assert station.runtime.values[HISTORY_OK].value is False
        stats = station.store.writer.stats()
        assert stats.running and stats.faults >= 1 and "OverflowError" in stats.fault
        logged = [r.getMessage() for r in caplog.records]
        assert any("unexpected error" in line and "OverflowError" in line for line in logged), logged
    finally:
        await station.stop()


def test_the_writer_recovers_from_a_fault_and_says_so(tmp_path, caplog):
    """A fault is cleared by the next clean cycle: the thread never needed restarting."""
    writer = StoreWriter(tmp_path / "h.db", 0.02)
    history = HistoryWriter(tmp_path / "h.db", writer=writer)
    failures = iter([OverflowError("boom"), None])
    original = history.upkeep

    def flaky(connect: Any, budget: float) -> None:  # a real upkeep that fails once
        failure = next(failures, None)
        if failure is not None:
            raise failure
        original(connect, budget)

    history.upkeep = flaky  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING, logger="hmi.store.writer")
    writer.start()
    try:
        history.append("T", Sample.good(1.0))
        for _ in range(200):  # bounded: 10 s
            stats = writer.stats()
            if stats.faults and not stats.fault and history.stats()["written"]:
                break
            writer.wake.set()
            import time

            time.sleep(0.05)
        stats = writer.stats()
        assert stats.running and stats.faults == 1 and stats.fault == ""
        assert history.stats()["written"] == 1
        assert any("running clean again" in r.getMessage() for r in caplog.records)
    finally:
        writer.stop()


@pytest.mark.parametrize("bound", ["low", "high"])
async def test_history_at_the_ends_of_its_ranges_records(tmp_path, bound):
    """The ranges are sane both ways: a station at either end of every history range commits and purges."""
    ends = {
        "low": {"retention": 3600.0, "max_size": 1024**2, "commit_interval": 0.01},
        "high": {"retention": 36500 * 86400.0, "max_size": 100 * 1024**4, "commit_interval": 0.05},
    }[bound]
    project = _project(tmp_path, **ends)
    station = Station(project, project.history.path)
    await station.start()
    try:
        station.history.append("T", Sample.good(1.0))
        await _wait(lambda: station.history.stats()["written"] >= 1)
        await asyncio.sleep(0.2)  # a few cycles of upkeep (retention) after the commit
        stats = station.store.writer.stats()
        assert stats.running and stats.faults == 0, stats
    finally:
        await station.stop()
