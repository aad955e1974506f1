"""``project.yaml`` as a document for programmatic edits: comments, key order and untouched lines kept.

Engineers keep project files in git, so a change made by the application (a
saved trend, an added tag) must read as the one change in a diff. The file is
parsed with ruamel's round-trip loader only to find where each key sits; an
edit rewrites the lines of the one entry it changes, in flow style on one line
(or a section as a block of such lines), and every other byte of the file stays
as it was. Each edit is read back before it is accepted, and :meth:`save`
replaces the file atomically.

This is apart from the frozen runtime ``Project``: edit here, save, then load
the project again to validate and run it.

Loading is bounded (size, aliases, nesting depth): ruamel builds aliases without
limit and composes recursively, so a hostile or broken file could otherwise
exhaust memory or the stack.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node
from ruamel.yaml.scalarbool import ScalarBoolean

from hmi.project.units import format_duration, parse_duration
from hmi.project.yaml_flow import entry, scalar
from hmi.project.yaml_reader import YamlLimits, YamlReadError, check_events, read_text, round_trip_yaml

MAX_BYTES = 8 * 1024 * 1024
MAX_ALIASES = 100
MAX_DEPTH = 40
_OTHER_LINE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # YAML line breaks besides \n and \r\n
KeyPath = Sequence[str]


class DocumentError(ValueError):
    """A project file that cannot be edited safely, or an edit that cannot be made; names file and line."""

    def __init__(self, file: Path, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.message = file, line, message


class ProjectDocument:
    """A round-trip view of one YAML mapping file with edits that touch only the lines they change."""

    def __init__(self, text: str, path: Path = Path("project.yaml")) -> None:
        self.path = path
        self._newline = "\r\n" if "\r\n" in text else "\n"  # a file saved on Windows keeps its line ends
        self._lines = _split_lines(text)
        self._tree = self._parse(text)

    @classmethod
    def load(cls, path: Path) -> ProjectDocument:
        """Read ``path``; ``DocumentError`` when it is too big, not UTF-8, not YAML or not a mapping."""
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DocumentError(path, 0, f"the file is {size} bytes, more than the {MAX_BYTES} an edit reads")
        try:
            text = read_text(path, _limits(), encoding="utf-8")  # a byte order mark is kept, as every byte is
        except YamlReadError as exc:
            raise DocumentError(path, exc.line, exc.message) from exc
        return cls(text, path)

    @property
    def text(self) -> str:
        """The file's text as it stands after the edits so far."""
        return "".join(self._lines)

    # --- reading ------------------------------------------------------------------------------------------
    def get(self, *path: str, default: Any = None) -> Any:
        """The plain value (dicts, lists, scalars) at ``path``, or ``default`` when absent."""
        node: Any = self._tree
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return _plain(node)

    def __contains__(self, path: object) -> bool:
        """True when the key path (a tuple of keys) exists."""
        missing = object()
        return isinstance(path, tuple) and self.get(*path, default=missing) is not missing

    # --- edits --------------------------------------------------------------------------------------------
    def set(self, path: KeyPath, value: Any, *, block: bool = False) -> None:
        """Set the key at ``path`` to ``value``, adding it (and mappings on the way) when absent.

        The changed entry is written on one line in flow style; with ``block`` a
        mapping value is written as a block, one line per entry.
        """
        ancestors, anchor = self._edit_point(path)
        if anchor == len(path) - 1:
            new_value = value
        else:
            current = self.get(*path[: anchor + 1], default=None)
            new_value = _with_key(current, path[anchor + 1 :], value, self._where(path[: anchor + 1]))
        self._put(ancestors, path[: anchor + 1], new_value, block)
        self._check(path, value)

    def remove(self, path: KeyPath) -> None:
        """Remove the key at ``path`` and its lines; ``KeyError`` when absent."""
        if tuple(path) not in self:
            raise KeyError(".".join(path))
        ancestors, anchor = self._edit_point(path)
        if anchor == len(path) - 1:
            start, end = self._span(ancestors, path)
            self._replace(start, end, [])
        else:
            current = self.get(*path[: anchor + 1])
            self._put(ancestors, path[: anchor + 1], _without_key(current, path[anchor + 1 :]), False)
        if tuple(path) in self:
            raise DocumentError(
                self.path, 0, f"removing {'.'.join(path)!r} did not take (please report this)"
            )

    def add_tag(self, name: str, definition: Mapping[str, Any]) -> None:
        """Add tag ``name`` at the end of ``tags:``; a tag of that name already there is an error."""
        if ("tags", name) in self:
            raise DocumentError(self.path, self._line_of(("tags", name)), f"tag {name!r} already exists")
        self.set(("tags", name), dict(definition))

    def remove_tag(self, name: str) -> None:
        """Remove tag ``name``; ``KeyError`` when there is none."""
        self.remove(("tags", name))

    def set_trend(self, name: str, pens: Sequence[str], span: float, title: str | None = None) -> None:
        """Write trend ``name`` with ``pens`` and ``span`` (seconds); an existing title stays unless given."""
        if not pens:
            raise ValueError("a trend needs at least one pen")
        if span <= 0:
            raise ValueError("a trend's span must be positive")
        section = self._tree.get("trends") if self._tree is not None else None
        if title is None:
            title = (self.get("trends", name) or {}).get("title") if isinstance(section, Mapping) else None
        fields = trend_fields(pens, span, title)
        if isinstance(section, CommentedMap) and section and not section.fa.flow_style():
            self.set(("trends", name), fields)
            return
        # empty (`trends:` / `trends: {}`) or written inline: the section becomes a block, one trend a line
        entries = {
            key: trend_fields(
                value.get("pens", []), parse_duration(value.get("span", 600)), value.get("title")
            )
            for key, value in (self.get("trends") or {}).items()
            if isinstance(value, dict)
        }
        entries[name] = fields
        self.set(("trends",), entries, block=True)

    def save(self, path: Path | None = None) -> None:
        """Write the document to ``path`` (its own file by default), replacing the file atomically."""
        _replace_file(path or self.path, self.text)

    # --- where things are ---------------------------------------------------------------------------------
    def _parse(self, text: str) -> CommentedMap | None:
        if any(mark in text.replace("\r\n", "\n") for mark in _OTHER_LINE_BREAKS):
            # the edits count lines by \n; YAML would count these too, and the two would disagree
            raise DocumentError(self.path, 0, "the file has line breaks other than \\n or \\r\\n")
        _check_bounds(text, self.path)
        try:
            tree = round_trip_yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise DocumentError(self.path, mark.line + 1 if mark else 0, str(exc.problem or exc)) from exc
        except YAMLError as exc:
            raise DocumentError(self.path, 0, f"YAML error: {exc}") from exc
        if tree is not None and not isinstance(tree, CommentedMap):
            raise DocumentError(self.path, 1, "the file is not a mapping")
        if isinstance(tree, CommentedMap) and tree.fa.flow_style():
            raise DocumentError(self.path, 1, "the top level is written inline ({...}); edits need a block")
        return tree

    def _edit_point(self, path: KeyPath) -> tuple[list[CommentedMap], int]:
        """The block mappings from the top down along ``path``, and the index of the key to rewrite.

        An edit rewrites the entry of the deepest key that sits in a block mapping:
        a value inside an inline mapping is changed by rewriting that mapping's line.
        """
        if not path:
            raise ValueError("an edit needs a key path")
        root = self._tree if self._tree is not None else CommentedMap()
        ancestors = [root]
        for key in path[:-1]:
            child = ancestors[-1].get(key)
            if not (isinstance(child, CommentedMap) and child and not child.fa.flow_style()):
                break
            ancestors.append(child)
        return ancestors, len(ancestors) - 1

    def _span(self, ancestors: list[CommentedMap], path: KeyPath) -> tuple[int, int]:
        """Lines ``[start, end)`` of the entry at ``path`` (blanks and comments after it go with the next)."""
        mapping, key = ancestors[len(path) - 1], path[-1]
        start = mapping.lc.key(key)[0]
        return start, _back_off(self._lines, start + 1, self._following(ancestors, path))

    def _following(self, ancestors: list[CommentedMap], path: KeyPath) -> int:
        """The line of the next key after ``path``'s entry at its level or above (end of file if none)."""
        for depth in range(len(path) - 1, -1, -1):
            keys = list(ancestors[depth])
            at = keys.index(path[depth])
            if at + 1 < len(keys):
                return ancestors[depth].lc.key(keys[at + 1])[0]
        return len(self._lines)

    def _line_of(self, path: KeyPath) -> int:
        ancestors, anchor = self._edit_point(path)
        mapping = ancestors[anchor]
        return mapping.lc.key(path[anchor])[0] + 1 if path[anchor] in mapping else 0

    def _where(self, path: KeyPath) -> str:
        return f"{'.'.join(path)!r} (line {self._line_of(path)})"

    # --- rewriting ----------------------------------------------------------------------------------------
    def _put(self, ancestors: list[CommentedMap], path: KeyPath, value: Any, block: bool) -> None:
        mapping, key = ancestors[len(path) - 1], path[-1]
        keys = list(mapping)
        indent = " " * (mapping.lc.key(keys[0])[1] if keys else 0)
        top_level = len(path) == 1
        if key in mapping:
            block = block or (top_level and mapping[key] is None and isinstance(value, Mapping))
            start, end = self._span(ancestors, path)
            lines = self._render(indent, key, value, block)
            if len(lines) == 1 and end - start == 1:
                lines[0] = (
                    lines[0][: -len(self._newline)] + self._trailing_comment(path, start) + self._newline
                )
            self._replace(start, end, lines)
            return
        block = block or (top_level and isinstance(value, Mapping) and bool(value))
        lines = self._render(indent, key, value, block)
        if top_level:
            at = len(self._lines)
            if block and self._lines and self._lines[-1].strip():
                lines.insert(0, self._newline)  # a new section is set apart by a blank line
        else:
            at = self._span(ancestors, (*path[:-1], keys[-1]))[1]
        if at and not self._lines[at - 1].endswith("\n"):
            self._lines[at - 1] += self._newline
        self._replace(at, at, lines)

    def _render(self, indent: str, key: str, value: Any, block: bool) -> list[str]:
        newline = self._newline
        if block and isinstance(value, Mapping) and value:
            inner = indent + "  "
            return [f"{indent}{scalar(key)}:{newline}"] + [
                f"{inner}{entry(name, item)}{newline}" for name, item in value.items()
            ]
        return [f"{indent}{entry(key, value)}{newline}"]

    def _trailing_comment(self, path: KeyPath, line: int) -> str:
        """A ``# comment`` after a one-line entry's value, with the spaces before it (else empty)."""
        text = self._lines[line].rstrip("\r\n")
        if "#" not in text:
            return ""
        value = _value_node(YAML(typ="rt").compose(self.text), path)
        if value is None or value.end_mark.line != line:
            return ""
        rest = text[value.end_mark.column :]
        return rest if rest.lstrip().startswith("#") else ""

    def _replace(self, start: int, end: int, lines: list[str]) -> None:
        previous = self._lines
        self._lines = [*previous[:start], *lines, *previous[end:]]
        try:
            self._tree = self._parse(self.text)
        except DocumentError:
            self._lines = previous
            raise

    def _check(self, path: KeyPath, value: Any) -> None:
        if self.get(*path) != _plain(value):
            raise DocumentError(
                self.path, 0, f"setting {'.'.join(path)!r} would not read back (please report this)"
            )


