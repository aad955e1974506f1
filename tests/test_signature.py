"""Electronic signatures through the runtime's command path, against a real pymodbus server.

A write of a ``confirm: signature | double`` tag without a valid signature never reaches the PLC: the
server's trace of every request it received holds no write, and its registers are unchanged. The
signature's meaning, reason and signers are in the audit trail.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from modbus_peer import device, modbus_server, wait_for
from security_peer import FC_READ_HOLDING, GOOD, RequestLog, audit_columns, cheap_users, modbus_project

from hmi.core.commands import CommandPath, Origin, WriteRequest, audit_into, secured, signed
from hmi.core.runtime import TagRuntime
from hmi.model import ConfirmMode
from hmi.project.errors import ProjectInvalid
from hmi.project.loader import load_project
from hmi.security.policy import AccessPolicy
from hmi.security.signatures import Signature, SignatureBook, SignatureForm
from hmi.security.trail import AuditTrail
from hmi.security.users import UserStore

PROJECT = modbus_project(
    "Signed",
    tags="""\
  DOSE_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, confirm: signature,
            area: dosing, units: ml, scan: fast}}
  KILN_SP: {{connection: plc1, address: "hr:1", type: uint16, writable: true, confirm: double, area: kiln,
            scan: fast}}
  SPEED_SP: {{connection: plc1, address: "hr:2", type: uint16, writable: true, area: kiln, scan: fast}}
  PUMP_CMD: {{connection: plc1, address: "co:0", type: bool, writable: true, area: dosing, scan: fast}}
