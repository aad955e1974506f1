"""``type: expr`` alarms: their ``when:`` compiled by the rules language, judged by the alarm engine.

The alarms and the rules are separate runtime services; the station (here) compiles each
alarm's expression with :mod:`hmi.rules.expr` and hands the engine the result as its
:class:`hmi.alarms.conditions.ExpressionCondition`: the input tags of each alarm, and its
condition on their last samples. ``hmi check`` has refused an expression that does not compile,
so one failing here (a project built in code) is logged and never judged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from hmi.alarms.conditions import Lookup
from hmi.model import DataType, TagDef
from hmi.project.config import AlarmDef
from hmi.rules.expr import NOT_READY, Expression, TagType, compile_expression
from hmi.rules.functions import Kind

log = logging.getLogger(__name__)

EVAL_ERRORS = (ArithmeticError, ValueError, TypeError)
"""What an expression raises on a value it cannot take (a division by zero): the alarm is not judged."""


class AlarmExpressions:
    """The compiled ``when:`` of every ``expr`` alarm, as the alarm engine's expression condition."""

    def __init__(self, alarms: Mapping[str, AlarmDef], tags: Mapping[str, TagDef]) -> None:
        types = {name: _tag_type(tag) for name, tag in tags.items()}
        self.compiled: dict[str, Expression] = {}
        self.failures = 0
        """Evaluations that raised (a division by zero...): each left the alarm as it stood."""
        for name, definition in alarms.items():
            if definition.type != "expr":
                continue
            expression, problems = compile_expression(definition.expr, types)
            if expression is None:
                log.error("alarm %s: when %r not compiled: %s", name, definition.expr, problems)
                continue
            self.compiled[name] = expression

    def inputs(self, definition: AlarmDef) -> Collection[str]:
        """The tags the alarm's expression reads (none when it did not compile)."""
        expression = self.compiled.get(definition.name)
        return sorted(expression.inputs) if expression is not None else ()

    def __call__(self, definition: AlarmDef, value: float, lookup: Lookup) -> bool | None:
        """The expression on its inputs' last values; None when it cannot say (no value yet, an error)."""
        expression = self.compiled.get(definition.name)
        if expression is None:
            return None
        env: dict[str, Any] = {}
        for tag in expression.inputs:
            sample = lookup(tag)
            if sample is None:
                return None
            env[tag] = sample.value if isinstance(sample.value, bool) else float(sample.value)
        try:
            return bool(expression.evaluate(env))
        except NOT_READY:
            return None
        except EVAL_ERRORS as error:
            self.failures += 1
            log.warning(
                "alarm %s: when %r failed: %s; the alarm stays as it is",
                definition.name,
                definition.expr,
                error,
            )
            return None


def _tag_type(tag: TagDef) -> TagType:
    if tag.type is DataType.BOOL:
        return TagType(Kind.BOOL, tag.units)
    if tag.type is DataType.STRING:
        return TagType(None)
    return TagType(Kind.NUMBER, tag.units)
