"""What a ``hmi bench scale`` run offered and kept: the servers' read logs against the history file.

*Offered* is counted on the PLC side: every read changes every tag it covers, so a read of a block
offers one new value per tag in it. *Stored* is the history file's good rows of those tags. Over
the steady window (after the last PLC got its first read, before the first one saw its last), each
PLC's time is cut into one-second cells starting in a pause between its reads (halfway between
two scan deadlines when the scan is on time), and a (tag, cell) is present when the file holds a
good row of that tag in that cell.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
import sqlite3
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.scale_plant import Connection

GOOD = 2
MICROS = 1_000_000
WARMUP_S = 3.0
"""Seconds after the last PLC's first read before the steady window opens."""
TAIL_S = 1.5
"""Seconds before the first PLC's last read where the steady window closes (the stop begins)."""
EARLY_S = 0.05


@dataclass
class Served:
    """One PLC's reads: (first address, register count) of the block → wall times it was served."""

    plc: Connection
    reads: dict[tuple[int, int], list[float]]

    @property
    def first(self) -> float:
        """When the runtime first read this PLC."""
        return min(times[0] for times in self.reads.values())

    @property
    def last(self) -> float:
        """When the runtime last read this PLC."""
        return max(times[-1] for times in self.reads.values())

    @property
    def phase(self) -> float:
        """The wall time of the first cycle's start (its first read of the lowest block)."""
        return self.reads[min(self.reads)][0]

    def offered(self, start: float = -math.inf, end: float = math.inf) -> int:
        """Values served in [start, end): each read offers one per tag of its block."""
        total = 0
        for (first, count), times in self.reads.items():
            per_read = self.plc.tags_in(first, count)
            total += per_read * sum(1 for t in times if start <= t < end)
        return total

    def quiet_point(self, near: float, span: float = 0.5) -> float:
        """The middle of the widest pause between two reads within ``near`` ± ``span``.

        A window edge there splits no read: a read's row carries the time the driver sent it, the
        server logs when it answered, and under load the two can be far apart.
        """
        times = sorted(t for block in self.reads.values() for t in block if near - span < t < near + span)
        points = [near - span, *times, near + span]
        start, end = max(itertools.pairwise(points), key=lambda pair: pair[1] - pair[0])
        return (start + end) / 2

    def lateness_ms(self) -> list[float]:
        """How late each cycle's first read was against the deadlines start + k s, as the PLC saw it."""
        times = self.reads[min(self.reads)]
        origin = times[0]
        return [max(0.0, ((t - origin + EARLY_S) % 1.0) - EARLY_S) * 1000.0 for t in times]


def parse_served(outputs: list[bytes], connections: list[Connection]) -> list[Served]:
    """The servers' JSON lines, by PLC (a PLC never read is left out)."""
    by_port = {plc.port: plc for plc in connections}
    served: list[Served] = []
    for output in outputs:
        lines = [line for line in output.decode(errors="replace").splitlines() if line.startswith("{")]
        if not lines:
            continue
        for port, reads in json.loads(lines[-1]).items():
            if reads:
                blocks = {_block(key): times for key, times in reads.items()}
                served.append(Served(by_port[int(port)], blocks))
    return served


