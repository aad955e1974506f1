"""The rules engine on its own: derived tags (quality, timestamps, order) and the rule state machine.

The engine runs on a real asyncio loop; what it publishes, records and writes is collected by the
functions the station would otherwise inject.
"""

from __future__ import annotations

import asyncio

from project_files import write_project

from hmi.model import Quality, Reason, Sample
from hmi.project.loader import load_project
from hmi.rules.engine import RulesEngine
from hmi.rules.events import EventKind, RuleState, WriteOutcome

PROJECT = """\
name: Rules Plant
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
tags:
  A: {connection: plc1, address: "hr:0", type: float32}
  B: {connection: plc1, address: "hr:2", type: float32}
  RUN: {connection: plc1, address: "co:0", type: bool}
  SP: {connection: plc1, address: "hr:10", type: uint16, writable: true, rule_writable: true,
       limits: [0, 1500]}
  D: {expr: "A * 2 + B", units: bar}
  E: {expr: "D + 1"}
  Q: {expr: "A / B"}
"""


class Harness:
    def __init__(self, tmp_path, rules: str = "", derived: str = "") -> None:
        write_project(tmp_path, PROJECT + derived + (f"rules:\n{rules}" if rules else ""))
        self.project = load_project(tmp_path)
        self.published: dict[str, Sample] = {}
        self.events = []
        self.writes: list[tuple[str, object, str]] = []
        self.refuse = ""
        self.engine = RulesEngine(
            self.project.rules,
            {**self.project.system_tags, **self.project.tags},
            publish=self.publish,
            write=self.write,
            record=self.events.append,
        )
        self.engine.start()

    def publish(self, name: str, sample: Sample) -> None:
        self.published[name] = sample

    async def write(self, tag: str, value: object, actor: str) -> WriteOutcome:
        if self.refuse:
            return WriteOutcome(False, error=self.refuse, refused=True)
        self.writes.append((tag, value, actor))
        self.feed(tag, value)  # the PLC's read-back
        return WriteOutcome(True, value)

    def feed(self, name: str, value, ts: float | None = None, quality=Quality.GOOD, reason=Reason.NONE):
        self.ts = ts if ts is not None else getattr(self, "ts", 1000.0) + 1.0
        self.engine.on_sample(name, Sample(value, quality, self.ts, reason))

    def kinds(self, rule: str) -> list[EventKind]:
        return [event.kind for event in self.events if event.rule == rule]

    def state(self, rule: str) -> RuleState:
        return self.engine.rules[rule].status().state


async def settle(predicate, tries: int = 100) -> None:
    for _ in range(tries):  # bounded: 5 s
        if predicate():
            return
        await asyncio.sleep(0.05)
    assert predicate()


async def test_a_derived_tag_follows_its_inputs_with_the_newest_timestamp(tmp_path):
    h = Harness(tmp_path)
    h.feed("A", 3.0, ts=100.0)
    h.feed("B", 1.0, ts=105.0)
    d, e = h.published["D"], h.published["E"]
    assert (d.value, d.quality, d.ts) == (7.0, Quality.GOOD, 105.0)
    assert (e.value, e.quality) == (8.0, Quality.GOOD)  # a derived tag of a derived tag, in order
    h.feed("A", 4.0, ts=110.0)
    assert h.published["E"].value == 10.0 and h.published["E"].ts == 110.0


async def test_a_bad_input_makes_the_derived_tag_bad_naming_the_input(tmp_path):
    h = Harness(tmp_path)
    h.feed("A", 3.0)
    h.feed("B", 1.0)
    h.feed("B", 1.0, quality=Quality.BAD, reason=Reason.COMM_FAILURE)
    d = h.published["D"]
    assert d.quality is Quality.BAD and d.reason is Reason.COMM_FAILURE and d.value == 7.0  # last known
    assert h.engine.cause("D") == "B: comm failure"
    assert h.published["E"].quality is Quality.BAD and h.engine.cause("E") == "D: comm failure"
    h.feed("B", 2.0, quality=Quality.UNCERTAIN, reason=Reason.STALE)
    assert h.published["D"].quality is Quality.UNCERTAIN and h.published["D"].reason is Reason.STALE
    assert h.published["D"].value == 8.0
    h.feed("B", 2.0)
    assert h.published["D"].quality is Quality.GOOD and h.engine.cause("D") == ""


async def test_a_derived_tag_that_divides_by_zero_turns_bad_and_recovers(tmp_path):
    h = Harness(tmp_path)
    h.feed("A", 3.0)
    h.feed("B", 0.0)
    q = h.published["Q"]
    assert q.quality is Quality.BAD and q.reason is Reason.CONFIG_ERROR
    assert "ZeroDivisionError" in h.engine.cause("Q") and h.engine.errors == 1
    h.feed("B", 2.0)
    assert h.published["Q"].value == 1.5 and h.published["Q"].quality is Quality.GOOD


