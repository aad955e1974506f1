"""A banner message too long for the strip ends in "…" on screen, and keeps its whole text."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from hmi.ui.alarm_strip import AlarmStrip

pytestmark = pytest.mark.gui

LONG = "04:27:12  HIGH  [active unacknowledged]  Tank 1 level high (87.9 %) and a long tail of text"


def test_a_long_message_is_drawn_cut_with_an_ellipsis_and_kept_whole(qtbot) -> None:
    strip = AlarmStrip()
    qtbot.addWidget(strip)
    strip.resize(420, 34)
    strip.text.setText(LONG)
    strip.show()
    qtbot.waitExposed(strip)
    width = strip.text.contentsRect().width()
    shown = strip.text.fontMetrics().elidedText(LONG, Qt.TextElideMode.ElideRight, width)
    assert shown.endswith("…") and len(shown) < len(LONG)
    assert strip.text.text() == LONG  # what tests, the tooltip and screen readers get
    assert not strip.grab().isNull()  # painted through the elided path
