"""``hmi bench sync`` measures what it says: both sides move every row of the backlog to the receiver."""

from __future__ import annotations

import os

from benchmarks import sync
from hmi.project.sync_settings import SyncEndpoint


def test_the_sync_benchmark_drains_the_whole_backlog_on_both_sides() -> None:
    cpus = os.sched_getaffinity(0)
    result = sync.run(rows=20_000)
    assert os.sched_getaffinity(0) == cpus  # the cores are given back
    # The receiver stands in for a server elsewhere: a core of its own wherever there are two.
    assert result["placement"]["pinned"] is (len(cpus) >= 2)
    assert result["ratio_of_fastest"] > 0
    assert result["rows"] == 20_000 and result["batch_rows"] == sync.BATCH_ROWS
    assert result["ours_rows_per_s"] > 0 and result["bare_rows_per_s"] > 0 and result["ratio"] > 0
    assert set(result["loop_lateness_ms"]) == {"p50", "p99", "max"}
    assert result["encoded_rows"] == 20_000 and result["batches"] == 20_000 // sync.BATCH_ROWS
    assert result["encode_us_per_row"] > 0 and result["outbox_bytes_per_row"] > 0
    assert result["cold_rows_per_s"] > 0 and set(result["cold_loop_lateness_ms"]) == {"p50", "p99", "max"}


def test_the_sync_benchmark_pairs_rounds_that_each_drain_the_same_backlog() -> None:
    result = sync.run(rows=10_000, rounds=2)
    assert [r["first"] for r in result["rounds"]] == ["ours", "bare"]
    assert all(r["ours_rows_per_s"] > 0 and r["bare_rows_per_s"] > 0 for r in result["rounds"])
    # Ours takes the endpoint's window (the product default), bare stays one request at a time.
    assert result["in_flight"] == {"ours": SyncEndpoint("e", "http://e/").in_flight, "bare": 1}
    assert result["ratio_min"] <= result["ratio"] <= result["ratio_max"]
