"""Counters, totalisers, time in state and each rule's enable state and cooldown survive a restart.

The engine's state goes through a real SQLite state file in tmp_path and back into a new engine, as
a station restart does (the SIGKILL of a real runtime is tested in test_rules_state_restart.py).
"""

from __future__ import annotations

import asyncio

import pytest
from project_files import write_project

from hmi.model import Quality, Sample
from hmi.project.loader import load_project
from hmi.rules.engine import RulesEngine
from hmi.rules.events import RuleState, WriteOutcome
from hmi.rules.state_file import RuleStateFile, rule_state_path

PROJECT = """\
name: Kept
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: 5020}}
tags:
  FLOW: {{connection: plc1, address: "hr:0", type: float32}}
  RUN: {{connection: plc1, address: "co:0", type: bool}}
  TOTAL: {{expr: "integral(FLOW, 1s, 1d)"}}
  FOREVER: {{expr: "integral(FLOW)"}}
  STARTS: {{expr: "starts(RUN)"}}
  HOURS: {{expr: "run_hours(RUN)"}}
  ON_FOR: {{expr: "time_in_state(RUN, true)"}}
rules:
  high:
    when: "FLOW > 50"
    cooldown: 10m
    do: [{{log: "flow high"}}]
  spare:
    when: "FLOW > 80"
    enabled: {spare_enabled}
    do: [{{log: "flow very high"}}]
  broken:
    when: "FLOW / (FLOW - FLOW) > 1"
    do: [{{log: "never"}}]
"""

DAY = 86_400.0
T0 = 100 * DAY + 3600.0  # one hour into a day: the daily totaliser's period began an hour ago


async def _never(tag: str, value: object, actor: str) -> WriteOutcome:
    raise AssertionError("no writes here")


def engine(tmp_path, clock: list[float], spare_enabled: bool = False) -> RulesEngine:
    write_project(tmp_path, PROJECT.format(spare_enabled=str(spare_enabled).lower()))
    project = load_project(tmp_path)
    return RulesEngine(
        project.rules,
        {**project.system_tags, **project.tags},
        publish=lambda name, sample: None,
        write=_never,
        record=lambda event: None,
        clock=lambda: clock[0],
    )


def feed(rules: RulesEngine, ts: float, flow: float, run: bool) -> None:
    rules.on_samples([("FLOW", Sample(flow, Quality.GOOD, ts)), ("RUN", Sample(run, Quality.GOOD, ts))])


def value(rules: RulesEngine, tag: str) -> float:
    return rules.inputs.values[tag]


