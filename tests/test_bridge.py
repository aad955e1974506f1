"""The runtime-to-GUI bridge coalesces: one emission per frame with the newest sample of each tag."""

import threading

import pytest

from hmi.model import ConnectionState, ConnectionStatus, Sample
from hmi.ui.bridge import RuntimeBridge

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
