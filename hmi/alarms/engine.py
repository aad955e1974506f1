"""Limit alarms with deadband and on/off delays, acknowledged by operators (ISA-18.2 states).

Runs on the runtime loop: ``on_sample`` is registered as a runtime listener, delays use
``loop.call_later``, and listeners receive every event without blocking.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hmi.model import Quality, Sample
from hmi.project.alarm_messages import message_fields
from hmi.project.config import AlarmDef

log = logging.getLogger(__name__)

PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


class AlarmState(enum.StrEnum):
    """ISA-18.2 alarm states (shelving and suppression come later)."""

    NORMAL = "normal"
    UNACKED = "active unacknowledged"
    ACKED = "active acknowledged"
    RETURNED_UNACKED = "returned unacknowledged"


class EventKind(enum.StrEnum):
    """What happened to an alarm."""

    RAISED = "raised"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"
    QUALITY_BAD = "quality bad"
    QUALITY_GOOD = "quality good"


@dataclass
class AlarmStatus:
    """The live state of one alarm."""

    definition: AlarmDef
    state: AlarmState = AlarmState.NORMAL
    value: Any = None
    message: str = ""
    raised_at: float | None = None
    bad_quality: bool = False
    condition: bool = False
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """The alarm's name."""
        return self.definition.name

    @property
    def active(self) -> bool:
        """True while the alarm condition holds (confirmed after its on-delay)."""
        return self.state in (AlarmState.UNACKED, AlarmState.ACKED)

    @property
    def shown(self) -> bool:
        """True when the alarm belongs in the alarm summary: active or unacknowledged."""
        return self.state is not AlarmState.NORMAL


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One journal entry."""

    ts: float
    alarm: str
    kind: EventKind
    state: AlarmState
    priority: str
    value: Any
    message: str
    user: str = ""


AlarmListener = Callable[[AlarmEvent, AlarmStatus], None]


class AlarmEngine:
    """Evaluates every alarm of the project against the samples of its tag."""

    def __init__(self, alarms: dict[str, AlarmDef]) -> None:
        self.statuses = {name: AlarmStatus(definition) for name, definition in alarms.items()}
        self._by_tag: dict[str, list[AlarmStatus]] = {}
        for status in self.statuses.values():
            self._by_tag.setdefault(status.definition.tag, []).append(status)
        self._listeners: list[AlarmListener] = []
        self.version = 0
        """Bumped on every alarm state change: readers compare it to skip rebuilding an unchanged summary."""
        self.errors = 0
        """Failures survived: an alarm that could not be evaluated or formatted, a listener that raised."""

    def subscribe(self, listener: AlarmListener) -> Callable[[], None]:
        """Receive every alarm event; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def shown(self) -> list[AlarmStatus]:
        """Alarms that are active or unacknowledged, most important and newest first."""
        rows = [s for s in self.statuses.values() if s.shown]
        rows.sort(key=lambda s: -(s.raised_at or 0))
        rows.sort(key=lambda s: PRIORITY_RANK.get(s.definition.priority, 9))
        return rows

    def snapshot(self) -> list[AlarmStatus]:
        """Copies of :meth:`shown`, safe to hand to another thread (O(n log n): take it once per frame)."""
        return [dataclasses.replace(status, _timer=None) for status in self.shown()]

    def on_sample(self, tag: str, sample: Sample) -> None:
        """Runtime listener: re-evaluate the alarms of ``tag``, each one isolated from the others."""
        for status in self._by_tag.get(tag, ()):
            try:
                self._evaluate(status, sample)
            except Exception:  # one broken alarm must never keep its neighbours on the tag from tripping
                self.errors += 1
                log.exception("alarm %s could not be evaluated on %s", status.name, tag)

    def on_samples(self, batch: Iterable[tuple[str, Sample]]) -> None:
        """Runtime batch listener: ``on_sample`` for each sample of a tag that has alarms."""
        by_tag = self._by_tag
        for tag, sample in batch:
            if tag in by_tag:
                self.on_sample(tag, sample)

    def set_message(self, name: str, message: str) -> None:
        """Give alarm ``name`` a new message text (the station words its own alarms once it knows why)."""
        status = self.statuses[name]
        status.definition = dataclasses.replace(status.definition, message=message)

    def acknowledge(self, name: str, actor: str = "") -> bool:
        """Acknowledge one alarm as ``actor`` (the journal's user); False when there was nothing to do."""
        status = self.statuses.get(name)
        if status is None or status.state not in (AlarmState.UNACKED, AlarmState.RETURNED_UNACKED):
            return False
        status.state = AlarmState.ACKED if status.state is AlarmState.UNACKED else AlarmState.NORMAL
        self._emit(status, EventKind.ACKNOWLEDGED, actor)
        return True

    def acknowledge_all(self, actor: str = "") -> int:
        """Acknowledge every unacknowledged alarm as ``actor``; returns how many."""
        return sum(self.acknowledge(name, actor) for name in list(self.statuses))

    def close(self) -> None:
        """Cancel pending delay timers."""
        for status in self.statuses.values():
            if status._timer is not None:
                status._timer.cancel()
                status._timer = None

    # -- evaluation ------------------------------------------------------------
    def _evaluate(self, status: AlarmStatus, sample: Sample) -> None:
        tag = status.definition.tag
        if sample.quality is not Quality.GOOD or not isinstance(sample.value, int | float):
            if not status.bad_quality:
                status.bad_quality = True
                self._cancel_timer(status)
                reason = sample.reason.value or sample.quality.name.lower()
                self._emit(status, EventKind.QUALITY_BAD, note=f"{tag}: {reason}, alarm not evaluated")
            return
        status.value = sample.value
        if status.bad_quality:
            status.bad_quality = False
            self._emit(status, EventKind.QUALITY_GOOD, note=f"{tag}: quality good again")
        condition = _condition(status.definition, float(sample.value), status.condition)
        if condition == status.condition:
            return
        status.condition = condition
        self._cancel_timer(status)
        delay = status.definition.on_delay if condition else status.definition.off_delay
        if delay <= 0:
            self._apply(status)
        else:
            status._timer = asyncio.get_running_loop().call_later(delay, self._apply, status)

    def _apply(self, status: AlarmStatus) -> None:
        status._timer = None
        if status.condition and not status.active:
            status.state = AlarmState.UNACKED
            status.raised_at = time.time()
            status.message = self._message(status)
            self._emit(status, EventKind.RAISED)
        elif not status.condition and status.active:
            status.state = (
                AlarmState.NORMAL if status.state is AlarmState.ACKED else AlarmState.RETURNED_UNACKED
            )
            self._emit(status, EventKind.CLEARED)

    @staticmethod
    def _cancel_timer(status: AlarmStatus) -> None:
        if status._timer is not None:
            status._timer.cancel()
            status._timer = None

    def _emit(self, status: AlarmStatus, kind: EventKind, user: str = "", note: str = "") -> None:
        # Every state change ends here, so this one O(1) bump keeps the version honest.
        self.version += 1
        event = AlarmEvent(
            time.time(),
            status.name,
            kind,
            status.state,
            status.definition.priority,
            status.value,
            note or status.message or self._message(status),
            user,
        )
        for listener in list(self._listeners):
            try:
                listener(event, status)
            except Exception:
                self.errors += 1
                log.exception("alarm listener failed for %s", status.name)

    def _message(self, status: AlarmStatus) -> str:
        """The alarm's message; a template that cannot be filled in still gives a readable fallback."""
        definition = status.definition
        try:
            return format_message(definition, status.value)
        except Exception as error:  # the alarm must be raised whatever its text says
            self.errors += 1
            log.error(
                "alarm %s: message %r cannot be formatted (%s)", definition.name, definition.message, error
            )
            return fallback_message(definition, status.value)


def _condition(definition: AlarmDef, value: float, holding: bool) -> bool:
    """The alarm condition with deadband: entering at the limit, leaving only past limit ∓ deadband."""
    limit, band = definition.limit, definition.deadband
    if definition.type in ("hi", "hihi"):
        return value > (limit - band if holding else limit)
    return value < (limit + band if holding else limit)


def format_message(definition: AlarmDef, value: Any) -> str:
    """The alarm's message with its fields filled in; raises whatever ``str.format`` raises."""
    if not definition.message:
        return f"{definition.name} {definition.type} ({definition.limit:g})"
    fields = message_fields(definition.name, definition.tag, definition.limit, value)
    return definition.message.format_map(fields)


def fallback_message(definition: AlarmDef, value: Any) -> str:
    """A message that cannot fail: the template as written, then what tripped it."""
    return f"{definition.message} [{definition.tag} {definition.type} {definition.limit:g}, value {value!r}]"
