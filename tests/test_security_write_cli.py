"""`hmi write` with users: commissioning, refusals (exit 2, audited, nothing reaches the PLC), --user,
and `hmi audit verify|export` on the trail it leaves. Real processes, a real pymodbus server."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from security_peer import (
    FC_READ_HOLDING,
    GOOD,
    WRITE_CODES,
    audit_columns,
    cheap_users,
    hmi,
    modbus_project,
    traced_plc,
)

from hmi.security.paths import users_path

PROJECT = modbus_project(
    "Secured",
    tags="""\
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500]}}
""",
    rest="""\
history: {{path: history.db}}
""",
    scan_classes=False,
)


def with_users() -> None:
    cheap_users(ada="administrator", olga="operator", vic="viewer")


def trail_rows(project: Path) -> list[tuple[str, str, str, str]]:
    return audit_columns(project / "history-audit.db", "actor, action, target, stage")


def plc(tmp_path: Path, port: int):
    return traced_plc(tmp_path, port, PROJECT)


def os_user() -> str:
    import getpass

    return getpass.getuser()


async def test_commissioning_writes_as_the_os_user_loudly_and_audits_it(tmp_path, free_port):
    async with plc(tmp_path, free_port()) as (server, _log):
        code, out, err = await hmi("write", str(tmp_path), "SPEED_SP", "1200")
        assert code == 0, err
        assert out == "SPEED_SP = 1200\n"
        assert "WARNING: no users are configured" in err and f"OS user {os_user()}" in err
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [1200]
    assert trail_rows(tmp_path) == [
        (os_user(), "write", "SPEED_SP", "sending"),
        (os_user(), "write", "SPEED_SP", "done"),
    ]
    code, out, err = await hmi("audit", "verify", str(tmp_path))
    assert code == 0, err
    assert out.endswith("2 records, chain intact\n")


@pytest.mark.parametrize(
    ("user", "password", "message"),
    [
        (None, None, "is not logged on as a user"),
        ("olga", "wrong password 1", "hmi write: log-on of olga failed: unknown user or wrong password"),
        ("vic", GOOD, "user vic (viewer) lacks the permission write_tag"),
    ],
)
async def test_once_users_exist_a_write_without_the_permission_exits_2_and_never_reaches_the_plc(
    tmp_path, free_port, user, password, message
):
    with_users()
    async with plc(tmp_path, free_port()) as (server, log):
        args = ["write", str(tmp_path), "SPEED_SP", "1200", *(["--user", user] if user else [])]
        code, out, err = await hmi(*args, password=password)
        assert (code, out) == (2, "")
        assert message in err
        assert "no users are configured" not in err
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [7]
        assert log.function_codes == []  # refused before any connection was opened
    actor = user or os_user()
    rows = trail_rows(tmp_path)
    assert rows[-1] == (actor, "write", "SPEED_SP", "refused")
    if user:
        assert rows[0] == (user, "log_on", user, "ok" if password == GOOD else "refused")


async def test_an_operator_logged_on_with_user_writes_and_it_is_audited_as_them(tmp_path, free_port):
    with_users()
    async with plc(tmp_path, free_port()) as (server, log):
        code, out, err = await hmi(
            "write", str(tmp_path), "SPEED_SP", "900", "--user", "olga", "--format", "json", password=GOOD
        )
        assert code == 0, err
        assert json.loads(out)["actor"] == "olga"
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [900]
        assert [c for c in log.function_codes if c in WRITE_CODES] == [6]
    assert trail_rows(tmp_path) == [
        ("olga", "log_on", "olga", "ok"),
        ("olga", "write", "SPEED_SP", "sending"),
        ("olga", "write", "SPEED_SP", "done"),
    ]
    code, out, _err = await hmi("audit", "export", str(tmp_path), "--format", "csv")
    assert code == 0
    exported = list(csv.DictReader(io.StringIO(out)))
    assert [r["stage"] for r in exported] == ["ok", "sending", "done"]
    assert [(r["old"], r["value"], r["read_back"]) for r in exported[1:]] == [
        ("7", "900", "null"),
        ("7", "900", "900"),
    ]
    code, out, _err = await hmi("audit", "export", str(tmp_path), "--format", "json")
    assert [r["seq"] for r in json.loads(out)] == [1, 2, 3]


async def test_audit_verify_names_the_first_edited_record(tmp_path, free_port):
    async with plc(tmp_path, free_port()):
        for value in ("1", "2", "3"):
            assert (await hmi("write", str(tmp_path), "SPEED_SP", value))[0] == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "history-audit.db")) as conn, conn:
        conn.execute("UPDATE audit SET value = '1500' WHERE seq = 3")
    code, out, err = await hmi("audit", "verify", str(tmp_path), "--format", "json")
    assert code == 2
    verdict = json.loads(out)
    assert (verdict["ok"], verdict["broken_at"]) == (False, 3)
    assert verdict["problem"] == "record 3 was changed after it was written"
    code, _out, err = await hmi("audit", "verify", str(tmp_path))
    assert code == 2 and "record 3 was changed after it was written" in err


async def test_audit_of_a_project_without_a_trail_says_so(tmp_path):
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=1), "utf-8")
    code, _out, err = await hmi("audit", "verify", str(tmp_path))
    assert code == 2 and "no audit trail yet" in err


async def test_a_damaged_users_store_refuses_the_write_never_opens_commissioning(tmp_path, free_port):
    users_path().parent.mkdir(parents=True)
    users_path().write_bytes(b"not a database " * 200)
    async with plc(tmp_path, free_port()) as (server, log):
        code, out, err = await hmi("write", str(tmp_path), "SPEED_SP", "1200")
        assert (code, out) == (2, "")
        assert f"users store {users_path()} cannot be used: file is not a database" in err
        assert "no users are configured" not in err
        assert log.function_codes == []
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [7]
    assert trail_rows(tmp_path)[-1][3] == "refused"


async def test_no_write_without_its_audit_record(tmp_path, free_port, monkeypatch):
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("x")
    monkeypatch.setenv("CONVERGE_HMI_DATA_DIR", str(blocked / "data"))  # the key cannot be made there
    async with plc(tmp_path, free_port()) as (server, log):
        code, out, err = await hmi("write", str(tmp_path), "SPEED_SP", "1200")
        assert (code, out) == (2, "")
        assert "hmi write: the audit trail cannot be opened, nothing was written" in err
        assert log.function_codes == []
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [7]
