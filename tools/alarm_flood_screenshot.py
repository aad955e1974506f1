"""Screenshots of the demo during an alarm flood: the banner and alarm summary, then the alarm report page.

HMI_WINDOW_SIZE=1280x800 python -m tools.alarm_flood_screenshot docs/screenshots  (offscreen by default)

After the demo starts, its Demo menu's "Alarm flood" starts a surge on the tank's instruments.
``alarm-flood.png`` is saved mid-flood: the banner with its flood badge and the alarm summary
with the flood grouped (first out shown, the rest folded), the alarm report page open in the
tab beside it; once the surge is over ``alarm-report.png`` is saved with the report page in
front. ``--data-dir`` keeps the demo's journal, so that ``hmi alarms report demo --data-dir DIR``
can be run on the same flood.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tools.demo_window import demo_window, save_png

FLOOD_AT_MS = 3000
BESIDE_AT_MS = 22000
SUMMARY_AT_MS = 30000
REPORT_AT_MS = 46000
DONE_AT_MS = 50000


def render(out: Path, data_dir: Path | None) -> int:
    """Run the demo window, start the flood, and save the two screenshots into ``out``."""
    from PySide6.QtCore import Qt, QTimer

    from hmi.ui.alarm_report_view import show_alarm_report

    out.mkdir(parents=True, exist_ok=True)
    with demo_window(data_dir=data_dir) as demo:
        window = demo.window

        def save(name: str) -> None:
            save_png(window, out / name)
            print(f"wrote {out / name}")

        def started() -> None:
            if window.sync_dock is not None:  # tabbed with the summary: out of the picture
                window.sync_dock.hide()
            window.alarm_dock.show()
            window.alarm_dock.raise_()
            QTimer.singleShot(FLOOD_AT_MS, window.alarm_flood.trigger)
            QTimer.singleShot(BESIDE_AT_MS, report_beside)
            QTimer.singleShot(SUMMARY_AT_MS, lambda: save("alarm-flood.png"))
            QTimer.singleShot(REPORT_AT_MS, lambda: show_alarm_report(window))
            QTimer.singleShot(DONE_AT_MS, finish)

        def report_beside() -> None:
            show_alarm_report(window)  # a tab beside the summary, as View > Alarm report opens it
            window.alarm_dock.show()  # the window may have folded it away to keep the mimic readable
            window.alarm_dock.raise_()
            window.resizeDocks([window.alarm_dock], [330], Qt.Orientation.Vertical)

        def finish() -> None:
            save("alarm-report.png")
            window.close()

        demo.run(0, started, None)  # every step is timed from the start, in ``started``
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshots."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--data-dir", type=Path, help="keep the demo's history and journal here")
    args = parser.parse_args(argv)
    return render(args.out, args.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())
