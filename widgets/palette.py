"""Colours, fonts and the quality rule for every widget and symbol: one place to change the look.

The palette follows high-performance HMI practice (ISA-101): a calm grey
background, equipment in greys, and colour kept for what needs attention.
Two families of attention colour never mix:

- *process* attention (alarms, limits exceeded): red, orange, yellow, amber;
- *data quality* attention: magenta for bad data, cyan for uncertain data.

So an operator can tell at a glance "the process is wrong" from "the data is
wrong", and a bad or stale value is never drawn as if it were fresh.
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPen

from hmi.model import Quality, Reason, Sample

# --- neutral greys: background, equipment, text -------------------------------------------------
BACKGROUND = QColor("#D3D5D7")
SCREEN_BACKGROUND = BACKGROUND  # the mimic behind the symbols
PANEL = QColor("#E4E6E8")  # value boxes and faceplates sit slightly lighter than the mimic
EQUIPMENT_LINE = QColor("#4A5056")
EQUIPMENT_FILL_ON = QColor("#5B636B")  # running pump, open valve: filled
EQUIPMENT_FILL_OFF = QColor("#D3D5D7")  # stopped, closed: hollow (background shows through)
EQUIPMENT_MARK_ON = QColor("#F2F3F4")  # impeller/marks drawn on a filled body
PIPE_EDGE = QColor("#6E757C")
PIPE_LIQUID = QColor("#7F97AE")  # a muted blue-grey: liquid is moving, not an alarm
LIQUID = QColor("#8FA5BA")
TEXT = QColor("#1E2226")
TEXT_DIM = QColor("#5E656C")
HOVER = QColor("#2F6FA8")  # focus ring on a clickable symbol under the mouse
DISABLED_TEXT = QColor("#8C9298")

# --- process attention ----------------------------------------------------------------------------
LIMIT_EXCEEDED = QColor("#E0A526")  # a level above hi / below lo: amber fill
ALARM_CRITICAL = QColor("#D0202A")
ALARM_HIGH = QColor("#E87511")
ALARM_MEDIUM = QColor("#F2CF1D")
ALARM_LOW = QColor("#9A7FC7")


@dataclass(frozen=True, slots=True)
class PriorityLook:
    """Background and text colour of an alarm priority in the banner and the summary (WCAG AA: ≥ 4.5:1)."""

    background: QColor
    text: QColor


_WHITE, _DARK = QColor("#FFFFFF"), QColor("#1E2226")
ALARM_PRIORITY_LOOKS: dict[str, PriorityLook] = {
    "urgent": PriorityLook(QColor("#B3261E"), _WHITE),
    "high": PriorityLook(QColor("#B54708"), _WHITE),
    # mustard stays the medium colour an operator knows; white on it reads at 2.4:1, dark text at 6.7:1
    "medium": PriorityLook(QColor("#D4A017"), _DARK),
    "low": PriorityLook(QColor("#4A6B91"), _WHITE),
}
ALARM_UNKNOWN_PRIORITY = PriorityLook(QColor("#6B6B6B"), _WHITE)
ALARM_INACTIVE = PriorityLook(QColor("#6B6B6B"), _WHITE)  # returned to normal, waiting for acknowledgement
NO_ALARM = PriorityLook(QColor("#5A5A5A"), QColor("#E0E0E0"))
MIN_CONTRAST = 4.5
"""WCAG 2 AA contrast for normal text."""


def priority_look(priority: str) -> PriorityLook:
    """The banner colours of an alarm priority (a grey for a priority the palette does not know)."""
    return ALARM_PRIORITY_LOOKS.get(priority, ALARM_UNKNOWN_PRIORITY)


def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


OK_TEXT = QColor("#2C6E3A")  # "written" confirmation after a setpoint change
ERROR_TEXT = QColor("#A3141C")  # a refused entry or a failed write, inline next to the entry
# Operator input typed but not applied: the blue of interaction (not an alarm, not a quality colour).
PENDING_TEXT = QColor("#1D4F91")
PENDING_FILL = QColor("#DCE8F6")

# --- data quality attention -------------------------------------------------------------------------
BAD_QUALITY = QColor("#C000B8")
UNCERTAIN_QUALITY = QColor("#0092A8")

# Trend pens: distinct, readable on a light plot, and none of them red or magenta,
# which would read as an alarm or as bad data.
TREND_BACKGROUND = QColor("#F4F5F6")
TREND_GRID_ALPHA = 0.25
TREND_PENS = ("#1F5FA8", "#2E7D32", "#6A3D9A", "#7B5B3A", "#00796B", "#37474F", "#5C6BC0", "#7A7A1E")

BAD_TEXT = "####"
WAITING_TEXT = "…"
UNCERTAIN_MARK = "?"


class QualityStyle(enum.Enum):
    """How a widget must draw its value, derived from the sample's quality by :func:`style_for`."""

    NORMAL = "normal"
    UNCERTAIN = "uncertain"
    BAD = "bad"
    WAITING = "waiting"


