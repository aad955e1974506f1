"""The trend panel backfills from a real history file off the GUI thread and follows the live data."""

import time
from pathlib import Path

import numpy as np
import pytest

from hmi.historian.writer import HistoryWriter
from hmi.model import DataType, Reason, Sample, TagDef
from hmi.project.config import HistorySettings, Project, TrendDef
from hmi.ui.futures import FutureRelay
from hmi.ui.trend_panel import TrendPanel

pytestmark = pytest.mark.gui


def project_with(trend):
    tags = {
        name: TagDef(name, "plc", f"hr:{i * 2}", DataType.FLOAT32, units="%")
        for i, name in enumerate(trend.pens)
    }
    return Project(
        name="t",
        root=Path("."),
        connections={},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("h.db")),
        screens={},
        trends={trend.name: trend},
    )


def write_history(path, now):
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    for i in range(300):
        writer.append("A", Sample.good(float(i), ts=now - 300 + i))
        sample = (
            Sample.bad(Reason.COMM_FAILURE, ts=now - 300 + i)
            if 100 <= i < 120
            else Sample.good(1.0, now - 300 + i)
        )
        writer.append("B", sample)
    writer.stop()


def test_backfill_draws_history_with_bad_spans_as_gaps_then_appends_live(qtbot, tmp_path):
    now = time.time()
    write_history(tmp_path / "history.db", now)
    trend = TrendDef("t", "Test", ("A", "B"), span=600)
    relay = FutureRelay()
    panel = TrendPanel(trend, project_with(trend), relay)
    qtbot.addWidget(panel)
    panel.show()
    panel.backfill(tmp_path / "history.db")
    qtbot.waitUntil(lambda: panel.backfilled, timeout=5000)
    ts, values = panel.trend.data("A")
    assert len(ts) >= 300 and values[0] == 0.0
    _, b_values = panel.trend.data("B")
    assert np.isnan(b_values).sum() >= 20
    panel.apply_values({"A": Sample.good(999.0)})
    assert panel.trend.data("A")[1][-1] == 999.0
    panel.close_panel()


def test_live_button_follows_pause_and_resumes(qtbot, tmp_path):
    trend = TrendDef("t", "Test", ("A",), span=60)
    panel = TrendPanel(trend, project_with(trend), FutureRelay())
    qtbot.addWidget(panel)
    panel.show()
    panel.trend.pause()
    assert not panel.live_button.isChecked()
    panel.live_button.click()
    assert not panel.trend.paused and panel.live_button.isChecked()
    panel.close_panel()
