"""The station's security: the users store read at start, the audit trail beside the history, real files."""

from __future__ import annotations

import contextlib

from modbus_peer import device, modbus_server, wait_for
from security_peer import audit_columns, cheap_users, modbus_project

from hmi.core.commands import CommandPath, Origin, WriteRequest, secured
from hmi.core.station import Station
from hmi.project.loader import load_project
from hmi.security.audit_key import load_key
from hmi.security.audit_verify import verify_trail
from hmi.security.permissions import Permission

PROJECT = modbus_project(
    "Station security",
    tags="""\
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, scan: fast}}
""",
    rest="""\
history: {{path: history.db, commit_interval: 100ms}}
""",
)


@contextlib.asynccontextmanager
async def station(tmp_path, port):
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    async with modbus_server(port, device(hr=[7] * 10)) as server:
        running = Station(load_project(tmp_path), tmp_path / "history.db")
        await running.start()
        try:
            await wait_for(lambda: running.runtime.values["SPEED_SP"].is_good, within=10)
            hooks = {"policy": secured(running.access), "audit": running.audit_hook()}
            path = CommandPath(running.runtime, running.alarms, **hooks)
            yield running, path, server
        finally:
            await running.stop()


def trail(tmp_path) -> list[tuple[str, str]]:
    return audit_columns(tmp_path / "history-audit.db", "actor, stage")


async def test_a_station_in_commissioning_allows_and_audits_beside_its_history(tmp_path, free_port):
    async with station(tmp_path, free_port()) as (running, path, _server):
        assert running.access.commissioning
        result = await path.write(WriteRequest("SPEED_SP", 12, "osuser", Origin.SCREEN))
        assert result.ok, result.error
    assert trail(tmp_path) == [("osuser", "sending"), ("osuser", "done")]
    assert verify_trail(tmp_path / "history-audit.db", load_key()).ok


async def test_a_station_with_users_refuses_who_is_not_logged_on(tmp_path, free_port):
    cheap_users(ada="administrator")
    async with station(tmp_path, free_port()) as (running, path, server):
        assert not running.access.commissioning
        refused = await path.write(WriteRequest("SPEED_SP", 12, "osuser", Origin.SCREEN))
        assert not refused.ok and "osuser is not logged on as a user" in refused.error
        running.access.log_on("ada")
        assert (await path.write(WriteRequest("SPEED_SP", 13, "ada", Origin.SCREEN))).ok
        assert await server.async_getValues(1, 3, 0, 1) == [13]
    assert trail(tmp_path) == [("osuser", "refused"), ("ada", "sending"), ("ada", "done")]


def test_before_start_the_policy_refuses_everything(tmp_path):
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=1), "utf-8")
    idle = Station(load_project(tmp_path), tmp_path / "history.db")
    why = idle.access.refusal("anyone", Permission.WRITE_TAG, "SPEED_SP")
    assert why == "the users store has not been read (yet): nothing is allowed until it is"
