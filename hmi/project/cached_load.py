"""The loader's use of the project cache: the key of one check, answering from an entry, writing one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmi.project import project_cache
from hmi.project.config import Project
from hmi.project.connection_files import file_problem
from hmi.project.errors import ProjectError


@dataclass(frozen=True, slots=True)
class Hit:
    """A cached check of the same files: valid, with ``project`` when it was asked for."""

    project: Project | None


def cached_inputs(folder: Path, project_file: Path, screen_files: list[Path]) -> project_cache.Inputs | None:
    """The cache key of checking these files, or ``None`` when the cache is off or a file is not plain."""
    if project_cache.cache_folder() is None:
        return None
    listing = [file.name for file in screen_files]
    return project_cache.project_inputs(folder.resolve(), [project_file, *screen_files], listing)


def from_cache(
    inputs: project_cache.Inputs,
    project_file: Path,
    warnings: list[ProjectError] | None,
    want_project: bool,
) -> Hit | None:
    """The cached answer for ``inputs`` (warnings added to ``warnings``), or ``None`` to check afresh.

    A file a connection names is looked at again: it may have gone since the check that was cached.
    """
    entry = project_cache.lookup(inputs)
    if entry is None or any(file_problem(Path(name)) is not None for name in entry.named_files):
        return None
    project = project_cache.load_payload(entry) if want_project else None
    if want_project and project is None:
        return None
    if warnings is not None:
        warnings += [ProjectError(project_file, line, message) for line, message in entry.warnings]
    return Hit(project)


def to_cache(
    inputs: project_cache.Inputs, project: Project, warnings: list[ProjectError], named: list[Path]
) -> None:
    """Remember a project that checked without errors, with its warnings (all in ``project.yaml``)."""
    project_cache.store(inputs, project, [(warning.line, warning.message) for warning in warnings], named)
