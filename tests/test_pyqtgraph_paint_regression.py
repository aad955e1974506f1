"""Guard against the PySide6 6.12.0 + CPython 3.11 abort (Fatal Python error: none_dealloc).

That release drops a reference to ``None`` on every Qt call returning nothing;
after a few thousand paint calls the interpreter dies, often on the first
pyqtgraph frames. The painting runs in a child process so that an abort shows
up as a failed test with its output, not as a vanished test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

FRAMES = 3000

PAINT_LOOP = textwrap.dedent(
    f"""
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    plot = pg.PlotWidget(axisItems={{"bottom": pg.DateAxisItem(orientation="bottom")}})
    plot.resize(240, 160)
    item = plot.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    x = np.arange(400.0)
    curves = [item.plot(x, np.sin(x / (8 + i)) + i, pen=pg.mkPen(pg.intColor(i), width=1)) for i in range(3)]
    image = QImage(240, 160, QImage.Format.Format_ARGB32)
    for frame in range({FRAMES}):
        if frame % 100 == 0:
            y = np.sin((x + frame) / 8)
            y[50:60] = np.nan  # a bad-quality gap, as the trend draws it
            curves[0].setData(x, y, connect="finite")
        image.fill(0)
        painter = QPainter(image)
        plot.render(painter)
        painter.end()
    print("painted", frame + 1)
    """
)


def test_painting_a_plot_thousands_of_times_does_not_abort():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PAINT_LOOP], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, f"paint loop died ({done.returncode}):\n{done.stderr[-2000:]}"
    assert done.stdout.strip() == f"painted {FRAMES}"


def test_installed_pyside6_is_not_the_release_that_aborts_on_python_311():
    import PySide6

    if sys.version_info >= (3, 12):
        pytest.skip("None is immortal from CPython 3.12 on")
    assert not PySide6.__version__.startswith("6.12.0"), (
        "PySide6 6.12.0 aborts CPython 3.11 with none_dealloc: pin PySide6-Essentials < 6.12"
    )
