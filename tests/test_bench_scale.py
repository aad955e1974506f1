"""``hmi bench scale`` at a tiny size: the real runtime in a child process against PLC server processes;
the JSON has its shape and every value the PLCs served over the steady window is in history."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import runner, scale, scale_stages
from benchmarks.scale_cpu import TreeCpu, descendants
from benchmarks.scale_plant import GROUP_REGISTERS, child_env, kill, layout, write_project

TAGS = 200
SECONDS = 7.0
ROOT = Path(__file__).resolve().parent.parent

FIGURES = {
    "tags": int,
    "connections": int,
    "server_processes": int,
    "exit_code": int,
    "timed_out": bool,
    "cpu_steady_percent": float,
    "workers_cpu_steady_percent": float,
    "total_cpu_steady_percent": float,
    "cpu_overall_percent": float,
    "peak_rss_mb": float,
    "server_cpu_percent": float,
    "lateness_p50_ms": float,
    "lateness_p99_ms": float,
    "offered_total": int,
    "stored_total": int,
    "offered_steady": int,
    "stored_steady": int,
    "stored_fraction_steady": float,
    "cells_present_fraction": float,
    "tags_without_rows": int,
    "first_value_s": float,
    "all_first_values_s": float,
    "load_average_before": list,
    "load_average_after": list,
}


def test_the_layout_reads_as_blocks_of_120_registers_per_plc() -> None:
    plcs = layout(12_000, 5_000)
    assert [len(plc.tags) for plc in plcs] == [5_000, 5_000, 2_000]
    first = plcs[0]
    assert first.tags_in(0, GROUP_REGISTERS) == 80, "40 float32 and 40 uint16 tags in one block"
    assert first.tags_in(GROUP_REGISTERS, 16) == 0, "the gap between two blocks holds no tag"


def test_options_are_parsed_and_other_benchmarks_refuse_them(
    capsys: pytest.CaptureFixture,
) -> None:
    options = scale.parse_args(["--tags", "10000,50000", "--seconds", "60"])
    assert [r.tags for r in options["runs"]] == [10_000, 50_000]
    assert all(r.seconds == 60 for r in options["runs"])
    with pytest.raises(SystemExit):
        scale.parse_args(["--tags", "ten"])
    assert runner.run_benchmarks("trend", ["--tags", "5"]) == 2
    assert "takes no options" in capsys.readouterr().err
    assert not {"scale_cpu", "scale_stages"} & set(runner.available()), "helpers, not benchmarks"
    assert all(r.processes == 0 for r in options["runs"]), "drivers in the runtime's process by default"
    assert scale.parse_args(["--processes", "auto"])["runs"][0].processes == "auto"
    assert scale.parse_args(["--processes", "3"])["runs"][0].processes == 3
    for bad in ("-1", "many"):
        with pytest.raises(SystemExit):
            scale.parse_args(["--processes", bad])


def test_the_project_names_its_acquisition_processes(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project", layout(80, 5_000), "auto")
    assert "acquisition: {processes: auto}" in (folder / "project.yaml").read_text().splitlines()


def test_the_cpu_of_a_process_tree_counts_its_children() -> None:
    # A real parent that spends its time in a child: the parent's own figure stays near zero.
    burn = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(10**9))'], timeout=30)"
    parent = subprocess.Popen([sys.executable, "-c", burn])
    try:
        tree = TreeCpu(parent.pid)
        for _ in range(40):  # bounded: until the child has burnt a little CPU, or 40 looks
            tree.sample(time.time())
            if tree.samples and tree.samples[-1][2] > 0.3:
                break
            time.sleep(0.1)
        assert tree.children_seen >= 1
        figures = tree.percents((tree.samples[0][0], tree.samples[-1][0]))
        assert figures["workers_cpu_steady_percent"] > figures["cpu_steady_percent"]
        assert figures["total_cpu_steady_percent"] == pytest.approx(
            figures["workers_cpu_steady_percent"] + figures["cpu_steady_percent"], abs=0.11
        )
        assert tree.percents(None)["total_cpu_steady_percent"] is None
    finally:
        for pid in descendants(parent.pid):
            kill(pid)
        kill(parent.pid)
        parent.wait()


def test_a_tiny_plant_stores_every_value_it_offered() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "hmi.app.cli",
            "bench",
            "scale",
            "--tags",
            str(TAGS),
            "--seconds",
            str(SECONDS),
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=scale.ScaleRun(TAGS, SECONDS).time_box_s + 60,
    )
    assert completed.returncode == 0, completed.stderr
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    report = json.loads(line)
    assert report["benchmark"] == "scale"
    (result,) = report["runs"]
    for name, kind in FIGURES.items():
        value = result[name]
        assert isinstance(value, kind) or (kind is float and isinstance(value, int)), (name, value)
    assert result["tags"] == TAGS and result["exit_code"] == 0 and not result["timed_out"]
    assert result["tags_without_rows"] == 0
    assert result["offered_steady"] > 0
    assert result["stored_steady"] == result["offered_steady"]
    assert result["cells_present_fraction"] == 1.0
    # A read the PLC answered just as the runtime stopped may be cut short: at most one cycle's values.
    assert 0 <= result["offered_total"] - result["stored_total"] <= TAGS
    assert result["log_dropped"] == 0


def test_the_stage_costs_cover_every_value_of_every_scan() -> None:
    result = scale_stages.run(tags=800, reads=2, seconds=3)
    assert result["driver_samples"] == 800 * 2, "every word changes on every scan"
    assert result["runtime_changes"] == result["driver_samples"]
    assert result["history_samples_timed"] == 800 * 2 and result["history_commits"] >= 3
    assert result["start_up_heap_frozen"] is False, "a small plant keeps the collector's default"
    for stage in ("driver", "runtime", "history"):
        assert result[f"{stage}_cpu_s_per_100k"] > 0
    assert result["stale_watchdog_cpu_s_per_100k_tags"] >= 0
