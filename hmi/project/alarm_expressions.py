"""``hmi check`` of ``type: expr`` alarms: their ``when:`` checked as the rules' expressions are.

The same checker as the rules (:mod:`hmi.project.rules_config`), so a syntax error, an unknown
tag or a type mismatch is reported at file:line:column with a caret under the place. A window
function (``avg(X, 1m)``) is refused: an alarm keeps no history of its inputs; a derived tag
with the window, alarmed on, does the same job.
"""

from __future__ import annotations

from collections.abc import Mapping

from hmi.model import TagDef
from hmi.project.errors import ProjectError
from hmi.project.rules_config import _Checker
from hmi.project.schema import AlarmSpec
from hmi.project.yaml_source import YamlDocument
from hmi.rules.functions import Kind


def alarm_expression_errors(
    alarms: Mapping[str, AlarmSpec], document: YamlDocument | None, tags: Mapping[str, TagDef]
) -> list[ProjectError]:
    """Every problem in the ``when:`` of the ``expr`` alarms, at its place in the file."""
    checker = _Checker(document, tags)
    for name, alarm in alarms.items():
        if alarm.type != "expr" or not alarm.expr:
            continue
        loc, subject = ("alarms", name, "when"), f"alarm {name!r}"
        expression = checker._compile(loc, alarm.expr, subject)
        if expression is None:
            continue
        if expression.kind is not Kind.BOOL:
            checker.issue(loc, f"{subject}: when: must be true or false (it is a {expression.kind.value})")
        elif expression.windows:
            checker.issue(
                loc, f"{subject}: when: window functions need history; alarm on a derived tag that holds them"
            )
    return checker.errors
