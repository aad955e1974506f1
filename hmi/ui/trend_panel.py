"""The trend viewer: a saved trend's pens, live from the bridge or loaded from history as the operator pans.

Live, the chart scrolls over buffers backfilled from history and fed by the
bridge. Panning, zooming or picking a range in the past pauses it and loads
the visible range through the historian's downsampling query in a worker
(:mod:`hmi.ui.trend_history`); "Live" brings the scrolling back.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from hmi.model import Sample
from hmi.model.symbols import display_format
from hmi.project.config import Project, TrendDef
from hmi.project.document import trend_fields
from hmi.project.trend_store import save_trend
from hmi.security.audit import SAVE_TREND
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import SignalLinks
from hmi.ui.tag_picker import TagPicker, trendable
from hmi.ui.trend_export import export_history_csv, write_trend_csv
from hmi.ui.trend_history import HistoryLoader, LoadedRange, RangeRequest
from hmi.ui.trend_toolbar import TrendToolbar
from widgets.trend import TrendWidget
from widgets.trend_buffer import window
from widgets.trend_pen_table import PenTable

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

log = logging.getLogger(__name__)

PROJECT_FILE = "project.yaml"
HISTORY_MARGIN = 0.25
"""Share of the visible width loaded on each side, so a short pan shows data before the next load lands."""
POINTS_PER_PIXEL = 2  # a min and a max per pixel column keeps every peak


class TrendPanel(QWidget):
    """Toolbar, chart and pen table for one trend at a time; opens any trend of the project."""

    sig_trend_saved = Signal(str, object, object, str)
    """(trend, fields before or None, fields asked for, error or ""): a save into project.yaml, audited."""

    def __init__(
        self,
        trend: TrendDef,
        project: Project,
        relay: FutureRelay,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
        refresh_hz: float | None = None,
        project_file: Path | None = None,
        can_save: bool = True,
    ) -> None:
        super().__init__(parent)
        self.trend_def = trend
        self.project = project
        self.tag_defs = project.every_tag()  # system tags too: a trend may show a link's state
        self.relay = relay
        self.permit: Callable[[str, str], str | None] | None = None
        """Asks the runtime side whether (action, target) is allowed for the acting user; None: no check."""
        self.project_file = project_file or project.root / PROJECT_FILE
        self._clock = clock
        self.title = QLabel(trend.title)
        self.title.setObjectName("panel-title")
        self.status = QLabel("")
        self.status.setObjectName("trend-status")
        self.toolbar = TrendToolbar(self)
        self.live_button = self.toolbar.live_button
        if not can_save:
            save = self.toolbar.action_buttons["Save trend"]
            save.setEnabled(False)
            save.setToolTip("The built-in demo project is read-only; run your own project to save trends")
        self.trend = TrendWidget(self, span=trend.span, clock=clock)
        if refresh_hz is not None:
            self.trend.set_refresh_rate(refresh_hz)
        self.pen_table = PenTable(self)
        self.loader = HistoryLoader(relay, self)
        self.backfilled = False
        self.preset_span = trend.span
        """The span Reset returns to: the last preset chosen, else the trend's own."""
        self._links = SignalLinks()
        self._context: PanelContext | None = None

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.trend, 1)
        layout.addWidget(self.pen_table)
        self._connect()
        self._set_pens(trend.pens)
        self.toolbar.mark_preset(trend.span)

    def _connect(self) -> None:
        self.toolbar.sig_preset_chosen.connect(self.set_preset)
        self.toolbar.sig_custom_range_chosen.connect(self.show_range)
        self.toolbar.sig_live_toggled.connect(self._on_live_toggled)
        self.toolbar.sig_reset_requested.connect(self.reset_view)
        self.trend.sig_reset_requested.connect(self.reset_view)
        self.toolbar.sig_add_pen_requested.connect(self._ask_pens)
        self.toolbar.sig_export_csv_requested.connect(self._ask_csv_path)
        self.toolbar.sig_export_png_requested.connect(self._ask_png_path)
        self.toolbar.sig_save_requested.connect(self._save_from_toolbar)
        self.trend.sig_paused_changed.connect(self._on_paused_changed)
        self.trend.sig_view_range_changed.connect(self._on_view_range_changed)
        self.trend.sig_cursor_moved.connect(self._show_readings)
        self.trend.sig_latest_drawn.connect(self._show_latest)
        self.trend.sig_tag_dropped.connect(self.add_pen)
        self.pen_table.sig_remove_requested.connect(self.remove_pen)
        self.loader.sig_loaded.connect(self._on_loaded)
        self.loader.sig_failed.connect(self.status.setText)

    # --- attached to a window ------------------------------------------------------------------------
    def attach(self, context: PanelContext) -> None:
        """Follow the tag cache's frames, backfill once the runtime runs, open trends others ask for."""
        self._context = context
        self._declare_pens()
        self._links.connect(context.tags.sig_values_changed, self.apply_values)
        self._links.connect(context.sig_runtime_started, self.backfill)
        self._links.connect(context.sig_trend_requested, self.open_trend_named)

    def detach(self) -> None:
        """Undo ``attach`` and stop the chart's timer and the history worker."""
        self._links.disconnect_all()
        if self._context is not None:
            self._context.release_tags(self)
        self._context = None
        self.close_panel()

    def open_trend_named(self, name: str) -> bool:
        """Show the project's saved trend ``name``; False (with a note) when there is none."""
        trend = self.project.trends.get(name)
        if trend is None:
            note = f"No trend named {name!r}"
            (self._context.show_message if self._context is not None else self.status.setText)(note)
            return False
        self.open_trend(trend)
        return True

    # --- pens ----------------------------------------------------------------------------------------
    @property
    def pens(self) -> list[str]:
        """Tags on the chart, in the order they were added."""
        return self.trend.pen_names

    def add_pen(self, tag: str) -> bool:
        """Add a project tag as a pen and load its history; False (with a note) when it cannot be."""
        definition = self.tag_defs.get(tag)
        if definition is None or not trendable(definition):
            self.status.setText(f"{tag}: not a numeric or bool tag of this project")
            return False
        if tag in self.pens:
            self.status.setText(f"{tag} is already on the trend")
            return False
        colour = self.trend.add_pen(tag, definition.units)
        decimals = display_format(definition).decimals  # an integer tag reads 1200, not 1200.00
        self.pen_table.add_pen(tag, colour, definition.units, definition.description, decimals)
        self._declare_pens()
        self._reload()
        return True

    def remove_pen(self, tag: str) -> None:
        """Take a pen off the chart."""
        if tag in self.pens:
            self.trend.remove_pen(tag)
            self.pen_table.remove_pen(tag)
            self._declare_pens()

    def open_trend(self, trend: TrendDef) -> None:
        """Show another saved trend: its title, pens and span, live."""
        self.trend_def = trend
        self.title.setText(trend.title)
        for pen in self.pens:
            self.remove_pen(pen)
        self.trend.resume()
        self.trend.set_span(trend.span)
        self.preset_span = trend.span
        self.toolbar.mark_preset(trend.span)
        self._set_pens(trend.pens)
        self._declare_pens()
        self._reload()

    def _set_pens(self, pens: tuple[str, ...]) -> None:
        for pen in pens:
            definition = self.tag_defs.get(pen)
            units = definition.units if definition else ""
            colour = self.trend.add_pen(pen, units)
            description = definition.description if definition else ""
            decimals = display_format(definition).decimals
            self.pen_table.add_pen(pen, colour, units, description, decimals)

    def _declare_pens(self) -> None:
        """The pens are what this panel shows: the bridge carries them live."""
        if self._context is not None:
            self._context.show_tags(self, self.pens)

    # --- time range ----------------------------------------------------------------------------------
    def set_preset(self, span: float) -> None:
        """Show the last ``span`` seconds, live."""
        self.preset_span = span
        self.toolbar.mark_preset(span)
        self.trend.set_span(span)
        if self.trend.paused:
            self.trend.resume()
        self._reload()

    def show_range(self, start: float, end: float) -> None:
        """Pause and show ``start``–``end`` from history."""
        self.toolbar.mark_preset(-1)
        self.trend.show_time_range(start, end)
        self._reload()

    def reset_view(self) -> None:
        """Back to the preset: its span, live, every y axis on auto scale."""
        self.set_preset(self.preset_span)

    def go_live(self) -> None:
        """Back to following the newest values."""
        self.trend.resume()

    def _on_live_toggled(self, live: bool) -> None:
        if live:
            self.trend.resume()
        else:
            self.trend.pause()

    def _on_paused_changed(self, paused: bool) -> None:
        self.live_button.setChecked(not paused)

    # --- history -------------------------------------------------------------------------------------
    def backfill(self, history_path: Path) -> None:
        """Query ``history_path`` from now on and load the live span from it (off the GUI thread)."""
        self.loader.set_history_path(history_path)
        if not history_path.exists():
            self.backfilled = True
            return
        self._reload()

    def _request(self, start: float, end: float, live: bool) -> RangeRequest:
        width = max(end - start, 1e-3)
        margin = 0.0 if live else width * HISTORY_MARGIN
        points = POINTS_PER_PIXEL * self.trend.plot_width_px() * (width + 2 * margin) / width
        return RangeRequest(tuple(self.pens), start - margin, end + margin, int(points), live)

    def _reload(self) -> None:
        """Load what the chart needs now: the live span, or the visible range while paused."""
        if self.loader.history_path is None or not self.pens:
            return
        if self.trend.paused:
            self.loader.load_now(self._request(*self.trend.visible_range(), live=False))
        else:
            now = self._clock()
            self.loader.load_now(self._request(now - self.trend.span, now, live=True))

    def _on_view_range_changed(self, start: float, end: float) -> None:
        if self.loader.history_path is not None and self.pens:
            self.loader.request(self._request(start, end, live=False))

    def _on_loaded(self, loaded: LoadedRange) -> None:
        request = loaded.request
        if request.live == self.trend.paused:
            return  # the mode changed since: a live backfill is no use to a paused view, and back
        for pen, (ts, values, quality) in loaded.series.items():
            if pen not in self.pens:
                continue
            if request.live:
                self.trend.set_history(pen, ts, values, quality)
            else:
                self.trend.show_history(pen, ts, values, quality)
        self.backfilled = True
        self.trend.refresh()

    def _show_readings(self, ts: float) -> None:
        self.pen_table.set_readings(ts, self.trend.readings_at(ts))

    def _show_latest(self, now: float) -> None:
        self.pen_table.set_readings(now, self.trend.readings_at(now), latest=True)

    # --- live ----------------------------------------------------------------------------------------
    def apply_values(self, values: dict[str, Sample]) -> None:
        """Append the frame's samples of this trend's pens."""
        for pen in self.pens:
            sample = values.get(pen)
            if sample is not None:
                self.trend.append(pen, sample)

    # --- export and save -----------------------------------------------------------------------------
    def export_csv(self, path: Path) -> concurrent.futures.Future[int]:
        """Write the visible range of every pen to ``path`` in the worker; the future holds the row count.

        Paused, the rows come raw from the history file (full resolution); live, from the live buffers.
        """
        start, end = self.trend.visible_range()
        units = {pen: self.tag_defs[pen].units if pen in self.tag_defs else "" for pen in self.pens}
        reader = self.loader.reader
        if self.trend.paused and reader is not None and reader.path.exists():
            future = self.loader.run(export_history_csv, path, reader, tuple(self.pens), start, end, units)
        else:
            series = {pen: window(self.trend.series(pen), start, end) for pen in self.pens}
            future = self.loader.run(write_trend_csv, path, series, units)
        self.status.setText(f"Exporting to {path.name}…")
        self.relay.watch(future, lambda done: self._report(done, f"Exported {{}} rows to {path.name}"))
        return future

    def export_png(self, path: Path) -> bool:
        """Save the chart with its pen table as PNG; False when the file could not be written."""
        self.trend.refresh()
        saved = self.grab(self.rect().adjusted(0, self.toolbar.geometry().bottom(), 0, 0)).save(
            str(path), "PNG"
        )
        self.status.setText(f"Saved {path.name}" if saved else f"Could not write {path}")
        return saved

    def save_trend(self) -> TrendDef:
        """Write the pens and span into the project's ``trends:`` section (comments and layout kept)."""
        trend = TrendDef(self.trend_def.name, self.trend_def.title, tuple(self.pens), self.trend.span)
        known = self.project.trends.get(trend.name)
        before = trend_fields(known.pens, known.span, known.title) if known is not None else None
        after = trend_fields(trend.pens, trend.span, trend.title)
        try:
            save_trend(self.project_file, trend.name, trend.pens, trend.span, trend.title)
        except (OSError, ValueError) as error:
            self.sig_trend_saved.emit(trend.name, before, after, str(error) or type(error).__name__)
            raise
        self.sig_trend_saved.emit(trend.name, before, after, "")
        self.trend_def = trend
        self.project.trends[trend.name] = trend  # screens opening it get the saved pens
        self.status.setText(f"Saved trend {trend.name!r} to {self.project_file.name}")
        return trend

    def _save_from_toolbar(self) -> None:
        # The runtime side decides (and audits a refusal) before project.yaml is touched.
        refused = self.permit(SAVE_TREND, self.trend_def.name) if self.permit is not None else None
        if refused:
            self.status.setText(f"Not allowed to save the trend: {refused}")
            return
        self._save_now()

    def _save_now(self) -> None:
        try:
            self.save_trend()
        except (OSError, ValueError) as exc:
            self.status.setText(f"Could not save the trend: {exc}")

    def _report(self, future: concurrent.futures.Future[int], template: str) -> None:
        error = future.exception()
        self.status.setText(template.format(future.result()) if error is None else f"Export failed: {error}")

    def _ask_pens(self) -> None:
        picker = TagPicker(self.tag_defs, exclude=self.pens, parent=self)
        if picker.exec():
            for tag in picker.selected_tags():
                self.add_pen(tag)

    def _ask_csv_path(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export CSV", f"{self.trend_def.name}.csv", "CSV (*.csv)")
        if name:
            self.export_csv(Path(name))

    def _ask_png_path(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save chart", f"{self.trend_def.name}.png", "PNG (*.png)")
        if name:
            self.export_png(Path(name))

    def close_panel(self) -> None:
        """Stop the trend's timer and the history worker."""
        self.trend.close()
        self.loader.close()
