"""Screenshot of the demo during a bearing degradation: the pump screen, the rules view, the maintenance list.

QT_QPA_PLATFORM=offscreen python -m tools.rules_screenshot docs/screenshots/rules-view.png

The demo plant runs its pump in manual (so it keeps running) with a bearing that wears out in 40 s;
after ``--seconds`` the window is saved with the rules view open beside the alarm summary.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path


async def _wear_fast(plant: object) -> None:
    process = plant.process  # type: ignore[attr-defined]
    process.auto, process.command = False, True
    process.start_bearing_wear(1 / 40)


def render(out: Path, seconds: float) -> int:
    """Run the demo window, wear the bearing, open the rules view and save the window to ``out``."""
    import qasync
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession
    from hmi.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        project = load_project(demo_project_dir())
        session = GuiSession(project, RuntimeBridge(), Path(folder))
        window = MainWindow(project, session)
        window.show()

        def started(_future: object) -> None:
            window.on_runtime_started()
            assert session.plant_thread is not None
            session.plant_thread.submit(_wear_fast(session.plant))
            window.show_screen("pump1")
            dock = window.show_rules_view()
            window.resizeDocks([dock], [330], Qt.Orientation.Vertical)

        window.relay.watch(session.start(), started)

        def finish() -> None:
            out.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(out), "PNG")
            window.close()

        QTimer.singleShot(round(seconds * 1000), finish)
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        with loop:
            loop.run_until_complete(closed.wait())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshot."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args(argv)
    code = render(args.out, args.seconds)
    print(f"wrote {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
