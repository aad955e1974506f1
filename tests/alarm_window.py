"""A real PLC, runtime and main window on a project of two alarms that the PLC's values raise at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modbus_peer import plc_on_thread
from project_files import write_project

from hmi.project.loader import load_project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

RAISING_REGISTERS = [95, 99] + [0] * 48
"""hr:0 = 95 and hr:1 = 99: above both alarms' limits from the first poll."""


@contextmanager
def alarm_window(
    qtbot: Any,
    root: Path,
    free_port: Callable[[], int],
    project: str,
    screens: dict[str, str],
    on_started: Callable[[MainWindow], None] = lambda _window: None,
) -> Iterator[tuple[MainWindow, GuiSession]]:
    """The window shown and active, its session started, once both alarms are in the summary.

    ``project`` is formatted with the PLC's port; ``on_started(window)`` runs once the runtime is up.
    """
    with plc_on_thread(free_port(), RAISING_REGISTERS) as (port, _server, _thread):
        loaded = load_project(write_project(root, project.format(port=port), screens))
        session = GuiSession(loaded, RuntimeBridge())
        window = MainWindow(loaded, session)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()
        window.relay.watch(session.start(), lambda _future: on_started(window))
        try:
            qtbot.waitUntil(lambda: len(window.alarm_panel.rows) == 2, timeout=20000)
            yield window, session
        finally:
            window.close()
            session.stop()
