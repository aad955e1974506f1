"""One commit's worth of samples into the file: raw rows and their rollups, column by column.

Conversion works on whole columns (C-level ``map`` and numpy) rather than one
Python call per sample: at hundreds of thousands of samples a second the
per-sample function calls were most of the writer's cost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from operator import attrgetter, itemgetter

import numpy as np

from hmi.historian import bulk, closing, flags, rollup, sequence
from hmi.historian.schema import MICROS_PER_SECOND, storable_value
from hmi.model import Quality, Sample

INSERT_SAMPLE = (
    "INSERT OR REPLACE INTO samples (tag_id, ts, value, quality, reason, seq) VALUES (?, ?, ?, ?, ?, ?)"
)
_SAMPLE_WIDTH = 6  # INSERT_SAMPLE's parameters

_TS, _VALUE, _QUALITY, _REASON = (attrgetter(name) for name in ("ts", "value", "quality", "reason"))
_TAG, _SAMPLE = itemgetter(0), itemgetter(1)
_QUALITY_CODE = {quality: int(quality) for quality in Quality}
_FLOATS = {float, type(None)}
_NUMBERS = {float, int, bool, type(None)}
_STAMPS = {float, int}
_LIMIT = float(2**63 - 1024)  # the largest float below int64's limit, so the cast cannot wrap
_INT64_SAFE = 2.0**63  # an int whose float is below this in magnitude fits int64 (NaN is a float anyway)


def _fit_int64(numeric: np.ndarray) -> bool:
    """True when no value of the column is an int too large for SQLite's INTEGER."""
    return not bool(np.any(np.abs(numeric) >= _INT64_SAFE))  # a NaN compares false: it passes


def _rollup_number(stored: float | int | str | None) -> float:
    """The stored value as the rollups read it back: numbers as float, text and NULL as NaN."""
    kind = type(stored)
    return float(stored) if kind is float or kind is int else np.nan  # type: ignore[arg-type]


@dataclass(slots=True)
class Columns:
    """A batch as storable columns, plus the numpy views the rollups need."""

    tag_id: np.ndarray  # int64
    ts: np.ndarray  # int64 microseconds
    stored: list[float | int | str | None]
    quality: np.ndarray  # int8
    reason: list[str]
    usable: np.ndarray  # float64: the value when numeric and not bad, else NaN

    def rows(self, seq: np.ndarray) -> zip[tuple[int, int, float | int | str | None, int, str, int]]:
        """The `samples` rows with their ``seq`` numbers, built lazily by ``zip`` as executemany reads."""
        return zip(
            self.tag_id.tolist(),
            self.ts.tolist(),
            self.stored,
            self.quality.tolist(),
            self.reason,
            seq.tolist(),
            strict=True,
        )


def sample_params(columns: Columns, seq: np.ndarray) -> list[object]:
    """The raw rows' parameters in one list, row after row, filled column by column (C-level slices)."""
    params: list[object] = [None] * (len(columns.stored) * _SAMPLE_WIDTH)
    params[0::_SAMPLE_WIDTH] = columns.tag_id.tolist()
    params[1::_SAMPLE_WIDTH] = columns.ts.tolist()
    params[2::_SAMPLE_WIDTH] = columns.stored
    params[3::_SAMPLE_WIDTH] = columns.quality.tolist()
    params[4::_SAMPLE_WIDTH] = columns.reason
    params[5::_SAMPLE_WIDTH] = seq.tolist()
    return params


def insert_samples(
    conn: sqlite3.Connection, columns: Columns, seq: np.ndarray, largest: int | None = None
) -> None:
    """Insert (or replace) the raw rows, in batch order, inside the caller's transaction.

    Multi-row statements (:mod:`hmi.historian.bulk`), not ``executemany``: the GIL is let go once
    per statement of thousands of rows rather than around every row, which beside a busy loop in the
    same process made every row wait for the GIL. The values bind as ``executemany`` binds them.
    """
    bulk.insert_flat(conn, INSERT_SAMPLE, _SAMPLE_WIDTH, sample_params(columns, seq), largest)


