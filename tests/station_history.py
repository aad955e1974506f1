"""A whole station on a project text, and what its history file says of each tag's quality over time."""

from __future__ import annotations

import textwrap
from itertools import groupby
from pathlib import Path

from hmi.core.station import Station
from hmi.historian.reader import HistoryReader
from hmi.model import Quality
from hmi.project.loader import load_project


def station_on(folder: Path, text: str) -> Station:
    """A station (not started) for the project ``text`` written into ``folder``, history in history.db."""
    (folder / "project.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return Station(load_project(folder), folder / "history.db")


def all_quality(station: Station, quality: Quality) -> bool:
    """Whether every tag of the project has ``quality`` now."""
    values = station.runtime.values
    return all(values[name].quality is quality for name in station.project.tags)


def transitions(rows: list) -> list[tuple[Quality, str]]:
    """(quality, reason) of each run of equal rows, in time order."""
    return [key for key, _ in groupby((row.quality, row.reason) for row in rows)]


def quality_runs(station: Station) -> dict[str, list[tuple[Quality, str]]]:
    """Tag name -> the (quality, reason) runs of its history, in the project's tag order."""
    reader = HistoryReader(station.history_path)
    try:
        return {name: transitions(list(reader.iter_rows(name))) for name in station.project.tags}
    finally:
        reader.close()
