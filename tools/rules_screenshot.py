"""Screenshot of the demo during a bearing degradation: the pump screen, the rules view, the maintenance list.

QT_QPA_PLATFORM=offscreen python -m tools.rules_screenshot docs/screenshots/rules-view.png

The demo plant runs its pump in manual (so it keeps running) with a bearing that wears out in 40 s;
after ``--seconds`` the window is saved with the rules view open beside the alarm summary.
"""

from __future__ import annotations

from pathlib import Path

from tools.demo_window import demo_window, save_png, screenshot_arguments


async def _wear_fast(plant: object) -> None:
    process = plant.process  # type: ignore[attr-defined]
    process.auto, process.command = False, True
    process.start_bearing_wear(1 / 40)


def render(out: Path, seconds: float) -> int:
    """Run the demo window, wear the bearing, open the rules view and save the window to ``out``."""
    from PySide6.QtCore import Qt

    with demo_window() as demo:
        session, window = demo.session, demo.window

        def started() -> None:
            assert session.plant_thread is not None
            session.plant_thread.submit(_wear_fast(session.plant))
            window.show_screen("pump1")
            dock = window.show_rules_view()
            window.resizeDocks([dock], [330], Qt.Orientation.Vertical)

        def finish() -> None:
            save_png(window, out)
            window.close()

        demo.run(seconds, started, finish)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshot."""
    parser = screenshot_arguments(__doc__.splitlines()[0], seconds=45.0)
    args = parser.parse_args(argv)
    code = render(args.out, args.seconds)
    print(f"wrote {args.out}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
