"""A commit's rows in a few multi-row statements, so the GIL is let go once per statement, not per row.

The sqlite3 module releases the GIL around each ``sqlite3_step`` and takes it back afterwards.
``executemany`` steps once per row: beside a busy event loop in the same process every row's
re-take can wait for the other thread, and the writer's wall time per row grows with the loop's
activity while its CPU does not (the convoy, measured by ``benchmarks.history_convoy``). One
``INSERT ... VALUES (...), (...), ...`` of thousands of rows is bound in C from one flat list and
stepped once: SQLite inserts every row of it with the GIL released.

The values are bound by the same module code ``executemany`` uses, parameter by parameter, so
every value is stored exactly as before (INTEGER, REAL with inf, NULL for None and NaN, TEXT).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import cache
from itertools import chain

# Statements of power-of-two row counts, the largest binding at most this many parameters: any count
# is a few full statements and a sum of smaller ones, and each size's text stays one entry of the
# connection's statement cache, compiled once. Each statement is one wait for the GIL beside a busy
# thread, so larger is better; but a cached statement keeps its compiled program (about 1.2 VDBE ops
# per parameter): 32,768 parameters (SQLite's default limit, 4,096 sample rows, 2,048 rollup rows)
# keep all sizes of one insert to ~10 MB, where 16,384 sample rows took ~33 MB and 8,192 rollup rows
# ~25 MB for each of the three levels.
MAX_PARAMS = 32_768


@cache
def _statement(insert: str, rows: int) -> str:
    """``insert`` (one ``VALUES (?, ...)`` row) repeated to ``rows`` rows."""
    head, row = insert.split(" VALUES ")
    return head + " VALUES " + ",".join([row] * rows)


def _largest(conn: sqlite3.Connection, width: int, largest: int | None) -> int:
    """The largest power-of-two row count within the connection's variable limit and ``largest`` rows
    (by default as many as MAX_PARAMS parameters)."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    wanted = MAX_PARAMS // width if largest is None else largest
    size = 1 << (max(1, wanted).bit_length() - 1)
    while size > 1 and size > limit:
        size //= 2
    return size


def insert_flat(
    conn: sqlite3.Connection, insert: str, width: int, params: list[object], largest: int | None = None
) -> None:
    """Run ``insert`` (a one-row ``INSERT ... VALUES (?, ...)`` of ``width`` parameters) for every row of
    ``params`` (row after row), in order, inside the caller's transaction.

    ``largest``: the most rows per statement (rounded down to a power of two; tests make it small),
    by default as many as MAX_PARAMS parameters.
    """
    count = len(params) // width
    size = _largest(conn, width, largest)
    done = 0
    while done < count:
        while size > count - done:
            size //= 2
        conn.execute(_statement(insert, size), params[done * width : (done + size) * width])
        done += size


def insert_rows(
    conn: sqlite3.Connection, insert: str, rows: Iterable[tuple[object, ...]], largest: int | None = None
) -> None:
    """Like ``conn.executemany(insert, rows)``, a few statements of many rows each."""
    insert_flat(conn, insert, insert.count("?"), list(chain.from_iterable(rows)), largest)
