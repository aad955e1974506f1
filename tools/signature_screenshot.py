"""Screenshot of the write confirmation and the double-signature dialog, side by side.

QT_QPA_PLATFORM=offscreen python -m tools.signature_screenshot docs/security-signature.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.demo_window import themed_app


def render(out: Path) -> int:
    """Build both dialogs as an operator sees them (a signature half typed) and save them as one PNG."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from hmi.model import ConfirmMode, DataType, Sample, TagDef
    from hmi.ui.write_confirm import WriteConfirmDialog

    app = themed_app()
    start = TagDef(
        "PUMP1.CMD", "plc1", "co:2", DataType.BOOL, description="Pump 1 manual start command",
        writable=True, confirm=ConfirmMode.CONFIRM,
    )  # fmt: skip
    kiln = TagDef(
        "KILN.TEMP_SP", "plc1", "hr:20", DataType.UINT16, units="°C", description="Kiln temperature setpoint",
        writable=True, confirm=ConfirmMode.DOUBLE,
    )  # fmt: skip
    confirm = WriteConfirmDialog(start, Sample.good(False, 0.0), True)
    signature = WriteConfirmDialog(kiln, Sample.good(860, 0.0), 900, signer="olga")
    signature.reason.setText("trial firing, batch 118")
    signature.password.setText("x" * 14)
    signature.verifier.setText("otto")
    signature.verifier_password.setText("x" * 12)
    shots = []
    for dialog in (confirm, signature):
        dialog.resize(max(dialog.sizeHint().width(), 420), dialog.sizeHint().height())
        dialog.show()
        app.processEvents()
        shots.append(dialog.grab().toImage())
    gap = 24
    width = sum(s.width() for s in shots) + gap * 3
    height = max(s.height() for s in shots) + gap * 2
    sheet = QImage(width, height, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#d9dde3"))
    painter = QPainter(sheet)
    x = gap
    for shot in shots:
        painter.drawImage(x, gap, shot)
        x += shot.width() + gap
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(str(out), "PNG")
    for dialog in (confirm, signature):
        dialog.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("out", type=Path, help="the PNG to write")
    return render(parser.parse_args(argv).out)


if __name__ == "__main__":
    raise SystemExit(main())
