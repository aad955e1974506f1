"""`hmi write` as a user runs it: a real process, a real pymodbus server, `hmi run --headless` beside it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server

BIG = 2**60 + 1
FC_READ_HOLDING = 3

PROJECT = """\
name: Commissioning
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  COUNTER: {{connection: plc1, address: "hr:4", type: int64, writable: true, scan: fast}}
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500]}}
  STATUS: {{connection: plc1, address: "hr:1", type: uint16}}
  FAR_AWAY: {{connection: plc1, address: "hr:900", type: uint16, writable: true, scan: slow}}
history: {{path: history.db, commit_interval: 200ms}}
"""


def make_project(root: Path, port: int) -> Path:
    (root / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    return root


async def hmi(*args: str, within: float = 60) -> tuple[int, str, str]:
    """Run `hmi ARGS` to its end without blocking the loop that serves the PLC."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hmi.app.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def headless_run(project: Path, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`hmi run PROJECT --headless` until the block ends, then a graceful stop (SIGTERM flushes history)."""
    with log.open("wb") as log_file:  # the station's log, to read when a test fails
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "hmi.app.cli", "run", str(project), "--headless", "--for", "120"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def latest_row(db: Path, tag: str) -> tuple[object, str] | None:
    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
            return conn.execute(
                "SELECT value, typeof(value) FROM history WHERE tag = ? AND quality = 'good'"
                " ORDER BY ts DESC LIMIT 1",
                (tag,),
            ).fetchone()
    except sqlite3.OperationalError:  # the schema is still being created
        return None


async def until(condition, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


async def test_an_int64_write_reaches_the_plc_and_the_history_of_a_running_station_exactly(
    tmp_path, free_port
):
    port = free_port()
    project = make_project(tmp_path, port)
    db = tmp_path / "history.db"
    async with (
        modbus_server(port, device(hr=[0] * 60)) as server,
        headless_run(project, tmp_path / "run.log"),
    ):
        await until(lambda: latest_row(db, "COUNTER") == (0, "integer"), 60, "the station records COUNTER")

        code, out, err = await hmi(
            "write", str(project), "COUNTER", "1152921504606846977", "--format", "json"
        )

        assert code == 0, err
        answer = json.loads(out)
        assert (answer["ok"], answer["written"], answer["read_back"]) == (True, BIG, BIG)
        assert (answer["origin"], answer["actor"]) == ("cli", _os_user())
        # the PLC's own datastore: 0x1000_0000_0000_0001, most significant register first
        assert await server.async_getValues(1, FC_READ_HOLDING, 4, 4) == [0x1000, 0, 0, 1]
        await until(
            lambda: latest_row(db, "COUNTER") == (BIG, "integer"), 30, "the station stores it exactly"
        )

    code, out, err = await hmi("history", "export", str(project), "--tag", "COUNTER")
    assert code == 0, err
    assert [line.split(",")[2] for line in out.splitlines()[1:] if ",good," in line][-1] == str(BIG)


async def test_text_output_is_the_read_back(tmp_path, free_port):
    port = free_port()
    async with modbus_server(port, device(hr=[0] * 60)) as server:
        code, out, err = await hmi("write", str(make_project(tmp_path, port)), "SPEED_SP", "1200")
        assert code == 0, err
        assert out == "SPEED_SP = 1200\n"
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [1200]


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [
        ("STATUS", "1", "hmi write: STATUS: tag is read-only"),
        ("SPEED_SP", "2000", "hmi write: SPEED_SP: 2000 is outside the limits [0, 1500]"),
        ("SPEEDSP", "1", "hmi write: SPEEDSP: no such tag"),
        ("SPEED_SP", "fast", "hmi write: SPEED_SP: 'fast' is not a number"),
    ],
)
async def test_refusals_exit_2_with_the_reason_and_never_reach_the_plc(
    tmp_path, free_port, tag, value, message
):
    port = free_port()
    async with modbus_server(port, device(hr=[7] * 60)) as server:
        code, out, err = await hmi("write", str(make_project(tmp_path, port)), tag, value)
        assert (code, out) == (2, "")
        assert message in err.splitlines()
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 2) == [7, 7]


async def test_the_plcs_error_exits_2_with_its_text(tmp_path, free_port):
    port = free_port()
    async with modbus_server(port, device(hr=[0] * 60)):
        code, out, _err = await hmi(
            "write", str(make_project(tmp_path, port)), "FAR_AWAY", "5", "--format", "json"
        )
    assert code == 2
    answer = json.loads(out)
    assert answer["ok"] is False
    assert answer["error"].startswith("FAR_AWAY: device refused the write: illegal data address")


async def test_an_unreachable_plc_exits_2_after_the_timeout(tmp_path, free_port):
    code, _out, err = await hmi(
        "write", str(make_project(tmp_path, free_port())), "SPEED_SP", "5", "--timeout", "1"
    )
    assert code == 2
    assert "hmi write: SPEED_SP: connection plc1 not connected within 1 s" in err


async def test_help_says_what_it_does_with_an_example():
    code, out, _err = await hmi("write", "--help")
    assert code == 0
    assert "read-back" in out and "hmi write plant/ PUMP1.SPEED_SP 1200" in out and "--format" in out


def _os_user() -> str:
    import getpass

    return getpass.getuser()


async def test_an_int64_write_to_an_opc_ua_server_is_exact_and_read_back(tmp_path, free_port):
    from asyncua import ua
    from opcua_server import opcua_test_server

    async with opcua_test_server(free_port()) as server:
        await server.add_variable("Plant.Counter", 0, ua.VariantType.Int64, writable=True)
        await server.add_variable("Plant.Locked", 0, ua.VariantType.Int64)  # the server refuses writes
        (tmp_path / "project.yaml").write_text(
            "name: UA\n"
            "connections:\n"
            f'  ua1: {{driver: opcua, endpoint: "{server.endpoint}", pki_dir: "{tmp_path / "pki"}"}}\n'
            "tags:\n"
            f'  COUNTER: {{connection: ua1, address: "{server.node_id("Plant.Counter")}", type: int64,'
            " writable: true}\n"
            f'  LOCKED: {{connection: ua1, address: "{server.node_id("Plant.Locked")}", type: int64,'
            " writable: true}\n",
            "utf-8",
        )
        code, out, err = await hmi("write", str(tmp_path), "COUNTER", str(BIG), "--format", "json")
        assert code == 0, err
        answer = json.loads(out)
        assert (answer["written"], answer["read_back"]) == (BIG, BIG)
        stored = await server.read_value("Plant.Counter")
        assert stored == BIG and type(stored) is int

        code, out, err = await hmi("write", str(tmp_path), "LOCKED", "5")
        assert (code, out) == (2, "")
        assert "hmi write: LOCKED: BadUserAccessDenied writing 5 to " in err
