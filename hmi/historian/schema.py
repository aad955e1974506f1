"""The history file's layout, its migrations, its time unit and how each side opens it.

sqlite-utils creates and migrates the schema; the hot write path uses raw
``executemany`` (see :mod:`hmi.historian.writer`). ``docs/history-schema.md``
documents the layout for people who read the file with other SQLite tools.
"""

from __future__ import annotations

import numbers
import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from hmi.historian import marks, rollup, sequence, upkeep
from hmi.store import sequences
from hmi.store.migrations import STORE_TABLES, Component, MigrationRegistry, SchemaError

HISTORY_STREAM = "history"
"""The samples' sequence in ``store_sequences``."""
MICROS_PER_SECOND = 1_000_000
_INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# No declared type on `value`: SQLite then keeps INTEGER, REAL and TEXT exactly as bound.
# WITHOUT ROWID stores each row once, inside the (tag_id, ts) key order, which is
# also the order every query reads it in. sqlite-utils cannot declare that, hence raw DDL.
SAMPLES_DDL = """
CREATE TABLE samples (
    tag_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value,
    quality INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tag_id, ts)
) WITHOUT ROWID
"""

HISTORY_VIEW_SQL = """
SELECT tags.name AS tag,
       strftime('%Y-%m-%dT%H:%M:%fZ', samples.ts / 1000000.0, 'unixepoch') AS time_utc,
       samples.ts AS ts,
       samples.value AS value,
       CASE samples.quality WHEN 2 THEN 'good' WHEN 1 THEN 'uncertain' ELSE 'bad' END AS quality,
       samples.reason AS reason
FROM samples JOIN tags ON tags.id = samples.tag_id
"""


def seconds_to_micros(ts: float) -> int:
    """Epoch seconds to the stored unit, integer microseconds; OverflowError/ValueError if unstorable."""
    micros = round(ts * MICROS_PER_SECOND)
    if not -_INT64_MAX <= micros <= _INT64_MAX:
        raise OverflowError(f"timestamp {ts!r} is outside the range SQLite can store")
    return micros


def micros_to_seconds(micros: int) -> float:
    """The stored unit back to epoch seconds."""
    return micros / MICROS_PER_SECOND


def storable_value(value: Any) -> float | int | str | None:
    """The value as stored: see "Values" in docs/history-schema.md.

    Integers that fit int64 as INTEGER (exact: a 64-bit counter keeps its last digit),
    a larger one (uint64 above 2**63-1) as its decimal TEXT rather than rounded;
    bools and floats as REAL, text as TEXT, None as NULL, anything else as text.
    NaN is stored as NULL: SQLite has no REAL NaN.
    """
    kind = type(value)
    if kind is float or kind is str or value is None:
        return value
    if kind is int:
        return value if INT64_MIN <= value <= _INT64_MAX else str(value)
    if kind is bool:
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):  # numpy ints, IntEnum
        return storable_value(int(value))
    if hasattr(kind, "__float__") or hasattr(kind, "__index__"):  # numpy floats and bools, Decimal
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    return str(value)


def _create_version_1(conn: sqlite3.Connection) -> None:
    db = Database(conn, execute_plugins=False, recursive_triggers=False)
    db.table("meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.table("tags").create({"id": int, "name": str}, pk="id", not_null={"name"})
    db.table("tags").create_index(["name"], index_name="tags_name_unique", unique=True)
    db.execute(SAMPLES_DDL)
    db.create_view("history", HISTORY_VIEW_SQL)
    db.table("meta").insert({"key": "ts_unit", "value": "microseconds since 1970-01-01 UTC"})


def _add_rollups_version_2(conn: sqlite3.Connection) -> None:
    for table in rollup.VIEWS.values():  # the names of version 2, before version 4 renamed them
        conn.execute(rollup.rollup_ddl(table))
    upkeep.backfill(conn, rollup.VIEWS)


def _add_sequence_version_3(conn: sqlite3.Connection) -> None:
    """Number every sample so a sync cursor can follow commits, late timestamps included.

    Rows already in the file are numbered once, in (tag_id, ts) order (see :mod:`hmi.historian.sequence`).
    """
    conn.execute("ALTER TABLE samples ADD COLUMN seq INTEGER")
    conn.execute(sequence.COMMITS_DDL)
    sequences.advance_to(conn, HISTORY_STREAM, sequence.backfill(conn))


class _MetaVersion:
    """The history keeps its version in ``meta.schema_version``, as files from before the registry do."""

    def read(self, conn: sqlite3.Connection, path: Path) -> int:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        if "meta" not in tables:
            if tables - STORE_TABLES:
                raise SchemaError(f"{path} has tables but no meta table: not a history database")
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise SchemaError(f"{path} has no schema_version in its meta table: not a history database")
        return int(row[0])

    def write(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )


# Each entry moves a file from version N-1 to N; append, never edit a released one.
HISTORY_COMPONENT = Component(
    "history",
    (_create_version_1, _add_rollups_version_2, _add_sequence_version_3, marks.migrate_to_version_4),
    _MetaVersion(),
)
"""The history's tables in the store's migration registry."""

SCHEMA_VERSION = HISTORY_COMPONENT.latest


def registry() -> MigrationRegistry:
    """A registry holding the history alone: what a reader or a bare history file needs."""
    return MigrationRegistry([HISTORY_COMPONENT])


def ensure_schema(path: Path, busy_timeout: float = 5.0) -> int:
    """Create the file or bring its history tables to SCHEMA_VERSION; returns the version found (0: new).

    Blocking file IO: call it off any event loop. Raises SchemaError for a file
    that is not ours or is newer than this code, sqlite3.Error/OSError when the
    path cannot be opened.
    """
    return registry().ensure(path, busy_timeout)[HISTORY_COMPONENT.name]


def open_for_writing(path: Path, busy_timeout: float = 5.0) -> sqlite3.Connection:
    """A connection for the writer thread: explicit transactions, synchronous=NORMAL.

    NORMAL in WAL mode never corrupts the file; a power cut loses at most the
    last commits, which is the trade the commit interval already makes.
    """
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def open_for_reading(path: Path, busy_timeout: float = 5.0) -> sqlite3.Connection:
    """A read-only connection usable from the thread that runs the query, whichever it is."""
    if not path.exists():
        raise FileNotFoundError(f"history database not found: {path}")
    uri = path.resolve().as_uri() + "?mode=ro"
    # check_same_thread=False: a paged read may resume on another worker thread;
    # callers never share one connection between two threads at the same time.
    return sqlite3.connect(uri, uri=True, timeout=busy_timeout, check_same_thread=False)