async def test_a_window_derived_tag_is_uncertain_until_its_window_has_data(tmp_path):
    h = Harness(tmp_path, derived='  V: {expr: "zscore(A, 3)"}\n')
    h.feed("A", 1.0)
    assert h.published["V"].quality is Quality.UNCERTAIN and h.published["V"].reason is Reason.WAITING
    for value in (2.0, 3.0, 2.0):
        h.feed("A", value)
    assert h.published["V"].quality is Quality.GOOD
    assert abs(h.published["V"].value - 0.0) < 1e-9  # 2.0 is the baseline's mean


RULES = """\
  high:
    when: "A > 10"
    clear: "A < 5"
    cooldown: 0.2s
    do: [{set: A.HIGH}, {raise: maintenance, message: "A is high", priority: high}]
  slow_down:
    when: "RUN and A > 10"
    for: 0.1s
    do: [{write: SP, value: "min(SP, 1200)", min: 300, rate_limit: 100/min}]
  broken:
    when: "A / B > 1"
    do: [{log: "never"}]
"""


async def test_hysteresis_cooldown_and_the_flag_tag(tmp_path):
    h = Harness(tmp_path, RULES)
    h.feed("B", 1.0)
    assert h.published["A.HIGH"].value is False and h.published["RULE.high.FAULT"].value is False
    h.feed("A", 11.0)
    assert h.state("high") is RuleState.ACTIVE and h.published["A.HIGH"].value is True
    maintenance = [e for e in h.events if e.kind is EventKind.MAINTENANCE]
    assert [(e.rule, e.message, e.priority) for e in maintenance] == [("high", "A is high", "high")]
    h.feed("A", 8.0)  # below the condition, above the clear level: still active (hysteresis)
    assert h.state("high") is RuleState.ACTIVE
    h.feed("A", 4.0)
    assert h.state("high") is RuleState.COOLDOWN and h.published["A.HIGH"].value is False
    h.feed("A", 12.0)  # within the cooldown nothing fires
    assert h.engine.rules["high"].fire_count == 1
    await settle(lambda: h.state("high") is RuleState.ACTIVE)  # after the cooldown A is still high
    assert h.engine.rules["high"].fire_count == 2


async def test_a_write_waits_for_its_delay_and_moves_within_the_rate_limit(tmp_path):
    h = Harness(tmp_path, RULES)
    h.feed("B", 1.0)
    h.feed("SP", 1500)
    h.feed("RUN", True)
    h.feed("A", 11.0)
    assert h.state("slow_down") is RuleState.PENDING and not h.writes
    await settle(lambda: h.writes)
    assert h.writes[0] == ("SP", 1400, "slow_down")  # 100 at most at once, whole units for a uint16
    write = next(e for e in h.events if e.kind is EventKind.WRITE)
    assert (write.rule, write.tag, write.old, write.new) == ("slow_down", "SP", 1500.0, 1400)


async def test_a_bad_input_holds_the_rule_and_never_drives_a_write(tmp_path):
    h = Harness(tmp_path, RULES)
    h.feed("B", 1.0)
    h.feed("SP", 1500)
    h.feed("RUN", True)
    h.feed("A", 11.0, quality=Quality.BAD, reason=Reason.COMM_FAILURE)
    status = h.engine.rules["slow_down"].status()
    assert status.state is RuleState.HELD and status.held_by == "A: comm failure"
    assert h.published["RULE.slow_down.FAULT"].value is True
    await asyncio.sleep(0.2)  # longer than the rule's delay: still nothing written
    assert not h.writes
    h.feed("A", 2.0)
    assert h.published["RULE.slow_down.FAULT"].value is False
    assert h.engine.rules["slow_down"].status().state is RuleState.ARMED


async def test_an_input_waiting_for_its_first_value_holds_the_rule_without_a_fault(tmp_path):
    # At start-up every input is waiting: an alarm per rule on every start would be noise.
    h = Harness(tmp_path, RULES)
    h.feed("B", 1.0)
    h.feed("SP", 1500)
    h.feed("RUN", True)
    h.feed("A", 0.0, quality=Quality.BAD, reason=Reason.WAITING)
    status = h.engine.rules["slow_down"].status()
    assert status.state is RuleState.HELD and status.held_by == "A: waiting for first value"
    assert h.published["RULE.slow_down.FAULT"].value is False
    h.feed("A", 11.0, quality=Quality.BAD, reason=Reason.COMM_FAILURE)  # then the link is lost: a fault
    assert h.published["RULE.slow_down.FAULT"].value is True


async def test_a_rule_that_divides_by_zero_is_disabled_and_alarmed_and_the_others_go_on(tmp_path):
    h = Harness(tmp_path, RULES)
    h.feed("B", 0.0)
    h.feed("A", 11.0)
    status = h.engine.rules["broken"].status()
    assert status.state is RuleState.ERROR and "ZeroDivisionError" in status.last_error
    assert h.published["RULE.broken.FAULT"].value is True
    assert EventKind.ERROR in h.kinds("broken")
    assert h.state("high") is RuleState.ACTIVE  # the other rules carry on
    h.feed("B", 1.0)
    assert h.engine.rules["broken"].status().state is RuleState.ERROR  # stays disabled until enabled
    h.engine.set_enabled("broken", True)
    assert h.published["RULE.broken.FAULT"].value is False and h.state("broken") is RuleState.ACTIVE