def trend_fields(pens: Sequence[str], span: float, title: str | None) -> dict[str, Any]:
    """A ``trends:`` entry's keys in the order the demo project writes them."""
    fields: dict[str, Any] = {"title": title} if title else {}
    return {**fields, "span": format_duration(span), "pens": list(pens)}


def _split_lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _check_bounds(text: str, path: Path) -> None:
    """Refuse too many aliases, too deep nesting or unknown tags, from the event stream (nothing is built)."""
    if len(text) > MAX_BYTES:
        raise DocumentError(path, 0, f"the text is longer than the {MAX_BYTES} characters an edit reads")
    try:
        check_events(text, _limits())
    except YamlReadError as exc:
        raise DocumentError(path, exc.line, exc.message) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise DocumentError(path, mark.line + 1 if mark else 0, f"YAML syntax error: {exc.problem}") from exc


def _limits() -> YamlLimits:
    # Read at call time, so the bounds stay module settings a caller (or a test) can change.
    return YamlLimits(max_bytes=MAX_BYTES, max_depth=MAX_DEPTH, max_aliases=MAX_ALIASES)


def _value_node(root: Node | None, path: KeyPath) -> Node | None:
    node = root
    for key in path:
        if not isinstance(node, MappingNode):
            return None
        node = next((value for name, value in node.value if getattr(name, "value", None) == key), None)
    return node


