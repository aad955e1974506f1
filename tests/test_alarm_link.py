"""Communication loss is an alarm of its own: one built-in alarm per connection, on by default."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for
from pydantic import ValidationError

from hmi.alarms.builtin import link_alarm_name
from hmi.alarms.engine import AlarmState
from hmi.core.station import Station
from hmi.project.alarm_settings import DEFAULT_MAX_SHELVE, AlarmSettingsSpec
from hmi.project.loader import load_project

PROJECT = """\
name: Link alarm
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.3s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 100ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
{extra}"""


def project_at(root: Path, port: int, extra: str = "") -> Path:
    (root / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port, extra=extra)), "utf-8")
    return root


async def test_cutting_the_plc_link_raises_the_connections_alarm(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    project = load_project(project_at(tmp_path, port))
    station = Station(project, tmp_path / "history.db")
    status = station.alarms.statuses[link_alarm_name("plc1")]
    assert status.definition.priority == "high" and status.definition.tag == "SYSTEM.LINK.plc1.UP"
    async with modbus_server(port, device(hr=[7] * 50)):
        await station.start()
        try:
            await wait_for(
                lambda: (
                    station.runtime.values.get("SYSTEM.LINK.plc1.UP") is not None
                    and station.runtime.values["SYSTEM.LINK.plc1.UP"].value is True
                ),
                within=10,
            )
            assert status.state is AlarmState.NORMAL, "a healthy link raises nothing"
        except BaseException:
            await station.stop()
            raise
    try:  # the server is gone: the link drops
        await wait_for(lambda: status.state is AlarmState.UNACKED, within=10)
        assert "Communication lost: connection plc1" in status.message
    finally:
        await station.stop()
    assert status.state is AlarmState.UNACKED, "stopping the station is not a return to normal"


def test_link_alarms_can_be_turned_off_and_shelve_limits_set(tmp_path: Path) -> None:
    extra = "alarm_settings: {link_alarms: false, max_shelve: {urgent: 30m}}\n"
    project = load_project(project_at(tmp_path, 1502, extra))
    assert not project.alarm_settings.link_alarms
    assert project.alarm_settings.max_shelve == {**DEFAULT_MAX_SHELVE, "urgent": 1800.0}
    station = Station(project, tmp_path / "history.db")
    assert link_alarm_name("plc1") not in station.alarms.statuses
    assert station.alarms.max_shelve["urgent"] == 1800.0


@pytest.mark.parametrize(
    "section, why",
    [
        ({"max_shelve": {"critical": "1h"}}, "max_shelve.critical"),
        ({"max_shelve": {"high": "0s"}}, "max_shelve.high"),
        ({"max_shelve": {"high": "-5m"}}, "max_shelve.high"),
        ({"max_shelve": {"low": "90d"}}, "max_shelve.low"),
        ({"link_alarms": 1}, "link_alarms"),
        ({"link_alarm_priority": "journal"}, "link_alarm_priority"),
        ({"max_shelf": {}}, "max_shelf"),
    ],
)
def test_alarm_settings_are_validated_strictly(section: dict, why: str) -> None:
    with pytest.raises(ValidationError) as raised:
        AlarmSettingsSpec.model_validate(section)
    assert why in str(raised.value)
