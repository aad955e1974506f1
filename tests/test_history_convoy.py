"""The convoy benchmark's strategies each store every row of every commit, alone and beside a thread."""

from __future__ import annotations

from benchmarks import history_convoy


def test_every_strategy_stores_every_row_and_reports_its_costs() -> None:
    report = history_convoy.run(tags=300, commits=1, rounds=1, beside=("alone", "loop"))
    runs = report["runs"]
    assert {(r["strategy"], r["beside"]) for r in runs} == {
        (strategy, mode) for strategy in history_convoy.STRATEGIES for mode in ("alone", "loop")
    }
    for entry in runs:
        assert entry["wall_s_per_100k"] > 0 and entry["cpu_s_per_100k"] >= 0
        assert ("gil_share" in entry) == (entry["beside"] != "alone")
