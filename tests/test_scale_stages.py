"""The stage costs of the runtime's side of a worker's batch and of a history feed for another process."""

from __future__ import annotations

from benchmarks import scale_stages


def test_a_workers_batches_reach_the_runtime_whole_as_columns_and_as_pairs() -> None:
    result = scale_stages.run(tags=800, reads=2, seconds=3, gil=True)
    assert result["worker_batch_changes"] == result["driver_samples"] == 800 * 2
    assert result["worker_batch_pairs_changes"] == result["worker_batch_changes"]
    for stage in ("worker_batch", "worker_batch_pairs", "history_pipe"):
        assert result[f"{stage}_cpu_s_per_100k"] > 0
    assert 0 <= result["history_gil_share"] <= 1
    assert result["history_gil_held_s_per_100k"] >= 0
