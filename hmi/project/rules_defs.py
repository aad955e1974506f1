"""Derived tags and rules as the validated project holds them: plain frozen dataclasses.

The expressions stay text here; ``hmi.rules`` compiles them (once, at start) against the project's
tags after ``hmi.project.rules_config`` has checked that they compile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RULES_SOURCE = "rules"
"""The ``TagDef.source`` of every tag the rules engine publishes (derived, flag and fault tags)."""


def fault_tag(rule: str) -> str:
    """The bool tag that is true while rule ``rule`` is in error or held by a bad input."""
    return f"RULE.{rule}.FAULT"


def fault_alarm(rule: str) -> str:
    """The alarm on :func:`fault_tag`."""
    return f"RULE.{rule}.FAULT"


@dataclass(frozen=True, slots=True)
class DerivedDef:
    """A tag computed from others: ``expr`` is re-evaluated whenever one of its inputs changes."""

    name: str
    expr: str


@dataclass(frozen=True, slots=True)
class WriteAction:
    """Write ``value`` (an expression) to ``tag``, clamped to [low, high], at most ``rate`` units/s."""

    tag: str
    value: str
    low: float | None = None
    high: float | None = None
    rate: float | None = None
    """Units per second the tag may be moved (a token bucket holding one minute's worth)."""
    burst: float | None = None
    """The most one write may move it: the rate limit's own period's worth (``50/min``: 50)."""


@dataclass(frozen=True, slots=True)
class RaiseAction:
    """Raise a maintenance event (its own journal, acknowledged by an operator)."""

    message: str
    priority: str = "medium"
    sync: bool = True
    """Marked for the enterprise sync (the event stream a sync cursor follows)."""


@dataclass(frozen=True, slots=True)
class SetAction:
    """Set the bool flag tag ``tag`` true while the rule is active (false again when it clears)."""

    tag: str


@dataclass(frozen=True, slots=True)
class LogAction:
    """Write a line to the log (and the rule journal)."""

    message: str


Action = WriteAction | RaiseAction | SetAction | LogAction


@dataclass(frozen=True, slots=True)
class RuleDef:
    """``when`` (held ``for`` seconds) -> actions; ``clear`` gives hysteresis, ``cooldown`` a quiet time."""

    name: str
    when: str
    actions: tuple[Action, ...]
    for_: float = 0.0
    clear: str | None = None
    cooldown: float = 0.0
    enabled: bool = True
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Every derived tag and rule of a project, and the tags rules may write."""

    derived: dict[str, DerivedDef] = field(default_factory=dict)
    rules: dict[str, RuleDef] = field(default_factory=dict)
    rule_writable: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.derived or self.rules)
