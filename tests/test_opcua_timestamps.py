"""The time-stamp policy for OPC UA source timestamps, on a real asyncua server (docs/projects.md).

A source time more than ``max_clock_skew`` ahead of the receive time is a wrong clock: the value is
kept, UNCERTAIN (clock skew), stamped with the receive time. One older than ``max_source_age`` is
stamped with the receive time as well; as a change it is UNCERTAIN, as the first value of an item
(an unchanged value carries the time of its last change) it keeps its quality. Nothing received is
ever stamped where retention would purge it at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from asyncua import ua
from hypothesis import given
from hypothesis import strategies as st
from opcua_server import opcua_test_server
from waiting import SampleLog, wait_for

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_values import TimePolicy
from drivers.settings import OpcUaSettings
from hmi.core.station import Station
from hmi.historian.reader import HistoryReader
from hmi.model import Quality, Reason, Sample, TagDef
from hmi.project.loader import check_project, load_project

NOW = dt.datetime.now(dt.UTC)
EPOCH_DAY_TWO = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
STAMPS = {
    "a day ahead": (lambda now: now + dt.timedelta(days=1), Quality.UNCERTAIN),
    "a century ahead": (lambda now: now.replace(year=now.year + 100), Quality.UNCERTAIN),
    "year 9999": (lambda now: dt.datetime(9999, 12, 31, tzinfo=dt.UTC), Quality.UNCERTAIN),
    "1970": (lambda now: EPOCH_DAY_TWO, Quality.UNCERTAIN),
    "two days ago": (lambda now: now - dt.timedelta(days=2), Quality.UNCERTAIN),
}
PLAUSIBLE = {
    "a minute ahead": lambda now: now + dt.timedelta(minutes=1),
    "an hour ago": lambda now: now - dt.timedelta(hours=1),
}


async def test_implausible_source_times_are_kept_flagged_and_stamped_on_receipt(
    free_port: Callable[[], int],
) -> None:
    async with opcua_test_server(free_port()) as server:
        changing = await server.add_variable("Changing", 0.0, ua.VariantType.Double)
        initial = await server.add_variable("Initial", 0.0, ua.VariantType.Double)
        # An unchanged value read on subscribe: its source time is that of its last change, years ago.
        await server.set_value("Initial", 5.0, source_ts=EPOCH_DAY_TWO)
        recorder = SampleLog()
        tags = [TagDef("CHANGING", "ua1", changing, scan_period=0.1), TagDef("INITIAL", "ua1", initial)]
        driver = OpcUaDriver(
            "ua1",
            OpcUaSettings(server.endpoint, timeout=2.0),
            tags,
            recorder.on_sample,
            lambda status: None,
            Backoff(initial=0.2, maximum=1.0),
        )
        await driver.start()
        try:
            await wait_for(lambda: all((s := recorder.last(t.name)) is not None and s.is_good for t in tags))
            first = recorder.last("INITIAL")
            assert first is not None and first.value == 5.0 and first.is_good
            assert first.ts == pytest.approx(time.time(), abs=30), "restamped: retention must not purge it"

            value = 1.0
            for name, (stamp, quality) in STAMPS.items():
                value += 1
                before = time.time()
                await server.set_value("Changing", value, source_ts=stamp(dt.datetime.now(dt.UTC)))
                await wait_for(lambda v=value: (s := recorder.last("CHANGING")) is not None and s.value == v)
                sample = recorder.last("CHANGING")
                assert sample is not None
                assert (sample.quality, sample.reason) == (quality, Reason.CLOCK_SKEW), name
                assert before - 1 <= sample.ts <= time.time() + 1, name

            for name, stamp_of in PLAUSIBLE.items():
                value += 1
                stamp = stamp_of(dt.datetime.now(dt.UTC))
                await server.set_value("Changing", value, source_ts=stamp)
                await wait_for(lambda v=value: (s := recorder.last("CHANGING")) is not None and s.value == v)
                sample = recorder.last("CHANGING")
                assert sample is not None and sample.is_good, name
                assert sample.ts == pytest.approx(stamp.timestamp()), name
            assert driver.diagnostics()["restamped"] == 1 + len(STAMPS)
        finally:
            await driver.stop()


@given(
    st.floats(-1e10, 1e10, allow_nan=False),
    st.booleans(),
    st.floats(1, 1e6),
    st.floats(1, 1e9),
)
def test_the_policy_over_the_class_of_offsets(offset: float, first: bool, skew: float, age: float) -> None:
    """Whatever the offset, a published sample is stamped within the window around its receipt."""
    policy = TimePolicy(max_clock_skew=skew, max_source_age=age)
    received = 1_800_000_000.0
    stamped = received + offset
    offset = stamped - received  # what the float sum really holds
    sample, why = policy.judge(Sample(1.0, Quality.GOOD, stamped), received, first)
    assert received - age <= sample.ts <= received + skew
    if -age <= offset <= skew:
        assert why is None and sample.is_good and sample.ts == stamped
    else:
        assert why is not None and sample.ts == received
        assert sample.is_good == (offset < 0 and first)


PROJECT = """\
name: Clocks
connections:
  ua1: {{driver: opcua, endpoint: "{endpoint}", timeout: 2s, max_clock_skew: 1m, max_source_age: 2h}}
history: {{commit_interval: 200ms, retention: 1d}}
tags:
  TEMP: {{connection: ua1, address: "{address}", scan: fast}}
"""


async def test_a_sample_stamped_1970_reaches_history_and_stays(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    async with opcua_test_server(free_port()) as server:
        address = await server.add_variable("Temp", 20.0, ua.VariantType.Double)
        (tmp_path / "project.yaml").write_text(
            textwrap.dedent(PROJECT.format(endpoint=server.endpoint, address=address)), encoding="utf-8"
        )
        station = Station(load_project(tmp_path), tmp_path / "history.db")
        await station.start()
        try:
            runtime = station.runtime
            await wait_for(lambda: runtime.values["TEMP"].is_good)
            await server.set_value("Temp", 66.0, source_ts=EPOCH_DAY_TWO)
            await server.set_value("Temp", 77.0, source_ts=NOW.replace(year=NOW.year + 100))
            await wait_for(lambda: runtime.values["TEMP"].value == 77.0)
            await asyncio.sleep(0.5)  # a few commit intervals
        finally:
            await station.stop()
    rows = {}
    for row in HistoryReader(station.history_path).iter_rows("TEMP"):
        rows.setdefault(row.value, row)  # the first row of each value (the last known stays beside a stop)
    for value in (66.0, 77.0):
        assert value in rows, rows
        assert rows[value].quality is Quality.UNCERTAIN and rows[value].reason == Reason.CLOCK_SKEW.value
        assert rows[value].ts == pytest.approx(time.time(), abs=60)


def test_hmi_check_knows_the_time_stamp_settings(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(
        textwrap.dedent("""\
            name: Clocks
            connections:
              ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/", max_clock_skew: 0s}
              ua2: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4841/", max_source_age: 99999999999d}
              ua3: {driver: opcua, endpoint: "opc.tcp://h:4842/", max_clock_skew: 5m, max_source_age: 7d}
            """),
        encoding="utf-8",
    )
    errors = {error.line: error.message for error in check_project(tmp_path)}
    assert set(errors) == {3, 4}, errors
    assert "max_clock_skew" in errors[3] and "max_source_age" in errors[4]
