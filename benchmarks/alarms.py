"""``hmi bench alarms [--case evaluate|frame|flood]``: the alarm system's performance cases, one JSON object.

- ``evaluate`` (:mod:`benchmarks.alarms_eval`): 10,000 alarm definitions against a plant's value
  changes on one core: CPU per change and the ratio to a bare loop of the same comparisons;
- ``frame`` (:mod:`benchmarks.alarms_frame`): GUI frames from an alarm's event to the banner;
- ``flood`` (:mod:`benchmarks.alarms_flood`): the runtime loop's lag while a link drop flags
  1,000 active alarms bad at once (real Modbus server in its own process).

Without ``--case`` every case runs, each under its name in the one object printed.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import Any

CASES = {"evaluate": "alarms_eval", "frame": "alarms_frame", "flood": "alarms_flood"}


def parse_args(argv: Sequence[str]) -> dict[str, Any]:
    """The benchmark's own options (after ``hmi bench alarms``)."""
    parser = argparse.ArgumentParser(
        prog="hmi bench alarms",
        description="Alarm system performance: evaluation cost, alarm-to-banner frames, flood loop lag.",
        epilog="example: hmi bench alarms --case evaluate",
    )
    parser.add_argument(
        "--case", action="append", choices=list(CASES), help="run only this case (repeatable)"
    )
    return {"cases": parser.parse_args(list(argv)).case}


def run(cases: Sequence[str] | None = None) -> dict[str, Any]:
    """Run ``cases`` (default all) in order; one case's figures flat, several under their names."""
    chosen = list(cases or CASES)
    results = {name: importlib.import_module(f"benchmarks.{CASES[name]}").run() for name in chosen}
    if len(chosen) == 1:
        return results[chosen[0]]
    return {"cases": chosen, **results}