async def test_a_refused_write_puts_the_rule_in_error(tmp_path):
    h = Harness(tmp_path, RULES.replace("for: 0.1s", "for: 0s"))
    h.refuse = "SP: 99999 is above the high limit 1500"
    h.feed("B", 1.0)
    h.feed("SP", 1500)
    h.feed("RUN", True)
    h.feed("A", 11.0)
    await settle(lambda: h.state("slow_down") is RuleState.ERROR)
    assert "refused" in h.engine.rules["slow_down"].status().last_error
    assert EventKind.WRITE_FAILED in h.kinds("slow_down")


async def test_dry_run_records_what_it_would_do_and_does_nothing(tmp_path):
    h = Harness(tmp_path, RULES.replace("for: 0.1s", "for: 0s\n    dry_run: true"))
    h.feed("B", 1.0)
    h.feed("SP", 1500)
    h.feed("RUN", True)
    h.feed("A", 11.0)
    assert h.state("slow_down") is RuleState.ACTIVE and not h.writes
    would = [e for e in h.events if e.rule == "slow_down" and e.kind is EventKind.WOULD]
    assert [(e.tag, e.old, e.new, e.dry_run) for e in would] == [("SP", 1500.0, 1400, True)]


async def test_disable_and_enable_at_run_time(tmp_path):
    h = Harness(tmp_path, RULES)
    h.feed("B", 1.0)
    h.engine.set_enabled("high", False)
    h.feed("A", 11.0)
    assert h.state("high") is RuleState.DISABLED and h.engine.rules["high"].fire_count == 0
    h.engine.set_enabled("high", True)
    assert h.state("high") is RuleState.ACTIVE
    await h.engine.stop()


def test_the_derived_samples_of_one_batch_are_handed_on_together_in_order(tmp_path):
    project = Harness(tmp_path).project
    batches: list[list[tuple[str, Sample]]] = []
    single: list[str] = []
    engine = RulesEngine(
        project.rules,
        {**project.system_tags, **project.tags},
        publish=lambda name, sample: single.append(name),
        write=Harness.write,  # never called: no rules
        record=lambda event: None,
        publish_batch=batches.append,
    )
    engine.on_samples([("A", Sample(1.0, Quality.GOOD, 10.0)), ("B", Sample(2.0, Quality.GOOD, 11.0))])
    (batch,) = batches
    # A gives D and E (D first: E reads it); A / B is not ready until B has a value, so Q comes out
    # bad and is carried in the same batch; B then recomputes all three.
    assert [name for name, _ in batch] == ["D", "E", "Q", "D", "E", "Q"]
    assert batch[-3][1] == Sample(4.0, Quality.GOOD, 11.0)
    assert batch[-1][1].value == 0.5 and batch[-1][1].quality is Quality.GOOD
    assert single == []


STEADY = """\
  steady:
    when: "A > 10 and B < 100"
    do: [{set: A.HIGH}]
"""


async def test_an_active_rule_with_nothing_to_repeat_stays_active_until_its_condition_ends(tmp_path):
    h = Harness(tmp_path, STEADY)
    h.feed("B", 1.0)  # held until A has a value too
    h.feed("A", 11.0)
    assert h.state("steady") is RuleState.ACTIVE
    assert h.kinds("steady")[-1] is EventKind.FIRED
    seen = len(h.events)
    for value in (2.0, 3.0, 4.0):  # the condition still true at each change: nothing more happens
        h.feed("B", value)
    assert h.state("steady") is RuleState.ACTIVE and len(h.events) == seen
    h.feed("B", 200.0)
    assert h.state("steady") is RuleState.ARMED and h.published["A.HIGH"].value is False
    assert [e.kind for e in h.events[seen:]] == [EventKind.CLEARED]
    h.feed("A", float("nan"))  # not a usable value: held, as before
    assert h.engine.rules["steady"].status().state is RuleState.HELD


async def test_a_rule_waiting_on_a_first_value_is_held_once_and_runs_once_it_has_it(tmp_path):
    # While the plant starts a rule is judged again on each of its inputs' samples; held by the same
    # input with no value yet, nothing changes (the engine returns at once), and the record is written once.
    h = Harness(tmp_path, STEADY)
    h.feed("B", 1.0)
    h.feed("B", 2.0)
    h.feed("B", 3.0)
    assert h.engine.rules["steady"].status().held_by == "A: no value"
    assert h.kinds("steady") == [EventKind.HELD]
    h.feed("A", 11.0)
    assert h.engine.rules["steady"].status().held_by == ""
    assert h.state("steady") is RuleState.ACTIVE
    assert h.kinds("steady") == [EventKind.HELD, EventKind.FIRED]
    h.feed("A", 5.0)
    assert h.state("steady") is RuleState.ARMED
    assert h.kinds("steady") == [EventKind.HELD, EventKind.FIRED, EventKind.CLEARED]
