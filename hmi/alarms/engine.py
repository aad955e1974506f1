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
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hmi.alarms import conditions
from hmi.alarms.conditions import ExpressionCondition
from hmi.alarms.limits import limit_problem
from hmi.alarms.ordering import operator_order
from hmi.alarms.states import OPERATOR_SET_ASIDE, PRIORITY_RANK, SET_ASIDE, AlarmState
from hmi.model import Quality, Reason, Sample
from hmi.project.alarm_messages import message_fields
from hmi.project.alarm_settings import DEFAULT_MAX_SHELVE
from hmi.project.config import AlarmDef

__all__ = ["PRIORITY_RANK", "AlarmEngine", "AlarmEvent", "AlarmState", "AlarmStatus", "EventKind"]

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    """What happened to an alarm."""

    RAISED = "raised"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"
    QUALITY_BAD = "quality bad"
    QUALITY_GOOD = "quality good"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"
    OUT_OF_SERVICE = "out of service"
    IN_SERVICE = "returned to service"
    SUPPRESSED = "suppressed"
    UNSUPPRESSED = "unsuppressed"
    RESET = "reset"
    LIMIT_EDITED = "limit edited"


_NOT_A_FAULT = (Reason.WAITING, Reason.NOT_CONNECTED)
"""A start (waiting for the first value) or a stopped connection is no fault of the tag's: a bad-quality
alarm ignores them. A lost link arrives as a comm failure, and raises the link alarm as well."""

_GOOD = Quality.GOOD
_NUMBER = (int, float)
_ABOVE = frozenset({"hi", "hihi"})
_BELOW = frozenset({"lo", "lolo"})

JOURNAL_ONLY = "journal"
"""The priority of an alarm that is journalled but never announced (needs no acknowledgement)."""


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
    alarmed: bool = False
    """The condition confirmed past its delays, whether or not the alarm is announced (shelved)."""
    shelved_until: float | None = None
    set_aside_by: str = ""
    """Who shelved the alarm or took it out of service."""
    set_aside_reason: str = ""
    suppressed: bool = False
    """Suppressed by design (its ``suppress_when`` tag true or its ``suppress_by`` alarm active)."""
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    _history: deque[tuple[float, float]] = field(default_factory=conditions.new_history, repr=False)

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
        return (
            self.state is not AlarmState.NORMAL
            and self.state not in SET_ASIDE
            and self.definition.priority != JOURNAL_ONLY
        )

    @property
    def unacked(self) -> bool:
        """True while the alarm waits for an acknowledgement."""
        return self.state in (AlarmState.UNACKED, AlarmState.RETURNED_UNACKED)

    @property
    def set_aside(self) -> bool:
        """True while shelved, out of service or suppressed by design."""
        return self.state in SET_ASIDE


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
    from_state: AlarmState | None = None
    """The state before this event (None for an event that changed no state, e.g. quality)."""
    comment: str = ""
    """The operator's comment or reason (acknowledge, shelve, out of service)."""
    until: float | None = None
    """When a shelving ends (a ``shelved`` event), so that a restart can restore it."""


AlarmListener = Callable[[AlarmEvent, AlarmStatus], None]


