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
from collections.abc import Sequence

import benchmarks

# Helpers of the benchmarks above, not benchmarks themselves.
SKIP = {"runner", "plant_feed", "history_queries", "year_cache", "modbus_image_server", "big_project"}
SKIP |= {"scale_plant", "scale_analysis", "scale_server", "opcua_station"}
SKIP |= {"alarms_eval", "alarms_frame", "alarms_flood"}  # cases of ``hmi bench alarms``
SKIP |= {"scale_cpu", "scale_stages"}  # scale_stages runs as `python -m benchmarks.scale_stages`
SKIP |= {"bench_servers"}  # the server set-up modbus, connections and opcua share


def available() -> list[str]:
    """Names of the benchmark modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in SKIP)


def run_benchmarks(name: str | None, options: Sequence[str] = ()) -> int:
    """Run one benchmark or all; print JSON lines; exit 2 for an unknown name or options it takes none of.

    ``options`` go to one benchmark that declares ``parse_args(argv) -> dict`` (e.g. ``scale --tags 200``).
    """
    names = available()
    if name is not None:
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names) or 'none'}", file=sys.stderr)
            return 2
        names = [name]
    for bench in names:
        module = importlib.import_module(f"benchmarks.{bench}")
        kwargs = {}
        if options:
            if name is None or not hasattr(module, "parse_args"):
                print(f"benchmark {bench!r} takes no options: {' '.join(options)}", file=sys.stderr)
                return 2
            kwargs = module.parse_args(options)
        started = time.perf_counter()
        result = module.run(**kwargs)
        result = {"benchmark": bench, **result, "seconds": round(time.perf_counter() - started, 2)}
        print(json.dumps(result), flush=True)
    return 0