def to_columns(batch: list[tuple[str, Sample]], tag_ids: dict[str, int]) -> Columns:
    """Columns of a batch; ValueError/TypeError/OverflowError/KeyError when some sample cannot be stored."""
    samples = list(map(_SAMPLE, batch))
    ids = np.array(list(map(tag_ids.__getitem__, map(_TAG, batch))), dtype=np.int64)
    stamps = list(map(_TS, samples))
    if not set(map(type, stamps)) <= _STAMPS:
        raise TypeError("a timestamp is not a number of seconds")
    micros = np.rint(np.array(stamps, dtype=np.float64) * MICROS_PER_SECOND)
    if not np.all(np.abs(micros) <= _LIMIT):  # also false for NaN
        raise OverflowError("a timestamp is NaN or outside the range SQLite can store")
    values = list(map(_VALUE, samples))
    kinds = set(map(type, values))
    if kinds <= _FLOATS:
        stored: list[float | int | str | None] = values  # SQLite stores a NaN as NULL by itself
        numeric = np.array(values, dtype=np.float64)  # None -> NaN
    elif kinds <= _NUMBERS and _fit_int64(numeric := np.array(values, dtype=np.float64)):
        # ints bind as INTEGER, exactly; floats as REAL; bools as REAL 0.0/1.0
        if bool not in kinds:
            stored = values
        elif int not in kinds:
            stored = numeric.tolist()
        else:
            stored = [float(v) if type(v) is bool else v for v in values]
    else:
        stored = list(map(storable_value, values))
        numeric = np.array(list(map(_rollup_number, stored)), dtype=np.float64)
    # Through a dict: plain ints bind fast, and a quality that is not ours raises KeyError.
    quality = np.array(list(map(_QUALITY_CODE.__getitem__, map(_QUALITY, samples))), dtype=np.int8)
    # Plain str: sqlite3 binds an enum member through its slow adaptation path (~1 us each).
    reasons = list(map(str, map(_REASON, samples)))
    usable = np.where(quality > 0, numeric, np.nan)
    return Columns(ids, micros.astype(np.int64), stored, quality, reasons, usable)


def to_columns_refusing(
    batch: list[tuple[str, Sample]], tag_ids: dict[str, int]
) -> tuple[Columns, tuple[int, str] | None]:
    """Columns of the storable samples, and (how many were refused, why the first was) if any were."""
    try:
        return to_columns(batch, tag_ids), None
    except (TypeError, ValueError, OverflowError, KeyError):
        pass
    # Slow path only when some sample cannot be stored (NaN or absurd timestamp, foreign quality).
    storable: list[tuple[str, Sample]] = []
    first_refusal = ""
    for tag, sample in batch:
        try:
            to_columns([(tag, sample)], tag_ids)
        except (TypeError, ValueError, OverflowError, KeyError) as error:
            first_refusal = first_refusal or f"{tag} at ts={sample.ts!r}: {error}"
        else:
            storable.append((tag, sample))
    return to_columns(storable, tag_ids), (len(batch) - len(storable), first_refusal)


def insert_new_tags(
    conn: sqlite3.Connection, batch: list[tuple[str, Sample]], known: dict[str, int]
) -> dict[str, int]:
    """Insert the batch's tag names not in ``known``, inside the open transaction; returns their ids.

    The caller adopts the ids only after COMMIT, so a rolled-back batch never leaves a stale id behind.
    """
    names = set(map(_TAG, batch)).difference(known)
    if not names:
        return {}
    next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM tags").fetchone()[0]
    new_ids = {name: next_id + offset for offset, name in enumerate(sorted(names))}
    conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in new_ids.items()])
    return new_ids


