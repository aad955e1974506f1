"""A calm, high-performance HMI look (ISA-101): grey surfaces, colour kept for abnormal states."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from hmi.core.resources import resources_dir


def apply_theme(app: QApplication) -> None:
    """Apply the bundled stylesheet, if present."""
    qss = resources_dir() / "themes" / "operator.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