class AlarmEngine:
    """Evaluates every alarm of the project against the samples of its tag.

    ``clock`` gives the wall time of events and shelving (tests pass a controllable one);
    ``max_shelve`` is the longest shelving allowed per priority, in seconds (a priority
    missing from it may not be shelved).
    """

    def __init__(
        self,
        alarms: dict[str, AlarmDef],
        *,
        clock: Callable[[], float] = time.time,
        max_shelve: Mapping[str, float] | None = None,
        expression: ExpressionCondition | None = None,
    ) -> None:
        self.statuses = {name: AlarmStatus(definition) for name, definition in alarms.items()}
        self._by_tag: dict[str, list[AlarmStatus]] = {}
        self._by_setpoint: dict[str, list[AlarmStatus]] = {}
        self._by_suppressor: dict[str, list[AlarmStatus]] = {}
        self._children: dict[str, list[AlarmStatus]] = {}
        self._by_input: dict[str, list[AlarmStatus]] = {}
        """Expression alarms by each tag their expression reads (their own tag included)."""
        self._inputs: dict[str, tuple[str, ...]] = {}
        for status in self.statuses.values():
            definition = status.definition
            if definition.type == "expr":  # judged on any input's change, not on its tag's alone
                inputs = () if expression is None else (definition.tag, *expression.inputs(definition))
                self._inputs[status.name] = tuple(dict.fromkeys(inputs))
                for tag in self._inputs[status.name]:
                    self._by_input.setdefault(tag, []).append(status)
            else:
                self._by_tag.setdefault(definition.tag, []).append(status)
            if definition.setpoint:
                self._by_setpoint.setdefault(definition.setpoint, []).append(status)
            if definition.suppress_when:
                self._by_suppressor.setdefault(definition.suppress_when, []).append(status)
            if definition.suppress_by:
                self._children.setdefault(definition.suppress_by, []).append(status)
        self._others = self._by_setpoint.keys() | self._by_suppressor.keys() | self._by_input.keys()
        """Setpoint and suppressing tags (empty in most projects: one truth test on the hot path)."""
        self._watched = self._by_tag.keys() | self._others
        self._last: dict[str, Sample] = {}
        """The last sample of each setpoint, suppressing and expression input tag."""
        self.expression = expression
        self._listeners: list[AlarmListener] = []
        self.clock = clock
        self.max_shelve = dict(DEFAULT_MAX_SHELVE if max_shelve is None else max_shelve)
        self._shelve_timer: asyncio.TimerHandle | None = None
        self._releases: dict[str, asyncio.TimerHandle] = {}
        """Children whose parent has returned, by name: their suppression ends when the handle fires."""
        self.version = 0
        """Bumped on every alarm state change: readers compare it to skip rebuilding an unchanged summary."""
        self.errors = 0
        """Failures survived: an alarm that could not be evaluated or formatted, a listener that raised."""

    def subscribe(self, listener: AlarmListener) -> Callable[[], None]:
        """Receive every alarm event; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def shown(self) -> list[AlarmStatus]:
        """Alarms that are active or unacknowledged, in the order the operator must see them."""
        return operator_order(s for s in self.statuses.values() if s.shown)

    def set_aside(self) -> list[AlarmStatus]:
        """Shelved and out-of-service alarms, the soonest to come back first."""
        rows = [s for s in self.statuses.values() if s.set_aside]
        rows.sort(key=lambda s: (s.state is AlarmState.OUT_OF_SERVICE, s.shelved_until or 0.0, s.name))
        return rows

    def snapshot(self) -> list[AlarmStatus]:
        """Copies of :meth:`shown` then :meth:`set_aside`, safe to hand to another thread (once per frame)."""
        return [
            dataclasses.replace(status, _timer=None, _history=conditions.new_history())
            for status in self.shown() + self.set_aside()
        ]

    def on_sample(self, tag: str, sample: Sample) -> None:
        """Runtime listener: re-evaluate the alarms of ``tag``, each one isolated from the others."""
        if self._others and tag in self._others:
            self._on_other_tag(tag, sample)
        for status in self._by_tag.get(tag, ()):
            try:
                self._evaluate(status, sample)
            except Exception:  # one broken alarm must never keep its neighbours on the tag from tripping
                self.errors += 1
                log.exception("alarm %s could not be evaluated on %s", status.name, tag)

    def _on_other_tag(self, tag: str, sample: Sample) -> None:
        """A setpoint or a suppressing tag changed: re-judge the alarms that look at it."""
        self._last[tag] = sample
        # Bad quality never suppresses: an alarm hidden by a value nobody can read would be lost. A start
        # or a stop keeps the suppression as it stands, so neither flashes an alarm at the operator.
        suppressing = sample.is_good and bool(sample.value)
        for status in self._by_suppressor.get(tag, ()) if sample.reason not in _NOT_A_FAULT else ():
            try:
                self._set_suppressed(status, suppressing)
            except Exception:  # one broken alarm must never stop the others that look at the same tag
                self._failed(status, tag)
        for status in self._by_setpoint.get(tag, ()):
            if status.value is not None and not status.bad_quality:
                try:
                    self._judge(status, float(status.value), sample.ts)
                except Exception:
                    self._failed(status, tag)
        for status in self._by_input.get(tag, ()):
            try:
                self._judge_expression(status)
            except Exception:
                self._failed(status, tag)

    def _judge_expression(self, status: AlarmStatus) -> None:
        """An expression alarm on its inputs' last samples: held (and shown bad quality) on a bad one."""
        hook = self.expression
        inputs = self._inputs[status.name]
        samples = [self._last.get(tag) for tag in inputs]
        if hook is None or any(s is None or s.reason in _NOT_A_FAULT for s in samples):
            return  # an input with no value yet, or stopped: nothing to judge (a start is no fault)
        bad = next(
            ((t, s) for t, s in zip(inputs, samples, strict=True) if s is not None and not s.is_good), None
        )
        if bad is not None:
            if not status.bad_quality:
                status.bad_quality = True
                self._cancel_timer(status)
                status.condition = status.alarmed  # as for a limit alarm: the next good value starts afresh
                reason = bad[1].reason.value or bad[1].quality.name.lower()
                self._emit(status, EventKind.QUALITY_BAD, note=f"{bad[0]}: {reason}, alarm not evaluated")
            return
        if status.bad_quality:
            status.bad_quality = False
            self._emit(status, EventKind.QUALITY_GOOD, note="inputs' quality good again")
        own = self._last[status.definition.tag].value
        status.value = own
        condition = hook(status.definition, own if isinstance(own, _NUMBER) else 0.0, self._last.get)
        if condition is not None:
            self._set_condition(status, condition)

    def _failed(self, status: AlarmStatus, tag: str) -> None:
        self.errors += 1
        log.exception("alarm %s could not be evaluated on %s", status.name, tag)

    def on_samples(self, batch: Iterable[tuple[str, Sample]]) -> None:
        """Runtime batch listener: ``on_sample`` for each sample of a tag that has alarms."""
        watched = self._watched
        for tag, sample in batch:
            if tag in watched:
                self.on_sample(tag, sample)

    def set_message(self, name: str, message: str) -> None:
        """Give alarm ``name`` a new message text (the station words its own alarms once it knows why)."""
        status = self.statuses[name]
        status.definition = dataclasses.replace(status.definition, message=message)

    # -- operator actions: each returns why it was refused, or None ----------------------
    def acknowledge(self, name: str, actor: str = "", comment: str = "") -> bool:
        """Acknowledge one alarm as ``actor`` (the journal's user); False when there was nothing to do."""
        status = self.statuses.get(name)
        if status is None or not status.unacked:
            return False
        before = status.state
        if status.state is AlarmState.RETURNED_UNACKED:
            status.state = AlarmState.NORMAL
        else:  # a latched alarm that returned while unacknowledged waits for its reset
            status.state = AlarmState.ACKED if status.alarmed else AlarmState.LATCHED
        self._emit(status, EventKind.ACKNOWLEDGED, actor, before=before, comment=comment)
        return True

    def reset(self, name: str, actor: str, comment: str = "") -> str | None:
        """Reset a latched alarm that has returned and been acknowledged (ISA-18.2 latched reset)."""
        status = self.statuses.get(name)
        if status is None:
            return f"{name}: no such alarm"
        if status.state is not AlarmState.LATCHED:
            if status.definition.latched and status.alarmed:
                return f"{name}: still active; a latched alarm is reset once it has returned"
            if status.definition.latched and status.state is AlarmState.UNACKED:
                return f"{name}: acknowledge it before the reset"
            return f"{name}: not latched"
        self._emit_change(status, AlarmState.NORMAL, EventKind.RESET, actor, comment=comment)
        return None

    def edit_limit(self, name: str, limit: float, actor: str, comment: str = "") -> str | None:
        """Give ``name`` a new limit until restart (see :mod:`hmi.alarms.limits`), journalled old -> new."""
        status = self.statuses.get(name)
        if status is None:
            return f"{name}: no such alarm"
        definition = status.definition
        siblings = [s.definition for s in self._by_tag.get(definition.tag, ()) if s is not status]
        problem = limit_problem(definition, limit, siblings)
        if problem:
            return f"{name}: {problem}"
        old = definition.limit
        status.definition = dataclasses.replace(definition, limit=float(limit))
        change = f"limit {old:g} -> {float(limit):g}"
        note = f"{name} {change} by {actor}" + (f": {comment}" if comment else "")
        journalled = f"{change}; {comment}" if comment else change
        self._emit(status, EventKind.LIMIT_EDITED, actor, note=note, comment=journalled)
        if status.value is not None and not status.bad_quality and definition.type != "roc":
            self._judge(status, float(status.value), self.clock())  # the new limit applies at once
        return None

    def acknowledge_all(self, actor: str = "", comment: str = "", names: Iterable[str] | None = None) -> int:
        """Acknowledge every unacknowledged alarm (or those of ``names``: the visible ones); how many."""
        targets = list(self.statuses) if names is None else list(names)
        return sum(self.acknowledge(name, actor, comment) for name in targets)

    def shelve(self, name: str, duration: float, reason: str, actor: str) -> str | None:
        """Shelve alarm ``name`` for ``duration`` seconds (ISA-18.2): it comes back by itself."""
        status = self.statuses.get(name)
        if status is None:
            return f"{name}: no such alarm"
        limit = self.max_shelve.get(status.definition.priority)
        problem = _shelve_problem(status, duration, reason, limit)
        if problem:
            return f"{name}: {problem}"
        before = status.state
        status.state = AlarmState.SHELVED
        status.shelved_until = self.clock() + duration
        status.set_aside_by, status.set_aside_reason = actor, reason
        note = f"{name} shelved for {_span(duration)} by {actor}: {reason}"
        self._emit(
            status,
            EventKind.SHELVED,
            actor,
            note=note,
            before=before,
            comment=reason,
            until=status.shelved_until,
        )
        self._arm_shelve_timer()
        return None

    def unshelve(self, name: str, actor: str, comment: str = "") -> str | None:
        """End the shelving of ``name`` now; a still-active alarm is announced again."""
        status = self.statuses.get(name)
        if status is None or status.state is not AlarmState.SHELVED:
            return f"{name}: not shelved"
        self._restore(status, EventKind.UNSHELVED, actor, comment)
        return None

    def remove_from_service(self, name: str, reason: str, actor: str) -> str | None:
        """Take alarm ``name`` out of service (an engineer's action, with a reason) until returned."""
        status = self.statuses.get(name)
        if status is None:
            return f"{name}: no such alarm"
        if status.state is AlarmState.OUT_OF_SERVICE:
            return f"{name}: already out of service"
        if not reason.strip():
            return f"{name}: give a reason for taking the alarm out of service"
        before = status.state
        status.state = AlarmState.OUT_OF_SERVICE
        status.shelved_until = None
        status.set_aside_by, status.set_aside_reason = actor, reason
        note = f"{name} out of service by {actor}: {reason}"
        self._emit(status, EventKind.OUT_OF_SERVICE, actor, note=note, before=before, comment=reason)
        return None

    def return_to_service(self, name: str, actor: str, comment: str = "") -> str | None:
        """Put an out-of-service alarm back in service; a still-active alarm is announced again."""
        status = self.statuses.get(name)
        if status is None or status.state is not AlarmState.OUT_OF_SERVICE:
            return f"{name}: not out of service"
        self._restore(status, EventKind.IN_SERVICE, actor, comment)
        return None

    def restore_set_aside(
        self, name: str, state: AlarmState, until: float | None, by: str, reason: str
    ) -> bool:
        """Put ``name`` back in the shelved or out-of-service state the journal last recorded (at start).

        No event: nothing changed, the station only remembers. A shelving that ran out while the station
        was down ends at the next :meth:`expire_shelving`; False for an unknown alarm or state.
        """
        status = self.statuses.get(name)
        if status is None or state not in SET_ASIDE or (state is AlarmState.SHELVED and until is None):
            return False
        status.state = state
        status.shelved_until = until if state is AlarmState.SHELVED else None
        status.set_aside_by, status.set_aside_reason = by, reason
        self.version += 1
        return True

    def restore_state(
        self, name: str, state: AlarmState, alarmed: bool, raised_at: float | None, value: Any, message: str
    ) -> bool:
        """Put ``name`` back in the state the journal last recorded, at start, before any sample.

        No event: nothing changed. ``alarmed`` (the last raise was not followed by a clear) is also
        taken as the condition, so the first sample that confirms it raises nothing again and one
        that contradicts it clears it as usual. False for an unknown alarm.
        """
        status = self.statuses.get(name)
        if status is None:
            return False
        # The suppressing tag's first sample confirms or ends a suppression; a shelving or out of
        # service comes back through restore_set_aside, which knows who, why and until when.
        status.suppressed = state is AlarmState.SUPPRESSED
        if state in OPERATOR_SET_ASIDE:  # announced unless restore_set_aside confirms it: never lost
            status.state = self._announced_state(status) if alarmed else AlarmState.NORMAL
        else:
            status.state = state
        status.alarmed = status.condition = alarmed
        status.raised_at, status.value, status.message = raised_at, value, message
        self.version += 1
        return True

    def expire_shelving(self) -> int:
        """Unshelve every alarm whose shelving has run out by ``clock``; how many (the timer calls it)."""
        now = self.clock()
        due = [
            s
            for s in self.statuses.values()
            if s.state is AlarmState.SHELVED and s.shelved_until is not None and s.shelved_until <= now
        ]
        for status in due:
            self._restore(status, EventKind.UNSHELVED, "", "shelving expired")
        return len(due)

    def close(self) -> None:
        """Cancel pending delay and shelving timers."""
        for status in self.statuses.values():
            self._cancel_timer(status)
        if self._shelve_timer is not None:
            self._shelve_timer.cancel()
            self._shelve_timer = None
        for handle in self._releases.values():
            handle.cancel()
        self._releases.clear()

    def _restore(self, status: AlarmStatus, kind: EventKind, actor: str, comment: str) -> None:
        """Back to normal processing: re-alarmed (unacknowledged, new raise time) if still active."""
        before = status.state
        status.shelved_until = None
        status.set_aside_by = status.set_aside_reason = ""
        if status.suppressed and kind is not EventKind.UNSUPPRESSED:
            status.state = AlarmState.SUPPRESSED
            note = f"{status.name} {kind.value}, still suppressed by design"
        elif status.alarmed:
            status.state = self._announced_state(status)
            status.raised_at = self.clock()
            status.message = self._message(status)
            note = f"{status.name} {kind.value}, still active: {status.message}"
        else:
            status.state = AlarmState.NORMAL
            note = f"{status.name} {kind.value}"
        self._emit(status, kind, actor, note=note, before=before, comment=comment)

    def arm_shelving(self) -> None:
        """Start the timer that ends shelvings (after a restore; :meth:`shelve` arms it itself)."""
        self._arm_shelve_timer()

    def _arm_shelve_timer(self) -> None:
        """One timer for the soonest shelving to end (re-armed after each expiry)."""
        if self._shelve_timer is not None:
            self._shelve_timer.cancel()
            self._shelve_timer = None
        ends = [s.shelved_until for s in self.statuses.values() if s.shelved_until is not None]
        if not ends:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called off a loop (a test driving the clock): expire_shelving by hand
            return
        self._shelve_timer = loop.call_later(max(0.0, min(ends) - self.clock()), self._on_shelve_timer)

    def _on_shelve_timer(self) -> None:
        self._shelve_timer = None
        self.expire_shelving()
        self._arm_shelve_timer()

    # -- evaluation ------------------------------------------------------------
    def _evaluate(self, status: AlarmStatus, sample: Sample) -> None:
        definition = status.definition
        kind = definition.type
        if kind == "bad_quality":  # the quality is the condition, not a reason to wait
            status.value = sample.value
            if sample.reason not in _NOT_A_FAULT:
                self._set_condition(status, sample.quality is Quality.BAD)
            return
        # Module constants on the per-change path: not an enum attribute and a new union per call.
        if sample.quality is not _GOOD or not isinstance(sample.value, _NUMBER):
            if not status.bad_quality:
                status.bad_quality = True
                self._cancel_timer(status)
                # A delay cut short leaves the condition where the alarm stands, so the next good
                # value starts its delay again instead of being taken as no change.
                status.condition = status.alarmed
                reason = sample.reason.value or sample.quality.name.lower()
                note = f"{definition.tag}: {reason}, alarm not evaluated"
                self._emit(status, EventKind.QUALITY_BAD, note=note)
            return
        value = status.value = sample.value
        if status.bad_quality:
            status.bad_quality = False
            self._emit(status, EventKind.QUALITY_GOOD, note=f"{definition.tag}: quality good again")
        # The limit types inline: the hot path of 10k alarms against 100k changes/s (hmi bench alarms).
        if kind in _ABOVE:
            limit = definition.limit - definition.deadband if status.condition else definition.limit
            condition = value > limit
        elif kind in _BELOW:
            limit = definition.limit + definition.deadband if status.condition else definition.limit
            condition = value < limit
        else:
            self._judge(status, float(value), sample.ts)
            return
        if condition != status.condition:
            self._set_condition(status, condition)

    def _judge(self, status: AlarmStatus, value: float, ts: float) -> None:
        """The alarm's condition on ``value`` by its type; one that cannot be judged keeps the state."""
        definition, holding = status.definition, status.condition
        condition: bool | None
        if definition.type == "deviation":
            setpoint = self._last.get(definition.setpoint or "")
            condition = conditions.deviation_condition(definition, value, setpoint, holding)
        elif definition.type == "roc":
            condition = conditions.roc_condition(definition, status._history, ts, value, holding)
        elif definition.type == "discrete":
            condition = conditions.discrete_condition(definition, value)
        elif definition.type == "expr":
            self._judge_expression(status)
            return
        else:
            condition = conditions.limit_condition(definition, value, holding)
        if condition is not None:
            self._set_condition(status, condition)

    def _set_condition(self, status: AlarmStatus, condition: bool) -> None:
        """A new condition takes effect after its on- or off-delay."""
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
        before = status.state
        if status.condition and not status.alarmed:
            status.alarmed = True
            if not status.set_aside:  # shelved, out of service or suppressed: journalled, not announced
                status.state = self._announced_state(status)
                status.raised_at = self.clock()
            status.message = self._message(status)
            self._emit(status, EventKind.RAISED, before=before)
            self._suppress_children(status)
        elif not status.condition and status.alarmed:
            status.alarmed = False
            if not status.set_aside:
                status.state = _returned_state(status)
            self._emit(status, EventKind.CLEARED, before=before)
            self._suppress_children(status)

    @staticmethod
    def _announced_state(status: AlarmStatus) -> AlarmState:
        # A journal-only alarm needs no acknowledgement: it is logged as acknowledged from the start.
        return AlarmState.ACKED if status.definition.priority == JOURNAL_ONLY else AlarmState.UNACKED

    def _suppress_children(self, parent: AlarmStatus) -> None:
        """Alarms ``suppress_by`` this one follow its condition (a parent trip explains its consequences)."""
        for child in self._children.get(parent.name, ()):
            release = child.definition.suppress_release
            if parent.alarmed or release <= 0 or not child.suppressed:
                handle = self._releases.pop(child.name, None)
                if handle is not None:  # the parent is back before the release: still suppressed
                    handle.cancel()
                self._set_suppressed(child, parent.alarmed)
            elif child.name not in self._releases:  # on the runtime loop, as the on- and off-delays
                loop = asyncio.get_running_loop()
                self._releases[child.name] = loop.call_later(release, self._release, child, parent)

    def _release(self, child: AlarmStatus, parent: AlarmStatus) -> None:
        """The parent returned ``suppress_release`` ago: the child is announced now if still active."""
        self._releases.pop(child.name, None)
        if not parent.alarmed:
            self._set_suppressed(child, False)

    def _set_suppressed(self, status: AlarmStatus, suppressed: bool) -> None:
        """Suppression by design starts or ends; a shelving or out of service wins until it ends."""
        if suppressed == status.suppressed:
            return
        status.suppressed = suppressed
        if status.state in OPERATOR_SET_ASIDE:
            return
        if suppressed:
            self._emit_change(status, AlarmState.SUPPRESSED, EventKind.SUPPRESSED)
        else:  # announced now if the condition still holds
            self._restore(status, EventKind.UNSUPPRESSED, "", "suppression ended")

    def _emit_change(
        self, status: AlarmStatus, state: AlarmState, kind: EventKind, actor: str = "", comment: str = ""
    ) -> None:
        before = status.state
        status.state = state
        self._emit(status, kind, actor, note=f"{status.name} {kind.value}", before=before, comment=comment)

    @staticmethod
    def _cancel_timer(status: AlarmStatus) -> None:
        if status._timer is not None:
            status._timer.cancel()
            status._timer = None

    def _emit(
        self,
        status: AlarmStatus,
        kind: EventKind,
        user: str = "",
        note: str = "",
        before: AlarmState | None = None,
        comment: str = "",
        until: float | None = None,
    ) -> None:
        # Every state change ends here, so this one O(1) bump keeps the version honest.
        self.version += 1
        event = AlarmEvent(
            self.clock(),
            status.name,
            kind,
            status.state,
            status.definition.priority,
            status.value,
            note or status.message or self._message(status),
            user,
            before,
            comment,
            until,
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


def _shelve_problem(status: AlarmStatus, duration: float, reason: str, limit: float | None) -> str:
    """Why ``status`` may not be shelved so, or an empty string."""
    if status.state is AlarmState.OUT_OF_SERVICE:
        return "out of service; return it to service before shelving"
    if not reason.strip():
        return "give a reason for shelving"
    if not duration > 0:
        return f"shelve duration must be positive, not {duration!r}"
    if limit is None:
        return f"{status.definition.priority} alarms may not be shelved"
    if duration > limit:
        return f"at most {_span(limit)} for a {status.definition.priority} alarm, not {_span(duration)}"
    return ""


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _returned_state(status: AlarmStatus) -> AlarmState:
    """Where an announced alarm goes when its condition clears (a latched one stays until reset)."""
    if status.definition.latched:
        return AlarmState.LATCHED if status.state is AlarmState.ACKED else status.state
    return AlarmState.NORMAL if status.state is AlarmState.ACKED else AlarmState.RETURNED_UNACKED


def format_message(definition: AlarmDef, value: Any) -> str:
    """The alarm's message with its fields filled in; raises whatever ``str.format`` raises."""
    if not definition.message:
        if definition.type in ("discrete", "bad_quality", "expr"):
            return f"{definition.name} {definition.type}"
        return f"{definition.name} {definition.type} ({definition.limit:g})"
    fields = message_fields(definition.name, definition.tag, definition.limit, value)
    return definition.message.format_map(fields)


def fallback_message(definition: AlarmDef, value: Any) -> str:
    """A message that cannot fail: the template as written, then what tripped it."""
    return f"{definition.message} [{definition.tag} {definition.type} {definition.limit:g}, value {value!r}]"
