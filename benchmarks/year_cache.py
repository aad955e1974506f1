"""The query benchmark's year of history: a private cache file, built atomically, checked before use.

The file lives under the user's cache folder (not a shared temp path another user or run could
write), named after the schema version and a hash of everything that decides its content (the
generator's SQL and its size). It is built under a temporary name in the same folder and moved into
place with ``os.replace``, so a reader sees either no file or a whole one; and before it is trusted
it is opened and checked (schema version, the completion mark written in the build's last
transaction, the expected row counts). A file that fails a check is removed and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from hmi.historian import upkeep
from hmi.historian.schema import SCHEMA_VERSION, ensure_schema, open_for_writing

DAY = 86_400
YEAR_END = 1_767_225_600  # 2026-01-01T00:00:00Z
PEN = "PLANT.FLOW"
COMPLETE_KEY = "bench_year_complete"

# One day of one pen at 1 Hz: a slow wave plus noise, one bad minute a day.
_DAY_SQL = (
    "INSERT INTO samples (tag_id, ts, value, quality) WITH RECURSIVE s(i) AS"
    " (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 86399)"
    " SELECT 1, ? + i * 1000000, 50 + 40 * sin((? + i) / 3600.0) + (abs(random()) % 1000) / 100.0,"
    " CASE WHEN i BETWEEN 43200 AND 43259 THEN 0 ELSE 2 END FROM s"
)


class CacheInvalid(Exception):
    """The cache file is not one this code built whole."""


@dataclass(frozen=True)
class YearSpec:
    """What decides the cache's content; its hash names the file."""

    days: int = 365
    end: int = YEAR_END

    @property
    def samples(self) -> int:
        return self.days * DAY

    @property
    def hours(self) -> int:
        return self.days * 24

    @property
    def start(self) -> int:
        return self.end - self.days * DAY

    def digest(self) -> str:
        text = f"{SCHEMA_VERSION}|{self.days}|{self.end}|{PEN}|{_DAY_SQL}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def file_name(self) -> str:
        return f"year-1hz-v{SCHEMA_VERSION}-{self.digest()}.db"


def cache_folder() -> Path:
    """The benchmark's private folder under the user's cache directory (mode 0700)."""
    folder = Path(platformdirs.user_cache_dir("converge-hmi", appauthor=False)) / "bench"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def validate(path: Path, spec: YearSpec) -> None:
    """Raise CacheInvalid unless ``path`` is a whole year file of ``spec`` at this schema version."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise CacheInvalid(f"{path}: cannot open: {error}") from error
    try:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise CacheInvalid(f"{path}: schema version {version} is not {SCHEMA_VERSION}")
        mark = conn.execute("SELECT value FROM meta WHERE key = ?", (COMPLETE_KEY,)).fetchone()
        if mark is None or mark[0] != spec.digest():
            raise CacheInvalid(f"{path}: no completion mark for this content ({mark})")
        # The hourly rollup counts every raw sample: 8,760 rows to read instead of 31.5M.
        rollup = "SELECT count(*), sum(count) FROM rollup_1h WHERE tag_id = 1"
        hours, counted = conn.execute(rollup).fetchone()
        if hours != spec.hours or counted != spec.samples:
            raise CacheInvalid(
                f"{path}: rollup has {hours} hours / {counted} samples, not {spec.hours} / {spec.samples}"
            )
        first, last = (
            conn.execute(f"SELECT {edge}(ts) FROM samples WHERE tag_id = 1").fetchone()[0]
            for edge in ("min", "max")
        )
        if first != spec.start * 1_000_000 or last != (spec.end - 1) * 1_000_000:
            raise CacheInvalid(f"{path}: samples span {first}..{last}, not the expected year")
    except sqlite3.Error as error:
        raise CacheInvalid(f"{path}: {error}") from error
    finally:
        conn.close()


def build(path: Path, spec: YearSpec) -> None:
    """Build the year into a temporary file beside ``path`` and move it into place whole."""
    fd, name = tempfile.mkstemp(prefix=".building-", suffix=".db", dir=path.parent)
    os.close(fd)
    building = Path(name)
    building.unlink()  # ensure_schema creates it; mkstemp only reserved a private, unique name
    try:
        ensure_schema(building)
        conn = open_for_writing(building)
        try:
            conn.execute("INSERT INTO tags (id, name) VALUES (1, ?)", (PEN,))
            for day in range(spec.days):
                conn.execute("BEGIN")
                conn.execute(_DAY_SQL, ((spec.start + day * DAY) * 1_000_000, day * DAY))
                conn.execute("COMMIT")
            conn.execute("BEGIN")
            upkeep.backfill(conn)
            # Written in the last transaction: a file without it was never finished.
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (COMPLETE_KEY, spec.digest()))
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        validate(building, spec)
        os.replace(building, path)
    finally:
        for leftover in (building, *(building.with_name(building.name + s) for s in ("-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def ensure(spec: YearSpec, folder: Path | None = None) -> tuple[Path, bool]:
    """The validated cache file for ``spec`` and whether it was built now (a bad one is rebuilt)."""
    path = (folder or cache_folder()) / spec.file_name()
    if path.exists():
        try:
            validate(path, spec)
            return path, False
        except CacheInvalid:
            path.unlink()
    build(path, spec)
    return path, True
