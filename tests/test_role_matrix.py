"""Every protected action for every role, through the runtime API: one table, allowed or refused as it says.

The command path's actions (write a setpoint, operate a command tag, acknowledge, shelve, out of
service) go through ``secured`` (the command path's policy) and the configuration changes through
``hmi.security.actions.refusal``: both end in the same table of permissions. A denied write or
command provably never reaches a real PLC (the pymodbus server's request log and its registers).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.engine import AlarmEngine
from hmi.core.commands import (
    AcknowledgeRequest,
    AlarmAction,
    AlarmActionRequest,
    CommandPath,
    Origin,
    WriteRequest,
    audit_into,
    secured,
)
from hmi.core.runtime import TagRuntime
from hmi.project.loader import load_project
from hmi.security import actions
from hmi.security.actions import PROTECTED_ACTIONS, is_command, refusal
from hmi.security.policy import AccessPolicy
from hmi.security.trail import AuditTrail
from hmi.security.users import UserStore

GOOD = "correct horse 42"
WRITE_CODES = {5, 6, 15, 16}
FC_COILS, FC_HOLDING = 1, 3

PROJECT = """\
name: Matrix
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
  PUMP_RUN: {{connection: plc1, address: "co:0", type: bool, writable: true, scan: fast}}
"""

CUSTOM = ("tech", ["write_tag", "acknowledge", "edit_project", "resend_sync"])
"""A custom role that may change a setpoint but not start or stop, and edit the project but not trust."""

ROLES = ("viewer", "operator", "engineer", "administrator", "tech")
USERS = {"viewer": "vic", "operator": "olga", "engineer": "erik", "administrator": "ada", "tech": "tom"}

_ALL = frozenset(ROLES) - {"viewer"}
MATRIX: dict[str, frozenset[str]] = {
    # action (as audited) -> the roles allowed to do it; written out, not derived from the code under test
    "write": _ALL,
    "operate": frozenset({"operator", "engineer", "administrator"}),
    "acknowledge": _ALL,
    "shelve": frozenset({"operator", "engineer", "administrator"}),
    "unshelve": frozenset({"operator", "engineer", "administrator"}),
    "out of service": frozenset({"engineer", "administrator"}),
    "return to service": frozenset({"engineer", "administrator"}),
    "reset": _ALL,
    "edit limit": frozenset({"engineer", "administrator"}),
    "save_trend": frozenset({"engineer", "administrator", "tech"}),
    "enable_rule": frozenset({"engineer", "administrator", "tech"}),
    "disable_rule": frozenset({"engineer", "administrator", "tech"}),
    "trust_certificate": frozenset({"engineer", "administrator"}),
    "reject_certificate": frozenset({"engineer", "administrator"}),
    "sync_resend": frozenset({"engineer", "administrator", "tech"}),
}

COMMAND_PATH = {
    "write": lambda actor: WriteRequest("SPEED_SP", 900, actor, Origin.SCREEN),
    "operate": lambda actor: WriteRequest("PUMP_RUN", True, actor, Origin.SCREEN),
    "acknowledge": lambda actor: AcknowledgeRequest("TANK.HI", actor, Origin.SCREEN),
    **{
        action.value: (
            lambda actor, a=action: AlarmActionRequest("TANK.HI", a, actor, Origin.SCREEN, "r", 60.0)
        )
        for action in AlarmAction
    },
}
"""The request each command-path action is, asked by ``actor``."""


def users(tmp_path: Path) -> UserStore:
    store = UserStore(tmp_path / "machine" / "users.db")
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    store.add_user("ada", "administrator", GOOD)
    store.add_role(*CUSTOM)
    for role, name in USERS.items():
        if name != "ada":
            store.add_user(name, role, GOOD)
    return store


def logged_on_policy(tmp_path: Path) -> AccessPolicy:
    policy = AccessPolicy(users(tmp_path).directory())
    for name in USERS.values():
        policy.log_on(name)
    return policy


def test_the_matrix_names_every_protected_action():
    assert set(MATRIX) == set(PROTECTED_ACTIONS)
    assert set(COMMAND_PATH) <= set(MATRIX)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_each_role_is_allowed_or_refused_as_the_matrix_says(tmp_path, role, action):
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "project.yaml").write_text(PROJECT.format(port=1502), "utf-8")
    project = load_project(project_dir)
    policy = logged_on_policy(tmp_path)
    actor = USERS[role]
    if action in COMMAND_PATH:
        refused = secured(policy, project)(COMMAND_PATH[action](actor))
    else:
        refused = refusal(policy, actor, action, "target")
    if role in MATRIX[action]:
        assert refused is None
    else:
        assert refused and f"user {actor} ({role}) lacks the permission" in refused


def test_a_command_tag_is_a_writable_bool_and_needs_operate(tmp_path):
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    (project_dir / "project.yaml").write_text(PROJECT.format(port=1502), "utf-8")
    tags = load_project(project_dir).tags
    assert is_command(tags["PUMP_RUN"]) and not is_command(tags["SPEED_SP"])
    assert [p.value for p in actions.write_permissions(tags["PUMP_RUN"])] == ["write_tag", "operate"]
    assert [p.value for p in actions.write_permissions(tags["SPEED_SP"])] == ["write_tag"]


def test_a_refusal_outside_the_command_path_is_audited_and_an_unknown_action_is_refused(tmp_path):
    policy = logged_on_policy(tmp_path)
    recorded: list[Any] = []
    assert refusal(policy, "vic", "save_trend", "T1", record=recorded.append, origin="screen") is not None
    assert refusal(policy, "erik", "save_trend", "T1", record=recorded.append, origin="screen") is None
    [entry] = recorded
    assert (entry.actor, entry.action, entry.target, entry.stage) == ("vic", "save_trend", "T1", "refused")
    assert "lacks the permission edit_project" in entry.detail
    assert "not a known protected action" in (refusal(policy, "ada", "format_disk") or "")


def test_commissioning_allows_every_action(tmp_path):
    policy = AccessPolicy(UserStore(tmp_path / "empty" / "users.db").directory())
    assert policy.commissioning
    assert all(refusal(policy, "osuser", action) is None for action in PROTECTED_ACTIONS)


def audit_rows(path: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT actor, target, stage FROM audit ORDER BY seq").fetchall()


class RequestLog:
    """The server's trace of every PDU it received."""

    def __init__(self) -> None:
        self.function_codes: list[int] = []

    def __call__(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            self.function_codes.append(pdu.function_code)
        return pdu

    def writes(self) -> list[int]:
        return [code for code in self.function_codes if code in WRITE_CODES]


async def test_denied_writes_and_commands_never_reach_the_plc(tmp_path, free_port):
    port = free_port()
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    policy = logged_on_policy(tmp_path)
    trail = AuditTrail(tmp_path / "audit.db", commit_interval=0.05)
    trail.start()
    log = RequestLog()
    async with modbus_server(port, device(hr=[7] * 10), trace=log) as server:
        runtime = TagRuntime(load_project(tmp_path))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["PUMP_RUN"].is_good, within=10)
            path = CommandPath(runtime, AlarmEngine({}), policy=secured(policy, runtime.project),
                               audit=audit_into(trail.record))  # fmt: skip
            result = await path.write(COMMAND_PATH["write"]("vic"))
            assert not result.ok and "lacks the permission write_tag" in result.error
            for role in ("viewer", "tech"):  # neither may start or stop equipment
                result = await path.write(COMMAND_PATH["operate"](USERS[role]))
                assert not result.ok and f"({role}) lacks the permission" in result.error
            assert log.function_codes and log.writes() == []  # polled, never written
            assert await server.async_getValues(1, FC_HOLDING, 0, 1) == [7]
            assert await server.async_getValues(1, FC_COILS, 0, 1) == [False]
            assert (await path.write(COMMAND_PATH["write"]("tom"))).ok  # the custom role changes a setpoint
            assert (await path.write(COMMAND_PATH["operate"]("olga"))).ok
            assert log.writes() == [6, 5]
            assert await server.async_getValues(1, FC_HOLDING, 0, 1) == [900]
            assert await server.async_getValues(1, FC_COILS, 0, 1) == [True]
        finally:
            await runtime.stop()
            trail.stop()
    assert audit_rows(tmp_path / "audit.db") == [
        ("vic", "SPEED_SP", "refused"),
        ("vic", "PUMP_RUN", "refused"),
        ("tom", "PUMP_RUN", "refused"),
        ("tom", "SPEED_SP", "sending"),
        ("tom", "SPEED_SP", "done"),
        ("olga", "PUMP_RUN", "sending"),
        ("olga", "PUMP_RUN", "done"),
    ]
