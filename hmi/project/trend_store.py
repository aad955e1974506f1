"""Save a trend (its pens and span) into ``project.yaml``'s ``trends:`` section, touching nothing else.

Engineers keep project files in git, so a save from the operator's trend
viewer must produce a one-line diff: ruamel's round-trip parser finds the lines
of the ``trends:`` entry, and only those lines are rewritten; every other line,
comment and blank line of the file stays byte for byte. The file is replaced
atomically, so a crash mid-save leaves the old file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from hmi.project.units import parse_duration

SECTION = "trends"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_SPAN_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_span(seconds: float) -> str:
    """A duration as an engineer writes it: ``10m``, ``24h``, ``7d``, ``90s`` (or ``1.5s``)."""
    for unit, size in _SPAN_UNITS:
        # a day is read as 24h; days start at 2d, as the trend presets say "7 d" but "24 h"
        if seconds >= (2 * size if unit == "d" else size) and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _scalar(text: str) -> str:
    """``text`` as YAML: plain when it is a simple name, else double-quoted (JSON quoting is valid YAML)."""
    return (
        text
        if _PLAIN.fullmatch(text) and text.lower() not in ("true", "false", "null", "yes", "no")
        else (json.dumps(text, ensure_ascii=False))
    )


def trend_entry(name: str, pens: Sequence[str], span: float, title: str | None) -> str:
    """One ``trends:`` entry on one line, in the style of the demo project."""
    fields = [f"title: {_scalar(title)}"] if title else []
    fields += [f"span: {format_span(span)}", f"pens: [{', '.join(_scalar(pen) for pen in pens)}]"]
    return f"{_scalar(name)}: {{{', '.join(fields)}}}"


def save_trend(
    project_file: Path, name: str, pens: Sequence[str], span: float, title: str | None = None
) -> None:
    """Write trend ``name`` with ``pens`` and ``span`` (seconds); an existing title stays unless given.

    Raises ``ValueError`` for an empty pen list or a file that is not a YAML mapping.
    """
    if not pens:
        raise ValueError("a trend needs at least one pen")
    if span <= 0:
        raise ValueError("a trend's span must be positive")
    text = project_file.read_bytes().decode("utf-8")
    tree = YAML(typ="rt").load(text)
    if not isinstance(tree, CommentedMap):
        raise ValueError(f"{project_file.name} is not a mapping")
    lines = text.splitlines(keepends=True)
    section = tree.get(SECTION)
    if title is None and isinstance(section, dict) and isinstance(section.get(name), dict):
        title = section[name].get("title")
    entry = trend_entry(name, pens, span, title)
    newline = "\r\n" if "\r\n" in text else "\n"  # a file saved on Windows keeps its line ends
    new_text = "".join(_with_entry(tree, lines, name, entry)).replace("\n", newline).replace("\r\r\n", "\r\n")
    _check(new_text, name, pens)
    _replace_file(project_file, new_text)


def _with_entry(tree: CommentedMap, lines: list[str], name: str, entry: str) -> list[str]:
    section = tree.get(SECTION)
    if SECTION not in tree:
        tail = [] if not lines or lines[-1].endswith("\n") else ["\n"]
        return [*lines, *tail, "\n", f"{SECTION}:\n", f"  {entry}\n"]
    section_line = tree.lc.key(SECTION)[0]
    section_end = _next_top_level_line(tree, len(lines))
    if not isinstance(section, CommentedMap) or not section or section.fa.flow_style():
        # empty (`trends:` / `trends: {}`) or written inline: rewrite the section's own lines as a block
        entries = dict(section) if isinstance(section, dict) else {}
        body = [f"  {line}\n" for line in _inline_entries(entries, name, entry)]
        end = _back_off(lines, section_line + 1, section_end)
        return [*lines[:section_line], f"{SECTION}:\n", *body, *lines[end:]]
    keys = list(section)
    indent = " " * section.lc.key(keys[0])[1]
    if name in section:
        at = keys.index(name)
        start = section.lc.key(name)[0]
        following = section.lc.key(keys[at + 1])[0] if at + 1 < len(keys) else section_end
        end = _back_off(lines, start + 1, following)
        return [*lines[:start], f"{indent}{entry}\n", *lines[end:]]
    end = _back_off(lines, section.lc.key(keys[-1])[0] + 1, section_end)
    return [*lines[:end], f"{indent}{entry}\n", *lines[end:]]


def _inline_entries(entries: dict[str, Any], name: str, entry: str) -> list[str]:
    """Entries of an inline section, each as one line, with ``name``'s replaced or added."""
    rendered = [
        trend_entry(key, value.get("pens", []), _span_seconds(value), value.get("title"))
        if key != name
        else entry
        for key, value in entries.items()
        if isinstance(value, dict)
    ]
    return rendered if name in entries else [*rendered, entry]


def _span_seconds(value: dict[str, Any]) -> float:
    return parse_duration(value.get("span", 600))


def _next_top_level_line(tree: CommentedMap, line_count: int) -> int:
    keys = list(tree)
    at = keys.index(SECTION)
    return tree.lc.key(keys[at + 1])[0] if at + 1 < len(keys) else line_count


def _back_off(lines: list[str], first: int, end: int) -> int:
    """Move ``end`` up over blank and comment-only lines: they belong to what follows."""
    while end > first and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _check(text: str, name: str, pens: Sequence[str]) -> None:
    """Refuse to write a file whose trend does not read back as written."""
    tree = YAML(typ="safe").load(text)
    saved = (tree or {}).get(SECTION, {}).get(name, {})
    if list(saved.get("pens", [])) != list(pens):
        raise ValueError(f"saving trend {name!r} would not read back (please report this)")


def _replace_file(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)  # mkstemp makes it private; keep the file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
