"""SQLite history: a batching writer thread with storage deadband, rollups and retention;
thread-safe queries (raw, downsampled for trends, value at a time, aggregates); CSV export.

Runtime-side: imports hmi.model only of ours, and never Qt.
"""

from hmi.historian.export import export_csv, format_timestamp, parse_time
from hmi.historian.reader import HistoryReader, HistoryRow
from hmi.historian.schema import SCHEMA_VERSION, SchemaError, ensure_schema
from hmi.historian.writer import HistoryWriter

__all__ = [
    "SCHEMA_VERSION",
    "HistoryReader",
    "HistoryRow",
    "HistoryWriter",
    "SchemaError",
    "ensure_schema",
    "export_csv",
    "format_timestamp",
    "parse_time",
]
