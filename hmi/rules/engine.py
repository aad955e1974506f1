"""The rules engine: derived tags and rules, recomputed from the runtime's raw feed.

For each sample of a tag the engine feeds that tag's windows, recomputes the derived tags that
depend on it (directly or through other derived tags, in dependency order), and re-evaluates the
rules that read any of them. Derived tags are published through the runtime like a driver's tags,
so history, alarms, trends and screens treat them as any other tag. The quality of a derived tag is
the worst of its inputs' (the reason is that input's, and ``cause(name)`` names the input); its
source timestamp is the newest input's.

Runs on the runtime loop; a listener call does no IO (writes are tasks on the loop).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hmi.model import DataType, Quality, Reason, Sample, TagDef, UnfrozenSample, fast_sample
from hmi.project.rules_defs import RulesConfig, WriteAction
from hmi.rules.events import Publish, PublishBatch, Record, RuleState, RuleStatus, WriteFn
from hmi.rules.expr import NOT_READY, Expression, TagType, WindowPool, compile_expression
from hmi.rules.functions import Kind
from hmi.rules.parsing import forget_parsed
from hmi.rules.rule import EVAL_ERRORS, Inputs, Rule, Schedule
from hmi.rules.windows import PERSISTENT, Ewma, Integral, Window

log = logging.getLogger(__name__)


class RulesCompileError(ValueError):
    """An expression did not compile at start (``hmi check`` would have said so)."""


@dataclass(slots=True)
class _Derived:
    name: str
    expression: Expression
    is_bool: bool
    inputs: tuple[str, ...] = ()
    fast: Any = None
    input_set: frozenset[str] = frozenset()
    ts: float = 0.0
    windows: tuple[Any, ...] = ()
    """The windows fed by this derived tag's own samples (set by the engine's plan)."""

    def __post_init__(self) -> None:
        self.fast = self.expression.fast
        self.input_set = self.expression.inputs


_GOOD = Quality.GOOD
_ARMED = RuleState.ARMED
_ACTIVE = RuleState.ACTIVE

# A derived tag's good Sample is built as hmi.model.good_sample builds one (its checks run at import):
# written out inline on the hot path below, the call itself costing about what the four stores do.
_Unfrozen = UnfrozenSample
_NO_REASON = Reason.NONE


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one input tag's sample sets going, computed once: its windows, the derived tags to
    recompute (in dependency order) and the rules to re-evaluate."""

    windows: tuple[Any, ...]
    derived: tuple[_Derived, ...]
    rules: tuple[Rule, ...]
    is_bool: bool


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, callback)


