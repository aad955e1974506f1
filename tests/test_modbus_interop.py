"""Interoperability: our driver against a Modbus TCP server written in C with libmodbus (Debian package).

The test compiles tests/peers/libmodbus_server.c into a temporary folder, runs it on a free
loopback port and reads and writes every type family through ``ModbusDriver``.
"""

from __future__ import annotations

import select
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ON_CI, require_program
from modbus_peer import Recorder, make_driver, running, tag, wait_for

from hmi.model import DataType, TagDef

pytestmark = pytest.mark.interop

SOURCE = Path(__file__).parent / "peers" / "libmodbus_server.c"
START_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def libmodbus_server_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = require_program("gcc")
    pkg_config = require_program("pkg-config")
    flags = subprocess.run(
        [pkg_config, "--cflags", "--libs", "libmodbus"], capture_output=True, text=True, check=False
    )
    if flags.returncode != 0:
        message = f"libmodbus-dev is not installed (.ci/run installs it): {flags.stderr.strip()}"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    binary = tmp_path_factory.mktemp("libmodbus") / "libmodbus_server"
    subprocess.run(
        [gcc, "-O1", "-o", str(binary), str(SOURCE), *flags.stdout.split()],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return binary


@pytest.fixture
def libmodbus_port(libmodbus_server_binary: Path, free_port: Callable[[], int]) -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [str(libmodbus_server_binary), str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], START_TIMEOUT_S)
        line = server.stdout.readline() if ready else ""
        if "listening" not in line:
            server.kill()
            _, errors = server.communicate(timeout=5)
            pytest.fail(f"libmodbus server did not start: {line!r} {errors!r}")
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()


EXPECTED: list[tuple[TagDef, object]] = [
    (tag("coil0", "co:0", DataType.BOOL), True),
    (tag("coil1", "co:1", DataType.BOOL), False),
    (tag("coil3", "00004", DataType.BOOL), True),  # Modicon numbering of co:3
    (tag("input1", "di:1", DataType.BOOL), True),
    (tag("u16", "hr:0", DataType.UINT16), 1234),
    (tag("i16", "hr:1", DataType.INT16), -1234),
    (tag("i32", "hr:2", DataType.INT32), 123456),
    (tag("u32", "hr:4", DataType.UINT32), 3_000_000_000),
    (tag("i64", "hr:6", DataType.INT64), -2),
    (tag("f32_abcd", "hr:10", DataType.FLOAT32, byte_order="ABCD"), -12.25),
    (tag("f32_cdab", "hr:12", DataType.FLOAT32, byte_order="CDAB"), -12.25),
    (tag("f32_badc", "hr:14", DataType.FLOAT32, byte_order="BADC"), -12.25),
    (tag("f32_dcba", "hr:16", DataType.FLOAT32, byte_order="DCBA"), -12.25),
    (tag("f64", "hr:18", DataType.FLOAT64), 3.125),
    (tag("text", "hr:22", DataType.STRING, string_length=10), "LIBMODBUS"),
    (tag("bit0", "hr:27.0", DataType.BOOL), True),
    (tag("bit1", "hr:27.1", DataType.BOOL), False),
    (tag("bit15", "hr:27.15", DataType.BOOL), True),
    (tag("ir_abcd", "ir:0", DataType.FLOAT32, byte_order="ABCD"), 123.5),
    (tag("ir_cdab", "300003", DataType.FLOAT32, byte_order="CDAB"), 123.5),  # Modicon numbering of ir:2
    (tag("ir_word", "ir:4", DataType.UINT16), 4321),
]


async def test_every_type_family_reads_from_libmodbus(libmodbus_port: int) -> None:
    recorder = Recorder()
    tags = [t for t, _ in EXPECTED]
    driver = make_driver(libmodbus_port, tags, recorder)
    async with running(driver):
        await wait_for(lambda: recorder.good(*(t.name for t in tags)), within=5)
        values = {t.name: recorder.value(t.name) for t in tags}
    assert values == {t.name: value for t, value in EXPECTED}
    assert driver.diagnostics()["errors"] == 0


async def test_writes_to_libmodbus_read_back_verified(libmodbus_port: int) -> None:
    recorder = Recorder()
    writes = {
        "coil": (tag("coil", "co:5", DataType.BOOL, period=5, writable=True), True),
        "setpoint": (tag("setpoint", "hr:40", DataType.UINT16, period=5, writable=True), 4321),
        "flow": (tag("flow", "hr:42", DataType.FLOAT32, period=5, byte_order="CDAB", writable=True), 42.1),
        "total": (tag("total", "hr:44", DataType.INT64, period=5, writable=True), -(2**40)),
        "name": (tag("name", "hr:48", DataType.STRING, period=5, string_length=6, writable=True), "P-101"),
        "flag": (tag("flag", "hr:27.2", DataType.BOOL, period=5, writable=True), False),
        "word": (tag("word", "hr:27", DataType.UINT16, period=5), None),
    }
    driver = make_driver(libmodbus_port, [t for t, _ in writes.values()], recorder, verify=True)
    async with running(driver):
        await wait_for(lambda: recorder.good(*writes), within=5)
        assert recorder.value("word") == 0x8005
        for name, (target, value) in writes.items():
            if value is not None:
                await driver.write(target, value)
                assert recorder.value(name) == value, name
        await driver.write(writes["flag"][0], True)
        await wait_for(lambda: recorder.value("word") == 0x8005, within=7)  # next scan: other bits kept
