"""One rule at run time: its state machine (armed, pending, active, cooldown) and its actions.

A rule is evaluated when one of its inputs changes. It is held, and does nothing, while any input
of its condition is not good; a write is made only when every input of its value and the written
tag itself are good. Any error while evaluating or acting puts the rule in ``error`` (disabled,
its fault tag true, so its alarm rises); the engine and the other rules carry on.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from hmi.model import DataType, Quality, Reason, Sample, TagDef
from hmi.project.rules_defs import LogAction, RaiseAction, RuleDef, SetAction, WriteAction, fault_tag
from hmi.rules.events import EventKind, Publish, Record, RuleEvent, RuleState, RuleStatus, WriteFn, rule_event
from hmi.rules.expr import NOT_READY, Expression

log = logging.getLogger(__name__)

Schedule = Callable[[float, Callable[[], None]], asyncio.TimerHandle | None]
"""Calls back after a delay (the runtime loop's ``call_later``)."""

EVAL_ERRORS = (ArithmeticError, ValueError, TypeError)
"""What a compiled expression can raise besides NotReady: division by zero, a domain error."""


class Inputs:
    """The engine's current value and sample of every tag, which rules and derived tags read."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.samples: dict[str, Sample] = {}
        self.not_good: set[str] = set()
        """Tags whose current sample is not good (or that have none yet): empty in a healthy plant,
        which makes every quality check one set test."""

    def worst(self, names: frozenset[str]) -> tuple[Quality, str, Sample | None]:
        """The worst quality among ``names``, the input that has it, and its sample (None: no value)."""
        worst, cause, cause_sample = Quality.GOOD, "", None
        samples = self.samples
        for name in names:
            sample = samples.get(name)
            if sample is None:
                return Quality.BAD, name, None
            if sample.quality < worst:
                worst, cause, cause_sample = sample.quality, name, sample
        return worst, cause, cause_sample


class _WriteStep:
    """A write action's rate limit (a token bucket of units) and its one write in flight."""

    def __init__(self, action: WriteAction, value: Expression) -> None:
        self.action = action
        self.value = value
        self.tokens = action.burst if action.burst is not None else math.inf
        self.refilled: float | None = None
        self.in_flight = False

    def allowance(self, now: float) -> float:
        rate, burst = self.action.rate, self.action.burst
        if rate is None or burst is None:
            return math.inf
        if self.refilled is not None:
            self.tokens = min(burst, self.tokens + rate * (now - self.refilled))
        self.refilled = now
        return self.tokens


class Rule:
    """A compiled rule and its state."""

    def __init__(
        self,
        definition: RuleDef,
        when: Expression,
        clear: Expression | None,
        writes: Mapping[int, Expression],
        tags: Mapping[str, TagDef],
        inputs: Inputs,
        *,
        publish: Publish,
        write: WriteFn,
        record: Record,
        schedule: Schedule,
        clock: Callable[[], float],
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.when = when
        self.clear = clear
        self.tags = tags
        self.inputs = inputs
        self._publish = publish
        self._write = write
        self._record = record
        self._schedule = schedule
        self._clock = clock
        # A tuple and shared sets where nothing is added: the engine's objects are walked by every full
        # pass of the garbage collector, and most rules have no write step and no clear condition.
        self.steps = tuple(
            _WriteStep(action, writes[index])
            for index, action in enumerate(definition.actions)
            if isinstance(action, WriteAction)
        )
        self.condition_inputs = when.inputs | clear.inputs if clear is not None else when.inputs
        self._when = when.fast
        self.condition = when.fast
        """The condition's closure (the engine's hot path calls it directly; see ``evaluate``)."""
        self.reads = (
            self.condition_inputs.union(*(step.value.inputs for step in self.steps))
            | {step.action.tag for step in self.steps}
            if self.steps
            else self.condition_inputs
        )
        self.steady = clear is None and not self.steps
        """Active with its condition still true, the rule has nothing to do (no clear condition to
        judge, no write to repeat): the engine's hot path then skips ``evaluate``."""
        self.state = RuleState.ARMED if definition.enabled else RuleState.DISABLED
        self.dry_run = definition.dry_run
        self.fire_count = 0
        self.last_fired: float | None = None
        self.last_error = ""
        self.held_by = ""
        self._waiting_on = ""
        """The input holding the rule for want of its first value, if that is what holds it (``evaluate``)."""
        self._timer: asyncio.TimerHandle | None = None
        self.cooldown_until: float | None = None
        """When the cooldown in progress ends (wall-clock time, so a restart can resume it)."""
        self._fault = False
        self.tasks: set[asyncio.Task[None]] = set()

    # -- the view --------------------------------------------------------------------

    def status(self) -> RuleStatus:
        """The rule's state for the rules view."""
        state = RuleState.HELD if self.held_by and self.state not in _STOPPED else self.state
        return RuleStatus(
            self.name,
            state,
            self.state is not RuleState.DISABLED,
            self.dry_run,
            self.fire_count,
            self.last_fired,
            self.last_error,
            self.held_by,
        )

    # -- evaluation ------------------------------------------------------------------

    def evaluate(self) -> None:
        """Re-judge the condition after an input changed; never raises."""
        state = self.state
        if state in _STOPPED:
            return
        # The hot path of the engine: the common case (all inputs good, armed, condition false) is
        # one set test and one call of the closure tree.
        not_good = self.inputs.not_good
        if not_good and not not_good.isdisjoint(self.condition_inputs):
            waiting = self._waiting_on
            if waiting and self.held_by and waiting not in self.inputs.samples:
                # Still held by the same input, which has no value yet (the plant starting): the worst input
                # is still that one (inputs only ever gain a first value), so nothing would change.
                return
            self._guarded(self._hold_worst)
            return
        if self.held_by:
            self._guarded(self._release)
        try:
            condition = bool(self._when(self.inputs.values))
        except NOT_READY:  # a window still filling judges nothing yet
            condition = False
        except Exception as error:
            self.fail(f"{self.when.text!r}: {type(error).__name__}: {error}")
            return
        if state is RuleState.ARMED and not condition:
            return
        self.advance(state, condition)

    def advance(self, state: RuleState, condition: bool) -> None:
        """What ``evaluate`` does once it has judged the condition (``state`` the rule's, its inputs good,
        not held): the engine's hot path, having judged it itself, calls this directly on a transition
        (fired, cleared) instead of having ``evaluate`` judge it a second time. Never raises."""
        try:
            self._step(state, condition)
        except _EvalFailure as error:
            self.fail(str(error))
        except Exception as error:  # any failure stops this rule only
            self.fail(f"{type(error).__name__}: {error}")

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except _EvalFailure as error:
            self.fail(str(error))
        except Exception as error:  # any failure stops this rule only
            self.fail(f"{type(error).__name__}: {error}")

    def _hold_worst(self) -> None:
        _quality, cause, sample = self.inputs.worst(self.condition_inputs)
        self._hold(cause, sample)

    def _release(self) -> None:
        self.held_by = ""
        self._set_fault(False)

    def _step(self, state: RuleState, condition: bool) -> None:
        if state is RuleState.ARMED and condition:
            if self.definition.for_ > 0:
                self.state = RuleState.PENDING
                self._start_timer(self.definition.for_, self._pending_over)
            else:
                self._activate()
        elif state is RuleState.PENDING and not condition:
            self._cancel_timer()
            self.state = RuleState.ARMED
        elif state is RuleState.ACTIVE:
            cleared = self._judge(self.clear) if self.clear is not None else not condition
            if cleared:
                self._deactivate()
            else:
                self._write_steps()

    def _judge(self, expression: Expression) -> bool:
        try:
            return bool(expression.fast(self.inputs.values))
        except NOT_READY:  # a window still filling judges nothing yet
            return False
        except EVAL_ERRORS as error:
            raise _EvalFailure(f"{expression.text!r}: {type(error).__name__}: {error}") from error

    def _hold(self, cause: str, sample: Sample | None) -> None:
        reason = sample.reason.value if sample is not None and sample.reason else "no value"
        held_by = f"{cause}: {reason}"
        self._waiting_on = cause if sample is None else ""
        if self.state is RuleState.PENDING:  # the condition was not seen true for the whole delay
            self._cancel_timer()
            self.state = RuleState.ARMED
        if held_by != self.held_by:
            self.held_by = held_by
            # An input still waiting for its first value (the plant starting) holds the rule but is no
            # fault: alarming then would greet every start with one alarm per rule.
            self._set_fault(sample is not None and sample.reason is not Reason.WAITING)
            self._record(rule_event(self._clock(), self.name, EventKind.HELD, tag=cause, message=held_by))

    def _pending_over(self) -> None:
        self._timer = None
        if self.state is RuleState.PENDING:
            try:
                quality, cause, sample = self.inputs.worst(self.condition_inputs)
                if quality is not Quality.GOOD:
                    self._hold(cause, sample)
                elif self._judge(self.when):
                    self._activate()
                else:
                    self.state = RuleState.ARMED
            except Exception as error:
                self.fail(f"{type(error).__name__}: {error}")

    def _cooldown_over(self) -> None:
        self._timer = None
        if self.state is RuleState.COOLDOWN:
            self.state = RuleState.ARMED
            self.evaluate()

    # -- transitions -----------------------------------------------------------------

    def _activate(self) -> None:
        now = self._clock()
        self.state = RuleState.ACTIVE
        self.fire_count += 1
        self.last_fired = now
        # The records of a transition are built by rule_event (a fifth of the dataclass's constructor).
        self._record(
            rule_event(now, self.name, EventKind.FIRED, message=self.definition.when, dry_run=self.dry_run)
        )
        for action in self.definition.actions:
            if isinstance(action, RaiseAction):
                self._record(
                    rule_event(
                        now,
                        self.name,
                        EventKind.MAINTENANCE,
                        message=action.message,
                        priority=action.priority,
                        dry_run=self.dry_run,
                        sync=action.sync,
                    )
                )
            elif isinstance(action, SetAction):
                self._flag(action.tag, True, now)
            elif isinstance(action, LogAction):
                log.warning("rule %s: %s", self.name, action.message)
                self._record(
                    rule_event(now, self.name, EventKind.LOG, message=action.message, dry_run=self.dry_run)
                )
        self._write_steps()

    def _deactivate(self) -> None:
        now = self._clock()
        for action in self.definition.actions:
            if isinstance(action, SetAction):
                self._flag(action.tag, False, now)
        self._record(rule_event(now, self.name, EventKind.CLEARED, dry_run=self.dry_run))
        if self.definition.cooldown > 0:
            self.state = RuleState.COOLDOWN
            self.cooldown_until = now + self.definition.cooldown
            self._start_timer(self.definition.cooldown, self._cooldown_over)
        else:
            self.state = RuleState.ARMED

    def _flag(self, tag: str, value: bool, now: float) -> None:
        if self.dry_run:
            self._record(
                rule_event(now, self.name, EventKind.WOULD, tag=tag, new=value, message="set", dry_run=True)
            )
            return
        self._publish(tag, Sample(value, Quality.GOOD, now))

    # -- writes ----------------------------------------------------------------------

    def _write_steps(self) -> None:
        for step in self.steps:
            if not step.in_flight:
                self._write_step(step)

    def _write_step(self, step: _WriteStep) -> None:
        action = step.action
        reads = step.value.inputs | {action.tag}
        quality, _cause, _sample = self.inputs.worst(reads)
        if quality is not Quality.GOOD:  # a bad or uncertain input never drives a write
            return
        try:
            target = float(step.value.fast(self.inputs.values))
        except NOT_READY:
            return
        except EVAL_ERRORS as error:
            raise _EvalFailure(f"{step.value.text!r}: {type(error).__name__}: {error}") from error
        if not math.isfinite(target):
            raise _EvalFailure(f"{step.value.text!r} gave {target!r}, not a finite number")
        if action.low is not None:
            target = max(target, action.low)
        if action.high is not None:
            target = min(target, action.high)
        current = self.inputs.values.get(action.tag)
        if not isinstance(current, int | float):
            return
        now = self._clock()
        allowance = step.allowance(now)
        move = max(-allowance, min(allowance, target - current))
        tag = self.tags[action.tag]
        new: float | int = current + move
        if tag.type.is_integer:  # whole steps only, never past the target or the allowance
            new = int(current + math.copysign(math.floor(abs(move)), move))
        elif tag.type is DataType.BOOL:
            new = bool(round(target))
        if new == current:
            return
        step.tokens -= abs(new - current)
        if self.dry_run:
            event = RuleEvent(
                now, self.name, EventKind.WOULD, action.tag, current, new, "write", dry_run=True
            )
            self._record(event)
            return
        step.in_flight = True
        task = asyncio.get_running_loop().create_task(
            self._send(step, current, new), name=f"rule:{self.name}"
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, step: _WriteStep, old: Any, new: Any) -> None:
        tag = step.action.tag
        try:
            outcome = await self._write(tag, new, self.name)
        except Exception as error:  # the write function's own failure: counted as a failed write
            outcome_error, refused, ok, written = f"{type(error).__name__}: {error}", False, False, None
        else:
            outcome_error, refused, ok, written = outcome.error, outcome.refused, outcome.ok, outcome.written
        finally:
            step.in_flight = False
        now = self._clock()
        kind = EventKind.WRITE if ok else EventKind.WRITE_FAILED
        self._record(
            RuleEvent(now, self.name, kind, tag, old, written if ok else new, outcome_error, actor=self.name)
        )
        if refused:
            self.fail(f"write to {tag} refused: {outcome_error}")

    # -- faults, enable, disable ----------------------------------------------------

    def fail(self, message: str) -> None:
        """Put the rule in error: disabled, its fault tag true (its alarm rises), the error recorded."""
        self._cancel_timer()
        self.state = RuleState.ERROR
        self.last_error = message
        log.error("rule %s disabled by an error: %s", self.name, message)
        self._record(RuleEvent(self._clock(), self.name, EventKind.ERROR, message=message))
        self._set_fault(True)

    def set_enabled(self, enabled: bool) -> None:
        """Enable (from armed, errors forgotten) or disable the rule; flags it set go false."""
        now = self._clock()
        self._cancel_timer()
        if enabled:
            self.state, self.last_error, self.held_by = RuleState.ARMED, "", ""
            self._set_fault(False)
            self._record(RuleEvent(now, self.name, EventKind.ENABLED))
            self.evaluate()
            return
        for action in self.definition.actions:
            if isinstance(action, SetAction) and not self.dry_run:
                self._publish(action.tag, Sample(False, Quality.GOOD, now))
        self.state = RuleState.DISABLED
        self._record(RuleEvent(now, self.name, EventKind.DISABLED))

    def _set_fault(self, fault: bool) -> None:
        if fault != self._fault:
            self._fault = fault
            self._publish(fault_tag(self.name), Sample(fault, Quality.GOOD, self._clock()))

    # -- across a restart --------------------------------------------------------------

    def persisted(self) -> dict[str, Any]:
        """What a restart keeps of this rule: enabled or not (an error too), the cooldown's end, the
        fire count; with the project's ``enabled`` of the time, so an edit of the project wins."""
        state = self.state
        kept = state.value if state in (*_STOPPED, RuleState.COOLDOWN) else RuleState.ARMED.value
        return {
            "project_enabled": self.definition.enabled,
            "state": kept,
            "error": self.last_error if state is RuleState.ERROR else "",
            "cooldown_until": self.cooldown_until if state is RuleState.COOLDOWN else None,
            "fire_count": self.fire_count,
            "last_fired": self.last_fired,
        }

    def restore(self, saved: Mapping[str, Any], now: float) -> bool:
        """Take ``persisted()`` of a previous run (before ``publish_initial``); False when the project's
        ``enabled`` has been edited since, in which case the project's word stands."""
        if saved.get("project_enabled") != self.definition.enabled:
            return False
        self.fire_count = int(saved.get("fire_count") or 0)
        last_fired = saved.get("last_fired")
        self.last_fired = None if last_fired is None else float(last_fired)
        state = saved.get("state")
        self._cancel_timer()
        self.cooldown_until = None
        if state == RuleState.DISABLED.value:
            self.state = RuleState.DISABLED
        elif state == RuleState.ERROR.value:  # still in error: an operator enables it again
            self.state, self.last_error, self._fault = RuleState.ERROR, str(saved.get("error") or ""), True
        else:
            self.state = RuleState.ARMED
            until = saved.get("cooldown_until")
            if state == RuleState.COOLDOWN.value and until is not None:
                # Never longer than the project's cooldown now (it may have been shortened since).
                until = min(float(until), now + self.definition.cooldown)
                if until > now:
                    self.state, self.cooldown_until = RuleState.COOLDOWN, until
                    self._start_timer(until - now, self._cooldown_over)
        return True

    def publish_initial(self) -> None:
        """The fault tag's first value, and each flag false, so screens and alarms start from a value."""
        now = self._clock()
        self._publish(fault_tag(self.name), Sample(self._fault, Quality.GOOD, now))
        for action in self.definition.actions:
            if isinstance(action, SetAction):
                self._publish(action.tag, Sample(False, Quality.GOOD, now))

    def _start_timer(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self._schedule(delay, callback)

    def cancel_timer(self) -> None:
        """Cancel the pending or cooldown timer (at a stop)."""
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_STOPPED = (RuleState.DISABLED, RuleState.ERROR)
_GOOD = Quality.GOOD


class _EvalFailure(Exception):
    """An expression of the rule failed (division by zero, a domain error)."""
