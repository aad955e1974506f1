"""One place that creates and migrates every table of a project's SQLite file.

Each component (history, the alarm journal, later audit, events, sync cursors)
registers its ordered migrations under its own name; :meth:`MigrationRegistry.ensure`
runs every pending one in a single write transaction and records each component's
version. A component may keep its version somewhere of its own (the history keeps
``meta.schema_version``, as files before the registry did); the rest are rows of
``store_components``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

Migration = Callable[[sqlite3.Connection], None]
"""Moves one component from version N-1 to N inside the registry's open transaction."""

STORE_TABLES = frozenset({"store_components", "store_sequences"})


class SchemaError(Exception):
    """The file is not ours, or a newer version of the application wrote it."""


class VersionKeeper(Protocol):
    """Where a component's schema version lives in the file."""

    def read(self, conn: sqlite3.Connection, path: Path) -> int:
        """The stored version, 0 when the component is not in the file yet."""
        ...

    def write(self, conn: sqlite3.Connection, version: int) -> None:
        """Record ``version`` inside the open transaction."""
        ...


class ComponentsTable:
    """The default keeper: one row per component in ``store_components``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def read(self, conn: sqlite3.Connection, path: Path) -> int:
        """The version recorded for this component, 0 if none."""
        row = conn.execute(
            "SELECT version FROM store_components WHERE component = ?", (self.name,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def write(self, conn: sqlite3.Connection, version: int) -> None:
        """Upsert this component's version."""
        conn.execute(
            "INSERT INTO store_components (component, version) VALUES (?, ?)"
            " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (self.name, version),
        )


@dataclass(frozen=True)
class Component:
    """A named owner of tables: ``migrations[i]`` moves it from version i to i + 1."""

    name: str
    migrations: Sequence[Migration]
    keeper: VersionKeeper | None = None

    @property
    def latest(self) -> int:
        """The version this code writes."""
        return len(self.migrations)

    def version_keeper(self) -> VersionKeeper:
        """Its own keeper, or a row in ``store_components``."""
        return self.keeper or ComponentsTable(self.name)


def _create_store_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS store_sequences (stream TEXT PRIMARY KEY, last INTEGER NOT NULL)"
    )


STORE_COMPONENT = Component("store", (_create_store_tables,))
"""The registry's own tables: the per-stream sequences every component's rows are numbered by."""


@dataclass
class MigrationRegistry:
    """The components of one file, in the order their migrations run."""

    components: list[Component] = field(default_factory=list)

    def register(self, component: Component) -> None:
        """Add a component; its name must be new."""
        if any(c.name == component.name for c in self.components) or component.name == STORE_COMPONENT.name:
            raise ValueError(f"component {component.name!r} is registered already")
        self.components.append(component)

    def ensure(self, path: Path, busy_timeout: float = 5.0) -> dict[str, int]:
        """Create or migrate the file; returns each component's version as found (0: new).

        Blocking file IO: call it off any event loop. Raises SchemaError for a
        file that is not ours or that a newer version wrote (and changes nothing
        then), sqlite3.Error naming the file when it cannot be opened.
        """
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.OperationalError as error:  # SQLite's own message does not name the file
            raise sqlite3.OperationalError(f"cannot open history database {path}: {error}") from error
        try:
            if conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0:
                # Only an empty file can take it (or a VACUUM): lets retention give freed pages back.
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: later connections read beside the writer
            # IMMEDIATE takes the write lock before reading versions: two processes
            # opening a new file cannot both run the same migration.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS store_components"
                    " (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                found = {c.name: self._migrate(conn, path, c) for c in [STORE_COMPONENT, *self.components]}
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return found
        finally:
            conn.close()

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, component: Component) -> int:
        keeper = component.version_keeper()
        found = keeper.read(conn, path)
        if found > component.latest:
            raise SchemaError(
                f"{path} has {component.name} schema version {found};"
                f" this version reads up to {component.latest}"
            )
        for migration in component.migrations[found:]:
            migration(conn)
        if found != component.latest:
            keeper.write(conn, component.latest)
        return found
