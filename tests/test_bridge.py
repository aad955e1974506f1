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


def test_only_the_tags_shown_cross_and_the_rest_cost_a_set_lookup(qtbot):
    bridge = RuntimeBridge()
    frames = []
    bridge.sig_values_changed.connect(frames.append)
    assert bridge.shown is None, "a bridge no window filters carries every tag"
    bridge.show_only(frozenset({"SHOWN"}))
    for i in range(1000):
        bridge.offer_sample("SHOWN" if i % 10 == 0 else f"HIDDEN{i % 7}", Sample.good(i))
    batch = {"SHOWN": Sample.good(5000), "HIDDEN1": Sample.good(5001), "HIDDEN2": Sample.good(1)}
    bridge.offer_samples(batch)
    bridge.flush()
    assert [{tag: s.value for tag, s in frame.items()} for frame in frames] == [{"SHOWN": 5000}]
    assert bridge.samples_offered == 1003
    assert bridge.samples_not_shown == 902


def test_a_tag_newly_shown_comes_from_the_runtimes_table_at_once_and_a_released_one_stops(qtbot):
    bridge = RuntimeBridge()
    table = {"A": Sample.good(1.0, ts=10.0), "B": Sample.good(2.0, ts=11.0)}
    bridge.show_only(frozenset({"A"}))
    frames = []
    bridge.sig_values_changed.connect(frames.append)
    bridge.follow_table(table)  # the station starts: what is already shown goes out with the next frame
    bridge.flush()
    assert [{tag: s.value for tag, s in frame.items()} for frame in frames] == [{"A": 1.0}]

    bridge.offer_sample("A", Sample.good(1.5, ts=12.0))  # pending when A leaves the screen
    table["B"] = Sample.good(2.5, ts=13.0)  # B changed while nobody showed it
    current = bridge.show_only(frozenset({"B"}))
    assert {tag: s.value for tag, s in current.items()} == {"B": 2.5}, "only the newly shown, from the table"
    bridge.flush()
    assert len(frames) == 1, "the pending sample of a tag no longer shown is not delivered late"
    assert bridge.show_only(frozenset({"B"})) == {}, "already carried: nothing to read again"
    assert bridge.show_only(frozenset({"B", "UNKNOWN"})) == {}, "a tag the runtime does not know is left out"


def test_a_runtime_batch_crosses_with_the_newest_sample_per_tag_and_one_count_per_tag(qtbot):
    bridge = RuntimeBridge()
    frames = []
    bridge.sig_values_changed.connect(frames.append)
    bridge.show_only(frozenset({"A", "B"}))
    batch = [("A", Sample.good(1)), ("HIDDEN", Sample.good(2)), ("A", Sample.good(3)), ("B", Sample.good(4))]
    bridge.offer_batch(batch)
    bridge.flush()
    assert [{tag: s.value for tag, s in frame.items()} for frame in frames] == [{"A": 3, "B": 4}]
    assert bridge.samples_offered == 3
    assert bridge.samples_not_shown == 1
