"""The live trend of a saved trend definition: backfilled from history on open, then fed by the bridge."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hmi.historian.reader import HistoryReader
from hmi.model import Sample
from hmi.project.config import Project, TrendDef
from hmi.ui.futures import FutureRelay
from widgets.trend import TrendWidget

log = logging.getLogger(__name__)

Backfill = dict[str, tuple[Any, Any, Any]]


class TrendPanel(QWidget):
    """A titled TrendWidget bound to the pens of one TrendDef."""

    def __init__(
        self, trend: TrendDef, project: Project, relay: FutureRelay, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.trend_def = trend
        self.relay = relay
        self.title = QLabel(trend.title)
        self.title.setObjectName("panel-title")
        # Panning or zooming pauses the scrolling; this button brings the operator back to "now".
        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("Follow the newest values (pan or zoom the chart to pause)")
        self.trend = TrendWidget(self)
        self.trend.set_span(trend.span)
        for pen in trend.pens:
            tag = project.tags.get(pen)
            self.trend.add_pen(pen, tag.units if tag else "")
        self.trend.sig_paused_changed.connect(lambda paused: self.live_button.setChecked(not paused))
        self.live_button.toggled.connect(self._on_live_toggled)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.trend, 1)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmi-trend")
        self.backfilled = False

    def _on_live_toggled(self, live: bool) -> None:
        if live:
            self.trend.resume()
        else:
            self.trend.pause()

    def backfill(self, history_path: Path) -> None:
        """Load the trend's span from history off the GUI thread, then draw it."""
        if not history_path.exists():
            self.backfilled = True
            return
        end = time.time()
        future = self._executor.submit(
            _read_history, history_path, self.trend_def.pens, end - self.trend_def.span, end
        )
        self.relay.watch(future, self._on_backfill)

    def _on_backfill(self, future: concurrent.futures.Future[Backfill]) -> None:
        try:
            series = future.result()
        except Exception:
            log.exception("trend backfill failed")
            return
        for pen, (ts, values, quality) in series.items():
            self.trend.set_history(pen, ts, values, quality)
        self.backfilled = True

    def apply_values(self, values: dict[str, Sample]) -> None:
        """Append the frame's samples of this trend's pens."""
        for pen in self.trend_def.pens:
            sample = values.get(pen)
            if sample is not None:
                self.trend.append(pen, sample)

    def close_panel(self) -> None:
        """Stop the trend's timer and the history worker."""
        self.trend.close()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _read_history(path: Path, pens: tuple[str, ...], start: float, end: float) -> Backfill:
    reader = HistoryReader(path)
    known = set(reader.tag_names())
    return {pen: reader.arrays(pen, start, end) for pen in pens if pen in known}
