"""The access policy in the command path, against a real pymodbus server whose request log is kept.

A refused write provably never reaches the PLC: the server's own trace of every request it received
holds no write function code, and its registers are unchanged; the refusal is in the audit trail.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for
from security_peer import FC_READ_HOLDING, GOOD, RequestLog, cheap_users, modbus_project

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
from hmi.security.audit_key import load_key
from hmi.security.audit_verify import verify_trail
from hmi.security.policy import AccessPolicy
from hmi.security.trail import AuditTrail
from hmi.security.users import UserStore

PROJECT = modbus_project(
    "Secured",
    tags="""\
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
""",
)


def users(tmp_path: Path) -> UserStore:
    return cheap_users(tmp_path / "machine" / "users.db")


@contextlib.asynccontextmanager
async def plant(tmp_path: Path, port: int, policy: AccessPolicy):
    """A PLC, a running runtime and a command path judged by ``policy`` and audited into a real trail."""
    log = RequestLog()
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    trail = AuditTrail(tmp_path / "audit.db", commit_interval=0.05)
    trail.start()
    async with modbus_server(port, device(hr=[7] * 10), trace=log) as server:
        runtime = TagRuntime(load_project(tmp_path))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["SPEED_SP"].is_good, within=10)
            hooks = {"policy": secured(policy), "audit": audit_into(trail.record)}
            path = CommandPath(runtime, AlarmEngine({}), **hooks)
            yield path, server, log
        finally:
            await runtime.stop()
            trail.stop()


def audit_rows(path: Path) -> list[tuple[str, str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT actor, action, stage, detail FROM audit ORDER BY seq").fetchall()


def write(actor: str, value: object = 1200) -> WriteRequest:
    return WriteRequest("SPEED_SP", value, actor=actor, origin=Origin.SCREEN)


async def test_commissioning_allows_the_write_and_audits_the_os_user(tmp_path, free_port):
    policy = AccessPolicy(users(tmp_path).directory())
    assert policy.commissioning
    async with plant(tmp_path, free_port(), policy) as (path, server, log):
        result = await path.write(write("osuser"))
        assert result.ok, result.error
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [1200]
        assert log.writes() == [6]
    assert [row[:3] for row in audit_rows(tmp_path / "audit.db")] == [
        ("osuser", "write", "sending"),
        ("osuser", "write", "done"),
    ]


@pytest.mark.parametrize(
    ("actor", "logged_on", "why"),
    [
        ("osuser", False, "osuser is not logged on as a user"),
        ("olga", False, "olga is not logged on as a user"),  # a user's name alone proves nothing
        ("vic", True, "user vic (viewer) lacks the permission write_tag"),
    ],
)
async def test_a_refused_write_never_reaches_the_plc_and_is_audited_as_refused(
    tmp_path, free_port, actor, logged_on, why
):
    store = users(tmp_path)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    store.add_user("vic", "viewer", GOOD)
    policy = AccessPolicy(store.directory())
    if logged_on:
        assert store.authenticate(actor, GOOD).ok
        policy.log_on(actor)
    async with plant(tmp_path, free_port(), policy) as (path, server, log):
        result = await path.write(write(actor))
        assert not result.ok and why in result.error
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [7]
        assert log.function_codes and log.writes() == []  # the PLC was polled, never written
    [row] = audit_rows(tmp_path / "audit.db")
    assert row[:3] == (actor, "write", "refused") and why in row[3]
    assert verify_trail(tmp_path / "audit.db", load_key()).ok


async def test_a_logged_on_operator_writes_and_a_disabled_one_no_longer_can(tmp_path, free_port):
    store = users(tmp_path)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    policy = AccessPolicy(store.directory())
    policy.log_on("olga")
    async with plant(tmp_path, free_port(), policy) as (path, server, log):
        assert (await path.write(write("olga"))).ok
        store.set_disabled("olga", True)
        policy.refresh(store.directory())
        refused = await path.write(write("olga", 900))
        assert not refused.ok and "user olga is disabled" in refused.error
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [1200]
        assert log.writes() == [6]


async def test_acknowledging_needs_the_acknowledge_permission(tmp_path, free_port):
    store = users(tmp_path)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("vic", "viewer", GOOD)
    store.add_role("acker", ["acknowledge"])
    store.add_user("kim", "acker", GOOD)
    policy = AccessPolicy(store.directory())
    policy.log_on("vic")
    policy.log_on("kim")
    async with plant(tmp_path, free_port(), policy) as (path, _server, _log):
        refused = path.acknowledge(AcknowledgeRequest(None, "vic", Origin.SCREEN))
        assert not refused.ok and "lacks the permission acknowledge" in refused.error
        allowed = path.acknowledge(AcknowledgeRequest(None, "kim", Origin.SCREEN))
        assert allowed.ok and allowed.written == 0
        denied_write = await path.write(write("kim"))  # a custom role has only what it names
        assert "lacks the permission write_tag" in denied_write.error
    rows = audit_rows(tmp_path / "audit.db")
    assert [(a, act, st) for a, act, st, _ in rows] == [
        ("vic", "acknowledge", "refused"),
        ("kim", "acknowledge", "sending"),
        ("kim", "acknowledge", "done"),
        ("kim", "write", "refused"),
    ]


def test_shelving_is_an_operators_act_and_out_of_service_an_engineers(tmp_path):
    store = users(tmp_path)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("oli", "operator", GOOD)
    store.add_user("eve", "engineer", GOOD)
    policy = AccessPolicy(store.directory())
    policy.log_on("oli")
    policy.log_on("eve")
    decide = secured(policy)

    def asks(actor: str, action: AlarmAction) -> str | None:
        return decide(AlarmActionRequest("TANK.HI", action, actor, Origin.SCREEN, "maintenance", 600.0))

    assert asks("oli", AlarmAction.SHELVE) is None and asks("oli", AlarmAction.UNSHELVE) is None
    assert "lacks the permission out_of_service" in (asks("oli", AlarmAction.OUT_OF_SERVICE) or "")
    assert "lacks the permission out_of_service" in (asks("oli", AlarmAction.IN_SERVICE) or "")
    assert asks("eve", AlarmAction.OUT_OF_SERVICE) is None and asks("eve", AlarmAction.IN_SERVICE) is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_auto_log_off_after_the_roles_idle_limit_and_an_action_keeps_the_session(tmp_path):
    from hmi.security.permissions import Permission

    store = users(tmp_path)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    store.configure("idle_logoff_seconds", "600")
    store.configure("idle_logoff_seconds.operator", "60")
    clock = Clock()
    policy = AccessPolicy(store.directory(), clock)
    policy.log_on("olga")
    policy.log_on("ada")
    clock.now += 50
    assert policy.refusal("olga", Permission.WRITE_TAG) is None  # an action: the idle time starts over
    clock.now += 59
    assert policy.logged_on("olga") and policy.refusal("olga", Permission.WRITE_TAG) is None
    clock.now += 61
    assert not policy.logged_on("olga")
    why = policy.refusal("olga", Permission.WRITE_TAG)
    assert why == "olga was logged off after 60 s without an action: log on again"
    clock.now -= 100  # even if the clock were to step back, the session is gone
    assert "is not logged on" in (policy.refusal("olga", Permission.WRITE_TAG) or "")
    assert policy.logged_on("ada")  # 170 s of the administrator's 600 s
    clock.now += 600
    assert "logged off after 600 s" in (policy.refusal("ada", Permission.MANAGE_USERS) or "")


def test_idle_limits_are_refused_for_unknown_roles_and_bad_values(tmp_path):
    from hmi.security.users import SecurityError

    store = users(tmp_path)
    with pytest.raises(SecurityError, match="unknown role 'boss'"):
        store.configure("idle_logoff_seconds.boss", "60")
    with pytest.raises(SecurityError, match="must be positive"):
        store.configure("idle_logoff_seconds", "0")
    assert store.directory().idle_limit("viewer") == 900.0