def insert(
    conn: sqlite3.Connection,
    columns: Columns,
    newest: dict[int, int],
    first_seq: int,
    buckets: closing.OpenBuckets | None = None,
    now: int | None = None,
) -> tuple[dict[int, int], closing.OpenBuckets]:
    """Write raw rows numbered from ``first_seq`` (len(columns.stored) numbers) and fold them into the
    rollups, inside the caller's transaction.

    ``newest`` maps tag id to the latest stored timestamp (filled here for tags
    it lacks). A tag whose samples all come after it replaces nothing, so its
    open buckets are kept in memory (``buckets``, loaded from the file when None)
    until they close (:mod:`hmi.historian.closing`); a late, duplicate or replacing
    sample makes its buckets be computed from raw rows. ``now``: the wall clock in
    µs, which no bucket closes ahead of. Returns the new latest timestamps and the
    new open buckets, for the caller to adopt once the transaction commits.
    """
    if buckets is None:
        buckets = closing.load(conn)
    stamp = round(time.time() * MICROS_PER_SECOND) if now is None else now
    if columns.ts.size == 0:
        return {}, buckets
    order = np.lexsort((columns.ts, columns.tag_id))
    ids, ts = columns.tag_id[order], columns.ts[order]
    starts = np.flatnonzero(np.concatenate(([True], np.diff(ids) != 0)))
    ends = np.append(starts[1:], ids.size) - 1
    first_ids = ids[starts].tolist()
    load_newest(conn, [tag_id for tag_id in first_ids if tag_id not in newest], newest)
    seq = sequence.numbering(order, first_seq)  # in (tag_id, ts) order: see hmi.historian.sequence
    insert_samples(conn, columns, seq)
    sequence.record(
        conn,
        sequence.boxes(
            ids[starts].tolist(),
            ts[starts].tolist(),
            ts[ends].tolist(),
            (starts + first_seq).tolist(),
            (ends + first_seq).tolist(),
        ),
    )

    # Late: a tag's first sample is not after its newest stored one, or two of its samples share a ts.
    repeated = np.zeros(ids.size, np.int64)
    repeated[1:] = (np.diff(ids) == 0) & (np.diff(ts) == 0)
    stored_newest = np.fromiter(map(newest.__getitem__, first_ids), np.int64, len(first_ids))
    late_mask = (ts[starts] <= stored_newest) | (np.add.reduceat(repeated, starts) > 0)
    late = np.repeat(late_mask, np.diff(np.append(starts, ids.size)))
    chunk = (ids, ts, columns.usable[order], columns.quality[order])
    buckets = closing.advance(conn, buckets, chunk, late, stamp)
    return dict(zip(first_ids, np.maximum(ts[ends], stored_newest).tolist(), strict=True)), buckets


def restamp_stale_flags(
    conn: sqlite3.Connection, columns: Columns, newest: dict[int, int], detected: int
) -> int:
    """Store the runtime's stale flags at ``detected`` (µs) rather than over the samples they flag.

    See :mod:`hmi.historian.flags`; changes ``columns.ts`` in place (inside the caller's
    transaction, before :func:`insert`) and returns how many flags moved.
    """
    found = flags.stale_flags(columns.quality, columns.reason)
    if found is None:
        return 0
    flagged = np.unique(columns.tag_id[found]).tolist()
    load_newest(conn, [tag_id for tag_id in flagged if tag_id not in newest], newest)
    stored = np.full(columns.ts.size, rollup.NO_TS_LOW, np.int64)
    stored[found] = np.fromiter(map(newest.__getitem__, columns.tag_id[found].tolist()), np.int64)
    return flags.restamp(columns.tag_id, columns.ts, found, stored, detected)


_NEWEST = (
    "SELECT tags.id, (SELECT max(ts) FROM samples WHERE tag_id = tags.id) FROM tags"
    " WHERE tags.id IN (SELECT value FROM json_each(?))"
)


def load_newest(conn: sqlite3.Connection, tag_ids: list[int], newest: dict[int, int]) -> None:
    """Fill ``newest`` with each tag's latest stored ts (NO_TS_LOW for none): one statement, one seek each."""
    if not tag_ids:
        return
    newest.update(dict.fromkeys(tag_ids, rollup.NO_TS_LOW))
    for tag_id, found in conn.execute(_NEWEST, (json.dumps(tag_ids),)):
        if found is not None:
            newest[tag_id] = found
