"""Where the installation's security files live: the per-machine data folder, not the project.

Projects are kept in git and copied between machines; users and their password hashes belong to
the installation. ``CONVERGE_HMI_DATA_DIR`` overrides the folder (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "CONVERGE_HMI_DATA_DIR"
USERS_FILE = "users.db"


def data_dir() -> Path:
    """The per-machine data folder (``C:\\ProgramData\\converge-hmi`` on Windows), or the override."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.site_data_dir("converge-hmi", appauthor=False))


def users_path() -> Path:
    """The users store of this installation."""
    return data_dir() / USERS_FILE


def audit_path(history_path: Path) -> Path:
    """The audit trail of a project: a file of its own beside the project's history database."""
    return history_path.with_name(f"{history_path.stem}-audit.db")
