"""Engineering-unit scaling of Modbus registers: read as raw * gain + offset, written back exactly.

A real pymodbus server holds the raw registers; the project file declares the scale; `hmi check`
reports every scaling mistake at its line.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from modbus_peer import Recorder, device, modbus_server, running, wait_for
from project_files import line_of, write_project

from drivers.modbus import ModbusDriver
from drivers.modbus_scaling import LinearScale
from hmi.core.write_check import coerce_for_write
from hmi.model import DataType, WriteError
from hmi.project.loader import check_project, load_project

PROJECT = """\
name: Scaled
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 1s}}
scan_classes: {{fast: 100ms}}
tags:
  LEVEL:  {{connection: plc1, address: "hr:0", type: uint16, units: "%", scan: fast, writable: true,
           limits: [0, 100], scale: {{gain: 0.1}}}}
  TEMP:   {{connection: plc1, address: "hr:1", type: int16, units: "°C", scan: fast,
           scale: {{raw: [0, 4000], eng: [-50, 350]}}}}
  FLOW:   {{connection: plc1, address: "hr:2", type: uint32, units: "m3/h", scan: fast, writable: true,
           scale: {{gain: 0.01, offset: -10}}}}
  PLAIN:  {{connection: plc1, address: "hr:4", type: uint16, scan: fast}}
