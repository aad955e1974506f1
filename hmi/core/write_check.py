"""The runtime side's door to the one write check (:mod:`hmi.project.write_check`).

Operator and rule writes are untrusted: every write is coerced to the tag's type and
refused when unsafe before a driver sees it. The check itself sits with the project's
validation so that ``hmi check`` runs the very same function on screen buttons.
"""

from __future__ import annotations

from hmi.project.write_check import INTEGER_RANGES, check_value, coerce_for_write, show_number, write_problem

__all__ = ["INTEGER_RANGES", "check_value", "coerce_for_write", "show_number", "write_problem"]
