"""The setpoint entry with the runtime's check injected: its feedback and its request are the check's."""

from __future__ import annotations

import pytest

from hmi.model import DataType, TagDef
from hmi.ui.write_feedback import setpoint_validator
from widgets.setpoint_entry import SetpointPanel

pytestmark = pytest.mark.gui


def panel_for(qtbot, tags: dict[str, TagDef], name: str) -> SetpointPanel:
    panel = SetpointPanel(name, validate=setpoint_validator(tags, name))
    qtbot.addWidget(panel)
    return panel


def test_an_int64_entry_requests_the_exact_integer(qtbot):
    tags = {"C": TagDef("C", "plc1", "hr:4", DataType.INT64, writable=True)}
    panel = panel_for(qtbot, tags, "C")
    panel.entry.setText("1152921504606846977")
    with qtbot.waitSignal(panel.sig_write_requested, timeout=1000) as emitted:
        panel.apply()
    [value] = emitted.args
    assert value == 2**60 + 1 and type(value) is int


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("70000", "70000 does not fit uint16 (0..65535)"),
        ("1.5", "1.5 is not a whole number (uint16)"),
        ("abc", "'abc' is not a number"),
        ("", "enter a value"),
    ],
)
def test_the_refusal_shown_is_the_runtimes(qtbot, typed, message):
    tags = {"P": TagDef("P", "plc1", "hr:0", DataType.UINT16, writable=True)}
    panel = panel_for(qtbot, tags, "P")
    panel.entry.setText(typed)
    with qtbot.assertNotEmitted(panel.sig_write_requested):
        panel.apply()
    assert (panel.message_kind, panel.message_text) == ("error", message)


def test_the_check_reads_the_definition_at_each_apply_not_a_copy(qtbot):
    tags = {"P": TagDef("P", "plc1", "hr:0", DataType.UINT16, writable=True, limits=(0, 100))}
    panel = panel_for(qtbot, tags, "P")
    panel.entry.setText("150")
    panel.apply()
    assert panel.message_text == "150 is outside the limits [0, 100]"
    tags["P"] = TagDef("P", "plc1", "hr:0", DataType.UINT16, writable=True, limits=(0, 200))
    with qtbot.waitSignal(panel.sig_write_requested, timeout=1000) as emitted:
        panel.apply()
    assert emitted.args == [150]
