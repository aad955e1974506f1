"""Start the GUI: QApplication with a qasync loop, the runtime session, the main window, --for/--snapshot."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from hmi.core.station import StoreLocked
from hmi.project.config import Project
from hmi.project.errors import ProjectInvalid
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_thread_gc import MainThreadGarbageCollector
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession
from hmi.ui.stop_signals import StopSignals
from hmi.ui.theme import apply_theme

log = logging.getLogger(__name__)

EXIT_STORE_LOCKED = 3
"""Exit status when another process writes this project's store (the same as headless)."""


def _load(project_path: Path | None) -> Project:
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project

    return load_project(project_path or demo_project_dir())


def run_gui(
    project_path: Path | None,
    seconds: float | None = None,
    snapshot: Path | None = None,
    demo_data_dir: Path | None = None,
) -> int:
    """Run the window until it is closed, or for ``seconds`` then save ``snapshot``; returns the exit code."""
    import qasync

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Converge HMI")
    apply_theme(app)
    try:
        project = _load(project_path)
    except ProjectInvalid as invalid:
        for error in invalid.errors:
            print(error, file=sys.stderr)
        if seconds is None:
            from hmi.ui.invalid_project_dialog import InvalidProjectDialog

            InvalidProjectDialog(invalid.errors).exec()
        return 2

    collector = MainThreadGarbageCollector()
    collector.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    bridge = RuntimeBridge()
    session = GuiSession(project, bridge, demo_data_dir)
    window = MainWindow(project, session)
    window.show()
    stop_signals = StopSignals(window.close)
    exit_code = 0

    def refuse(locked: StoreLocked) -> None:
        nonlocal exit_code
        exit_code = EXIT_STORE_LOCKED
        print(locked, file=sys.stderr)
        if seconds is None:  # a person started it: say why it will not run; scripts read stderr
            QMessageBox.critical(window, "Converge HMI is already running", str(locked))
        window.close()

    window.relay.watch(session.start(), lambda f: _on_started(window, f, refuse))

    if seconds is not None:

        def finish() -> None:
            nonlocal exit_code
            if snapshot is not None:
                snapshot.parent.mkdir(parents=True, exist_ok=True)
                if not window.grab().save(str(snapshot)):
                    print(f"could not write {snapshot}", file=sys.stderr)
                    exit_code = 1
            window.close()

        QTimer.singleShot(round(seconds * 1000), finish)

    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    stop_signals.restore()
    session.stop()
    collector.stop()
    log.info("stopped; history flushed to %s", session.history_path)
    return exit_code


def _on_started(window: MainWindow, future: object, refuse: Callable[[StoreLocked], None]) -> None:
    error = future.exception()  # type: ignore[attr-defined]
    if isinstance(error, StoreLocked):
        refuse(error)
        return
    if error is not None:
        log.error("runtime failed to start: %s", error)
        window.message.setText(f"Runtime failed to start: {error}")
        return
    window.on_runtime_started()
    if not window.session.is_demo:  # a first run on a new installation asks for its administrator
        window.user_panel.ask_for_administrator()
