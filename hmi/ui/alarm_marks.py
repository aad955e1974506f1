"""The alarm marks on the graphics: each screen's items bound to an alarmed tag show its mark.

Follows the bridge's alarm summary (once per frame), picks per tag the alarm that most needs
the operator, and hands each screen (:meth:`ScreenView.apply_alarm_marks`) its marks and the
shared blink phase. Click-through from the summary lands here too: the alarm's screen frames
the items bound to the alarm's tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.alarms.ordering import operator_key
from hmi.project.config import AlarmDef
from hmi.ui.alarm_blink import BlinkClock
from hmi.ui.panels import SignalLinks
from hmi.ui.screen_view import ScreenView
from widgets.alarm_mark import MarkState

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

_MARK_OF_STATE = {
    AlarmState.UNACKED: MarkState.UNACKED,
    AlarmState.RETURNED_UNACKED: MarkState.UNACKED,
    AlarmState.ACKED: MarkState.ACKED,
    AlarmState.SHELVED: MarkState.SHELVED,
    AlarmState.OUT_OF_SERVICE: MarkState.OUT_OF_SERVICE,
}


def mark_states(rows: Iterable[AlarmStatus]) -> dict[str, tuple[str, MarkState]]:
    """Tag → (priority, mark state) of its most important alarm; an announced alarm beats a set-aside one."""
    best: dict[str, AlarmStatus] = {}
    for row in rows:
        if row.state not in _MARK_OF_STATE:
            continue
        tag = row.definition.tag
        held = best.get(tag)
        if held is None or _rank(row) < _rank(held):
            best[tag] = row
    return {tag: (row.definition.priority, _MARK_OF_STATE[row.state]) for tag, row in best.items()}


def _rank(row: AlarmStatus) -> tuple[int, tuple[int, int, float, str]]:
    return (1 if row.set_aside else 0, operator_key(row))


class AlarmMarks:
    """Panel: alarm summary → the marks of every screen; the blink clock → their phase."""

    def __init__(self, views: Mapping[str, ScreenView], clock: BlinkClock) -> None:
        self.views = views
        self.clock = clock
        self.marks: dict[str, tuple[str, MarkState]] = {}
        self._definitions: dict[str, AlarmDef] = {}
        """The definitions of the last summary (built-in alarms are not in the project file)."""
        """The marks shown now, tag → (priority, state)."""
        self._links = SignalLinks()
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        """Follow the alarm summary and the blink clock."""
        self._context = context
        self._links.connect(context.bridge.sig_alarms_changed, self.set_alarms)
        self._links.connect(self.clock.sig_phase, self._blink)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()
        self.clock.need(self, False)
        self._context = None

    def set_alarms(self, rows: list[AlarmStatus]) -> None:
        """Show a new alarm summary on every screen (screens behind are ready when brought forward)."""
        self.marks = mark_states(rows)
        self._definitions = {row.name: row.definition for row in rows}
        for view in self.views.values():
            view.apply_alarm_marks(self.marks)
            view.set_blink_phase(self.clock.on)
        self.clock.need(self, any(state is MarkState.UNACKED for _p, state in self.marks.values()))

    def select_alarm(self, alarm: str) -> bool:
        """Frame the items of ``alarm``'s tag on its screen (the summary's click-through); False if none."""
        context = self._context
        definition = self._definitions.get(alarm)
        if definition is None and context is not None:
            definition = context.project.alarms.get(alarm)
        if definition is None or not definition.screen or definition.screen not in self.views:
            return False
        return self.views[definition.screen].select_tag(definition.tag)

    def _blink(self, on: bool) -> None:
        for view in self.views.values():
            view.set_blink_phase(on)