"""


async def test_raw_registers_read_in_engineering_units_and_writes_go_back_exactly(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    write_project(tmp_path, PROJECT.format(port=port))
    project = load_project(tmp_path)
    tags = project.tags
    assert tags["LEVEL"].type is DataType.FLOAT64 and tags["LEVEL"].decimals == 1
    assert tags["PLAIN"].type is DataType.UINT16
    recorder = Recorder()
    plc = device(hr=[621, 1000, 0, 1510, 7] + [0] * 45)  # FLOW: 0x0000_05E6 = 1510 raw
    driver = ModbusDriver(
        "plc1",
        project.connections["plc1"].settings,
        list(tags.values()),
        recorder.on_sample,
        recorder.on_status,
    )
    async with modbus_server(port, plc) as server, running(driver):

        async def held(start: int, count: int) -> list[int]:
            return list(await server.async_getValues(1, 3, start, count))

        await wait_for(lambda: recorder.good("LEVEL", "TEMP", "FLOW", "PLAIN"))
        assert recorder.value("LEVEL") == 62.1
        assert recorder.value("TEMP") == 50.0  # -50 + 1000 * 400 / 4000
        assert recorder.value("FLOW") == 5.1  # 1510 * 0.01 - 10
        assert recorder.value("PLAIN") == 7

        await driver.write(tags["LEVEL"], coerce_for_write(tags["LEVEL"], "62.5"))
        assert await held(0, 1) == [625]
        assert recorder.value("LEVEL") == 62.5
        await driver.write(tags["FLOW"], 12.34)
        assert await held(2, 2) == [0, 2234]

        with pytest.raises(
            WriteError,
            match=r"^LEVEL: 62\.55 is not a whole number of steps of 0\.1: "
            r"the nearest values that can be written are 62\.5 and 62\.6$",
        ):
            await driver.write(tags["LEVEL"], 62.55)
        with pytest.raises(
            WriteError,
            match=r"^FLOW: -10\.01 is outside the range of the scaled uint32 \(\[-10, 4\.29497e\+07\]\)$",
        ):
            await driver.write(tags["FLOW"], -10.01)
        assert await held(0, 4) == [625, 1000, 0, 2234], "a refused write sends nothing"


def test_the_write_check_keeps_limits_in_engineering_units_and_refuses_what_is_not_a_step(
    tmp_path: Path,
) -> None:
    write_project(tmp_path, PROJECT.format(port=502))
    level = load_project(tmp_path).tags["LEVEL"]
    assert coerce_for_write(level, "62.5") == 62.5
    with pytest.raises(WriteError, match="outside the limits"):
        coerce_for_write(level, "100.1")
    # The one write check refuses what the register cannot hold exactly, before anything is sent.
    with pytest.raises(WriteError, match=r"^LEVEL: 62\.55 is not a whole number of steps of 0\.1: "):
        coerce_for_write(level, "62.55")
    flow = load_project(tmp_path).tags["FLOW"]
    with pytest.raises(WriteError, match=r"^FLOW: -10\.01 is outside the range of the scaled uint32"):
        coerce_for_write(flow, -10.01)


SCALES = [
    LinearScale.from_gain(0.1),
    LinearScale.from_gain(-0.25, 3.5),
    LinearScale.from_ranges((0, 4000), (-50.0, 350.0)),
    LinearScale.from_ranges((4000, 20000), (0.0, 100.0)),
    LinearScale.from_gain(0.001, -273.15),
]


@given(st.sampled_from(SCALES), st.integers(-(2**31), 2**31 - 1))
def test_every_raw_value_reads_and_writes_back_to_itself(scale: LinearScale, raw: int) -> None:
    """A value read from the register, written back as the operator sees it, is the same raw value."""
    assert scale.to_raw(scale.to_engineering(raw)) == raw
    assert scale.to_raw(Decimal(repr(scale.to_engineering(raw)))) == raw


@given(st.sampled_from(SCALES), st.integers(-(2**20), 2**20), st.fractions(0, 1).filter(lambda f: 0 < f < 1))
def test_a_value_between_two_raw_steps_is_refused_never_rounded(
    scale: LinearScale, raw: int, part: Fraction
) -> None:
    value = float(raw * scale.gain + scale.offset + part * scale.gain)
    if Fraction(repr(value)) == raw * scale.gain + scale.offset:  # the float landed on a step after all
        return
    with pytest.raises(ValueError, match="is not a whole number of steps"):
        scale.to_raw(value)


CHECKS = [
    ("ZERO_GAIN", '{connection: plc1, address: "hr:10", type: uint16, scale: {gain: 0}}', "zero span"),
    (
        "ZERO_RAW",
        '{connection: plc1, address: "hr:11", type: uint16, scale: {raw: [5, 5], eng: [0, 1]}}',
        "the raw range [5, 5] spans nothing (zero span)",
    ),
    (
        "ZERO_ENG",
        '{connection: plc1, address: "hr:12", type: uint16, scale: {raw: [0, 10], eng: [3, 3]}}',
        "the engineering range [3.0, 3.0] spans nothing (zero span)",
    ),
    (
        "BOTH",
        '{connection: plc1, address: "hr:13", type: uint16, scale: {gain: 2, raw: [0, 1], eng: [0, 1]}}',
        "give raw and eng, or gain (and offset), not both",
    ),
    (
        "HALF",
        '{connection: plc1, address: "hr:14", type: uint16, scale: {raw: [0, 10]}}',
        "raw: [low, high] and eng: [low, high] go together",
    ),
    ("EMPTY", '{connection: plc1, address: "hr:15", type: uint16, scale: {}}', "needs raw and eng ranges"),
    (
        "ON_BOOL",
        '{connection: plc1, address: "co:1", type: bool, scale: {gain: 0.1}}',
        "scale: not allowed on a bool tag (integer registers only",
    ),
    (
        "ON_STRING",
        '{connection: plc1, address: "hr:16", type: string, length: 4, scale: {gain: 0.1}}',
        "scale: not allowed on a string tag",
    ),
    (
        "ON_FLOAT",
        '{connection: plc1, address: "hr:18", type: float32, scale: {gain: 0.1}}',
        "scale: not allowed on a float32 tag",
    ),
    (
        "LIMITS_PAST_TYPE",
        '{connection: plc1, address: "hr:20", type: uint16, limits: [0, 7000], scale: {gain: 0.1}}',
        "limits: [0, 7000] (engineering units) lie outside the engineering range of a scaled uint16 "
        "[0, 6553.5]",
    ),
    (
        "LIMITS_PAST_ENG",
        '{connection: plc1, address: "hr:21", type: int16, limits: [-60, 100], '
        "scale: {raw: [0, 4000], eng: [-50, 350]}}",
        "limits: [-60, 100] (engineering units) lie outside the engineering range [-50, 350]",
    ),
    ("UNKNOWN_KEY", '{connection: plc1, address: "hr:22", type: uint16, scale: {gian: 0.1}}', "gian"),
    ("ON_OPCUA", '{connection: ua1, address: "ns=2;s=X", type: uint16, scale: {gain: 0.1}}', "Modbus only"),
]


def test_hmi_check_reports_every_scaling_mistake_at_its_line(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        name: Checks
        connections:
          plc1: {driver: modbus, host: 127.0.0.1, port: 502}
          ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
        tags:
        """) + "".join(f"  {name}: {entry}\n" for name, entry, _ in CHECKS)
    write_project(tmp_path, text)
    errors = check_project(tmp_path)
    path = tmp_path / "project.yaml"
    for name, _, expected in CHECKS:
        line = line_of(path, f"  {name}:")
        found = [e.message for e in errors if e.line == line]
        assert any(expected in message for message in found), (name, found)
    assert {e.line for e in errors} == {line_of(path, f"  {name}:") for name, _, _ in CHECKS}

    result = subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    line = line_of(path, "  ZERO_GAIN:")
    assert f"project.yaml:{line}: tag 'ZERO_GAIN': scale: " in result.stdout + result.stderr
