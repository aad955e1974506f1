"""Screenshots of the log-on dialog, the toolbar user and the audit viewer, on the demo with fresh users.

QT_QPA_PLATFORM=offscreen python -m tools.security_screenshot docs

Writes ``security-logon.png`` (the dialog after a wrong password), ``security-toolbar.png`` (the
window with an operator logged on: the toolbar user at the right of the status bar) and
``security-audit.png`` (View > Audit trail after a refused log-on, a log-on and two writes).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from tools.demo_window import demo_window, save_png, screenshot_arguments

FILES = ("security-logon.png", "security-toolbar.png", "security-audit.png")


def render(out: Path, seconds: float) -> int:
    """Run the demo window with two users, act as one, and save the dialog, the window and the viewer."""
    from PySide6.QtCore import QTimer

    from hmi.security.paths import DATA_DIR_ENV, users_path
    from hmi.security.users import UserStore
    from hmi.ui.user_panel import LogOnDialog

    password = secrets.token_urlsafe(12) + "7a"

    def add_users(folder: Path) -> None:
        os.environ[DATA_DIR_ENV] = str(folder / "machine")
        store = UserStore(users_path())
        store.add_user("ada", "administrator", password)
        store.add_user("olga", "operator", password)

    with demo_window(prepare=add_users) as demo:
        session, window = demo.session, demo.window
        dialog = LogOnDialog(session, window.relay, window)

        def started() -> None:
            dialog.user.setText("olga")
            dialog.password.setText("not her password 1")
            dialog.submit()  # the dialog shows the refusal
            window.relay.watch(session.log_on("olga", password), logged_on)

        def logged_on(future: Any) -> None:
            result = future.result()
            window.user_panel.logged_on, window.user_panel.role = result.ok, result.role
            window.user_panel.refresh()
            session.write("PUMP1.SPEED_SP", 1150)
            session.write("VALVE1.POSITION_SP", 180)  # past its limits: refused and audited as such

        def finish() -> None:
            dialog.show()
            save_png(dialog, out / FILES[0])
            save_png(window, out / FILES[1])
            dialog.close()
            viewer = window.show_audit_view()
            viewer.resize(1180, 420)

            def shot() -> None:
                if getattr(viewer, "verdict", None) is None:
                    QTimer.singleShot(200, shot)  # bounded by the chain check of a short trail
                    return
                save_png(viewer, out / FILES[2])
                viewer.close()
                window.close()

            QTimer.singleShot(500, shot)

        demo.run(seconds, started, finish)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: write the screenshots."""
    parser = screenshot_arguments(
        __doc__.splitlines()[0], seconds=15.0, out_help="folder for the PNG files (docs/)"
    )
    args = parser.parse_args(argv)
    code = render(args.out, args.seconds)
    print("wrote " + ", ".join(str(args.out / name) for name in FILES))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
