"""The set-up the screenshot tools share: a themed application, the demo window offscreen, a timed grab.

Qt is imported inside the functions so that a tool's ``main`` can choose the platform (offscreen) first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from hmi.project.config import Project
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession


def themed_app() -> QApplication:
    """The running application, or a new one, with the house theme applied."""
    from PySide6.QtWidgets import QApplication

    from hmi.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def process_events_until(app: QApplication, done: Callable[[], bool], seconds: float, step: float) -> None:
    """Let Qt run until ``done()`` is true or ``seconds`` have passed (a tool's bounded wait, no loop)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        if done():
            return
        time.sleep(step)


def screenshot_arguments(
    description: str, seconds: float, out_help: str | None = None
) -> argparse.ArgumentParser:
    """A tool's command line: where to write (``out``) and how long the demo runs first (``--seconds``).

    The offscreen platform is chosen here, unless one is set, so that the tools run without a display.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", type=Path, help=out_help)
    parser.add_argument("--seconds", type=float, default=seconds)
    return parser


def save_png(widget: Any, out: Path) -> None:
    """Grab ``widget`` into the PNG ``out``, making its folder first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(out), "PNG")


@dataclass
class DemoWindow:
    """The demo project's main window on a running qasync loop, its session and its scratch folder."""

    app: QApplication
    loop: Any  # a qasync.QEventLoop: also the context manager that runs it
    project: Project
    session: GuiSession
    window: MainWindow
    folder: Path

    def run(
        self, seconds: float, when_started: Callable[[], None], when_due: Callable[[], None] | None
    ) -> None:
        """Start the runtime, call ``when_started`` once it runs and ``when_due`` after ``seconds``.

        Returns when the last window closes (``when_due``, or a later step it schedules, closes it).
        With ``when_due`` None, ``when_started`` schedules the steps itself, timed from the start.
        """
        from PySide6.QtCore import QTimer

        def started(_future: object) -> None:
            self.window.on_runtime_started()
            when_started()

        self.window.relay.watch(self.session.start(), started)
        if when_due is not None:
            QTimer.singleShot(round(seconds * 1000), when_due)
        closed = asyncio.Event()
        self.app.lastWindowClosed.connect(closed.set)
        with self.loop:
            self.loop.run_until_complete(closed.wait())


@contextmanager
def demo_window(
    prepare: Callable[[Path], None] | None = None, data_dir: Path | None = None
) -> Iterator[DemoWindow]:
    """The demo window shown on a fresh scratch folder; ``prepare(folder)`` runs before the project loads.

    The session keeps its history in ``data_dir`` (kept afterwards), else in the scratch folder.
    The session is stopped (history flushed) on the way out.
    """
    import qasync

    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    app = themed_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if prepare is not None:
            prepare(folder)
        project = load_project(demo_project_dir())
        session = GuiSession(project, RuntimeBridge(), folder / "demo" if data_dir is None else data_dir)
        window = MainWindow(project, session)
        window.show()
        try:
            yield DemoWindow(app, loop, project, session, window, folder)
        finally:
            session.stop()
