"""``hmi bench [NAME]``: run benchmarks and print one JSON object per line.

Each benchmark module in this package exposes ``run() -> dict`` and measures our code
against the bare library doing the same work in the same run, reported as a ratio,
so that a noisy shared machine moves both sides alike.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time

import benchmarks

# Helpers of the benchmarks above, not benchmarks themselves.
SKIP = {"runner", "plant_feed", "history_queries", "year_cache", "opcua_station"}


def available() -> list[str]:
    """Names of the benchmark modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in SKIP)


def run_benchmarks(name: str | None) -> int:
    """Run one benchmark or all; print JSON lines; exit 2 for an unknown name."""
    names = available()
    if name is not None:
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names) or 'none'}", file=sys.stderr)
            return 2
        names = [name]
    for bench in names:
        module = importlib.import_module(f"benchmarks.{bench}")
        started = time.perf_counter()
        result = module.run()
        result = {"benchmark": bench, **result, "seconds": round(time.perf_counter() - started, 2)}
        print(json.dumps(result), flush=True)
    return 0
