"""What the rules engine records and what it needs from the station, as plain types (no IO here)."""

from __future__ import annotations

import enum
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any

from hmi.model import Sample


class RuleState(enum.StrEnum):
    """Where a rule is in its cycle; ``held`` while an input of its condition is not good."""

    ARMED = "armed"
    PENDING = "pending"
    ACTIVE = "active"
    COOLDOWN = "cooldown"
    HELD = "held"
    DISABLED = "disabled"
    ERROR = "error"


class EventKind(enum.StrEnum):
    """What a rule journal record says happened."""

    FIRED = "fired"
    CLEARED = "cleared"
    MAINTENANCE = "maintenance"
    ACKNOWLEDGED = "acknowledged"
    WRITE = "write"
    WRITE_FAILED = "write failed"
    WOULD = "dry run"
    LOG = "log"
    ERROR = "error"
    HELD = "held"
    ENABLED = "enabled"
    DISABLED = "disabled"


_ids = itertools.count(1)
_PREFIX = f"{os.getpid():x}-{int(time.time()):x}"


def new_event_id() -> str:
    """An id unique to this run (pid and start time), by which a maintenance event is acknowledged."""
    return f"{_PREFIX}-{next(_ids)}"


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One record of the rule journal."""

    ts: float
    rule: str
    kind: EventKind
    tag: str = ""
    old: Any = None
    new: Any = None
    message: str = ""
    priority: str = ""
    actor: str = ""
    ref: str = ""
    """For an acknowledgement: the id of the maintenance event acknowledged."""
    dry_run: bool = False
    sync: bool = False
    """Marked for the enterprise sync."""
    id: str = field(default_factory=new_event_id)


_EVENT_FIELDS = (
    "ts", "rule", "kind", "tag", "old", "new", "message", "priority", "actor", "ref", "dry_run", "sync", "id"
)  # fmt: skip


class _DraftEvent:
    """``RuleEvent``'s slot layout without its frozen ``__setattr__``, as ``hmi.model.UnfrozenSample`` is
    ``Sample``'s: filled with plain stores, then ``__class__ = RuleEvent``. The frozen dataclass's
    ``__init__`` (thirteen ``object.__setattr__`` calls) took about 2.4 µs, and a rule's every firing and
    clearing records one or two events."""

    __slots__ = _EVENT_FIELDS


def rule_event(
    ts: float, rule: str, kind: EventKind, *, message: str = "", priority: str = "", tag: str = "",
    new: Any = None, dry_run: bool = False, sync: bool = False,
) -> RuleEvent:  # fmt: skip
    """``RuleEvent(ts, rule, kind, tag, new=new, message=...)`` built at speed (a transition's records)."""
    event: Any = _DraftEvent()
    event.ts = ts
    event.rule = rule
    event.kind = kind
    event.tag = tag
    event.old = None
    event.new = new
    event.message = message
    event.priority = priority
    event.actor = ""
    event.ref = ""
    event.dry_run = dry_run
    event.sync = sync
    event.id = f"{_PREFIX}-{next(_ids)}"  # new_event_id(), written out
    event.__class__ = RuleEvent
    return event


def _check_rule_event() -> None:
    # A change to RuleEvent's fields or layout must fail here, at import, never as a wrong record later.
    if tuple(f.name for f in fields(RuleEvent)) != _EVENT_FIELDS or RuleEvent.__slots__ != _EVENT_FIELDS:
        raise TypeError("rule_event builds RuleEvents slot by slot, and RuleEvent's fields have changed")
    built = rule_event(
        1.0, "r", EventKind.WOULD, message="m", priority="p", tag="t", new=2, dry_run=True, sync=True
    )
    expected = RuleEvent(1.0, "r", EventKind.WOULD, "t", None, 2, "m", "p", "", "", True, True, built.id)
    if built.__class__ is not RuleEvent or built != expected or hash(built) != hash(expected):
        raise TypeError("rule_event no longer gives a RuleEvent equal to RuleEvent(...)")
    try:
        built.ts = 0.0  # type: ignore[misc]
    except FrozenInstanceError:
        return
    raise TypeError("rule_event's RuleEvent is not frozen")


_check_rule_event()


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """What became of a rule's write: ``ok`` and the value written, or the refusal or failure."""

    ok: bool
    written: Any = None
    error: str = ""
    refused: bool = False
    """True when the write check or the policy refused it (nothing reached a device)."""


WriteFn = Callable[[str, Any, str], Awaitable[WriteOutcome]]
"""Writes ``value`` to ``tag`` as actor ``rule``: the station's command path, with origin ``rule``."""

Publish = Callable[[str, Sample], None]
"""Hands a sample of a derived, flag or fault tag to the runtime (on the runtime loop)."""

PublishBatch = Callable[[list[tuple[str, Sample]]], None]
"""Hands the derived tags' samples of one input batch to the runtime at once (one fan-out per batch)."""

Record = Callable[[RuleEvent], None]
"""Appends a record to the rule journal; must not block."""


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A rule's state for the rules view."""

    name: str
    state: RuleState
    enabled: bool
    dry_run: bool
    fire_count: int
    last_fired: float | None
    last_error: str
    held_by: str
    """The input whose quality holds the rule (``TAG: reason``), empty when none does."""
