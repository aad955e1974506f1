"""Alarm system KPIs (EEMUA 191) from hand-built journal events in a real journal file."""

from __future__ import annotations

from pathlib import Path

import pytest
from waiting import wait_until

from hmi.alarms.engine import AlarmEvent, EventKind
from hmi.alarms.history import HistoryQuery, read_events
from hmi.alarms.kpi import FLOOD_ABOVE, Raise, annunciations, band, build_report, chattering, floods
from hmi.alarms.states import AlarmState
from hmi.store import Store

T0 = 1_700_000_000.0
HOUR = 3600.0
S = AlarmState
K = EventKind


def event(
    at: float,
    alarm: str,
    kind: EventKind,
    before: AlarmState,
    after: AlarmState,
    priority: str = "high",
    until: float | None = None,
) -> AlarmEvent:
    return AlarmEvent(T0 + at, alarm, kind, after, priority, 1.0, f"{alarm} {kind}", "", before, "", until)


def journal_file(tmp_path: Path, events: list[AlarmEvent]) -> Path:
    """Write ``events`` through the store's real journal and return the file."""
    from hmi.alarms.journal import AlarmJournal

    path = tmp_path / "history.db"
    store = Store(path, 0.02)
    journal = AlarmJournal(store.writer)
    store.open()
    try:
        for item in events:
            assert journal.append(item)
        wait_until(lambda: journal.stats().written == len(events))
    finally:
        store.close()
    return path


def plant_hour() -> list[AlarmEvent]:
    """An hour from T0: a flood at 21 min 40 s, shelving, out of service, a stale and a standing alarm."""
    events = [
        event(-30 * HOUR, "STALE", K.RAISED, S.NORMAL, S.UNACKED, "medium"),
        event(-100, "OOS", K.OUT_OF_SERVICE, S.NORMAL, S.OUT_OF_SERVICE, "low"),
        event(100, "SHELF", K.RAISED, S.NORMAL, S.UNACKED, "medium"),
        event(200, "SHELF", K.SHELVED, S.UNACKED, S.SHELVED, "medium", until=T0 + 1000),
        event(250, "SHELF", K.CLEARED, S.SHELVED, S.SHELVED, "medium"),
        event(300, "SHELF", K.RAISED, S.SHELVED, S.SHELVED, "medium"),  # not announced: not counted
    ]
    for i in range(14):  # 14 alarms in 52 s: F.A seven times, F.B five, F.C twice
        name = "F.A" if i % 2 == 0 else "F.B" if i < 10 else "F.C"
        events.append(event(1300 + 4 * i, name, K.RAISED, S.NORMAL, S.UNACKED))
        events.append(event(1300 + 4 * i + 2, name, K.CLEARED, S.UNACKED, S.RETURNED_UNACKED))
    events += [
        event(1000, "SHELF", K.UNSHELVED, S.SHELVED, S.UNACKED, "medium"),
        event(1100, "SHELF", K.CLEARED, S.UNACKED, S.RETURNED_UNACKED, "medium"),
        event(1200, "SHELF", K.ACKNOWLEDGED, S.RETURNED_UNACKED, S.NORMAL, "medium"),
        event(1800, "OOS", K.IN_SERVICE, S.OUT_OF_SERVICE, S.NORMAL, "low"),
        event(2000, "LOW.ONE", K.RAISED, S.NORMAL, S.UNACKED, "low"),
        event(3700, "LOW.ONE", K.CLEARED, S.UNACKED, S.RETURNED_UNACKED, "low"),  # after the period
    ]
    return events


@pytest.fixture(scope="module")
def report_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    path = journal_file(tmp_path_factory.mktemp("kpi"), plant_hour())
    return list(read_events(path, HistoryQuery()))


def test_rates_per_ten_minutes_and_band(report_rows: list[dict]) -> None:
    report = build_report(report_rows, T0, T0 + HOUR)
    assert report.total == 16
    assert report.peak_per_window == 14 and report.peak_window_start == T0 + 1200
    assert report.average_per_window == pytest.approx(16 / 6)
    assert report.band == "likely over-demanding"
    assert report.by_priority == {"high": 14, "medium": 1, "low": 1}
    two = build_report(report_rows, T0, T0 + HOUR, operators=2)
    assert two.average_per_window == pytest.approx(16 / 12)


def test_flood_with_its_top_alarms(report_rows: list[dict]) -> None:
    report = build_report(report_rows, T0, T0 + HOUR)
    [flood] = report.floods
    assert (flood.start, flood.end, flood.count) == (T0 + 1300, T0 + 1352, 14)
    assert flood.top == (("F.A", 7), ("F.B", 5), ("F.C", 2))
    assert report.time_in_flood_s == pytest.approx(52)


