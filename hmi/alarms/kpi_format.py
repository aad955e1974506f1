"""The alarm performance report as text for an alarm-management team, as CSV, or as JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import TextIO

from hmi.alarms.kpi import FLOOD_ABOVE, AlarmReport
from hmi.alarms.kpi_states import ActiveSpan

When = Callable[[float], str]


def write_report(report: AlarmReport, form: str, out: TextIO, when: When) -> None:
    """Write ``report`` as ``text``, ``csv`` (one table: section, alarm, figures) or ``json``."""
    if form == "json":
        json.dump(report.as_dict(), out, indent=1)
        out.write("\n")
    elif form == "csv":
        _write_csv(report, out, when)
    else:
        out.write(report_text(report, when))


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def report_text(report: AlarmReport, when: When) -> str:
    """The report as plain text, section by section."""
    lines = [
        f"Alarm system performance  {when(report.start)} .. {when(report.end)}"
        f"  ({_duration(report.end - report.start)}, {report.operators} operator(s))",
        "",
        f"Alarms annunciated     {report.total}",
        f"Average per 10 min     {report.average_per_window:.2f} per operator  ({report.band}; EEMUA 191:"
        " < 1 very likely acceptable, > 10 flood)",
        f"Peak 10 min            {report.peak_per_window}"
        + (f"  (from {when(report.peak_window_start)})" if report.peak_window_start is not None else ""),
        "By priority            " + (", ".join(f"{p} {n}" for p, n in report.by_priority.items()) or "none"),
        f"Time in flood          {_duration(report.time_in_flood_s)}  ({report.time_in_flood_share:.1%})",
        "",
        f"Floods (more than {FLOOD_ABOVE} alarms in 10 min): {len(report.floods)}",
    ]
    for flood in report.floods:
        top = ", ".join(f"{name} x{n}" for name, n in flood.top)
        lines.append(f"  {when(flood.start)} .. {when(flood.end)}  {flood.count} alarms; top: {top}")
    lines += ["", f"Top {len(report.top)} most frequent"]
    lines += [f"  {t.count:>6}  {t.share:>6.1%}  {t.priority:<7} {t.alarm}" for t in report.top]
    lines += ["", f"Chattering (3 or more in 1 min): {len(report.chattering)}"]
    lines += [
        f"  {c.alarm}  ({c.priority}) {c.count} alarms, up to {c.most_per_minute} in 1 min,"
        f" first at {when(c.first)}"
        for c in report.chattering
    ]
    lines += ["", f"Stale (active longer than 24 h): {len(report.stale)}"]
    lines += [
        f"  {s.alarm}  ({s.priority}) active since {when(s.start)}, {_duration(_active(s, report.end))}"
        for s in report.stale
    ]
    lines += ["", f"Standing (active at the end of the period): {len(report.standing)}"]
    lines += [f"  {s.alarm}  ({s.priority}) {s.state} since {when(s.start)}" for s in report.standing]
    lines += ["", f"Shelved or out of service in the period: {len(report.set_aside)}"]
    lines += [
        f"  {s.alarm}  shelved {_duration(s.shelved_s)}, out of service {_duration(s.out_of_service_s)}"
        for s in report.set_aside
    ]
    return "\n".join(lines) + "\n"


def _active(span: ActiveSpan, end: float) -> float:
    return (span.end if span.end is not None else end) - span.start


CSV_FIELDS = ("section", "alarm", "priority", "count", "start", "end", "seconds", "detail")


def _write_csv(report: AlarmReport, out: TextIO, when: When) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    span = (when(report.start), when(report.end))
    writer.writerow(["summary", "", "", report.total, *span, report.end - report.start, report.band])
    writer.writerow(["average_per_10min", "", "", f"{report.average_per_window:.3f}", *span, "", ""])
    writer.writerow(["peak_per_10min", "", "", report.peak_per_window, *span, "", ""])
    for priority, count in report.by_priority.items():
        writer.writerow(["priority", "", priority, count, *span, "", ""])
    for flood in report.floods:
        top = "; ".join(f"{name} x{n}" for name, n in flood.top)
        writer.writerow(
            [
                "flood",
                "",
                "",
                flood.count,
                when(flood.start),
                when(flood.end),
                f"{flood.end - flood.start:.3f}",
                top,
            ]
        )
    for t in report.top:
        writer.writerow(["top", t.alarm, t.priority, t.count, "", "", "", f"{t.share:.4f}"])
    for c in report.chattering:
        writer.writerow(
            [
                "chattering",
                c.alarm,
                c.priority,
                c.count,
                when(c.first),
                "",
                "",
                f"max {c.most_per_minute} per minute",
            ]
        )
    for name, spans in (("stale", report.stale), ("standing", report.standing)):
        for s in spans:
            until = when(s.end) if s.end is not None else ""
            writer.writerow(
                [
                    name,
                    s.alarm,
                    s.priority,
                    "",
                    when(s.start),
                    until,
                    f"{_active(s, report.end):.3f}",
                    s.state,
                ]
            )
    for item in report.set_aside:
        writer.writerow(["shelved", item.alarm, "", "", "", "", f"{item.shelved_s:.3f}", ""])
        writer.writerow(["out_of_service", item.alarm, "", "", "", "", f"{item.out_of_service_s:.3f}", ""])