""",
)


def users(tmp_path: Path) -> UserStore:
    """A users store with cheap hashing: ada (administrator), olga and otto (operators), vic (viewer)."""
    path = tmp_path / "machine" / "users.db"
    return cheap_users(path, ada="administrator", olga="operator", otto="operator", vic="viewer")


@dataclasses.dataclass
class Plant:
    path: CommandPath
    server: Any
    log: RequestLog
    book: SignatureBook
    policy: AccessPolicy
    trail_path: Path

    async def registers(self) -> list[int]:
        return list(await self.server.async_getValues(1, FC_READ_HOLDING, 0, 3))

    async def sign(self, tag: str, value: Any, signer: str, form: SignatureForm, double: bool = False):
        book = self.book
        return await asyncio.to_thread(book.sign, tag, value, signer, form, double=double, origin="screen")


@contextlib.asynccontextmanager
async def plant(tmp_path: Path, port: int, store: UserStore, *logged_on: str):
    """A PLC (registers 7, 7, 7), a running runtime, a signature book and an audited command path."""
    log = RequestLog()
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    trail_path = tmp_path / "audit.db"
    trail = AuditTrail(trail_path, commit_interval=0.05)
    trail.start()
    policy = AccessPolicy(store.directory())
    for name in logged_on:
        policy.log_on(name)
    book = SignatureBook(store, trail.record)
    async with modbus_server(port, device(hr=[7] * 10), trace=log) as server:
        project = load_project(tmp_path)
        runtime = TagRuntime(project)
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["DOSE_SP"].is_good, within=10)
            path = CommandPath(
                runtime,
                policy=secured(policy, project),
                audit=audit_into(trail.record),
                signatures=signed(book, policy),
            )
            yield Plant(path, server, log, book, policy, trail_path)
        finally:
            await runtime.stop()
            trail.stop()


def audit_rows(path: Path) -> list[tuple[str, str, str, str, str]]:
    return audit_columns(path, "actor, action, target, stage, detail")


def write(tag: str, value: Any, actor: str, signature: Signature | None = None) -> WriteRequest:
    return WriteRequest(tag, value, actor, Origin.SCREEN, signature=signature)


def test_confirm_defaults_a_writable_bool_asks_and_a_rule_may_not_write_a_signed_tag(tmp_path):
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=5020), "utf-8")
    tags = load_project(tmp_path).tags
    assert tags["PUMP_CMD"].confirm is ConfirmMode.CONFIRM  # a command (start/stop) asks by default
    assert tags["SPEED_SP"].confirm is ConfirmMode.NONE
    assert tags["DOSE_SP"].confirm is ConfirmMode.SIGNATURE and tags["DOSE_SP"].area == "dosing"
    assert tags["KILN_SP"].confirm is ConfirmMode.DOUBLE
    signature = "confirm: signature,"
    ruled = PROJECT.format(port=5020).replace(signature, f"{signature} rule_writable: true,")
    (tmp_path / "project.yaml").write_text(ruled, "utf-8")
    with pytest.raises(ProjectInvalid) as raised:
        load_project(tmp_path)
    [error] = raised.value.errors
    assert error.line == 6 and "a rule cannot sign" in error.message
    read_only = PROJECT.format(port=5020).replace("writable: true, confirm: double", "confirm: double")
    (tmp_path / "project.yaml").write_text(read_only, "utf-8")
    with pytest.raises(ProjectInvalid) as raised:
        load_project(tmp_path)
    [error] = raised.value.errors
    assert error.line == 8 and "confirm: needs writable: true" in error.message


async def test_a_signed_write_goes_out_and_the_audit_carries_its_meaning(tmp_path, free_port):
    async with plant(tmp_path, free_port(), users(tmp_path), "olga") as p:
        signature = await p.sign("DOSE_SP", 42, "olga", SignatureForm("batch 118 recipe", GOOD))
        assert isinstance(signature, Signature), signature
        result = await p.path.write(write("DOSE_SP", 42, "olga", signature))
        assert result.ok, result.error
        assert (await p.registers())[0] == 42
        again = await p.path.write(write("DOSE_SP", 43, "olga", signature))  # one write per signature
        assert not again.ok and "used already" in again.error
        assert (await p.registers())[0] == 42
    rows = audit_rows(p.trail_path)
    assert rows[0][:4] == ("olga", "sign", "DOSE_SP", "ok")
    sending, done = rows[1], rows[2]
    assert sending[1:4] == ("write", "DOSE_SP", "sending") and done[3] == "done"
    assert done[4] == "signed: performed by olga; reason: batch 118 recipe"
    assert rows[3][3] == "refused" and "used already" in rows[3][4]


@pytest.mark.parametrize("case", ["missing", "forged", "other value", "other signer", "wrong password"])
async def test_an_unsigned_or_badly_signed_write_never_reaches_the_plc(tmp_path, free_port, case):
    async with plant(tmp_path, free_port(), users(tmp_path), "olga", "otto") as p:
        signature: Signature | None = None
        if case == "forged":  # looks right, but the book never issued it
            signature = Signature("f" * 32, "DOSE_SP", "42", "olga", "made up")
        elif case == "other value":
            signature = await p.sign("DOSE_SP", 5, "olga", SignatureForm("small dose", GOOD))
        elif case == "other signer":
            signature = await p.sign("DOSE_SP", 42, "otto", SignatureForm("for olga", GOOD))
        elif case == "wrong password":
            refused = await p.sign("DOSE_SP", 42, "olga", SignatureForm("batch", "not my password 1"))
            assert refused == "olga: unknown user or wrong password"
        result = await p.path.write(write("DOSE_SP", 42, "olga", signature))
        assert not result.ok
        assert await p.registers() == [7, 7, 7]
        assert p.log.function_codes and p.log.writes() == []  # polled, never written
    writes = [row for row in audit_rows(p.trail_path) if row[1] == "write"]
    assert [row[3] for row in writes] == ["refused"]
    assert "signed:" not in writes[0][4]  # a signature refused names no signers as if they had signed


async def test_wrong_signature_passwords_count_towards_the_lockout(tmp_path, free_port):
    store = users(tmp_path)
    store.configure("lockout_failures", "2")
    async with plant(tmp_path, free_port(), store, "olga") as p:
        for _ in range(2):
            assert isinstance(await p.sign("DOSE_SP", 42, "olga", SignatureForm("x", "wrong 123456")), str)
        locked = await p.sign("DOSE_SP", 42, "olga", SignatureForm("x", GOOD))
        assert isinstance(locked, str) and "locked" in locked
    actions = [(row[1], row[3]) for row in audit_rows(p.trail_path)]
    assert ("lockout", "ok") in actions and actions.count(("sign", "refused")) == 3


async def test_a_double_signature_needs_a_second_permitted_person(tmp_path, free_port):
    async with plant(tmp_path, free_port(), users(tmp_path), "olga") as p:
        same = await p.sign("KILN_SP", 900, "olga", SignatureForm("trial", GOOD, "olga", GOOD), double=True)
        assert same == "the verifier must be another user than the signer"
        single = await p.sign("KILN_SP", 900, "olga", SignatureForm("trial", GOOD), double=True)
        assert single == "a double signature needs a verifier (another user's name and password)"
        one = await p.sign("KILN_SP", 900, "olga", SignatureForm("trial", GOOD))  # signed as a single
        refused_one = await p.path.write(write("KILN_SP", 900, "olga", one))
        assert not refused_one.ok and "needs a second signature" in refused_one.error
        viewer_form = SignatureForm("trial", GOOD, "vic", GOOD)
        by_viewer = await p.sign("KILN_SP", 900, "olga", viewer_form, double=True)
        assert isinstance(by_viewer, Signature)  # the passwords are right, but vic may not write
        refused = await p.path.write(write("KILN_SP", 900, "olga", by_viewer))
        assert not refused.ok and "vic (viewer) lacks the permission write_tag" in refused.error
        forged = Signature("a" * 32, "KILN_SP", "900", "olga", "trial", verifier="olga")
        assert not (await p.path.write(write("KILN_SP", 900, "olga", forged))).ok
        assert await p.registers() == [7, 7, 7] and p.log.writes() == []
        good = await p.sign("KILN_SP", 900, "olga", SignatureForm("trial", GOOD, "otto", GOOD), double=True)
        assert isinstance(good, Signature)
        result = await p.path.write(write("KILN_SP", 900, "olga", good))
        assert result.ok, result.error
        assert (await p.registers())[1] == 900
    [done] = [row for row in audit_rows(p.trail_path) if row[1] == "write" and row[3] == "done"]
    assert done[4] == "signed: performed by olga; reason: trial; verified by otto"


async def test_a_command_path_without_a_signature_book_never_writes_a_signed_tag(tmp_path, free_port):
    """The rules' path (and any bare one) has nobody to sign: a signed tag is refused there."""
    async with plant(tmp_path, free_port(), users(tmp_path), "olga") as p:
        bare = CommandPath(p.path.runtime)
        result = await bare.write(WriteRequest("DOSE_SP", 42, "rule:dosing", Origin.RULE))
        assert not result.ok and "nobody here can sign" in result.error
        assert await p.registers() == [7, 7, 7] and p.log.writes() == []