class RulesEngine:
    """Derived tags and rules of one project, fed sample by sample."""

    def __init__(
        self,
        config: RulesConfig,
        tags: Mapping[str, TagDef],
        *,
        publish: Publish,
        write: WriteFn,
        record: Record,
        schedule: Schedule = _call_later,
        clock: Callable[[], float] = time.time,
        publish_batch: PublishBatch | None = None,
    ) -> None:
        self.config = config
        self.tags = tags
        self._publish = publish
        self._publish_batch = publish_batch if publish_batch is not None else self._publish_each
        self.inputs = Inputs()
        self.pool = WindowPool()
        self.errors = 0
        self.listener_errors = 0
        """Samples whose processing failed outright (a bug: logged; the other samples go on)."""
        """Evaluations of a derived tag that failed (division by zero...): each published bad."""
        self._causes: dict[str, str] = {}
        self._out: list[tuple[str, Sample]] | None = None
        self._restored: set[int] = set()
        """The windows whose state came from the previous run (``restore``), by id."""
        """The batch of derived samples being gathered while ``on_samples`` runs."""
        types = {name: _tag_type(tag) for name, tag in tags.items()}
        self.derived: dict[str, _Derived] = {}
        for name, definition in config.derived.items():
            expression = self._compile(definition.expr, types, f"derived tag {name!r}")
            self.derived[name] = _Derived(
                name, expression, expression.kind is Kind.BOOL, inputs=tuple(sorted(expression.inputs))
            )
        self.rules: dict[str, Rule] = {}
        for name, rule in config.rules.items():
            when = self._compile(rule.when, types, f"rule {name!r}")
            clear = self._compile(rule.clear, types, f"rule {name!r}") if rule.clear else None
            writes = {
                index: self._compile(action.value, types, f"rule {name!r}")
                for index, action in enumerate(rule.actions)
                if isinstance(action, WriteAction)
            }
            self.rules[name] = Rule(
                rule, when, clear, writes, tags, self.inputs,
                publish=publish, write=write, record=record, schedule=schedule, clock=clock,
            )  # fmt: skip
        self._bools = frozenset(name for name, tag in tags.items() if tag.type is DataType.BOOL)
        self._plan()
        # Compiled for good: the parse trees kept for the loader's check and this start go, so that the
        # garbage collector's full passes do not walk them for the rest of the run.
        forget_parsed(_texts(config))

    def _compile(self, text: str, types: Mapping[str, TagType], subject: str) -> Expression:
        expression, problems = compile_expression(text, types, self.pool)
        if expression is None:
            raise RulesCompileError(f"{subject}: {text!r}: " + "; ".join(p.message for p in problems))
        return expression

    def _plan(self) -> None:
        """For every tag, the derived tags to recompute (in order) and the rules to re-evaluate."""
        order = _dependency_order(self.derived)
        position = {name: index for index, name in enumerate(order)}  # sorting each fan-out, not scanning
        derived_after: dict[str, list[_Derived]] = {}  # for the plans only: not kept
        rules_after: dict[str, list[Rule]] = {}
        readers: dict[str, list[Rule]] = {}
        for rule in self.rules.values():
            for name in rule.reads:
                readers.setdefault(name, []).append(rule)
        consumers: dict[str, list[str]] = {}
        for derived in self.derived.values():
            for name in derived.expression.inputs:
                consumers.setdefault(name, []).append(derived.name)
        for name in {*consumers, *readers}:
            reached: set[str] = set()
            pending = list(consumers.get(name, ()))
            while pending:
                current = pending.pop()
                if current not in reached:
                    reached.add(current)
                    pending.extend(consumers.get(current, ()))
            derived_after[name] = [self.derived[d] for d in sorted(reached, key=position.__getitem__)]
            rules = {id(rule): rule for tag in (name, *reached) for rule in readers.get(tag, ())}
            rules_after[name] = list(rules.values())
        self._watched = {*derived_after, *rules_after, *self.pool.by_tag}
        by_tag = self.pool.by_tag
        # One lookup per sample: a derived tag's own samples are taken when it is recomputed.
        self._plans = {
            name: _Plan(
                tuple(by_tag.get(name, ())),
                tuple(derived_after.get(name, ())),
                tuple(rules_after.get(name, ())),
                name in self._bools,
            )
            for name in self._watched
            if name not in self.derived
        }
        for derived in self.derived.values():
            derived.windows = tuple(by_tag.get(derived.name, ()))
        # Nothing is good before its first good sample.
        self.inputs.not_good.update(self._watched, self.derived, *(r.reads for r in self.rules.values()))

    # -- feeding -----------------------------------------------------------------------

    def start(self) -> None:
        """Publish the first value of the engine's own tags (faults false, flags false)."""
        for rule in self.rules.values():
            rule.publish_initial()

    def on_sample(self, name: str, sample: Sample) -> None:
        """Take one sample (see ``on_samples``)."""
        self.on_samples(((name, sample),))

    def _publish_each(self, batch: list[tuple[str, Sample]]) -> None:
        publish = self._publish
        for name, sample in batch:
            publish(name, sample)

    def on_samples(self, batch: Iterable[tuple[str, Sample]]) -> None:
        """Runtime raw-feed batch listener: take each sample in turn, recompute what depends on it.

        The healthy case (every input good, a finite result, the rule armed and its condition false)
        is written out here, in one loop, with no call but the closures' own; anything else goes
        through the general methods, which give the same result for it. A failure costs that one
        sample (counted in ``listener_errors``), never the rest of the batch. The derived tags' new
        samples go to the runtime together at the end, one fan-out per batch.
        """
        out_batch: list[tuple[str, Sample]] = []
        outer, self._out = self._out, out_batch  # a flag a rule sets comes back here, as a batch of its own
        try:
            self._take_batch(batch, out_batch)
        finally:
            self._out = outer
            if out_batch:
                self._publish_batch(out_batch)

    def _take_batch(self, batch: Iterable[tuple[str, Sample]], out_batch: list[tuple[str, Sample]]) -> None:
        plans = self._plans
        values = self.inputs.values
        samples = self.inputs.samples
        not_good = self.inputs.not_good
        emit = out_batch.append
        causes = self._causes
        for name, sample in batch:
            plan = plans.get(name)
            if plan is None:
                continue  # nobody reads it, or published by this engine and already taken into account
            try:
                ts = sample.ts
                value = sample.value
                if value.__class__ is float and value == value and not plan.is_bool:  # a number, not NaN
                    values[name] = value
                    samples[name] = sample
                    if sample.quality is _GOOD:
                        if not_good:
                            not_good.discard(name)
                        for window in plan.windows:
                            window.add(ts, value, True)
                    else:
                        not_good.add(name)
                        for window in plan.windows:
                            window.add(ts, value, False)
                else:
                    self._take(name, sample)
                for derived in plan.derived:
                    if not_good and not not_good.isdisjoint(derived.input_set):
                        self._recompute(derived, ts)
                        continue
                    try:
                        result = derived.fast(values)
                    except Exception:  # not ready, or an error: the general path says which
                        self._recompute(derived, ts)
                        continue
                    if derived.is_bool:
                        if result.__class__ is not bool:
                            self._recompute(derived, ts)
                            continue
                    elif result.__class__ is not float or result - result != 0.0:
                        self._recompute(derived, ts)  # an int, or not finite: the general path
                        continue
                    derived_name = derived.name
                    newest = ts if ts > derived.ts else derived.ts
                    derived.ts = newest
                    if causes:
                        causes.pop(derived_name, None)
                    out: Any = _Unfrozen()  # good_sample(result, newest), written out
                    out.value = result
                    out.quality = _GOOD
                    out.ts = newest
                    out.reason = _NO_REASON
                    out.__class__ = Sample
                    values[derived_name] = result
                    samples[derived_name] = out
                    if not_good:
                        not_good.discard(derived_name)
                    if derived.windows:
                        for window in derived.windows:
                            window.add(newest, float(result), True)
                    emit((derived_name, out))
                for rule in plan.rules:
                    state = rule.state
                    if (
                        (state is _ARMED or (state is _ACTIVE and rule.steady))
                        and not rule.held_by
                        and (not not_good or not_good.isdisjoint(rule.condition_inputs))
                    ):
                        try:
                            condition = rule.condition(values)
                        except NOT_READY:
                            if state is _ARMED:
                                continue  # a window still filling judges nothing yet
                        except Exception:  # evaluate() below records the error
                            pass
                        else:
                            if condition:
                                if state is _ACTIVE:
                                    continue  # active, still true, nothing to write: nothing to do
                                rule.advance(state, True)  # armed, now true: fires (judged once, here)
                            elif state is _ARMED:
                                continue  # armed, and nothing to do
                            else:
                                rule.advance(state, False)  # active, now false: clears
                            continue
                    rule.evaluate()
            except Exception:
                self.listener_errors += 1
                log.exception("rules: the sample of %s was not taken into account", name)

    def _take(self, name: str, sample: Sample) -> None:
        value = sample.value
        good = sample.quality is Quality.GOOD
        usable = isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))
        if usable:
            self.inputs.values[name] = bool(value) if name in self._bools else float(value)
        self.inputs.samples[name] = sample
        if good and usable:
            self.inputs.not_good.discard(name)
        else:
            self.inputs.not_good.add(name)
        for window in self.pool.by_tag.get(name, ()):
            window.add(sample.ts, float(value) if usable else 0.0, good and usable)

    def _recompute(self, derived: _Derived, trigger_ts: float) -> None:
        samples = self.inputs.samples
        not_good = self.inputs.not_good
        quality, cause, cause_sample = _GOOD, "", None
        if not_good and not not_good.isdisjoint(derived.input_set):
            # Some input is not good: one pass for the worst quality and the newest timestamp.
            ts = 0.0
            for name in derived.inputs:
                sample = samples.get(name)
                if sample is None:
                    quality, cause, cause_sample = Quality.BAD, name, None
                    continue
                if sample.ts > ts:
                    ts = sample.ts
                if sample.quality is not _GOOD and sample.quality < quality:
                    quality, cause, cause_sample = sample.quality, name, sample
            ts = ts or time.time()
        else:
            # Every input good (the hot path): the newest input is the one that just changed, unless an
            # earlier one was newer still (inputs' timestamps only move forward).
            ts = trigger_ts if trigger_ts > derived.ts else derived.ts
        derived.ts = ts
        if quality is Quality.BAD:
            reason = cause_sample.reason if cause_sample is not None else Reason.WAITING
            sample = fast_sample(self.inputs.values.get(derived.name), Quality.BAD, ts, reason)
            self._causes[derived.name] = f"{cause}: {reason.value or 'bad'}"
        else:
            sample = self._evaluate(derived, quality, ts, cause, cause_sample)
        name = derived.name
        if sample.value is not None:
            self.inputs.values[name] = sample.value
        samples[name] = sample
        if sample.quality is _GOOD:
            not_good.discard(name)
        else:
            not_good.add(name)
        windows = self.pool.by_tag.get(name)
        if windows:
            good = sample.quality is _GOOD and sample.value is not None
            for window in windows:
                window.add(ts, float(sample.value) if sample.value is not None else 0.0, good)
        if self._out is not None:  # in a batch: with the others, in order
            self._out.append((name, sample))
        else:
            self._publish(name, sample)

    def _evaluate(
        self, derived: _Derived, quality: Quality, ts: float, cause: str, cause_sample: Sample | None
    ) -> Sample:
        try:
            value = derived.fast(self.inputs.values)
        except NOT_READY:
            self._causes[derived.name] = "waiting for its inputs' windows"
            return fast_sample(self.inputs.values.get(derived.name), Quality.UNCERTAIN, ts, Reason.WAITING)
        except EVAL_ERRORS as error:
            return self._failed(derived, ts, f"{type(error).__name__}: {error}")
        if not derived.is_bool:
            value = float(value)
            if not math.isfinite(value):
                return self._failed(derived, ts, f"result {value!r} is not a finite number")
        if quality is Quality.UNCERTAIN:
            reason = cause_sample.reason if cause_sample is not None else Reason.LAST_USABLE
            self._causes[derived.name] = f"{cause}: {reason.value or 'uncertain'}"
            return fast_sample(value, Quality.UNCERTAIN, ts, reason)
        if self._causes:
            self._causes.pop(derived.name, None)
        return fast_sample(value, _GOOD, ts)

    def _failed(self, derived: _Derived, ts: float, why: str) -> Sample:
        self.errors += 1
        self._causes[derived.name] = why
        log.warning("derived tag %s: %s", derived.name, why)
        return fast_sample(self.inputs.values.get(derived.name), Quality.BAD, ts, Reason.CONFIG_ERROR)

    # -- across a restart ---------------------------------------------------------------

    def persistent_state(self) -> dict[str, dict[str, Any]]:
        """What a restart keeps, by key: each counter's and totaliser's state (``window:...``) and each
        rule's enable state, cooldown and fire count (``rule:NAME``); plain JSON values."""
        pool = self.pool.items()
        state = {f"window:{key!r}": window.snapshot() for key, window in pool if _persistent(window)}
        state.update((f"rule:{name}", rule.persisted()) for name, rule in self.rules.items())
        return state

    def restore(self, saved: Mapping[str, Mapping[str, Any]], now: float) -> int:
        """Take ``persistent_state()`` of a previous run, before ``seed`` and ``start``; returns how many
        entries were taken. A restored totaliser is not seeded from history again (no double count);
        an entry that no longer fits (the project changed) is skipped and logged."""
        taken = 0
        for key, window in self.pool.items():
            entry = saved.get(f"window:{key!r}")
            if entry is not None and _persistent(window):
                try:
                    window.restore(entry)
                except (KeyError, TypeError, ValueError) as error:
                    log.warning("rules: the saved state of %r is not usable (%s): afresh", key, error)
                    continue
                self._restored.add(id(window))
                taken += 1
        for name, rule in self.rules.items():
            entry = saved.get(f"rule:{name}")
            try:
                taken += entry is not None and rule.restore(entry, now)
            except (TypeError, ValueError) as error:
                log.warning("rules: the saved state of rule %s is not usable (%s)", name, error)
        return taken

    # -- seeding from history -----------------------------------------------------------

    def seed_horizons(self, now: float, scan_periods: Mapping[str, float]) -> dict[str, float]:
        """How far back, in seconds, the history of each windowed tag should be read at start.

        Sliding windows and EWMAs by time want their span; by count, the count times three scan
        periods of the tag; a totaliser with a reset wants its current period. Counters, time in
        state and anomaly baselines start afresh (a baseline relearned from recent history would
        learn a drift as normal).
        """
        horizons: dict[str, float] = {}
        for tag, windows in self.pool.by_tag.items():
            for window in windows:
                if id(window) in self._restored:
                    continue
                seconds = _horizon(window, now, scan_periods.get(tag, 1.0))
                if seconds > 0:
                    horizons[tag] = max(horizons.get(tag, 0.0), seconds)
        return horizons

    def seed(self, tag: str, rows: Iterable[tuple[float, Any, bool]]) -> int:
        """Feed ``(ts, value, good)`` rows of ``tag``'s history, oldest first, to the windows that
        want history (before any live sample); returns how many rows were fed."""
        fed = 0
        targets = [
            w for w in self.pool.by_tag.get(tag, ()) if _wants_history(w) and id(w) not in self._restored
        ]
        for ts, value, good in rows:
            usable = isinstance(value, int | float)
            number = float(value) if usable else 0.0
            for window in targets:
                window.add(ts, number, good and usable and not math.isnan(number))
            fed += 1
        return fed

    # -- the view ----------------------------------------------------------------------

    def cause(self, name: str) -> str:
        """Why derived tag ``name`` is not good: the input and its reason, or the error; empty if good."""
        return self._causes.get(name, "")

    def statuses(self) -> list[RuleStatus]:
        """Every rule's state, by name."""
        return [self.rules[name].status() for name in sorted(self.rules)]

    def set_enabled(self, rule: str, enabled: bool) -> None:
        """Enable or disable one rule at run time (KeyError for an unknown rule)."""
        self.rules[rule].set_enabled(enabled)

    async def stop(self) -> None:
        """Cancel every timer and every write in flight."""
        tasks = [task for rule in self.rules.values() for task in rule.tasks]
        for rule in self.rules.values():
            rule.cancel_timer()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _texts(config: RulesConfig) -> Iterator[str]:
    """Every expression text of ``config``: derived tags', rules' conditions, clears and written values."""
    for derived in config.derived.values():
        yield derived.expr
    for rule in config.rules.values():
        yield rule.when
        if rule.clear:
            yield rule.clear
        for action in rule.actions:
            if isinstance(action, WriteAction):
                yield action.value


