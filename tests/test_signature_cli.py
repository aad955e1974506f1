"""`hmi write` on signed tags: --sign-reason, --verifier with CONVERGE_VERIFIER_PASSWORD; without a valid
signature exit 2 and nothing reaches the PLC. Real processes, a real pymodbus server."""

from __future__ import annotations

from pathlib import Path

from security_peer import FC_READ_HOLDING, GOOD, audit_columns, cheap_users, hmi, modbus_project, traced_plc

PROJECT = modbus_project(
    "Signed",
    tags="""\
  DOSE_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, confirm: signature}}
  KILN_SP: {{connection: plc1, address: "hr:1", type: uint16, writable: true, confirm: double}}
""",
    rest="""\
history: {{path: history.db}}
""",
    scan_classes=False,
)


def with_users() -> None:
    cheap_users(ada="administrator", olga="operator", otto="operator")


def trail(project: Path) -> list[tuple[str, str, str, str, str]]:
    return audit_columns(project / "history-audit.db", "actor, action, target, stage, detail")


def plc(tmp_path: Path, port: int):
    return traced_plc(tmp_path, port, PROJECT)


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
