"""Built-in alarms every station has without an engineer writing them: one per connection's link.

Communication loss is an alarm of its own (ISA-18.2): the values behind a lost link go bad
quality and their limit alarms stop being evaluated, so without this nothing would tell the
operator that a whole PLC went silent.
"""

from __future__ import annotations

from collections.abc import Iterable

from hmi.project.alarm_settings import AlarmSettings
from hmi.project.config import AlarmDef
from hmi.project.system_tags import link_up


def link_alarm_name(connection: str) -> str:
    """The built-in alarm raised while ``connection``'s link is lost."""
    return f"SYSTEM.LINK.{connection}.LOST"


def link_alarms(connections: Iterable[str], settings: AlarmSettings) -> dict[str, AlarmDef]:
    """One alarm per connection on its ``SYSTEM.LINK.<c>.UP`` tag, unless the project turned them off.

    The tag is false once a connect attempt has failed or a connected link dropped; before the first
    attempt ends and while the connection is stopped it is bad quality, so a start or a stop raises none.
    """
    if not settings.link_alarms:
        return {}
    alarms = {}
    for connection in connections:
        name = link_alarm_name(connection)
        alarms[name] = AlarmDef(
            name=name,
            tag=link_up(connection),
            type="lo",  # a bool below 0.5 is false: raised while the link is down
            limit=0.5,
            priority=settings.link_alarm_priority,
            message=f"Communication lost: connection {_literal(connection)} is down; its values are bad",
        )
    return alarms


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def sync_risk_tag(endpoint: str) -> str:
    """The bool tag that is true while ``endpoint``'s undelivered rows are near the history's limits."""
    return f"SYSTEM.SYNC.{endpoint}.PENDING_AT_RISK"


def sync_risk_alarm_name(endpoint: str) -> str:
    """The built-in alarm raised while ``endpoint``'s undelivered rows are near the history's limits."""
    return f"SYSTEM.SYNC.{endpoint}.AT_RISK"


def sync_risk_alarms(endpoints: Iterable[str]) -> dict[str, AlarmDef]:
    """One urgent alarm per sync endpoint: retention is about to delete rows it has not received yet."""
    alarms = {}
    for endpoint in endpoints:
        name = sync_risk_alarm_name(endpoint)
        alarms[name] = AlarmDef(
            name=name,
            tag=sync_risk_tag(endpoint),
            type="hi",
            limit=0.5,
            priority="urgent",
            message=(
                f"Sync to {_literal(endpoint)}: rows it has not received are near the history's retention or"
                " size limit and will be lost; restore the endpoint or raise the limit"
            ),
        )
    return alarms
