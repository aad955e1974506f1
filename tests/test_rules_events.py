"""The fast builder of a transition's journal record gives the record the dataclass gives."""

from __future__ import annotations

import dataclasses

import pytest

from hmi.rules.events import EventKind, RuleEvent, rule_event


@pytest.mark.parametrize(
    "keywords",
    [
        {},
        {"message": "when", "dry_run": True},
        {"message": "m", "priority": "high", "sync": True},
        {"tag": "T.1", "new": False, "message": "set", "dry_run": True},
    ],
)
def test_rule_event_equals_the_dataclass(keywords: dict[str, object]) -> None:
    built = rule_event(12.5, "r1", EventKind.FIRED, **keywords)  # type: ignore[arg-type]
    expected = RuleEvent(12.5, "r1", EventKind.FIRED, **{**keywords, "id": built.id})  # type: ignore[arg-type]
    assert type(built) is RuleEvent
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.message = "changed"  # type: ignore[misc]


def test_rule_event_ids_are_unique() -> None:
    ids = {rule_event(1.0, "r", EventKind.CLEARED).id for _ in range(100)}
    ids.add(RuleEvent(1.0, "r", EventKind.CLEARED).id)
    assert len(ids) == 101
