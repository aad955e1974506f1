"""Loading and checking a plant-sized project (10k and 100k Modbus tags), cold and warm, against bare libyaml.

Each figure is one fresh process, as an engineer meets it: ``cold`` with an empty
project cache (every file read and every check run), ``warm`` answered from the
cache a previous run wrote. The bare baseline is ``yaml.load(text,
Loader=yaml.CSafeLoader)`` of the same ``project.yaml`` in the same run: libyaml
with PyYAML's constructor, no line numbers, no checks. ``careful`` is the
pure-Python reader every file took before the fast path, measured at 10k tags
only (about 0.7 ms per tag line: 100k would take minutes).

    hmi bench project_load
    HMI_BENCH_PROJECT_TAGS=10000 hmi bench project_load
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES_ENV = "HMI_BENCH_PROJECT_TAGS"
DEFAULT_SIZES = (10_000, 100_000)
CAREFUL_UP_TO = 10_000
ROOT = Path(__file__).resolve().parents[1]


def run() -> dict[str, Any]:
    """Every size: cold and warm check and load, the history lookup, and the bare baseline."""
    sizes = [int(size) for size in os.environ.get(SIZES_ENV, "").split(",") if size] or list(DEFAULT_SIZES)
    results: dict[str, Any] = {"load_average": _load_average()}
    with tempfile.TemporaryDirectory(prefix="hmi-bench-project-") as scratch:
        from benchmarks.big_project import write_big_project

        for size in sizes:
            folder = write_big_project(Path(scratch) / f"p{size}", size)
            cache = Path(scratch) / f"cache{size}"
            figures: dict[str, Any] = {"bare_libyaml_s": _child("bare", folder, cache)}
            figures["cold_check_s"] = _child("check", folder, cache)
            figures["warm_check_s"] = _child("check", folder, cache)
            figures["warm_load_s"] = _child("load", folder, cache)
            figures["warm_history_path_s"] = _child("history", folder, cache)
            cold = Path(scratch) / f"cold{size}"
            figures["cold_load_s"] = _child("load", folder, cold)
            figures["cold_history_path_s"] = _child("history", folder, Path(scratch) / f"none{size}")
            if size <= CAREFUL_UP_TO:
                figures["careful_yaml_s"] = _child("careful", folder, cache)
            figures["cold_check_vs_bare"] = round(figures["cold_check_s"] / figures["bare_libyaml_s"], 2)
            figures["load_average_after"] = _load_average()
            results[f"tags_{size}"] = figures
    return results


def _child(mode: str, folder: Path, cache: Path) -> float:
    """Seconds one fresh process spends on ``mode`` (imports excluded: measured inside the child)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONVERGE_HMI_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.project_load", mode, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def _measure(mode: str, folder: Path) -> float:
    project_file = folder / "project.yaml"
    if mode == "bare":
        import yaml

        text = project_file.read_text("utf-8")
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        return time.perf_counter() - started
    if mode == "careful":
        from hmi.project.yaml_reader import check_events, compose_and_load, plain_value
        from hmi.project.yaml_source import LIMITS

        text = project_file.read_text("utf-8")
        started = time.perf_counter()
        check_events(text, LIMITS)
        plain_value(compose_and_load(text, allow_duplicate_keys=True)[1])
        return time.perf_counter() - started
    from hmi.project.history_lookup import history_path
    from hmi.project.loader import check_project_with_warnings, load_project

    started = time.perf_counter()
    if mode == "check":
        errors, _ = check_project_with_warnings(folder)
        assert not errors, errors[:3]
    elif mode == "load":
        assert load_project(folder).tags
    else:
        assert history_path(folder).name == "history.db"
    return time.perf_counter() - started


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


if __name__ == "__main__":
    print(json.dumps({"seconds": round(_measure(sys.argv[1], Path(sys.argv[2])), 3)}))
