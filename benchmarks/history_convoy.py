"""The history writer's GIL convoy: wall and CPU per 100k rows of each write strategy, alone and beside a
busy Python thread.

``python -m benchmarks.history_convoy [--tags 100000] [--commits 4] [--rounds 2] [--beside alone loop busy]
[--switch 0.0005 0.05]`` prints JSON.

Each commit writes one simulated second of the plant feed (:mod:`benchmarks.plant_feed`: every tag
once, a float value that changes) into the real schema (``samples`` with its ``seq``), inside
``BEGIN``/``COMMIT``, from the columns the history writer converts a batch to. Strategies:

- ``executemany``: ``executemany`` of one row tuple per sample (the writer's path before this
  benchmark); the sqlite3 module lets the GIL go around each row's ``sqlite3_step`` and takes it
  back for the next row's binding;
- ``values``: multi-row ``INSERT ... VALUES (...), (...)`` statements of up to 4,096 rows (the
  writer's path: :mod:`hmi.historian.bulk`), the parameters bound from one flat list: one step,
  one GIL release, per statement; ``values_16k`` the same up to 16,384 rows (fewer waits, more
  memory in the statement cache);
- ``json_each``: one ``INSERT ... SELECT ... FROM json_each(?)`` of the batch encoded by
  ``json.dumps`` (SQLite parses and inserts with the GIL released throughout).

Beside the commits (``MODES``): nothing (``alone``); a thread doing pure-Python work in short units
(dict and list operations, as an event loop's callbacks do) that rests 0.5 ms after every 2 ms
(``loop``: the GIL let go as a loop does in its poll); the same never resting (``busy``). Its rate of
units beside a strategy against its rate alone is the share of the GIL that strategy holds.
``--switch`` repeats the runs at other ``sys.setswitchinterval`` values (measurement only: it
confirms the convoy, it is no fix).

Wall is the commit's elapsed time; CPU is the writer thread's own (``time.thread_time``), so the busy
thread's CPU is not counted in it. Strategies alternate within each round, the load average is beside.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import plant_feed
from hmi.historian import ingest
from hmi.historian.schema import ensure_schema, open_for_writing

PER = 100_000

_JSON_INSERT = (
    "INSERT OR REPLACE INTO samples (tag_id, ts, value, quality, reason, seq)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?)"
)


def _executemany(conn: sqlite3.Connection, columns: ingest.Columns, seq: np.ndarray) -> None:
    conn.executemany(ingest.INSERT_SAMPLE, columns.rows(seq))


def _values(conn: sqlite3.Connection, columns: ingest.Columns, seq: np.ndarray) -> None:
    ingest.insert_samples(conn, columns, seq)


def _values_16k(conn: sqlite3.Connection, columns: ingest.Columns, seq: np.ndarray) -> None:
    ingest.insert_samples(conn, columns, seq, largest=16384)


def _json_each(conn: sqlite3.Connection, columns: ingest.Columns, seq: np.ndarray) -> None:
    # NaN as null, as SQLite binds it; this benchmark's values are finite (no inf to carry).
    conn.execute(_JSON_INSERT, (json.dumps(list(columns.rows(seq))),))


STRATEGIES: dict[str, Callable[[sqlite3.Connection, ingest.Columns, np.ndarray], None]] = {
    "executemany": _executemany,
    "values": _values,
    "values_16k": _values_16k,
    "json_each": _json_each,
}


class Busy:
    """A thread doing pure-Python work in short units until stopped; counts the units.

    ``rest``: after every 2 ms of work it sleeps this long (the GIL let go, as a loop does in its
    poll), 0 for never.
    """

    def __init__(self, rest: float = 0.0) -> None:
        self.units = 0
        self.rest = rest
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="busy", daemon=True)

    def _run(self) -> None:
        table: dict[int, int] = {}
        clock = time.perf_counter
        next_rest = clock() + 0.002
        while not self._stop.is_set():
            for i in range(200):
                table[i] = table.get(i - 1, 0) + i
            [value * 2 for value in table.values()]
            self.units += 1
            if self.rest and clock() >= next_rest:
                time.sleep(self.rest)
                next_rest = clock() + 0.002

    def __enter__(self) -> Busy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _busy_rate(seconds: float, rest: float) -> float:
    """Units per second of the busy thread alone."""
    with Busy(rest) as busy:
        time.sleep(seconds)
    return busy.units / seconds


def _file(directory: Path, tags: int) -> tuple[sqlite3.Connection, dict[str, int]]:
    path = directory / f"convoy-{time.monotonic_ns()}.db"
    ensure_schema(path)
    conn = open_for_writing(path)
    names = plant_feed.tag_names(tags)
    ids = {name: i for i, name in enumerate(names, 1)}
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in ids.items()])
    conn.execute("COMMIT")
    return conn, ids


MODES = {"alone": None, "loop": 0.0005, "busy": 0.0}
"""Beside the commits: nothing; a thread resting 0.5 ms after every 2 ms of work; one never resting."""


def _run(strategy: str, directory: Path, tags: int, commits: int, rest: float | None) -> dict[str, float]:
    """Wall and writer-thread CPU per 100k rows over ``commits`` commits after one untimed warm-up."""
    conn, ids = _file(directory, tags)
    write = STRATEGIES[strategy]
    names = list(ids)
    batches = [ingest.to_columns(b, ids) for b in plant_feed.seconds(names, commits + 1)]
    wall = cpu = 0.0
    seq = 1
    units_before = 0
    rate = 0.0
    busy = rest is not None
    context = Busy(rest) if rest is not None else None
    if context is not None:
        context.__enter__()
    try:
        for n, columns in enumerate(batches):
            numbers = np.arange(seq, seq + len(columns.stored), dtype=np.int64)
            seq += len(columns.stored)
            if n == 1 and context is not None:
                units_before, busy_began = context.units, time.perf_counter()
            began, cpu_began = time.perf_counter(), time.thread_time()
            conn.execute("BEGIN")
            write(conn, columns, numbers)
            conn.execute("COMMIT")
            if n:
                wall += time.perf_counter() - began
                cpu += time.thread_time() - cpu_began
        if context is not None:
            rate = (context.units - units_before) / (time.perf_counter() - busy_began)
    finally:
        if context is not None:
            context.__exit__()
    stored = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    conn.close()
    if stored != tags * (commits + 1):  # each commit is a new second: new rows, none replaced
        raise RuntimeError(f"{strategy}: stored {stored} rows, expected {tags * (commits + 1)}")
    rows = tags * commits
    result = {"wall_s_per_100k": wall / rows * PER, "cpu_s_per_100k": cpu / rows * PER}
    if busy:
        result["busy_rate"] = rate
    return result


def run(
    tags: int = PER,
    commits: int = 4,
    rounds: int = 2,
    switches: tuple[float, ...] = (),
    beside: tuple[str, ...] = tuple(MODES),
) -> dict[str, Any]:
    """Every strategy alone and beside the busy thread, alternating, ``rounds`` times."""
    original = sys.getswitchinterval()
    report: dict[str, Any] = {"tags": tags, "commits": commits, "load_before": os.getloadavg()[0]}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        alone_rates = {mode: _busy_rate(2.0, rest) for mode, rest in MODES.items() if rest is not None}
        report["busy_rate_alone"] = alone_rates
        for interval in (original, *switches):
            sys.setswitchinterval(interval)
            try:
                for round_ in range(rounds):
                    for strategy in STRATEGIES:
                        for mode in beside:
                            rest = MODES[mode]
                            figures = _run(strategy, directory, tags, commits, rest)
                            if rest is not None:
                                figures["gil_share"] = 1.0 - figures.pop("busy_rate") / alone_rates[mode]
                            runs.append(
                                {"strategy": strategy, "beside": mode, "switch_s": interval, "round": round_}
                                | {key: round(value, 4) for key, value in figures.items()}
                            )
                        for path in directory.iterdir():
                            path.unlink()
            finally:
                sys.setswitchinterval(original)
    report["runs"] = runs
    report["best"] = _best(runs)
    report["load_after"] = os.getloadavg()[0]
    return report


def _best(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each (strategy, busy, switch)'s fastest round: the least disturbed by other work on the machine."""
    best: dict[str, dict[str, float]] = {}
    for entry in runs:
        key = f"{entry['strategy']} {entry['beside']} switch={entry['switch_s']}"
        if key not in best or entry["wall_s_per_100k"] < best[key]["wall_s_per_100k"]:
            best[key] = {k: v for k, v in entry.items() if k.endswith("_100k") or k == "gil_share"}
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=PER)
    parser.add_argument("--commits", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--beside", nargs="*", choices=list(MODES), default=list(MODES))
    parser.add_argument("--switch", type=float, nargs="*", default=[], help="other switch intervals, s")
    args = parser.parse_args(argv)
    if min(args.tags, args.commits, args.rounds) <= 0 or not all(0 < s < 1 for s in args.switch):
        parser.error("--tags, --commits and --rounds must be positive, --switch between 0 and 1 s")
    report = run(args.tags, args.commits, args.rounds, tuple(args.switch), tuple(args.beside))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