def _back_off(lines: list[str], first: int, end: int) -> int:
    """Move ``end`` up over blank and comment-only lines: they belong to what follows."""
    while end > first and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _with_key(current: Any, rest: KeyPath, value: Any, where: str) -> dict[str, Any]:
    if current is None:
        current = {}
    if not isinstance(current, dict):
        raise ValueError(f"{where} is not a mapping, so it has no key {rest[0]!r}")
    updated = dict(current)
    updated[rest[0]] = value if len(rest) == 1 else _with_key(current.get(rest[0]), rest[1:], value, where)
    return updated


def _without_key(current: dict[str, Any], rest: KeyPath) -> dict[str, Any]:
    updated = dict(current)
    if len(rest) == 1:
        del updated[rest[0]]
    else:
        updated[rest[0]] = _without_key(current[rest[0]], rest[1:])
    return updated


def _plain(node: Any) -> Any:
    """Dicts, lists, str, int, float, bool and None (ruamel's subclasses removed; tuples read as lists)."""
    if isinstance(node, Mapping):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(item) for item in node]
    if isinstance(node, bool | ScalarBoolean):  # ScalarBoolean is an int subclass, not a bool
        return bool(node)
    for plain_type in (int, float, str):
        if isinstance(node, plain_type):
            return plain_type(node)
    return node


def _replace_file(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())  # the new text is on disk before it takes the old file's name
        if path.exists():
            os.chmod(
                temporary, path.stat().st_mode & 0o7777
            )  # mkstemp makes it private; keep the file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
