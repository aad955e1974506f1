"""The command path against a real pymodbus server: authorise, the one check, audit, driver, readback."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.engine import AlarmEngine
from hmi.alarms.journal import AlarmJournal
from hmi.core.commands import (
    AcknowledgeRequest,
    AuditRecord,
    AuditStage,
    CommandPath,
    Origin,
    WriteRequest,
)
from hmi.core.runtime import TagRuntime
from hmi.model import Sample
from hmi.project.loader import load_project
from hmi.store import Store

BIG = 2**60 + 1

PROJECT = """\
name: Commands
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
tags:
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
  COUNTER: {{connection: plc1, address: "hr:4", type: int64, writable: true, scan: fast}}
  RUN: {{connection: plc1, address: "co:0", type: bool, writable: true, scan: fast}}
  STATUS: {{connection: plc1, address: "hr:8", type: uint16, scan: fast}}
  FAR_AWAY: {{connection: plc1, address: "hr:900", type: uint16, writable: true, scan: slow}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
alarms:
  SPEED.HI: {{tag: SPEED_SP, type: hi, limit: 1000, priority: high}}
"""


def make_project(root: Path, port: int):
    (root / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    return load_project(root)


FC_READ_COILS, FC_READ_HOLDING = 1, 3


async def holding(server, start: int, count: int) -> list[int]:
    """What the server's datastore holds, read from the server itself (not through our driver)."""
    return await server.async_getValues(1, FC_READ_HOLDING, start, count)


class AuditTrail:
    """The audit hook under test: keeps every record."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def __call__(self, record: AuditRecord) -> None:
        self.records.append(record)

    def stages(self, request_id: str) -> list[AuditStage]:
        return [r.stage for r in self.records if r.request.id == request_id]


@contextlib.asynccontextmanager
async def running_plant(root: Path, port: int):
    """A pymodbus server and a started runtime of the project above; the test's own tasks end with it."""
    # hr:900 is outside the datastore: the server answers with an illegal address exception
    async with modbus_server(port, device(hr=[0] * 60)) as server:
        runtime = TagRuntime(make_project(root, port))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["COUNTER"].is_good, within=10)
            yield runtime, server
        finally:
            await runtime.stop()


def request(tag: str, value: object) -> WriteRequest:
    return WriteRequest(tag, value, actor="alice", origin=Origin.SCREEN)


async def test_a_write_reaches_the_plc_exactly_and_comes_back_read(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, server):
        audit = AuditTrail()
        path = CommandPath(runtime, audit=audit)
        asked = request("COUNTER", "1152921504606846977")
        result = await path.write(asked)
        assert result.ok, result.error
        assert result.request_id == asked.id
        assert result.written == BIG and type(result.written) is int
        assert result.read_back == BIG and type(result.read_back) is int
        assert await holding(server, 4, 4) == [0x1000, 0, 0, 1]  # ABCD: most significant register first
        assert audit.stages(asked.id) == [AuditStage.SENDING, AuditStage.DONE]
        assert {(r.request.actor, r.request.origin) for r in audit.records} == {("alice", Origin.SCREEN)}
        assert audit.records[0].value == BIG


async def test_a_bool_write_takes_the_words_the_check_takes(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, server):
        result = await CommandPath(runtime).write(request("RUN", "on"))
        assert (result.ok, result.written, result.read_back) == (True, True, True)
        assert await server.async_getValues(1, FC_READ_COILS, 0, 1) == [True]


@pytest.mark.parametrize(
    ("tag", "value", "error"),
    [
        ("NOPE", 1, "NOPE: no such tag"),
        ("STATUS", 1, "STATUS: tag is read-only"),
        ("SPEED_SP", 2000, "SPEED_SP: 2000 is outside the limits [0, 1500]"),
        ("SPEED_SP", "fast", "SPEED_SP: 'fast' is not a number"),
        ("COUNTER", str(2**63), "does not fit int64"),
    ],
)
async def test_refusals_never_reach_the_plc_and_are_audited(tmp_path, free_port, tag, value, error):
    async with running_plant(tmp_path, free_port()) as (runtime, server):
        before = await holding(server, 0, 12)
        audit = AuditTrail()
        result = await CommandPath(runtime, audit=audit).write(request(tag, value))
        assert not result.ok
        assert error in result.error
        assert await holding(server, 0, 12) == before
        [record] = audit.records
        assert (record.stage, record.error, record.request.actor) == (
            AuditStage.REFUSED,
            result.error,
            "alice",
        )


