"""How long a restart takes to read each alarm's last state from a large alarm journal; prints JSON.

    python -m tools.alarm_restore_bench [--events 1000000] [--alarms 2000] [--file F]

Builds (once, kept at ``--file``) a journal of ``--events`` events over ``--alarms`` alarms, then
times :func:`hmi.alarms.restore.last_states` on it. Run at the commit before journal version 4 to
see the cost of the whole-journal scan it replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from hmi.alarms.journal import INSERT_EVENT, JOURNAL_COMPONENT
from hmi.alarms.restore import last_states
from hmi.store.migrations import MigrationRegistry

KINDS = ("raised", "acknowledged", "cleared", "quality bad", "quality good")
STATES = ("active unacknowledged", "active acknowledged", "normal", "normal", "normal")


def build(path: Path, events: int, alarms: int) -> None:
    """A journal file of ``events`` events cycling through raise, ack, clear over ``alarms`` alarms."""
    MigrationRegistry([JOURNAL_COMPONENT]).ensure(path)
    with sqlite3.connect(path) as conn:
        start = time.time() - events
        rows = (
            (
                seq,
                round((start + seq) * 1e6),
                f"A{seq % alarms:05d}",
                KINDS[(seq // alarms) % 3],
                STATES[(seq // alarms) % 3],
                "medium",
                float(seq % 100),
                "message",
                "",
                "",
                "",
                None,
            )
            for seq in range(1, events + 1)
        )
        conn.executemany(INSERT_EVENT, rows)


def main() -> None:
    """Build the journal if needed, time the restore read, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--alarms", type=int, default=2000)
    parser.add_argument("--file", type=Path, default=Path(tempfile.gettempdir()) / "alarm_restore_bench.db")
    args = parser.parse_args()
    if not args.file.exists():
        build(args.file, args.events, args.alarms)
    with sqlite3.connect(args.file) as conn:
        events = conn.execute("SELECT count(*) FROM alarm_events").fetchone()[0]
    began = time.perf_counter()
    states = last_states(args.file)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "events": events,
                "alarms": len(states),
                "restore_read_s": round(seconds, 4),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