def _persistent(window: Any) -> bool:
    return isinstance(window, PERSISTENT)


def _wants_history(window: Any) -> bool:
    return isinstance(window, Window | Ewma) or (isinstance(window, Integral) and bool(window.reset))


def _horizon(window: Any, now: float, scan_period: float) -> float:
    """Seconds of history ``window`` wants at start (0: none; see ``seed_horizons``)."""
    if isinstance(window, Integral):
        return now - math.floor(now / window.reset) * window.reset if window.reset else 0.0
    if isinstance(window, Window | Ewma):
        span = window.span
        return span.seconds if not span.by_count else span.count * 3 * max(scan_period, 0.1)
    return 0.0


def _tag_type(tag: TagDef) -> TagType:
    if tag.type is DataType.BOOL:
        return TagType(Kind.BOOL, tag.units)
    if tag.type is DataType.STRING:
        return TagType(None)
    return TagType(Kind.NUMBER, tag.units)


def _dependency_order(derived: Mapping[str, _Derived]) -> list[str]:
    """Derived tags, each after the derived tags it reads (the loader has refused cycles)."""
    order: list[str] = []
    done: set[str] = set()
    for root in derived:
        stack = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if name in done:
                continue
            if expanded:
                done.add(name)
                order.append(name)
                continue
            stack.append((name, True))
            stack.extend(
                (ref, False) for ref in derived[name].expression.inputs if ref in derived and ref not in done
            )
    return order
