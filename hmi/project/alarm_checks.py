"""``hmi check`` on the alarms: references and types each alarm's kind needs, and limits across alarms.

Each problem is an :class:`~hmi.project.errors.Issue` at the key it is about, so ``hmi check``
reports it at its file:line. Checks of one alarm alone (a negative deadband or delay, an unknown
priority, a type missing its limit) are the schema's; these look at the rest of the project.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from hmi.model import DataType
from hmi.project.alarm_types import LIMIT_TYPES, ORDER_ABOVE
from hmi.project.errors import Issue, Loc, did_you_mean
from hmi.project.schema import AlarmSpec
from hmi.project.system_tags import PREFIX as SYSTEM_PREFIX

NUMERIC_TYPES = LIMIT_TYPES | {"deviation", "roc"}


def alarm_reference_issues(
    name: str,
    alarm: AlarmSpec,
    types: Mapping[str, DataType],
    tags: Collection[str] | None,
    alarms: Collection[str] | None,
) -> list[Issue]:
    """The setpoint and suppression references of one alarm, and whether its tag's type fits its kind."""
    at, subject = ("alarms", name), f"alarm {name!r}"
    issues: list[Issue] = []
    if alarm.setpoint is not None:
        issues += _unknown((*at, "setpoint"), subject, "setpoint tag", alarm.setpoint, tags)
        if types.get(alarm.setpoint) is not None and not types[alarm.setpoint].is_numeric:
            issues.append(Issue((*at, "setpoint"), f"{subject}: setpoint {alarm.setpoint!r} is not a number"))
    if alarm.suppress_when is not None:
        issues += _unknown((*at, "suppress_when"), subject, "tag", alarm.suppress_when, tags)
    if alarm.suppress_by is not None:
        # The station's own alarms (SYSTEM.LINK.<c>.LOST...) are not in the file, yet may be parents.
        if not alarm.suppress_by.startswith(SYSTEM_PREFIX):
            issues += _unknown((*at, "suppress_by"), subject, "alarm", alarm.suppress_by, alarms)
        if alarm.suppress_by == name:
            issues.append(Issue((*at, "suppress_by"), f"{subject}: an alarm cannot suppress itself"))
    data_type = types.get(alarm.tag)
    if alarm.type == "discrete" and data_type is not None and data_type not in _DISCRETE:
        message = f"{subject}: tag {alarm.tag!r} is {data_type}; a discrete alarm needs a bool or an integer"
        issues.append(Issue((*at, "tag"), message))
    return issues


def needs_a_number(alarm: AlarmSpec) -> bool:
    """True for the alarm types that compare the tag's value with a limit (not discrete or quality)."""
    return alarm.type in NUMERIC_TYPES


def limit_order_issues(alarms: Mapping[str, AlarmSpec]) -> list[Issue]:
    """On one tag, HIHI above HI above LO above LOLO: a HI at or below a LO could never be normal."""
    by_tag: dict[str, dict[str, list[tuple[str, AlarmSpec]]]] = {}
    for name, alarm in alarms.items():
        if alarm.type in LIMIT_TYPES:
            by_tag.setdefault(alarm.tag, {}).setdefault(alarm.type, []).append((name, alarm))
    issues: list[Issue] = []
    for kinds in by_tag.values():
        for upper, lower in ORDER_ABOVE:
            for name, alarm in kinds.get(upper, ()):
                for other_name, other in kinds.get(lower, ()):
                    if alarm.limit <= other.limit:
                        message = (
                            f"alarm {name!r}: {upper} limit {alarm.limit:g} is at or below the {lower} limit"
                            f" {other.limit:g} of {other_name!r} on the same tag"
                        )
                        issues.append(Issue(("alarms", name, "limit"), message))
    return issues


_DISCRETE = frozenset(t for t in DataType if t is DataType.BOOL or t.is_integer)


def _unknown(loc: Loc, subject: str, kind: str, name: str, known: Collection[str] | None) -> list[Issue]:
    if known is None or name in known:
        return []
    return [Issue(loc, f"{subject}: unknown {kind} {name!r}" + did_you_mean(name, known))]
