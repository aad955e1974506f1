"""Render the trend viewer over a generated day of demo history into a PNG (the documentation screenshot).

QT_QPA_PLATFORM=offscreen python -m tools.trend_screenshot docs/screenshots/trend-24h.png
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hmi.core.resources import demo_project_dir
from hmi.project.config import TrendDef
from hmi.project.loader import load_project
from tools.demo_history import OUTAGE, generate_history
from tools.demo_window import process_events_until, themed_app

PENS = ("TANK1.LEVEL", "TANK1.TEMP", "PUMP1.VIBRATION")
DAY = 86400.0


def render(out: Path, size: tuple[int, int] = (1400, 760), hours: float = 24.0) -> None:
    """Generate history, open the panel on it with the 24 h preset, place the cursor and save ``out``."""
    from hmi.ui.futures import FutureRelay
    from hmi.ui.trend_panel import TrendPanel

    app = themed_app()
    end = float(int(time.time()) // 60 * 60)
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.db"
        generate_history(history, hours=hours, step=5.0, end=end)
        project = load_project(demo_project_dir())
        trend = TrendDef("tank1_day", "Tank 1 — last 24 hours", PENS, DAY)
        relay = FutureRelay()
        panel = TrendPanel(trend, project, relay, clock=lambda: end)
        panel.resize(*size)
        panel.show()
        app.processEvents()
        panel.backfill(history)
        process_events_until(app, lambda: panel.backfilled, seconds=30, step=0.01)
        # the cursor just after the PLC link came back: one pen bad, the OPC UA pens good
        outage_end = end - hours * 3600 + OUTAGE[1] * hours * 3600
        panel.trend.cursor.place(outage_end - 600)
        panel.trend.refresh()
        app.processEvents()
        panel.grab().save(str(out), "PNG")
        panel.close_panel()
        relay.close()
        panel.deleteLater()
        app.processEvents()


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshot."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    render(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
