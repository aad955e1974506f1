"""`hmi write` on signed tags: --sign-reason, --verifier with CONVERGE_VERIFIER_PASSWORD; without a valid
signature exit 2 and nothing reaches the PLC. Real processes, a real pymodbus server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from modbus_peer import device, modbus_server

from hmi.security.paths import users_path
from hmi.security.users import UserStore

GOOD = "correct horse 42"
WRITE_CODES = {5, 6, 15, 16}
FC_READ_HOLDING = 3

PROJECT = """\
name: Signed
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
tags:
  DOSE_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, confirm: signature}}
  KILN_SP: {{connection: plc1, address: "hr:1", type: uint16, writable: true, confirm: double}}
history: {{path: history.db}}
"""


async def hmi(*args: str, password: str | None = None, verifier: str | None = None) -> tuple[int, str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CONVERGE_") or k == "CONVERGE_HMI_DATA_DIR"
    }
    if password is not None:
        env["CONVERGE_PASSWORD"] = password
    if verifier is not None:
        env["CONVERGE_VERIFIER_PASSWORD"] = verifier
    pipe = asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hmi.app.cli", *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=pipe,
        stderr=pipe,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class RequestLog:
    def __init__(self) -> None:
        self.codes: list[int] = []

    def __call__(self, sending: bool, pdu: Any) -> Any:  # pymodbus's trace signature
        if not sending:
            self.codes.append(pdu.function_code)
        return pdu

    def writes(self) -> list[int]:
        return [code for code in self.codes if code in WRITE_CODES]


@contextlib.asynccontextmanager
async def plc(tmp_path: Path, port: int):
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    log = RequestLog()
    async with modbus_server(port, device(hr=[7] * 10), trace=log) as server:
        yield server, log


def with_users() -> None:
    store = UserStore(users_path())
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    store.add_user("otto", "operator", GOOD)


def trail(project: Path) -> list[tuple[str, str, str, str, str]]:
    with contextlib.closing(sqlite3.connect(project / "history-audit.db")) as conn:
        return conn.execute("SELECT actor, action, target, stage, detail FROM audit ORDER BY seq").fetchall()


async def test_a_signed_cli_write_goes_out_and_is_audited_with_its_meaning(tmp_path, free_port):
    with_users()
    async with plc(tmp_path, free_port()) as (server, _log):
        args = ("write", str(tmp_path), "DOSE_SP", "42", "--user", "olga", "--sign-reason", "batch 118")
        code, out, err = await hmi(*args, password=GOOD)
        assert code == 0, err
        assert out == "DOSE_SP = 42\n"
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [42]
    done = [row for row in trail(tmp_path) if row[1] == "write" and row[3] == "done"]
    assert done == [("olga", "write", "DOSE_SP", "done", "signed: performed by olga; reason: batch 118")]


async def test_without_a_reason_or_with_a_wrong_verifier_nothing_reaches_the_plc(tmp_path, free_port):
    with_users()
    async with plc(tmp_path, free_port()) as (server, log):
        code, _out, err = await hmi("write", str(tmp_path), "DOSE_SP", "42", "--user", "olga", password=GOOD)
        assert code == 2
        assert "give --sign-reason" in err and "needs an electronic signature" in err
        double = ("write", str(tmp_path), "KILN_SP", "900", "--user", "olga", "--sign-reason", "trial")
        code, _out, err = await hmi(*double, "--verifier", "olga", password=GOOD, verifier=GOOD)
        assert code == 2 and "the verifier must be another user than the signer" in err
        code, _out, err = await hmi(*double, "--verifier", "otto", password=GOOD, verifier="wrong 1234567")
        assert code == 2 and "otto: unknown user or wrong password" in err
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 2) == [7, 7]
        assert log.writes() == []
        code, _out, err = await hmi(*double, "--verifier", "otto", password=GOOD, verifier=GOOD)
        assert code == 0, err
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 2) == [7, 900]
    writes = [row for row in trail(tmp_path) if row[1] == "write"]
    assert [row[3] for row in writes] == ["refused", "refused", "refused", "sending", "done"]
    assert writes[-1][4] == "signed: performed by olga; reason: trial; verified by otto"
