"""The driver registry: kinds declare schema, checks, factory and diagnostics; no one else names one."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from opcua_server import make_server_identity, opcua_test_server
from pydantic import Field, StrictInt

from drivers import registry
from drivers.base import Driver, SampleSink, StatusSink
from drivers.connection_fields import ConnectionModel, PositiveDuration, Text
from drivers.opcua_security import thumbprint
from drivers.registry import DriverContext, DriverKind, TagIssue, TagToCheck, UnknownDriverKind
from drivers.settings import OpcUaSettings
from hmi.core.runtime import TagRuntime
from hmi.model import (
    UNTRUSTED_CERTIFICATE,
    ConnectionState,
    ConnectionStatus,
    DriverDiagnostics,
    DriverError,
    Sample,
    TagDef,
)
from hmi.project.loader import check_project, load_project

ROOT = Path(__file__).resolve().parent.parent


def write_project(folder: Path, text: str) -> Path:
    (folder / "project.yaml").write_text(text, encoding="utf-8")
    return folder


def error_texts(folder: Path) -> list[str]:
    return [f"{error.line}: {error.message}" for error in check_project(folder)]


async def wait_for(predicate: Callable[[], bool], within: float = 8.0) -> None:
    """Poll until ``predicate()`` holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


# -- the registry itself --------------------------------------------------------------------------


def test_the_built_in_kinds_are_known_with_their_declarations():
    names = [kind.name for kind in registry.kinds()]
    assert names[:2] == ["modbus", "opcua"]
    modbus, opcua = registry.get("modbus"), registry.get("opcua")
    assert (modbus.title, opcua.title) == ("Modbus", "OPC UA")
    assert issubclass(modbus.diagnostics, DriverDiagnostics) and issubclass(
        opcua.diagnostics, DriverDiagnostics
    )
    assert opcua.file_keys == ("user_certificate", "user_private_key") and modbus.file_keys == ()
    assert registry.BROWSE in opcua.features and not modbus.features
    assert "byte_order" in modbus.tag_keys and "deadband_percent" in opcua.tag_keys


def test_an_unknown_kind_is_refused_naming_the_known_ones():
    with pytest.raises(UnknownDriverKind, match=r"unknown driver 'profibus': expected one of modbus, opcua"):
        registry.get("profibus")


def test_a_second_kind_of_the_same_name_is_refused():
    modbus = registry.get("modbus")
    registry.register(modbus)  # the same declaration again: harmless
    impostor = DriverKind("modbus", "Impostor", modbus.connection_model, modbus.factory, modbus.check_tag)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(impostor)
    assert registry.get("modbus") is modbus


def test_an_unknown_driver_in_a_project_is_an_error_at_its_line_naming_the_known_kinds(tmp_path):
    write_project(
        tmp_path,
        "name: Unknown driver\n"
        "connections:\n"
        "  plc1: {driver: modbus, host: 127.0.0.1}\n"
        "  bus1:\n"
        "    driver: profibuss\n"
        "    host: 10.0.0.9\n",
    )
    assert error_texts(tmp_path) == ["5: connection 'bus1': driver 'profibuss' is not one of modbus, opcua"]


def test_diagnostics_are_frozen_snapshots_read_by_field_name():
    snapshot = registry.get("modbus").diagnostics(state=ConnectionState.CONNECTED, requests=3, last_error="")
    assert snapshot["state"] == "connected" and snapshot["requests"] == 3
    assert snapshot.get("items_without_deadband") is None  # a figure this kind does not have
    with pytest.raises(KeyError):
        snapshot["items_without_deadband"]
    assert snapshot.figures()["state"] == "connected" and snapshot.keys()[:2] == ("state", "last_error")
    with pytest.raises(AttributeError):
        snapshot.requests = 4  # type: ignore[misc]


