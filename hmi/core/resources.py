"""Where the bundled resources (demo project, themes, icons) live, installed or frozen."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The ``resources`` folder: beside the packages in a checkout or wheel, or in a frozen bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    import resources

    return Path(resources.__file__).parent


def demo_project_dir() -> Path:
    """The bundled demo project folder."""
    return resources_dir() / "demo"
