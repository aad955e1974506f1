"""Reusable Qt widgets and mimic symbols: no IO and no runtime imports, fed through setters and signals.

Names are imported lazily so that ``import widgets.palette`` does not pull in
pyqtgraph, and a screen made only of symbols starts quickly::

    from widgets import TankSymbol, TrendWidget
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "ButtonItem": "widgets.button_item",
    "LabelItem": "widgets.label_item",
    "MimicSymbol": "widgets.symbols",
    "PipeItem": "widgets.pipe",
    "PumpSymbol": "widgets.pump",
    "QualityStyle": "widgets.palette",
    "SetpointEntry": "widgets.setpoint_entry",
    "SetpointPanel": "widgets.setpoint_entry",
    "TankSymbol": "widgets.tank",
    "TrendWidget": "widgets.trend",
    "ValueDisplay": "widgets.value_display",
    "ValveSymbol": "widgets.valve",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
