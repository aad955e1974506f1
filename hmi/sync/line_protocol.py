"""InfluxDB line protocol for history samples and alarm events (InfluxDB 1.x/2.x, VictoriaMetrics, ...).

``measurement,tag=value field=value timestamp`` with nanosecond timestamps. Escaping
follows the protocol: commas and spaces in a measurement; commas, equals signs and
spaces in tag keys, tag values and field keys; double quotes and backslashes in string
field values. A line cannot hold a newline, so newlines become spaces; an empty tag
value is left out (the protocol has no empty tag value).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

QUALITY_NAMES = {2: "good", 1: "uncertain", 0: "bad"}
_INT64 = (-(2**63), 2**63 - 1)

_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ ", "\n": " ", "\r": " "})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": " ", "\r": " "})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": " ", "\r": " "})


def measurement(name: str) -> str:
    """A measurement name, escaped."""
    return name.translate(_MEASUREMENT)


def key(text: str) -> str:
    """A tag key, tag value or field key, escaped."""
    return text.translate(_KEY)


def string_field(text: str) -> str:
    """A string field value, quoted and escaped."""
    return '"' + text.translate(_STRING) + '"'


def field_value(value: Any, as_bool: bool = False) -> str | None:
    """A field value in the protocol's typed form, or None for a value it cannot carry (null, NaN, inf)."""
    if value is None:
        return None
    if isinstance(value, bool) or (as_bool and isinstance(value, int)):
        return "true" if value else "false"
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return f"{value}i"
        return repr(float(value))  # past int64 the protocol has no integer: the nearest float
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return string_field(str(value))


def line(name: str, tags: Iterable[tuple[str, str]], fields: Iterable[tuple[str, str]], ts_ns: int) -> str:
    """One point; tags with an empty value are left out, ``fields`` are already formatted."""
    tag_part = "".join(f",{key(k)}={key(v)}" for k, v in tags if v)
    field_part = ",".join(f"{key(k)}={v}" for k, v in fields)
    return f"{measurement(name)}{tag_part} {field_part} {ts_ns}"


def history_line(
    row: Mapping[str, Any], name: str, station: str, quality_as: str, bool_tags: frozenset[str]
) -> str:
    """A history sample: tag (and quality, reason) as tags, or quality and reason as string fields."""
    quality = QUALITY_NAMES.get(int(row["quality"]), "bad")
    reason = str(row.get("reason") or "")
    value = field_value(row["value"], row["tag"] in bool_tags)
    fields: list[tuple[str, str]] = [] if value is None else [("value", value)]
    tags = [("station", station), ("tag", str(row["tag"]))]
    if quality_as == "tag":
        tags += [("quality", quality), ("reason", reason)]
        if value is None:
            fields.append(("no_value", "true"))  # a point needs a field; it says the sample had no value
    else:
        fields += [("quality", string_field(quality)), ("reason", string_field(reason))]
    return line(name, tags, fields, int(row["ts"]) * 1000)


class HistoryLineWriter:
    """:func:`history_line` with each (tag, quality, reason)'s escaped series key made once per batch."""

    def __init__(self, name: str, station: str, quality_as: str, bool_tags: frozenset[str]) -> None:
        """The measurement, station tag, quality placement and boolean tags of one endpoint."""
        self.name, self.station, self.quality_as, self.bool_tags = name, station, quality_as, bool_tags
        self._series: dict[tuple[str, int, str], tuple[str, str, bool]] = {}

    def line(self, row: Mapping[str, Any]) -> str:
        """One sample as a point; the same text :func:`history_line` makes."""
        tag, code, reason = str(row["tag"]), int(row["quality"]), str(row.get("reason") or "")
        known = self._series.get((tag, code, reason))
        if known is None:
            quality = QUALITY_NAMES.get(code, "bad")
            tags = [("station", self.station), ("tag", tag)]
            extra = ""
            if self.quality_as == "tag":
                tags += [("quality", quality), ("reason", reason)]
            else:
                extra = f",quality={string_field(quality)},reason={string_field(reason)}"
            head = measurement(self.name) + "".join(f",{key(k)}={key(v)}" for k, v in tags if v)
            known = self._series[(tag, code, reason)] = (head, extra, tag in self.bool_tags)
        head, extra, as_bool = known
        value = field_value(row["value"], as_bool)
        ts = int(row["ts"]) * 1000
        if value is not None:
            return f"{head} value={value}{extra} {ts}"
        return f"{head} {extra[1:] or 'no_value=true'} {ts}"


def alarm_line(row: Mapping[str, Any], name: str, station: str) -> str:
    """An alarm event: alarm, kind, state and priority as tags; message, user, value and seq as fields."""
    tags = [
        ("station", station),
        ("alarm", str(row["alarm"])),
        ("kind", str(row["kind"])),
        ("state", str(row["state"])),
        ("priority", str(row["priority"])),
    ]
    fields = [("message", string_field(str(row["message"]))), ("user", string_field(str(row["user"])))]
    value = field_value(row.get("value"))
    if value is not None:
        fields.append(("value", value))
    fields.append(("seq", f"{int(row['seq'])}i"))  # the local sequence number, for reconciliation
    return line(name, tags, fields, int(row["ts"]) * 1000)


def audit_line(row: Mapping[str, Any], name: str, station: str) -> str:
    """An audit record: actor, origin, action, stage as tags; target, values, detail, hash, seq as fields.

    The values stay the trail's JSON text, exact (an int64 is not rounded through a float).
    """
    tags = [
        ("station", station),
        ("actor", str(row["actor"])),
        ("origin", str(row["origin"])),
        ("action", str(row["action"])),
        ("stage", str(row["stage"])),
    ]
    fields = [
        (key, string_field(str(row[key])))
        for key in ("target", "old", "value", "read_back", "detail", "request_id", "hash")
    ]
    fields.append(("seq", f"{int(row['seq'])}i"))
    return line(name, tags, fields, int(row["ts"]) * 1000)
