"""``hmi check`` reports alarm configuration errors at file:line and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_files import BASE, messages, write_project

from hmi.app.cli import main

TAGS = """\
  COUNT: {connection: plc1, address: "hr:10", type: uint16}
  SP: {connection: plc1, address: "hr:20", type: float32}
  NAME: {connection: plc1, address: "hr:30", type: string, length: 8}
alarms:
"""
FIRST = 12
"""The line of the first alarm: BASE is 7 lines, TAGS adds 4."""

CASES = {
    "unknown tag": (
        "  A: {tag: LEVL, type: hi, limit: 90}",
        "alarm 'A': unknown tag 'LEVL' (did you mean 'LEVEL'?)",
    ),
    "negative deadband": (
        "  A: {tag: LEVEL, type: hi, limit: 90, deadband: -1}",
        "alarm 'A': deadband: should be greater than or equal to 0 (got -1)",
    ),
    "negative delay": (
        "  A: {tag: LEVEL, type: hi, limit: 90, on_delay: -5s}",
        "alarm 'A': on_delay:",
    ),
    "unknown priority": (
        "  A: {tag: LEVEL, type: hi, limit: 90, priority: critical}",
        "alarm 'A': priority: 'critical' is not one of low, medium, high, urgent, journal",
    ),
    "suppression by an unknown tag": (
        "  A: {tag: LEVEL, type: hi, limit: 90, suppress_when: PUMP.RUN}",
        "alarm 'A': unknown tag 'PUMP.RUN'",
    ),
    "suppression by an unknown alarm": (
        "  A: {tag: LEVEL, type: hi, limit: 90, suppress_by: PARENT}",
        "alarm 'A': unknown alarm 'PARENT'",
    ),
    "a release without a parent": (
        "  A: {tag: LEVEL, type: hi, limit: 90, suppress_release: 5s}",
        "alarm 'A': suppress_release belongs to alarms with suppress_by",
    ),
    "a release past a day": (
        "  A: {tag: LEVEL, type: hi, limit: 90, suppress_by: SYSTEM.LINK.plc1.LOST, suppress_release: 2d}",
        "alarm 'A': suppress_release:",
    ),
    "deviation with an unknown setpoint tag": (
        "  A: {tag: LEVEL, type: deviation, setpoint: SPP, limit: 5}",
        "alarm 'A': unknown setpoint tag 'SPP' (did you mean 'SP'?)",
    ),
    "deviation without a setpoint": (
        "  A: {tag: LEVEL, type: deviation, limit: 5}",
        "alarm 'A': a deviation alarm needs a setpoint tag",
    ),
    "discrete on a float tag": (
        "  A: {tag: LEVEL, type: discrete}",
        "alarm 'A': tag 'LEVEL' is float32; a discrete alarm needs a bool or an integer",
    ),
    "limit alarm on a string tag": (
        "  A: {tag: NAME, type: hi, limit: 3}",
        "alarm 'A': tag 'NAME' is string; limit alarms need a number",
    ),
    "a limit alarm without its limit": ("  A: {tag: LEVEL, type: hi}", "alarm 'A': a hi alarm needs a limit"),
}


@pytest.mark.parametrize("alarm, message", CASES.values(), ids=CASES.keys())
def test_each_alarm_error_is_reported_at_its_line(tmp_path: Path, alarm: str, message: str) -> None:
    found = messages(tmp_path, TAGS + alarm + "\n")
    assert len(found) == 1 and found[0].startswith(f"{FIRST}: {message}"), found


ORDER = {
    "hi at or below lo": ("hi", 20, "lo", 20, "hi limit 20 is at or below the lo limit 20 of 'B'"),
    "hihi at or below hi": ("hihi", 80, "hi", 90, "hihi limit 80 is at or below the hi limit 90 of 'B'"),
    "lo at or below lolo": ("lo", 5, "lolo", 10, "lo limit 5 is at or below the lolo limit 10 of 'B'"),
}


@pytest.mark.parametrize("upper, high, lower, low, message", ORDER.values(), ids=ORDER.keys())
def test_limits_on_one_tag_keep_their_order(
    tmp_path: Path, upper: str, high: float, lower: str, low: float, message: str
) -> None:
    text = (
        TAGS
        + f"  A: {{tag: LEVEL, type: {upper}, limit: {high}}}\n"
        + f"  B: {{tag: LEVEL, type: {lower}, limit: {low}}}\n"
    )
    assert messages(tmp_path, text) == [f"{FIRST}: alarm 'A': {message} on the same tag"]


def test_every_new_alarm_type_checks_clean(tmp_path: Path) -> None:
    text = TAGS + (
        "  DEV: {tag: LEVEL, type: deviation, setpoint: SP, limit: 5, cause: Valve stuck}\n"
        "  ROC: {tag: LEVEL, type: roc, limit: 2, window: 5s, latched: true}\n"
        "  RUN.OFF: {tag: RUN, type: discrete, normal: true, suppress_by: DEV, suppress_release: 30s}\n"
        "  COUNT.ODD: {tag: COUNT, type: discrete, normal: 0, suppress_when: RUN}\n"
        "  LEVEL.BAD: {tag: LEVEL, type: bad_quality, priority: journal,"
        " suppress_by: SYSTEM.LINK.plc1.LOST}\n"
        "  HI: {tag: LEVEL, type: hi, limit: 90}\n"
        "  LO: {tag: LEVEL, type: lo, limit: 10}\n"
    )
    assert messages(tmp_path, text) == []


def test_hmi_check_exits_2_with_file_line_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(
        tmp_path,
        BASE + TAGS + "  A: {tag: LEVEL, type: hi, limit: 10}\n  B: {tag: LEVEL, type: lo, limit: 50}\n",
    )
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert f"project.yaml:{FIRST}: alarm 'A': hi limit 10 is at or below the lo limit 50" in out.out + out.err
