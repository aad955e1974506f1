"""A worker's read handed to the runtime as columns gives the feeds and the value table that the same
read handed over as (tag, Sample) pairs gives, and the fast good-Sample constructor gives real Samples."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from hmi.core.runtime import Feed, TagRuntime
from hmi.model import DataType, Quality, Reason, Sample, TagDef, UnfrozenSample, good_sample
from hmi.project.config import ConnectionConfig, HistorySettings, Project


def test_good_sample_is_the_sample_the_constructor_gives() -> None:
    for value in (1, 2.5, "text", True, None, float("inf")):
        built = good_sample(value, 7.0)
        assert type(built) is Sample
        assert built == Sample(value, Quality.GOOD, 7.0) == Sample.good(value, 7.0)
        assert hash(built) == hash(Sample.good(value, 7.0))
        assert built.reason is Reason.NONE and built.is_good
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.value = 3  # type: ignore[misc]
    assert UnfrozenSample.__slots__ == Sample.__slots__


def _runtime() -> TagRuntime:
    tags = {f"f{i}": TagDef(f"f{i}", "plc", f"hr:{i}", DataType.FLOAT32, deadband=0.5) for i in range(10)}
    tags |= {f"u{i}": TagDef(f"u{i}", "plc", f"hr:{100 + i}", DataType.UINT16) for i in range(10)}
    tags |= {f"d{i}": TagDef(f"d{i}", "plc", f"hr:{200 + i}", DataType.INT32, deadband=2) for i in range(5)}
    project = Project(
        name="columns",
        root=Path("."),
        connections={"plc": ConnectionConfig("plc", "modbus", {})},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )
    return TagRuntime(project, driver_factory=lambda *args, **kwargs: None)  # never started


def _watched(runtime: TagRuntime) -> tuple[list[list[tuple[str, Sample]]], list[list[tuple[str, Sample]]]]:
    raw: list[list[tuple[str, Sample]]] = []
    changes: list[list[tuple[str, Sample]]] = []
    runtime.subscribe_batch(lambda batch: raw.append(list(batch)), Feed.RAW)
    runtime.subscribe_batch(lambda batch: changes.append(list(batch)), Feed.CHANGES)
    return raw, changes


def test_a_read_as_columns_feeds_exactly_what_the_same_read_as_pairs_feeds() -> None:
    pairs_runtime, columns_runtime = _runtime(), _runtime()
    pairs_seen, columns_seen = _watched(pairs_runtime), _watched(columns_runtime)
    names = (*sorted(pairs_runtime.project.tags), "not-a-tag")
    rng = random.Random(9)
    for read in range(60):
        ts = 1000.0 + read
        if read % 7 == 3:  # some tags go bad between reads, and some were called stale by the watchdog
            bad = [(name, Sample.bad(Reason.COMM_FAILURE, ts=ts)) for name in rng.sample(names[:-1], 5)]
            for runtime in (pairs_runtime, columns_runtime):
                runtime._on_samples(bad)
        if read % 11 == 5:
            for runtime in (pairs_runtime, columns_runtime):
                runtime._stale.update(names[:4])
        indices = sorted(rng.sample(range(len(names)), 15))
        values: list[object] = []
        for index in indices:
            name = names[index]
            if name.startswith("f"):
                values.append(rng.choice([1.0, 1.25, 2.0, float("nan"), 10.0 + read]))
            else:
                values.append(rng.choice([1, 2, 3, 7, read]))
        pairs = [(names[i], Sample.good(v, ts)) for i, v in zip(indices, values, strict=True)]
        pairs_runtime._on_samples(pairs)
        columns_runtime._on_good_values(names, indices, values, ts)
        assert pairs_runtime._stale == columns_runtime._stale
    assert _same(pairs_seen, columns_seen)
    assert _same(pairs_runtime.values, columns_runtime.values)
    assert any(len(batch) < 15 for batch in columns_seen[1])  # the deadbands held some changes back


def _same(a: object, b: object) -> bool:
    # NaN values compare unequal to themselves: compare the reprs, which carry every field.
    return repr(a) == repr(b)
