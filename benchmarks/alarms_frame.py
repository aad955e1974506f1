"""Alarm to banner: how many GUI frames pass between the engine raising an alarm and the banner showing it.

The real path of the GUI app: the engine (10,000 alarm definitions) on a runtime loop thread,
:class:`hmi.alarms.feed.AlarmSnapshotFeed` building the summary at most once per frame, the
:class:`hmi.ui.bridge.RuntimeBridge` handing it to the GUI thread at its frame rate, and the
real :class:`hmi.ui.alarm_strip.AlarmStrip` (the banner) taking it. Each trial raises one new
urgent alarm at a random phase of the frame, after a quiet frame, and counts the bridge's
frames from the event (as the engine emits it, on the runtime thread) until the banner
shows that alarm.

Counted in frames, not milliseconds: "within one frame" is the bridge's next frame after the
event; a busy shared machine stretches frames but not the count.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import random
import time
from collections import Counter
from typing import Any

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmStatus, EventKind
from hmi.alarms.feed import AlarmSnapshotFeed
from hmi.core.loop_thread import LoopThread
from hmi.model import Sample
from hmi.project.config import AlarmDef
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge

ALARMS = 10_000
TRIALS = 40
WAIT_S = 10.0


def _defs() -> dict[str, AlarmDef]:
    return {
        f"T{i}.HI": AlarmDef(f"T{i}.HI", f"T{i}", "hi", 90.0, 1.0, priority="urgent", message=f"T{i} high")
        for i in range(ALARMS)
    }


def run() -> dict[str, Any]:
    """Raise ``TRIALS`` alarms one by one and count the frames each takes to reach the banner."""
    app = QApplication.instance() or QApplication([])
    bridge = RuntimeBridge()
    strip = AlarmStrip()
    engine = AlarmEngine(_defs())
    runtime = LoopThread("bench-alarms")
    raised_at_frame: dict[str, int] = {}
    shown_at_frame: dict[str, int] = {}
    event_at_frame: dict[str, int] = {}

    def on_event(event: AlarmEvent, _status: AlarmStatus) -> None:  # runtime thread
        if event.kind is EventKind.RAISED:
            raised_at_frame[event.alarm] = bridge.frames

    def on_rows(_rows: list[AlarmStatus]) -> None:  # GUI thread, after the strip took the rows
        if strip.shown is not None:
            shown_at_frame.setdefault(strip.shown.name, bridge.frames)

    def on_events(events: list[AlarmEvent]) -> None:
        for event in events:
            event_at_frame.setdefault(event.alarm, bridge.frames)

    engine.subscribe(on_event)
    bridge.sig_alarms_changed.connect(strip.set_alarms)
    bridge.sig_alarms_changed.connect(on_rows)
    bridge.sig_alarm_events.connect(on_events)
    feed = AlarmSnapshotFeed(engine, bridge.offer_alarm_event, bridge.offer_alarm_snapshot, bridge.frame_s)

    async def start() -> None:
        feed.start()

    async def raise_after(delay: float, tag: str) -> None:
        await asyncio.sleep(delay)
        engine.on_samples([(tag, Sample.good(100.0))])

    rng = random.Random(7)
    runtime.start()
    bridge.start()
    missed = 0
    try:
        runtime.call(start())
        for i in range(TRIALS):
            name = f"T{i}.HI"
            runtime.submit(raise_after(rng.random() * bridge.frame_s, f"T{i}"))
            deadline = time.monotonic() + WAIT_S
            while name not in shown_at_frame and time.monotonic() < deadline:
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            missed += name not in shown_at_frame
            # An isolated change, as the target means it: the feed's frame passes quiet before the next one.
            quiet_from = feed.frames
            while feed.frames < quiet_from + 2 and time.monotonic() < deadline:
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        bridge.stop()
        runtime.call(feed.stop())
        engine.close()
        runtime.stop()
    banner = [shown_at_frame[n] - raised_at_frame[n] for n in shown_at_frame if n in raised_at_frame]
    events = [event_at_frame[n] - raised_at_frame[n] for n in event_at_frame if n in raised_at_frame]
    histogram = Counter(banner)
    return {
        "case": "frame",
        "alarms": ALARMS,
        "trials": TRIALS,
        "frame_rate_hz": round(1 / bridge.frame_s, 1),
        "banner_frames": {str(k): histogram[k] for k in sorted(histogram)},
        "banner_frames_max": max(banner, default=None),
        "within_one_frame_share": round(sum(f <= 1 for f in banner) / max(len(banner), 1), 3),
        "event_frames_max": max(events, default=None),
        "missed": missed,
        "snapshot_builds": feed.builds,
        "target_met": bool(banner) and max(banner) <= 1 and missed == 0,
    }
