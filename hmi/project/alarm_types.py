"""The alarm types of ``alarms:`` and what each needs: one place for the schema and ``hmi check``.

```yaml
alarms:
  TANK1.LEVEL.HI:  {tag: TANK1.LEVEL, type: hi, limit: 90, deadband: 1, on_delay: 5s, latched: true,
                    cause: "Inlet valve stuck open", consequence: "Overflow", action: "Close XV-101"}
  REACTOR.DEV:     {tag: REACTOR.TEMP, type: deviation, setpoint: REACTOR.TEMP_SP, limit: 5}
  REACTOR.ROC:     {tag: REACTOR.TEMP, type: roc, limit: 2, window: 5s}    # > 2 units/s over 5 s
  PUMP1.TRIP:      {tag: PUMP1.TRIPPED, type: discrete, normal: false, suppress_when: PLANT.SHUTDOWN}
  TANK1.LEVEL.BAD: {tag: TANK1.LEVEL, type: bad_quality, priority: journal}
  PUMP1.DRY:       {tag: PUMP1.RUNNING, type: expr, when: "PUMP1.RUNNING and TANK1.LEVEL < 5"}
```
"""

from __future__ import annotations

LIMIT_TYPES = frozenset({"hihi", "hi", "lo", "lolo"})
"""Alarms on one limit of a number, with deadband."""

ALARM_TYPES = ("hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality", "expr")

NEEDS_LIMIT = LIMIT_TYPES | {"deviation", "roc"}

ALARM_PRIORITIES = ("urgent", "high", "medium", "low", "journal")
"""``journal`` is journal-only: every state change is logged, the alarm is never announced."""

ORDER_ABOVE = (("hihi", "hi"), ("hi", "lo"), ("lo", "lolo"))
"""On one tag, the first type's limit must lie above the second's (``hmi check``)."""


def type_problem(alarm_type: str, given: set[str]) -> str | None:
    """What the alarm's keys lack or hold in excess for its type (``given``: the keys written), or None."""
    if alarm_type in NEEDS_LIMIT and "limit" not in given:
        return f"a {alarm_type} alarm needs a limit"
    if alarm_type == "deviation" and "setpoint" not in given:
        return "a deviation alarm needs a setpoint tag"
    if alarm_type == "expr" and "expr" not in given:
        return "an expr alarm needs its condition in when"
    if "setpoint" in given and alarm_type != "deviation":
        return "setpoint belongs to deviation alarms"
    if "normal" in given and alarm_type != "discrete":
        return "normal belongs to discrete alarms"
    if "window" in given and alarm_type != "roc":
        return "window belongs to roc alarms"
    if "suppress_when" in given and "suppress_by" in given:
        return "give suppress_when or suppress_by, not both"
    if "suppress_release" in given and "suppress_by" not in given:
        return "suppress_release belongs to alarms with suppress_by"
    return None