async def test_counters_and_totalisers_carry_on_after_a_restart_through_the_state_file(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    first.start()
    feed(first, T0, 10.0, False)
    feed(first, T0 + 10, 10.0, True)  # a start
    feed(first, T0 + 20, 30.0, True)
    feed(first, T0 + 30, 30.0, False)
    feed(first, T0 + 40, 10.0, True)  # a second start, on until the restart
    before = {tag: value(first, tag) for tag in ("TOTAL", "FOREVER", "STARTS", "HOURS", "ON_FOR")}
    assert before["STARTS"] == 2.0 and before["TOTAL"] == pytest.approx(10 * 10 + 20 * 10 + 30 * 10 + 20 * 10)
    assert before["HOURS"] == pytest.approx(20 / 3600)
    state_file = RuleStateFile(rule_state_path(tmp_path / "history.db"))
    state_file.save(first.persistent_state(), T0 + 40)
    state_file.close()
    await first.stop()

    clock[0] = T0 + 100
    second = engine(tmp_path, clock)
    saved = RuleStateFile(rule_state_path(tmp_path / "history.db")).load()
    assert second.restore(saved, clock[0]) == 5 + 3  # two totalisers, three counters, three rules
    # The daily totaliser would be seeded from history otherwise: restored, it is not (no double count).
    assert "FLOW" not in second.seed_horizons(clock[0], {"FLOW": 1.0})
    assert second.seed("FLOW", [(T0 + 50, 99.0, True), (T0 + 60, 99.0, True)]) == 2
    second.start()
    feed(second, T0 + 100, 10.0, True)  # still on after the restart: no new start
    assert value(second, "TOTAL") == pytest.approx(before["TOTAL"])  # nothing counted across the outage
    assert value(second, "FOREVER") == pytest.approx(before["FOREVER"])
    assert value(second, "STARTS") == 2.0
    assert value(second, "HOURS") == pytest.approx(before["HOURS"])
    assert value(second, "ON_FOR") == pytest.approx(60.0)  # still in the state it has had since T0 + 40
    feed(second, T0 + 110, 10.0, False)
    feed(second, T0 + 120, 20.0, True)  # a third start
    assert value(second, "TOTAL") == pytest.approx(before["TOTAL"] + 100 + 150)
    assert value(second, "STARTS") == 3.0
    assert value(second, "HOURS") == pytest.approx((20 + 10) / 3600)
    await second.stop()


async def test_a_totaliser_saved_in_an_earlier_period_starts_the_new_one_from_zero(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    feed(first, T0, 10.0, False)
    feed(first, T0 + 10, 10.0, False)
    state_file = RuleStateFile(rule_state_path(tmp_path / "history.db"))
    state_file.save(first.persistent_state(), T0 + 10)
    clock[0] = T0 + DAY
    second = engine(tmp_path, clock)
    second.restore(state_file.load(), clock[0])
    feed(second, T0 + DAY, 10.0, False)
    feed(second, T0 + DAY + 5, 10.0, False)
    assert value(second, "TOTAL") == pytest.approx(50.0)
    assert value(second, "FOREVER") == pytest.approx(100.0 + 50.0)
    state_file.close()


async def test_enable_states_errors_and_a_cooldown_in_progress_are_restored(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    first.start()
    first.set_enabled("spare", True)  # enabled at run time although the project says no
    feed(first, T0, 60.0, False)  # high fires; broken divides by zero and is disabled by its error
    clock[0] = T0 + 1
    feed(first, T0 + 1, 10.0, False)  # high clears: ten minutes of cooldown from now
    assert first.rules["high"].state is RuleState.COOLDOWN
    assert first.rules["broken"].state is RuleState.ERROR
    state_file = RuleStateFile(rule_state_path(tmp_path / "history.db"))
    state_file.save(first.persistent_state(), clock[0])
    state_file.close()
    await first.stop()

    clock[0] = T0 + 1 + 540  # nine minutes later: one minute of cooldown left
    second = engine(tmp_path, clock)
    second.restore(RuleStateFile(rule_state_path(tmp_path / "history.db")).load(), clock[0])
    fault_published: list[tuple[str, Sample]] = []
    for rule in second.rules.values():  # what the fault tags start from
        rule._publish = lambda name, sample: fault_published.append((name, sample))
    second.start()
    high, spare, broken = (second.rules[name] for name in ("high", "spare", "broken"))
    assert high.state is RuleState.COOLDOWN and high.cooldown_until == pytest.approx(T0 + 601, abs=1e-6)
    assert high.fire_count == 1 and high.last_fired == T0
    assert spare.state is RuleState.ARMED
    assert broken.state is RuleState.ERROR and "ZeroDivisionError" in broken.last_error
    assert dict(fault_published)["RULE.broken.FAULT"].value is True  # its alarm is up again
    feed(second, T0 + 545, 60.0, False)
    assert high.state is RuleState.COOLDOWN and high.fire_count == 1  # the cooldown holds it
    await second.stop()


async def test_the_cooldown_ends_on_time_after_a_restart(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    feed(first, T0, 60.0, False)
    clock[0] = T0 + 1
    feed(first, T0 + 1, 10.0, False)
    saved = first.persistent_state()
    clock[0] = T0 + 600.95  # 50 ms of cooldown left
    second = engine(tmp_path, clock)
    second.restore(saved, clock[0])
    high = second.rules["high"]
    assert high.state is RuleState.COOLDOWN
    for _ in range(100):  # bounded: the timer is the loop's, 50 ms away
        if high.state is not RuleState.COOLDOWN:
            break
        await asyncio.sleep(0.02)
    assert high.state is RuleState.ARMED
    await second.stop()


async def test_an_edit_of_the_project_s_enabled_wins_over_the_saved_state(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock, spare_enabled=False)
    state = first.persistent_state()
    assert state["rule:spare"]["state"] == "disabled"
    second = engine(tmp_path, clock, spare_enabled=True)  # the engineer enabled it in project.yaml
    second.restore(state, clock[0])
    assert second.rules["spare"].state is RuleState.ARMED


def test_an_unreadable_entry_is_skipped_and_the_rest_restored(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    feed(first, T0, 10.0, True)
    feed(first, T0 + 10, 10.0, True)
    state = first.persistent_state()
    total_key = next(key for key in state if "integral" in key and "86400" in key)
    state[total_key] = {"total": "lots"}
    second = engine(tmp_path, clock)
    assert second.restore(state, clock[0]) == len(state) - 1
    assert second.seed_horizons(T0 + 10, {"FLOW": 1.0})["FLOW"] == pytest.approx(3610.0)  # seeded instead
    assert RuleStateFile(tmp_path / "none.db").load() == {}  # no file yet: nothing to restore


async def test_a_cooldown_shortened_in_the_project_is_resumed_for_the_new_length_at_most(tmp_path):
    clock = [T0]
    first = engine(tmp_path, clock)
    feed(first, T0, 60.0, False)
    feed(first, T0 + 1, 10.0, False)  # ten minutes of cooldown from T0
    saved = first.persistent_state()
    write_project(tmp_path, PROJECT.format(spare_enabled="false").replace("cooldown: 10m", "cooldown: 1m"))
    project = load_project(tmp_path)
    second = RulesEngine(
        project.rules,
        {**project.system_tags, **project.tags},
        publish=lambda name, sample: None,
        write=_never,
        record=lambda event: None,
        clock=lambda: clock[0],
    )
    second.restore(saved, T0 + 5)
    assert second.rules["high"].cooldown_until == pytest.approx(T0 + 65, abs=1e-6)
    await second.stop()
