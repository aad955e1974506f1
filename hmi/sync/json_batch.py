"""The JSON batch format (docs/sync-batch.schema.json): a header naming the batch, then its rows.

The encoding is deterministic (no send time, keys in a fixed order), so a batch re-read
from the store after a restart is byte for byte the batch sent before it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hmi.sync.line_protocol import QUALITY_NAMES

FORMAT_NAME = "converge-hmi.sync-batch"
FORMAT_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


ENCODE_CHUNK = 500  # rows per json.dumps call: it holds the GIL throughout, and the runtime loop waits


def iso_time(micros: int, seconds_cache: dict[int, str] | None = None) -> str:
    """Microseconds since the epoch as ISO 8601 UTC with microseconds (``2026-12-01T23:55:17.123456Z``).

    ``seconds_cache`` keeps the formatted seconds of one batch: its samples share most of them.
    """
    seconds, rest = divmod(int(micros), 1_000_000)
    stamp = seconds_cache.get(seconds) if seconds_cache is not None else None
    if stamp is None:
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if seconds_cache is not None:
            seconds_cache[seconds] = stamp
    return f"{stamp}.{rest:06d}Z"


def _value(value: Any, as_bool: bool = False) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if as_bool and isinstance(value, int) and not isinstance(value, bool):
        return bool(value)
    return value


def history_row(
    row: Mapping[str, Any], bool_tags: frozenset[str], seconds_cache: dict[int, str] | None = None
) -> dict[str, Any]:
    """A sample as the batch carries it."""
    return {
        "seq": int(row["seq"]),
        "tag": row["tag"],
        "ts": iso_time(row["ts"], seconds_cache),
        "ts_us": int(row["ts"]),
        "value": _value(row["value"], row["tag"] in bool_tags),
        "quality": QUALITY_NAMES.get(int(row["quality"]), "bad"),
        "reason": row.get("reason") or "",
    }


class HistoryRowWriter:
    """Samples straight to JSON objects, byte for byte what ``json.dumps(history_row(...))`` writes.

    A batch repeats its tag names, reasons and seconds: each is escaped or formatted once
    per batch, which makes this several times faster than building a dict per row.
    """

    def __init__(self, bool_tags: frozenset[str]) -> None:
        """``bool_tags``: tags whose stored 0/1 are booleans."""
        self.bool_tags = bool_tags
        self._tags: dict[str, tuple[str, bool]] = {}
        self._reasons: dict[str | None, str] = {}
        self._seconds: dict[int, str] = {}

    def row(self, row: Mapping[str, Any]) -> str:
        """One sample as a JSON object."""
        tag = row["tag"]
        known = self._tags.get(tag)
        if known is None:
            known = self._tags[tag] = (_dumps(tag), tag in self.bool_tags)
        reason = row["reason"] or ""
        reason_text = self._reasons.get(reason)
        if reason_text is None:
            reason_text = self._reasons[reason] = _dumps(reason)
        micros = int(row["ts"])
        return (
            f'{{"seq":{int(row["seq"])},"tag":{known[0]},"ts":"{iso_time(micros, self._seconds)}",'
            f'"ts_us":{micros},"value":{_value_text(row["value"], known[1])},'
            f'"quality":"{QUALITY_NAMES.get(int(row["quality"]), "bad")}","reason":{reason_text}}}'
        )

    def rows(self, rows: Iterable[tuple[int, str, int, Any, int, str | None]]) -> list[str]:
        """Sample tuples ``(seq, tag, ts, value, quality, reason)`` as JSON objects, as :meth:`row` writes.

        One loop over plain tuples with every lookup local: the drain's encoding hot path.
        """
        tags, reasons, seconds, bools = self._tags, self._reasons, self._seconds, self.bool_tags
        quality_names = QUALITY_NAMES
        out: list[str] = []
        append = out.append
        for seq, tag, micros, value, quality, reason in rows:
            known = tags.get(tag)
            if known is None:
                known = tags[tag] = (_dumps(tag), tag in bools)
            reason_text = reasons.get(reason)
            if reason_text is None:
                reason_text = reasons[reason] = _dumps(reason or "")
            second, rest = divmod(micros, 1_000_000)
            stamp = seconds.get(second)
            if stamp is None:
                stamp = seconds[second] = iso_time(second * 1_000_000)[:-8]
            if type(value) is float and value - value == 0.0:  # finite: the common case, inline
                text = repr(value)
            else:
                text = _value_text(value, known[1])
            append(
                f'{{"seq":{seq},"tag":{known[0]},"ts":"{stamp}.{rest:06d}Z","ts_us":{micros},"value":{text},'
                f'"quality":"{quality_names.get(quality, "bad")}","reason":{reason_text}}}'
            )
        return out


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _value_text(value: Any, as_bool: bool) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, bool) or (as_bool and isinstance(value, int)):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _dumps(value)


def event_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alarm event (or any other record with ``seq`` and ``ts``) as the batch carries it."""
    out = {"seq": int(row["seq"]), "ts": iso_time(row["ts"]), "ts_us": int(row["ts"])}
    out.update((k, _value(v)) for k, v in row.items() if k not in out)
    return out


def dumps_row(row: dict[str, Any]) -> str:
    """One converted row as a JSON object."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_rows(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as the JSON array body of a batch (in chunks, so other threads run in between)."""
    parts = [
        json.dumps(rows[i : i + ENCODE_CHUNK], ensure_ascii=False, separators=(",", ":"), allow_nan=False)[
            1:-1
        ]
        for i in range(0, len(rows), ENCODE_CHUNK)
    ]
    return ("[" + ",".join(parts) + "]").encode()


def frame(header: dict[str, Any], encoded_rows: bytes) -> bytes:
    """The batch document: the header's keys, then ``"rows": [...]``."""
    head = json.dumps(
        {"format": FORMAT_NAME, "version": FORMAT_VERSION, **header},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    return head[:-1] + b',"rows":' + encoded_rows + b"}"
