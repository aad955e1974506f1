"""Where a project keeps its history, without loading the whole project (``hmi history export``).

Exporting needs one path. A valid project checked before answers from the cache
entry's header; otherwise only ``project.yaml`` is read (libyaml's fast path
when it can) and only its ``history`` section judged, at its lines. Tags,
alarms and screens are neither checked nor built: an export of last week's
history works while an engineer is half-way through editing this week's tags.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hmi.project import project_cache
from hmi.project.cached_load import cached_inputs
from hmi.project.errors import Issue, Loc, ProjectError, ProjectInvalid, issues_from_validation
from hmi.project.loader import PROJECT_FILE, SCREENS_FOLDER, _find_screen_files
from hmi.project.schema import HistorySpec
from hmi.project.yaml_source import read_yaml

SECTION = "history"


def history_path(path: Path | str) -> Path:
    """The history database of the project at ``path`` (its folder or its ``project.yaml``).

    Raises :class:`ProjectInvalid` when the file cannot be read or its ``history`` section is wrong.
    """
    path = Path(path)
    folder, project_file = (path.parent, path) if path.is_file() else (path, path / PROJECT_FILE)
    if not folder.is_dir():
        raise ProjectInvalid([ProjectError(path, 0, "no such project folder")])
    if not os.path.lexists(project_file):
        missing = f"no {PROJECT_FILE} in the project folder {folder}"
        raise ProjectInvalid([ProjectError(project_file, 0, missing)])
    cached = _from_cache(folder, project_file)
    return cached if cached is not None else _read_history(folder, project_file)


def _from_cache(folder: Path, project_file: Path) -> Path | None:
    screen_files, errors = _find_screen_files(folder / SCREENS_FOLDER)
    inputs = None if errors else cached_inputs(folder, project_file, screen_files)
    entry = project_cache.lookup(inputs) if inputs is not None else None
    return Path(entry.history_path) if entry is not None else None


def _read_history(folder: Path, project_file: Path) -> Path:
    document, errors = read_yaml(project_file, project_file)
    if document is None or errors:  # unreadable, or a key given twice: which history would be meant?
        raise ProjectInvalid(errors)
    data = document.data
    if not isinstance(data, dict):
        not_a_mapping = Issue((), f"{PROJECT_FILE} must be a mapping: name, connections, tags...")
        raise ProjectInvalid([document.error(not_a_mapping)])
    section = data.get(SECTION)
    try:
        spec = HistorySpec.model_validate({} if section is None else section)
    except ValidationError as exc:
        issues = issues_from_validation(exc, section, HistorySpec, _history_subject)
        located = [document.error(Issue((SECTION, *issue.loc), issue.message)) for issue in issues]
        raise ProjectInvalid(located) from None
    return spec.to_settings(folder.resolve()).path


def _history_subject(loc: Loc, data: Any) -> tuple[str, Loc]:
    """Messages read as the whole check's do: ``history: retention: ...``."""
    return SECTION, loc