def test_no_module_outside_drivers_dispatches_on_a_driver_name():
    dispatch = re.compile(r"""(==|!=)\s*["'](modbus|opcua)["']|["'](modbus|opcua)["']\s*(==|!=)""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("hmi", "widgets")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if dispatch.search(line)
    ]
    assert offenders == []


# -- lazy imports -----------------------------------------------------------------------------------


def test_a_modbus_only_plant_never_loads_asyncua(tmp_path):
    write_project(
        tmp_path,
        "name: Modbus only\n"
        "connections:\n"
        "  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}\n"
        "tags:\n"
        '  TANK1.LEVEL: {connection: plc1, address: "hr:0", type: float32}\n',
    )
    script = (
        "import sys\n"
        "from hmi.core.runtime import create_driver\n"
        "from hmi.project.loader import load_project\n"
        f"project = load_project({str(tmp_path)!r})\n"
        "loaded_protocol = sorted(m for m in ('asyncua', 'pymodbus') if m in sys.modules)\n"
        "config = project.connections['plc1']\n"
        "driver = create_driver(config, list(project.tags.values()), lambda *a: None, lambda s: None)\n"
        "print(loaded_protocol, type(driver).__name__, 'asyncua' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    # Checking the project loads no protocol at all; building the Modbus driver loads pymodbus only.
    assert result.stdout.split() == ["[]", "ModbusDriver", "False"]


# -- a third kind, declared here and nowhere else ----------------------------------------------------


class LoopConnectionSpec(ConnectionModel):
    """``driver: loopback`` — a pretend device that echoes what is written to it."""

    driver: Literal["loopback"]
    device: Text
    channels: StrictInt = Field(8, ge=1, le=64)
    period: PositiveDuration = 0.05

    def to_settings(self, root: Path) -> dict[str, Any]:
        return {"device": self.device, "channels": self.channels, "period": self.period}


def check_loop_tag(entry: TagToCheck) -> list[TagIssue]:
    match = re.fullmatch(r"ch([0-9]+)", entry.tag.address)
    channels = getattr(entry.settings, "channels", 64)
    if match is None:
        return [TagIssue(entry.name, "address", f"{entry.tag.address!r} is not chN")]
    if int(match[1]) >= channels:
        return [TagIssue(entry.name, "address", f"channel {match[1]} is past the last ({channels - 1})")]
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopDiagnostics(DriverDiagnostics):
    """Figures of the loopback driver."""

    channels: int = 0


class LoopDriver(Driver):
    """Publishes the channel number of each tag as its value, as a device would publish a reading."""

    def __init__(
        self,
        name: str,
        settings: dict[str, Any],
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
    ) -> None:
        super().__init__(name, tags, on_sample, on_status)
        self.settings = settings

    async def write(self, tag: TagDef, value: Any) -> None:
        self.publish(tag.name, Sample.good(value))

    async def _connect(self) -> None:
        return None

    async def _serve(self) -> None:
        while True:
            for tag in self.tags:
                self.publish(tag.name, Sample.good(float(tag.address[2:])))
            await asyncio.sleep(self.settings["period"])

    async def _disconnect(self) -> None:
        return None


def create_loop_driver(
    name: str,
    settings: dict[str, Any],
    tags: Sequence[TagDef],
    on_sample: SampleSink,
    on_status: StatusSink,
    context: DriverContext,
) -> Driver:
    return LoopDriver(name, settings, tags, on_sample, on_status)


LOOPBACK = DriverKind(
    name="loopback",
    title="Loopback",
    connection_model=LoopConnectionSpec,
    factory=create_loop_driver,
    check_tag=check_loop_tag,
    diagnostics=LoopDiagnostics,
)


@pytest.fixture
def loopback() -> Iterator[DriverKind]:
    registry.register(LOOPBACK)
    try:
        yield LOOPBACK
    finally:
        registry.unregister(LOOPBACK.name)


def test_a_third_kind_is_validated_by_its_own_schema_and_checks(tmp_path, loopback):
    write_project(
        tmp_path,
        "name: Third kind\n"
        "connections:\n"
        "  rig: {driver: loopback, device: bench, channels: 4}\n"
        "  rig2: {driver: loopback, devise: bench}\n"
        "tags:\n"
        "  A: {connection: rig, address: ch1}\n"
        "  B: {connection: rig, address: ch9}\n"
        "  C: {connection: rig, address: hr:0}\n"
        "  D: {connection: rig, address: ch2, byte_order: ABCD}\n"
        "  E: {connection: nowhere, address: ch2}\n",
    )
    assert error_texts(tmp_path) == [
        "4: connection 'rig2': unknown key 'devise' (did you mean 'device'?)",
        "7: tag 'B': channel 9 is past the last (3)",
        "8: tag 'C': 'hr:0' is not chN",
        "9: tag 'D': byte_order: not allowed on a Loopback tag (Modbus only)",
        "10: tag 'E': unknown connection 'nowhere'",
    ]


def test_an_unknown_driver_names_a_registered_third_kind_too(tmp_path, loopback):
    write_project(tmp_path, "name: X\nconnections:\n  rig: {driver: loopbak, device: bench}\n")
    assert error_texts(tmp_path) == [
        "3: connection 'rig': driver 'loopbak' is not one of modbus, opcua, loopback"
        " (did you mean 'loopback'?)"
    ]


async def test_a_third_kind_runs_end_to_end_through_the_runtime(tmp_path, loopback):
    write_project(
        tmp_path,
        "name: Third kind\n"
        "connections:\n"
        "  rig: {driver: loopback, device: bench, period: 20ms}\n"
        "tags:\n"
        "  A: {connection: rig, address: ch3}\n",
    )
    project = load_project(tmp_path)
    assert project.connections["rig"].settings == {"device": "bench", "channels": 8, "period": 0.02}
    runtime = TagRuntime(project)
    await runtime.start()
    try:
        await wait_for(lambda: runtime.values["A"].is_good)
        assert runtime.values["A"].value == 3.0
        driver = runtime.drivers["rig"]
        assert isinstance(driver, LoopDriver)
        assert driver.diagnostics()["state"] == "connected"
    finally:
        await runtime.stop()
    # Forgotten again: the same project is now an error naming the kinds that remain.
    registry.unregister("loopback")
    assert error_texts(tmp_path) == ["3: connection 'rig': driver 'loopback' is not one of modbus, opcua"]


# -- structured errors ------------------------------------------------------------------------------


async def test_an_untrusted_server_certificate_is_a_structured_error_with_its_thumbprint(free_port, tmp_path):
    identity = make_server_identity()
    pki = tmp_path / "pki"
    statuses: list[ConnectionStatus] = []
    async with opcua_test_server(free_port(), identity) as server:
        settings = OpcUaSettings(
            server.endpoint, "Basic256Sha256", "SignAndEncrypt", timeout=2.0, pki_dir=str(pki)
        )
        driver = registry.get("opcua").create("ua1", settings, [], lambda *_: None, statuses.append)
        await driver.start()
        try:
            await wait_for(lambda: driver.status.error is not None)
            error = driver.status.error
            assert isinstance(error, DriverError) and error.kind == UNTRUSTED_CERTIFICATE
            assert error.data["thumbprint"] == thumbprint(identity.certificate)
            assert error.data["endpoint"] == server.endpoint
            assert (pki / "rejected" / f"{error.data['thumbprint']}.der").is_file()
            assert error.detail in driver.status.last_error  # the text still says it for people
            assert isinstance(driver.diagnostics(), registry.get("opcua").diagnostics)
            await wait_for(
                lambda: any(s.state is ConnectionState.CONNECTING and s.last_error for s in statuses)
            )
        finally:
            await driver.stop()
    # Retrying keeps the structured error while connecting again, so a watcher never loses it mid-retry.
    retries = [s for s in statuses if s.state is ConnectionState.CONNECTING and s.last_error]
    assert retries and all(s.error is not None for s in retries)
