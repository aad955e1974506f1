"""Alarm evaluation: 10,000 limit alarms against a plant's stream of value changes, on one core.

5,000 analog tags with a HI and a LO alarm each (deadband 1, every tenth with a 2 s on-delay),
fed in batches of ``BATCH`` (tag, sample) pairs through ``AlarmEngine.on_samples``, as the
runtime delivers one poll's reads. Most changes are noise inside the limits; the tags of a
disturbed unit (``DISTURBED_SHARE`` of the changes) swing across their HI limit and back,
so alarms raise and clear (with messages formatted and listeners called) as in a bad hour.

The bare side is a plain loop doing the same work per change in the same run: look the tag
up, check the quality and type, and compare with the deadband against each of its alarms'
limits, keeping the condition. CPU time is the thread's own (``time.thread_time``), so other
processes on a shared machine slow both sides alike; the ratio is the figure to compare.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmStatus
from hmi.model import Quality, Sample
from hmi.project.config import AlarmDef

TAGS = 5000
ALARMS = 2 * TAGS
CHANGES = 300_000
BATCH = 500
DISTURBED_SHARE = 0.02
"""Part of the changes that come from tags swinging across their HI limit."""
ROUNDS = 3
TARGET_CHANGES_PER_S = 100_000
HI, LO, BAND = 80.0, 20.0, 1.0

Batch = list[tuple[str, Sample]]


def alarm_defs() -> dict[str, AlarmDef]:
    """A HI and a LO alarm per tag; every tenth alarm has an on-delay."""
    alarms = {}
    for i in range(TAGS):
        tag = f"UNIT{i // 100}.T{i}"
        delay = 2.0 if i % 10 == 0 else 0.0
        alarms[f"{tag}.HI"] = AlarmDef(
            f"{tag}.HI", tag, "hi", HI, BAND, delay, 0.0, "high", f"{tag} high ({{value:.1f}})"
        )
        alarms[f"{tag}.LO"] = AlarmDef(
            f"{tag}.LO", tag, "lo", LO, BAND, delay, 0.0, "medium", f"{tag} low ({{value:.1f}})"
        )
    return alarms


def plant_batches(seed: int = 12) -> list[Batch]:
    """The value changes, in runtime-sized batches: noise within limits, a disturbed unit crossing HI."""
    rng = random.Random(seed)
    tags = [f"UNIT{i // 100}.T{i}" for i in range(TAGS)]
    disturbed = tags[: max(1, TAGS // 50)]
    swing = dict.fromkeys(disturbed, False)
    ts = 1_700_000_000.0
    pairs: Batch = []
    for n in range(CHANGES):
        if rng.random() < DISTURBED_SHARE:
            tag = disturbed[n % len(disturbed)]
            swing[tag] = not swing[tag]
            value = HI + 5.0 if swing[tag] else HI - 5.0
        else:
            tag = tags[rng.randrange(TAGS)]
            value = 50.0 + rng.gauss(0.0, 8.0)
        pairs.append((tag, Sample(value, Quality.GOOD, ts + n * 1e-5)))
    return [pairs[i : i + BATCH] for i in range(0, len(pairs), BATCH)]


async def _engine_side(batches: Sequence[Batch]) -> dict[str, float]:
    engine = AlarmEngine(alarm_defs())
    events = [0]

    def count(_event: AlarmEvent, _status: AlarmStatus) -> None:  # the journal's append is as cheap
        events[0] += 1

    engine.subscribe(count)
    spent = 0.0
    for n, batch in enumerate(batches):
        started = time.thread_time()
        engine.on_samples(batch)
        spent += time.thread_time() - started
        if n % 20 == 0:
            await asyncio.sleep(0)  # the loop runs between polls: due on-delays fire, as they would
    engine.close()
    return {"cpu_s": spent, "events": events[0], "errors": engine.errors}


def _bare_side(batches: Sequence[Batch]) -> dict[str, float]:
    limits: dict[str, list[list[Any]]] = {}
    for alarm in alarm_defs().values():
        limits.setdefault(alarm.tag, []).append(
            [alarm.type in ("hi", "hihi"), alarm.limit, alarm.deadband, False]
        )
    good = Quality.GOOD
    changes = 0
    started = time.thread_time()
    for batch in batches:
        for tag, sample in batch:
            alarms = limits.get(tag)
            if alarms is None or sample.quality is not good or not isinstance(sample.value, int | float):
                continue
            value = float(sample.value)
            for alarm in alarms:
                high, limit, band, holding = alarm
                if high:
                    condition = value > (limit - band if holding else limit)
                else:
                    condition = value < (limit + band if holding else limit)
                if condition != holding:
                    alarm[3] = condition
                    changes += 1
    return {"cpu_s": time.thread_time() - started, "condition_changes": changes}


async def _rounds() -> dict[str, Any]:
    batches = plant_batches()
    engine_runs, bare_runs = [], []
    for _ in range(ROUNDS):
        engine_runs.append(await _engine_side(batches))
        bare_runs.append(_bare_side(batches))
    engine_s = statistics.median(r["cpu_s"] for r in engine_runs)
    bare_s = statistics.median(r["cpu_s"] for r in bare_runs)
    per_change_us = engine_s / CHANGES * 1e6
    capacity = CHANGES / engine_s if engine_s > 0 else float("inf")
    return {
        "case": "evaluate",
        "alarms": ALARMS,
        "tags": TAGS,
        "changes": CHANGES,
        "batch": BATCH,
        "disturbed_share": DISTURBED_SHARE,
        "rounds": ROUNDS,
        "alarm_events": engine_runs[0]["events"],
        "condition_changes": bare_runs[0]["condition_changes"],
        "engine_errors": max(r["errors"] for r in engine_runs),
        "engine_cpu_per_change_us": round(per_change_us, 3),
        "bare_cpu_per_change_us": round(bare_s / CHANGES * 1e6, 3),
        "ratio_to_bare": round(engine_s / bare_s, 2) if bare_s > 0 else None,
        "changes_per_s_one_core": round(capacity),
        "target_changes_per_s": TARGET_CHANGES_PER_S,
        "target_met": capacity >= TARGET_CHANGES_PER_S,
    }


def run() -> dict[str, Any]:
    """Measure the engine and the bare loop, alternating, ``ROUNDS`` times each."""
    return asyncio.run(_rounds())
