"""Screenshot of the demo with an active alarm: the PLC's Modbus link cut, the banner and the alarm summary.

HMI_WINDOW_SIZE=1280x800 python -m tools.alarms_screenshot docs/screenshots/alarms.png  (offscreen by default)
python -m tools.alarms_screenshot docs/alarm-views.png --screen pump1 --select   (the marks and the guidance)

After the demo starts, its Demo menu's "Cut the PLC's Modbus link" is ticked: the connection's
built-in link-lost alarm is raised and the PLC's values go bad. The window is saved ``--seconds``
later with the alarm summary in front.
"""

from __future__ import annotations

from pathlib import Path

from tools.demo_window import demo_window, save_png, screenshot_arguments


def render(out: Path, seconds: float, screen: str | None = None, select: bool = False) -> int:
    """Run the demo window, cut the PLC link, bring the alarm summary forward and save the window."""
    from PySide6.QtCore import Qt, QTimer

    with demo_window() as demo:
        window = demo.window

        def started() -> None:
            QTimer.singleShot(3000, lambda: window.cut_modbus.setChecked(True))
            window.alarm_dock.show()
            window.alarm_dock.raise_()

        def finish() -> None:
            if screen is not None:
                window.show_screen(screen)
            table = window.alarm_panel.table
            if select and table.rowCount():
                table.selectRow(0)  # the guidance pane shows the top alarm's cause and action
                window.resizeDocks([window.alarm_dock], [340], Qt.Orientation.Vertical)
            QTimer.singleShot(600, save)  # the docks settle their new sizes first

        def save() -> None:
            save_png(window, out)
            window.close()

        demo.run(seconds, started, finish)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshot."""
    parser = screenshot_arguments(__doc__.splitlines()[0], seconds=12.0)
    parser.add_argument("--screen", help="the screen in front when the window is saved")
    parser.add_argument("--select", action="store_true", help="select the top alarm (its guidance shows)")
    args = parser.parse_args(argv)
    code = render(args.out, args.seconds, args.screen, args.select)
    print(f"wrote {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