def test_top_ten_chattering_stale_standing_and_set_aside(report_rows: list[dict]) -> None:
    report = build_report(report_rows, T0, T0 + HOUR)
    assert [(t.alarm, t.count) for t in report.top] == [
        ("F.A", 7),
        ("F.B", 5),
        ("F.C", 2),
        ("LOW.ONE", 1),
        ("SHELF", 1),
    ]
    assert [(c.alarm, c.most_per_minute, c.first) for c in report.chattering] == [
        ("F.A", 7, T0 + 1316),
        ("F.B", 5, T0 + 1320),
    ]
    assert [(s.alarm, s.start) for s in report.stale] == [("STALE", T0 - 30 * HOUR)]
    assert [(s.alarm, s.state) for s in report.standing] == [
        ("STALE", "active unacknowledged"),
        ("LOW.ONE", "active unacknowledged"),
    ]
    assert [(s.alarm, s.shelved_s, s.out_of_service_s) for s in report.set_aside] == [
        ("OOS", 0.0, 1800.0),
        ("SHELF", 800.0, 0.0),
    ]


def test_a_quiet_period_is_very_likely_acceptable(report_rows: list[dict]) -> None:
    report = build_report(report_rows, T0 + 1500, T0 + HOUR)
    assert report.total == 1 and report.floods == [] and report.chattering == []
    assert report.band == "very likely acceptable"
    assert [s.alarm for s in report.standing] == ["STALE", "LOW.ONE"]
    assert [(s.alarm, s.out_of_service_s) for s in report.set_aside] == [("OOS", 300.0)]
    json_ready = report.as_dict()
    assert json_ready["alarms"] == 1 and json_ready["standing"][1]["alarm"] == "LOW.ONE"


def raises(times: list[float]) -> list[Raise]:
    return [Raise(T0 + t, f"A{i % 3}", "high") for i, t in enumerate(times)]


def test_a_raise_journalled_while_set_aside_is_no_annunciation() -> None:
    def row(at: float, alarm: str, state: AlarmState) -> dict:
        return {"ts": T0 + at, "alarm": alarm, "kind": "raised", "state": state.value, "priority": "high"}

    rows = [row(1, "A", S.UNACKED), row(2, "B", S.SHELVED), row(3, "C", S.OUT_OF_SERVICE)]
    rows.append(row(4, "D", S.SUPPRESSED))
    assert [r.alarm for r in annunciations(rows, T0, T0 + 60)] == ["A"]


def test_flood_threshold_is_more_than_ten_in_a_sliding_window() -> None:
    assert floods(raises([i * 10.0 for i in range(FLOOD_ABOVE)])) == []
    assert len(floods(raises([i * 10.0 for i in range(FLOOD_ABOVE + 1)]))) == 1
    # eleven alarms whose first and last are 10 minutes apart do not fit in one window
    assert floods(raises([i * 60.0 for i in range(FLOOD_ABOVE + 1)])) == []
    # an alarm shortly before a burst is in a 10-minute window with it: part of the flood
    lead_in = raises([0.0] + [300.0 + i for i in range(10)])
    assert [(f.start, f.count) for f in floods(lead_in)] == [(T0, 11)]
    two = raises([i * 5.0 for i in range(12)] + [5000 + i * 5.0 for i in range(12)])
    assert [f.count for f in floods(two)] == [12, 12]


def test_chattering_needs_three_within_one_minute() -> None:
    spaced = [Raise(T0 + t, "X", "low") for t in (0, 30, 61, 120)]
    assert chattering(spaced) == []
    close = [Raise(T0 + t, "X", "low") for t in (0, 30, 59)]
    assert [(c.alarm, c.most_per_minute) for c in chattering(close)] == [("X", 3)]


def test_bands_follow_eemua_191() -> None:
    assert band(0.5) == "very likely acceptable"
    assert band(1.5) == "manageable"
    assert band(10.0) == "very likely over-demanding"
    assert band(10.5).startswith("flood")


def test_an_empty_period_or_bad_arguments() -> None:
    report = build_report([], T0, T0 + 60)
    assert report.total == 0 and report.peak_window_start is None
    with pytest.raises(ValueError, match="must end after"):
        build_report([], T0, T0)
    with pytest.raises(ValueError, match="operators"):
        build_report([], T0, T0 + 1, operators=0)


@pytest.mark.parametrize(
    "start, end", [(0, HOUR), (1500, HOUR), (1310, 1340), (-40 * HOUR, HOUR), (250, 2050)]
)
def test_the_file_report_reads_only_what_it_needs_and_agrees(
    tmp_path: Path, report_rows: list[dict], start: float, end: float
) -> None:
    from hmi.alarms.kpi_file import load_report

    path = journal_file(tmp_path, plant_hour())
    assert load_report(path, T0 + start, T0 + end) == build_report(report_rows, T0 + start, T0 + end)


def test_no_journal_yet_is_an_empty_report(tmp_path: Path) -> None:
    from hmi.alarms.kpi_file import load_report

    report = load_report(tmp_path / "history.db", T0, T0 + HOUR)
    assert report.total == 0 and report.standing == [] and not (tmp_path / "history.db").exists()
