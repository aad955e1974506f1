"""One alarm per rule, raised while the rule is in error or held by a bad input.

A rule whose condition reads the values of one connection only is held the moment that connection's
link is lost: its fault alarm then says nothing the link's own alarm has not said. Such a fault alarm
is suppressed by design by that link alarm (ISA-18.2's consequential alarm): journalled, not
announced, and announced after all if the rule is still faulty a little after the link is back.
A rule reading two connections, or none, keeps its alarm unsuppressed (an alarm has one parent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hmi.alarms.builtin import link_alarm_name
from hmi.model import TagDef
from hmi.project.config import AlarmDef, Project
from hmi.project.rules_defs import DerivedDef, fault_alarm, fault_tag
from hmi.rules.parsing import parse, tag_references

RELEASE_MIN_S = 2.0
"""The least time a rule's fault stays suppressed after its link's alarm returns."""
ON_DELAY_S = 1.0
"""How long such a fault waits before it is raised: a lost link's values go bad a moment before its
alarm rises, and a fault raised in that moment would be announced, then suppressed."""


def rule_fault_alarms(project: Project) -> dict[str, AlarmDef]:
    """The rules' fault alarms, each suppressed by its one connection's link alarm where it has one."""
    tags = project.every_tag()
    derived = project.rules.derived
    links = project.alarm_settings.link_alarms
    alarms = {}
    for name, rule in project.rules.rules.items():
        texts = [rule.when] + ([rule.clear] if rule.clear else [])
        connections, slowest = _connections(texts, derived, tags)
        parent = link_alarm_name(next(iter(connections))) if links and len(connections) == 1 else None
        alarms[fault_alarm(name)] = AlarmDef(
            name=fault_alarm(name),
            tag=fault_tag(name),
            type="hi",
            limit=0.5,
            priority="high",
            message=f"Rule {name} is in error or held by a bad input (see the rules view)",
            suppress_by=parent,
            # A link back up is announced before its first poll: the inputs' first good read releases
            # the rule within a scan or two, and only a fault that outlasts that is news.
            suppress_release=max(RELEASE_MIN_S, 2 * slowest) if parent else 0.0,
            on_delay=ON_DELAY_S if parent else 0.0,
        )
    return alarms


def _connections(
    texts: Iterable[str], derived: Mapping[str, DerivedDef], tags: Mapping[str, TagDef]
) -> tuple[set[str], float]:
    """The connections whose values the expressions ``texts`` read, through derived tags to their
    inputs, and the slowest scan period among those inputs (s)."""
    connections: set[str] = set()
    slowest = 0.0
    pending = list(texts)
    seen: set[str] = set()
    while pending:
        tree, _problems = parse(pending.pop())
        if tree is None:  # the loader refused it already; nothing to follow
            continue
        for tag, _offset in tag_references(tree):
            if tag in seen:
                continue
            seen.add(tag)
            if tag in derived:
                pending.append(derived[tag].expr)
            elif (definition := tags.get(tag)) is not None and definition.connection is not None:
                connections.add(definition.connection)
                slowest = max(slowest, definition.scan_period)
    return connections, slowest
