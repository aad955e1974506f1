"""The history file's layout, its migrations, its time unit and how each side opens it.

sqlite-utils creates and migrates the schema; the hot write path uses raw
``executemany`` (see :mod:`hmi.historian.writer`). ``docs/history-schema.md``
documents the layout for people who read the file with other SQLite tools.
"""

from __future__ import annotations

import numbers
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from hmi.historian import rollup, upkeep

SCHEMA_VERSION = 2
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


class SchemaError(Exception):
    """The file is not a history database, or a newer version of the application wrote it."""


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


def _create_version_1(db: Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["tags"].create({"id": int, "name": str}, pk="id", not_null={"name"})
    db["tags"].create_index(["name"], index_name="tags_name_unique", unique=True)
    db.execute(SAMPLES_DDL)
    db.create_view("history", HISTORY_VIEW_SQL)
    db["meta"].insert({"key": "ts_unit", "value": "microseconds since 1970-01-01 UTC"})


def _add_rollups_version_2(db: Database) -> None:
    for table in rollup.LEVELS.values():
        db.execute(rollup.rollup_ddl(table))
    upkeep.backfill(db.conn)


# Each entry moves a file from version N-1 to N; append, never edit a released one.
_MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _create_version_1, 2: _add_rollups_version_2}


def _stored_version(db: Database, path: Path) -> int:
    tables = set(db.table_names())
    if "meta" not in tables:
        if tables:
            raise SchemaError(f"{path} has tables but no meta table: not a history database")
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise SchemaError(f"{path} has no schema_version in its meta table: not a history database")
    return int(row[0])


def ensure_schema(path: Path, busy_timeout: float = 5.0) -> int:
    """Create the file or bring it to SCHEMA_VERSION; returns the version found (0 for a new file).

    Blocking file IO: call it off any event loop. Raises SchemaError for a file
    that is not ours or is newer than this code, sqlite3.Error/OSError when the
    path cannot be opened.
    """
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout)
    except sqlite3.OperationalError as error:  # SQLite's own message does not name the file
        raise sqlite3.OperationalError(f"cannot open history database {path}: {error}") from error
    try:
        db = Database(conn, execute_plugins=False, recursive_triggers=False)
        if not db.table_names():
            # Only an empty file can take it (or a VACUUM): lets retention give freed pages back to the disk.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.enable_wal()  # persistent in the file: every later connection reads beside the writer
        # IMMEDIATE takes the write lock before reading the version, so two
        # processes opening a new file cannot both run the same migration.
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = _stored_version(db, path)
            if found > SCHEMA_VERSION:
                raise SchemaError(
                    f"{path} has history schema version {found}; this version reads up to {SCHEMA_VERSION}"
                )
            for version in range(found + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[version](db)
            if found != SCHEMA_VERSION:
                db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return found
    finally:
        conn.close()


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
