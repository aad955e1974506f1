"""The ``acquisition:`` setting: validated strictly with line numbers, and how many processes it means."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from project_files import BASE, messages, write_project

from drivers.base import Driver
from drivers.settings import ModbusSettings
from hmi.core import acquisition
from hmi.core.acquisition import ProcessDriverFactory, driver_factory, process_count
from hmi.core.runtime import create_driver
from hmi.model import TagDef
from hmi.project.config import AcquisitionSettings, ConnectionConfig
from hmi.project.loader import load_project


def test_processes_default_to_zero_and_take_a_count_or_auto(tmp_path: Path) -> None:
    write_project(tmp_path, BASE)
    assert load_project(tmp_path).acquisition == AcquisitionSettings(0)
    for written, expected in (("2", 2), ("0", 0), ("auto", "auto")):
        write_project(tmp_path, BASE + f"acquisition: {{processes: {written}}}\n")
        assert load_project(tmp_path).acquisition == AcquisitionSettings(expected)
    write_project(tmp_path, BASE + "acquisition:\n")
    assert load_project(tmp_path).acquisition == AcquisitionSettings(0)


def test_bad_settings_are_errors_with_their_line(tmp_path: Path) -> None:
    line = len(BASE.splitlines()) + 1
    for written in ("-1", "65", "many", "1.5", "true", "'2'"):
        found = messages(tmp_path, f"acquisition: {{processes: {written}}}\n")
        assert len(found) == 1, (written, found)
        assert found[0].startswith(f"{line}: acquisition: processes: expected 0 "), found
    found = messages(tmp_path, "acquisition: {procs: 2}\n")
    assert found == [f"{line}: acquisition: unknown key 'procs' (did you mean 'processes'?)"]


def test_auto_stays_in_process_for_small_projects_and_uses_the_cores_for_large_ones(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "acquisition: {processes: auto}\n")
    small = load_project(tmp_path)
    assert process_count(small) == 0
    assert driver_factory(small, create_driver) is create_driver
    many = {
        f"T{n}": TagDef(f"T{n}", "plc1", f"hr:{n}") for n in range(acquisition.AUTO_MIN_TAGS)
    }
    large = dataclasses.replace(small, tags=many)
    assert process_count(large, cpus=8) == 1  # only plc1 has tags: one process is all it can use
    two = {**many, "U": TagDef("U", "ua1", "ns=2;s=U")}
    assert process_count(dataclasses.replace(large, tags=two), cpus=8) == 2
    assert process_count(dataclasses.replace(large, tags=two), cpus=1) == 1


def test_a_count_is_capped_by_the_connections_with_tags(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "acquisition: {processes: 4}\n")
    project = load_project(tmp_path)
    assert process_count(project) == 1  # ua1 has no tags
    factory = driver_factory(project, create_driver)
    assert isinstance(factory, ProcessDriverFactory) and len(factory.workers) == 1


def test_connections_go_to_the_least_loaded_process() -> None:
    factory = ProcessDriverFactory(2)  # no process starts until a driver does

    def proxy(name: str, tags: int) -> Driver:
        conn = ConnectionConfig(name, "modbus", ModbusSettings("127.0.0.1"))
        return factory(conn, [TagDef(f"{name}{n}", name, f"hr:{n}") for n in range(tags)], print, print)

    big, small1, small2 = proxy("big", 100), proxy("s1", 10), proxy("s2", 10)
    assert big.worker is not small1.worker  # type: ignore[attr-defined]
    assert small1.worker is small2.worker  # type: ignore[attr-defined]