async def test_the_policy_decides_before_the_check_and_the_driver(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, server):
        audit = AuditTrail()

        def operators_only(asked: WriteRequest | AcknowledgeRequest) -> str | None:
            return None if asked.actor == "operator" else f"{asked.actor} may not write"

        path = CommandPath(runtime, policy=operators_only, audit=audit)
        result = await path.write(request("SPEED_SP", 900))
        assert (result.ok, result.error) == (False, "SPEED_SP: alice may not write")
        assert await holding(server, 0, 1) == [0]
        allowed = await path.write(WriteRequest("SPEED_SP", 900, "operator", Origin.CLI))
        assert allowed.ok and await holding(server, 0, 1) == [900]


async def test_the_plcs_own_refusal_comes_back_as_the_error(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, _server):
        audit = AuditTrail()
        asked = request("FAR_AWAY", 5)
        result = await CommandPath(runtime, audit=audit).write(asked)
        assert not result.ok
        assert result.error.startswith("FAR_AWAY: device refused the write: ")
        assert "illegal" in result.error.lower()
        assert audit.stages(asked.id) == [AuditStage.SENDING, AuditStage.FAILED]


async def test_a_broken_audit_hook_is_counted_and_the_write_still_answers(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, _server):

        def broken(_record: AuditRecord) -> None:
            raise RuntimeError("audit sink down")

        path = CommandPath(runtime, audit=broken)
        result = await path.write(request("SPEED_SP", 10))
        assert result.ok
        assert path.audit_errors == 2


async def test_acknowledgements_carry_the_actor_to_the_audit_hook_and_the_journal(tmp_path: Path):
    project = make_project(tmp_path, 1)
    engine = AlarmEngine(project.alarms)
    store = Store(tmp_path / "history.db", 0.05)
    journal = AlarmJournal(store.writer)
    store.open()
    engine.subscribe(journal.on_event)
    audit = AuditTrail()
    path = CommandPath(TagRuntime(project), engine, audit=audit)  # acknowledging needs no driver
    try:
        engine.on_sample("SPEED_SP", Sample.good(1200))
        one = path.acknowledge(AcknowledgeRequest("SPEED.HI", actor="bob", origin=Origin.SCREEN))
        assert (one.ok, one.written) == (True, 1)
        engine.on_sample("SPEED_SP", Sample.good(10))
        engine.on_sample("SPEED_SP", Sample.good(1300))
        every = path.acknowledge(AcknowledgeRequest(None, actor="carol", origin=Origin.CLI))
        assert (every.ok, every.written) == (True, 1)
    finally:
        store.close()
    assert [(r.request.actor, r.request.origin, r.stage) for r in audit.records] == [
        ("bob", Origin.SCREEN, AuditStage.SENDING),
        ("bob", Origin.SCREEN, AuditStage.DONE),
        ("carol", Origin.CLI, AuditStage.SENDING),
        ("carol", Origin.CLI, AuditStage.DONE),
    ]
    with sqlite3.connect(tmp_path / "history.db") as conn:
        users = conn.execute(
            "SELECT user FROM alarm_events WHERE kind = 'acknowledged' ORDER BY ts"
        ).fetchall()
    assert users == [("bob",), ("carol",)]


async def test_an_acknowledgement_without_alarms_is_refused(tmp_path: Path):
    path = CommandPath(TagRuntime(make_project(tmp_path, 1)))
    result = path.acknowledge(AcknowledgeRequest(None, "bob", Origin.SCREEN))
    assert not result.ok and "no alarm engine" in result.error


async def test_a_change_in_the_last_digit_of_an_int64_is_a_change(tmp_path, free_port):
    async with running_plant(tmp_path, free_port()) as (runtime, _server):
        path = CommandPath(runtime)
        assert (await path.write(request("COUNTER", 2**60))).read_back == 2**60
        result = await path.write(request("COUNTER", BIG))  # the same float as 2**60
        assert result.read_back == BIG
        assert runtime.values["COUNTER"].value == BIG
