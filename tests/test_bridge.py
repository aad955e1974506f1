"""The runtime-to-GUI bridge coalesces: one emission per frame with the newest sample of each tag;
alarm events wait in a bounded queue that counts what it drops."""

import threading

import pytest

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.model import ConnectionState, ConnectionStatus, Sample
from hmi.project.config import AlarmDef
from hmi.ui.bridge import OverflowPolicy, RuntimeBridge

pytestmark = pytest.mark.gui


def test_many_samples_from_another_thread_arrive_as_one_frame_with_the_latest_values(qtbot):
    bridge = RuntimeBridge(frame_rate_hz=20)
    frames = []
    bridge.sig_values_changed.connect(frames.append)

    def produce():
        for i in range(10_000):
            bridge.offer_sample(f"T{i % 10}", Sample.good(i, ts=float(i)))
        bridge.offer_status(ConnectionStatus("plc1", ConnectionState.CONNECTED))

    worker = threading.Thread(target=produce, name="producer")
    worker.start()
    worker.join()
    statuses = []
    bridge.sig_status_changed.connect(statuses.append)
    bridge.start()
    qtbot.waitUntil(lambda: len(frames) > 0, timeout=2000)
    bridge.stop()
    assert len(frames) == 1
    assert {tag: s.value for tag, s in frames[0].items()} == {f"T{k}": 9990 + k for k in range(10)}
    assert statuses[0]["plc1"].state is ConnectionState.CONNECTED
    assert bridge.samples_offered == 10_000


def test_an_idle_frame_emits_nothing(qtbot):
    bridge = RuntimeBridge()
    frames = []
    bridge.sig_values_changed.connect(frames.append)
    bridge.flush()
    assert frames == []


def _event(i: int) -> AlarmEvent:
    return AlarmEvent(float(i), f"A{i % 50}", EventKind.RAISED, AlarmState.UNACKED, "high", i, f"event {i}")


def test_a_stalled_gui_keeps_memory_bounded_counts_what_it_dropped_and_then_shows_the_latest(qtbot):
    bridge = RuntimeBridge(max_pending_alarm_events=1000)
    assert bridge.alarm_event_policy is OverflowPolicy.KEEP_NEWEST
    batches, snapshots, frames = [], [], []
    bridge.sig_alarm_events.connect(batches.append)
    bridge.sig_alarms_changed.connect(snapshots.append)
    bridge.sig_values_changed.connect(frames.append)
    definition = AlarmDef("A0", "T0", "hi", 1.0)
    pending_seen = []

    def runtime_during_a_stall():
        for i in range(100_000):
            bridge.offer_alarm_event(_event(i))
            bridge.offer_sample(f"T{i % 10}", Sample.good(i))
            if i % 10_000 == 9_999:
                bridge.offer_alarm_snapshot([AlarmStatus(definition, AlarmState.UNACKED, value=i)])
                pending_seen.append(bridge.pending_alarm_events)

    worker = threading.Thread(target=runtime_during_a_stall, name="producer")
    worker.start()
    worker.join()  # the GUI thread pumps no events meanwhile: nothing is delivered
    assert batches == [] and snapshots == []
    assert max(pending_seen) == 1000, "the queue never holds more than its bound"
    assert bridge.alarm_events_offered == 100_000
    assert bridge.alarm_events_dropped == 99_000

    bridge.start()
    qtbot.waitUntil(lambda: bool(batches) and bool(snapshots), timeout=2000)
    bridge.stop()
    assert len(batches) == 1
    assert [e.value for e in batches[0]] == list(range(99_000, 100_000)), "the newest, in order"
    assert len(snapshots) == 1 and snapshots[0][0].value == 99_999, "the summary shows the latest truth"
    assert {tag: s.value for tag, s in frames[0].items()} == {f"T{k}": 99_990 + k for k in range(10)}
    assert bridge.pending_alarm_events == 0