def _block(key: str) -> tuple[int, int]:
    first, count = key.split(":")
    return int(first), int(count)


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` quantile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def steady_window(served: list[Served]) -> tuple[float, float] | None:
    """From a few seconds after the last PLC's first read to shortly before the first one's last."""
    if not served:
        return None
    start = max(s.first for s in served) + WARMUP_S
    end = min(s.last for s in served) - TAIL_S
    return (start, end) if end - start >= 1.0 else None


def history_figures(
    history: Path, connections: list[Connection], served: list[Served], window: tuple[float, float] | None
) -> dict[str, Any]:
    """Stored against offered, in total and per (tag, second) over the steady window."""
    names = {tag: plc.name for plc in connections for tag, _ in plc.tags}
    figures: dict[str, Any] = {"offered_total": sum(s.offered() for s in served)}
    if not history.exists():
        return {**figures, "stored_total": 0, "tags_without_rows": len(names)}
    conn = sqlite3.connect(f"file:{history}?mode=ro", uri=True)
    try:
        ids = {row[1]: row[0] for row in conn.execute("SELECT id, name FROM tags") if row[1] in names}
        per_tag = {
            tag_id: (count, first)
            for tag_id, count, first in conn.execute(
                "SELECT tag_id, count(*), min(ts) FROM samples WHERE quality = ? GROUP BY tag_id", (GOOD,)
            )
        }
        bench_ids = set(ids.values())
        kept = [per_tag[i] for i in bench_ids if i in per_tag]
        figures["stored_total"] = sum(count for count, _ in kept)
        not_good = conn.execute(
            "SELECT tag_id, count(*) FROM samples WHERE quality != ? GROUP BY tag_id", (GOOD,)
        ).fetchall()
        # e.g. "not connected" as each driver stops: kept, but no value a PLC offered
        figures["rows_not_good"] = sum(count for tag_id, count in not_good if tag_id in bench_ids)
        figures["tags_without_rows"] = len(names) - len(kept)
        figures["first_row_ts"] = min((first for _, first in kept), default=None)
        figures["last_first_row_ts"] = max((first for _, first in kept), default=None)
        if kept:
            figures["first_row_ts"] /= MICROS
            figures["last_first_row_ts"] /= MICROS
        if window is not None:
            figures.update(_steady(conn, ids, served, window))
    finally:
        conn.close()
    return figures


def _steady(
    conn: sqlite3.Connection, ids: dict[str, int], served: list[Served], window: tuple[float, float]
) -> dict[str, Any]:
    conn.execute("CREATE TEMP TABLE steady (tag_id INTEGER PRIMARY KEY, lo INTEGER, hi INTEGER)")
    offered = expected_cells = 0
    for s in served:
        # cells centred on this PLC's deadlines: a read a little late still lands in its own second
        first_cell = math.ceil(window[0] - s.phase)
        last_cell = math.floor(window[1] - s.phase)
        cells = last_cell - first_cell
        if cells <= 0:
            continue
        lo = s.quiet_point(s.phase + first_cell - 0.5)
        hi = s.quiet_point(lo + cells)
        offered += s.offered(lo, hi)
        expected_cells += cells * len(s.plc.tags)
        rows = [(ids[tag], round(lo * MICROS), round(hi * MICROS)) for tag, _ in s.plc.tags if tag in ids]
        conn.executemany("INSERT INTO steady VALUES (?, ?, ?)", rows)
    stored, cells_present = conn.execute(
        "SELECT count(*), count(DISTINCT samples.tag_id * 1000000 + (samples.ts - steady.lo) / 1000000) "
        "FROM samples JOIN steady ON steady.tag_id = samples.tag_id "
        "WHERE samples.quality = ? AND samples.ts >= steady.lo AND samples.ts < steady.hi",
        (GOOD,),
    ).fetchone()
    return {
        "steady_window_s": round(window[1] - window[0], 1),
        "offered_steady": offered,
        "stored_steady": stored,
        "stored_fraction_steady": round(stored / offered, 5) if offered else None,
        "cells_expected": expected_cells,
        "cells_present_fraction": round(cells_present / expected_cells, 5) if expected_cells else None,
    }


LOG_DIAGNOSTICS = re.compile(r"diagnostics (\S+): (\{.*\})\s*$")
LOG_STOPPED = re.compile(r"stopped: (\S+) samples written to .*, (\S+) dropped")


def log_figures(log_text: str) -> dict[str, Any]:
    """The runtime's own word: the last diagnostics of each connection and the stop line."""
    last: dict[str, dict[str, Any]] = {}
    stopped: dict[str, Any] = {}
    for line in log_text.splitlines():
        if match := LOG_DIAGNOSTICS.search(line):
            try:
                last[match.group(1)] = ast.literal_eval(match.group(2))
            except (SyntaxError, ValueError):
                continue
        elif match := LOG_STOPPED.search(line):
            stopped = {"log_written": _number(match.group(1)), "log_dropped": _number(match.group(2))}
    lateness = [d["lateness_p99_ms"] for d in last.values() if "lateness_p99_ms" in d]
    return {
        **stopped,
        "driver_lateness_p99_ms_max": max(lateness) if lateness else None,
        "driver_overruns": sum(d.get("overruns", 0) for d in last.values()) if last else None,
        "driver_reports": len(last),
        "log_errors": sum(1 for line in log_text.splitlines() if " ERROR " in line),
    }


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def lateness_figures(served: list[Served]) -> dict[str, Any]:
    """Server-side cycle lateness over every PLC: p50 and p99 in milliseconds."""
    values = [ms for s in served for ms in s.lateness_ms()[1:]]
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return {
        "lateness_p50_ms": round(p50, 1) if p50 is not None else None,
        "lateness_p99_ms": round(p99, 1) if p99 is not None else None,
        "cycles_seen": len(values),
        "lateness_mean_ms": round(statistics.fmean(values), 1) if values else None,
    }
