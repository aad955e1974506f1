"""Save a trend (its pens and span) into ``project.yaml``'s ``trends:`` section, touching nothing else.

Engineers keep project files in git, so a save from the operator's trend
viewer must produce a one-line diff: the edit goes through
:class:`~hmi.project.document.ProjectDocument`, which rewrites only the lines
of the ``trends:`` entry and replaces the file atomically, so a crash mid-save
leaves the old file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hmi.project.document import ProjectDocument, trend_fields
from hmi.project.units import format_duration
from hmi.project.yaml_flow import entry

SECTION = "trends"
format_span = format_duration  # the name the trend viewer and its tests know


def trend_entry(name: str, pens: Sequence[str], span: float, title: str | None) -> str:
    """One ``trends:`` entry on one line, in the style of the demo project."""
    return entry(name, trend_fields(pens, span, title))


def save_trend(
    project_file: Path, name: str, pens: Sequence[str], span: float, title: str | None = None
) -> None:
    """Write trend ``name`` with ``pens`` and ``span`` (seconds); an existing title stays unless given.

    Raises ``ValueError`` for an empty pen list, a non-positive span or a file that
    is not a YAML mapping (``DocumentError``, naming the file and line).
    """
    if not pens:
        raise ValueError("a trend needs at least one pen")
    if span <= 0:
        raise ValueError("a trend's span must be positive")
    document = ProjectDocument.load(project_file)
    document.set_trend(name, pens, span, title)
    document.save()