def style_for(sample: Sample | None) -> QualityStyle:
    """The single quality rule: which style a sample is drawn in (None means no value yet)."""
    if sample is None or sample.reason is Reason.WAITING:
        return QualityStyle.WAITING
    if sample.quality is Quality.BAD:
        return QualityStyle.BAD
    if sample.quality is Quality.UNCERTAIN:
        return QualityStyle.UNCERTAIN
    return QualityStyle.NORMAL


@dataclass(frozen=True, slots=True)
class QualityLook:
    """Pen and text colour a widget uses for its frame and its value in one quality style."""

    outline: QColor
    outline_style: Qt.PenStyle
    outline_width: float
    value_colour: QColor


_LOOKS = {
    QualityStyle.NORMAL: QualityLook(EQUIPMENT_LINE, Qt.PenStyle.SolidLine, 1.0, TEXT),
    QualityStyle.WAITING: QualityLook(TEXT_DIM, Qt.PenStyle.DotLine, 1.0, TEXT_DIM),
    QualityStyle.UNCERTAIN: QualityLook(UNCERTAIN_QUALITY, Qt.PenStyle.DashLine, 2.0, TEXT),
    QualityStyle.BAD: QualityLook(BAD_QUALITY, Qt.PenStyle.SolidLine, 2.5, BAD_QUALITY),
}


def look_for(style: QualityStyle) -> QualityLook:
    """Colours and outline of one quality style."""
    return _LOOKS[style]


def outline_pen(style: QualityStyle, normal: QColor | None = None, width: float | None = None) -> QPen:
    """The frame pen for a quality style; ``normal`` overrides the colour of a good frame."""
    look = _LOOKS[style]
    colour = normal if (normal is not None and style is QualityStyle.NORMAL) else look.outline
    pen = QPen(colour, width if width is not None and style is QualityStyle.NORMAL else look.outline_width)
    pen.setStyle(look.outline_style)
    pen.setCosmetic(False)
    return pen


def format_value(value: Any, decimals: int = 2) -> str:
    """Engineering text of a raw value: fixed decimals for numbers, ON/OFF for booleans."""
    if value is None:
        return BAD_TEXT
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            return BAD_TEXT
        return f"{number:.{max(decimals, 0)}f}"
    return str(value)


def value_text(sample: Sample | None, decimals: int = 2) -> str:
    """What a widget shows in place of the value: never a bad value as if it were fresh."""
    style = style_for(sample)
    if style is QualityStyle.WAITING:
        return WAITING_TEXT
    if style is QualityStyle.BAD:
        return BAD_TEXT
    assert sample is not None
    text = format_value(sample.value, decimals)
    return f"{text}{UNCERTAIN_MARK}" if style is QualityStyle.UNCERTAIN else text


def reason_text(sample: Sample | None) -> str:
    """Short reason shown next to a bad or uncertain value (empty when good or waiting)."""
    style = style_for(sample)
    # waiting is already told by the '…': a screen at start-up should not be covered in reasons
    if style in (QualityStyle.NORMAL, QualityStyle.WAITING) or sample is None:
        return ""
    if sample.reason is not Reason.NONE:
        return sample.reason.value
    return "bad quality" if style is QualityStyle.BAD else "uncertain"


def quality_tooltip(sample: Sample | None, decimals: int = 2, units: str = "") -> str:
    """Tooltip explaining the quality; for bad data it carries the last known value, if any."""
    style = style_for(sample)
    if sample is None or style is QualityStyle.WAITING:
        return "Waiting for the first value"
    suffix = f" {units}" if units else ""
    if style is QualityStyle.BAD:
        last = "" if sample.value is None else f" — last known {format_value(sample.value, decimals)}{suffix}"
        return f"Bad quality: {reason_text(sample)}{last}"
    if style is QualityStyle.UNCERTAIN:
        return f"Uncertain: {reason_text(sample)}"
    return ""


def numeric_value(sample: Sample | None) -> float | None:
    """The sample's value as a float when it is numeric (bool counts as 0/1), else None."""
    if sample is None:
        return None
    value = sample.value
    if isinstance(value, numbers.Real):  # bool, int, float and numpy scalars alike
        number = float(value)
        return None if math.isnan(number) else number
    return None


def label_font(pixel_size: float = 13, bold: bool = False) -> QFont:
    """Font for labels and tag names, sized in scene units so the view scales it."""
    font = QFont()
    font.setPixelSize(max(round(pixel_size), 6))
    font.setBold(bold)
    return font


def value_font(pixel_size: float = 16) -> QFont:
    """Font for numbers: a little heavier so values stand out from their labels."""
    font = QFont()
    font.setPixelSize(max(round(pixel_size), 6))
    font.setWeight(QFont.Weight.DemiBold)
    return font
