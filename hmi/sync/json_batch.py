"""The JSON batch format (docs/sync-batch.schema.json): a header naming the batch, then its rows.

The encoding is deterministic (no send time, keys in a fixed order), so a batch re-read
from the store after a restart is byte for byte the batch sent before it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hmi.sync.line_protocol import QUALITY_NAMES

FORMAT_NAME = "converge-hmi.sync-batch"
FORMAT_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_time(micros: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC with microseconds (``2026-12-01T23:55:17.123456Z``)."""
    seconds, rest = divmod(int(micros), 1_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest:06d}Z"


def _value(value: Any, as_bool: bool = False) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if as_bool and isinstance(value, int) and not isinstance(value, bool):
        return bool(value)
    return value


def history_row(row: Mapping[str, Any], bool_tags: frozenset[str]) -> dict[str, Any]:
    """A sample as the batch carries it."""
    return {
        "seq": int(row["seq"]),
        "tag": row["tag"],
        "ts": iso_time(row["ts"]),
        "ts_us": int(row["ts"]),
        "value": _value(row["value"], row["tag"] in bool_tags),
        "quality": QUALITY_NAMES.get(int(row["quality"]), "bad"),
        "reason": row.get("reason") or "",
    }


def event_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alarm event (or any other record with ``seq`` and ``ts``) as the batch carries it."""
    out = {"seq": int(row["seq"]), "ts": iso_time(row["ts"]), "ts_us": int(row["ts"])}
    out.update((k, _value(v)) for k, v in row.items() if k not in out)
    return out


def encode_rows(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as the JSON array body of a batch."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def frame(header: dict[str, Any], encoded_rows: bytes) -> bytes:
    """The batch document: the header's keys, then ``"rows": [...]``."""
    head = json.dumps(
        {"format": FORMAT_NAME, "version": FORMAT_VERSION, **header},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return head[:-1] + b',"rows":' + encoded_rows + b"}"
