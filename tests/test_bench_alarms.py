"""``hmi bench alarms``: each case measures what it claims, cheaply; a lone alarm change goes out at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchmarks import alarms, alarms_eval, alarms_frame, runner
from hmi.alarms.engine import AlarmEngine
from hmi.alarms.feed import AlarmSnapshotFeed
from hmi.model import Sample
from hmi.project.config import AlarmDef


def test_the_cases_are_one_benchmark_with_options() -> None:
    assert "alarms" in runner.available()
    assert not {"alarms_eval", "alarms_frame", "alarms_flood"} & set(runner.available())
    assert alarms.parse_args(["--case", "evaluate"]) == {"cases": ["evaluate"]}
    assert alarms.parse_args([]) == {"cases": None}
    with pytest.raises(SystemExit):
        alarms.parse_args(["--case", "everything"])


def test_evaluate_raises_real_alarms_and_compares_with_the_bare_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarms_eval, "CHANGES", 20_000)
    monkeypatch.setattr(alarms_eval, "ROUNDS", 1)
    result = alarms.run(["evaluate"])
    assert result["case"] == "evaluate" and result["alarms"] == 10_000
    assert result["engine_errors"] == 0
    # the disturbed unit's swings across HI raise and clear alarms; on-delays hold some back
    assert 0 < result["alarm_events"] <= result["condition_changes"]
    assert result["condition_changes"] < result["changes"] * 0.05, "mostly noise inside the limits"
    assert result["ratio_to_bare"] > 0 and result["engine_cpu_per_change_us"] > 0


def test_plant_batches_are_runtime_sized_and_repeatable() -> None:
    first, again = alarms_eval.plant_batches(), alarms_eval.plant_batches()
    assert len(first) == alarms_eval.CHANGES // alarms_eval.BATCH
    assert [s.value for _t, s in first[3]] == [s.value for _t, s in again[3]]


def test_frame_counts_every_trial_to_the_banner(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alarms_frame, "TRIALS", 4)
    monkeypatch.setattr(alarms_frame, "ALARMS", 200)
    result = alarms.run(["frame"])
    assert result["missed"] == 0 and result["trials"] == 4
    assert sum(result["banner_frames"].values()) == 4
    assert min(int(frames) for frames in result["banner_frames"]) >= 1, "never shown before the event"


async def test_a_lone_change_is_published_at_once_and_a_burst_waits_for_the_frame() -> None:
    definitions = {f"A{i}": AlarmDef(f"A{i}", f"T{i}", "hi", 10.0, priority="low") for i in range(3)}
    engine = AlarmEngine(definitions)
    offered: list[list[Any]] = []
    feed = AlarmSnapshotFeed(engine, lambda _event: None, offered.append, frame_s=3600)
    feed.start()
    try:
        assert feed.builds == 1  # the summary at start
        engine.on_sample("T0", Sample.good(20.0))
        engine.on_sample("T1", Sample.good(20.0))  # the same loop turn: one build for both
        await asyncio.sleep(0)
        assert feed.builds == 2 and [s.name for s in offered[-1]] == ["A1", "A0"]
        engine.on_sample("T2", Sample.good(20.0))  # no quiet frame since: waits for the feed's frame
        await asyncio.sleep(0)
        assert feed.builds == 2
    finally:
        await feed.stop()
