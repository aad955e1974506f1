"""YAML files read with their line numbers, so that every error can point at the offending line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from hmi.project.errors import Issue, Loc, ProjectError
from hmi.project.yaml_fast import FastLines, read_fast
from hmi.project.yaml_reader import (
    YamlLimits,
    YamlReadError,
    check_events,
    compose_and_load,
    plain_value,
    read_text,
)

MERGE_KEY = "<<"
LIMITS = YamlLimits()
"""What ``hmi check`` and the loader accept of one file: 32 MB, 40 levels, four million values expanded."""


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML file: plain Python ``data`` to validate, and the ``tree`` that knows lines.

    ``tree`` is ruamel's round-trip tree, or the :class:`FastLines` of a file read by the fast path.

    ``path`` is the file as it should appear in error messages.
    """

    path: Path
    data: Any
    tree: Any

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest key or item of ``loc`` present in the file.

        Parts of ``loc`` absent from the file (a missing key, a schema's union tag)
        are skipped, so a missing key points at the mapping that lacks it.
        """
        if isinstance(self.tree, FastLines):
            # From the data as read: ``data`` may be a filtered copy (the rules' parts taken out).
            return self.tree.line_of(self.tree.root if self.tree.root is not None else self.data, loc)
        line = _start_line(self.tree)
        node = self.tree
        for element in loc:
            if isinstance(node, CommentedMap):
                key = _find_key(node, element)
                if key is _ABSENT:
                    continue
                line, node = _key_line(node, key, line), node[key]
            elif isinstance(node, CommentedSeq) and isinstance(element, int) and 0 <= element < len(node):
                line, node = node.lc.item(element)[0] + 1, node[element]
        return line

    def error(self, issue: Issue) -> ProjectError:
        """A :class:`ProjectError` in this file at the line of ``issue.loc``."""
        return ProjectError(self.path, self.line_of(issue.loc), issue.message)


def read_yaml(path: Path, shown_as: Path) -> tuple[YamlDocument | None, list[ProjectError]]:
    """Parse ``path``; return the document (``None`` when unreadable) and any syntax or duplicate-key errors.

    Duplicate keys are all reported, and the document is still returned (first
    value kept) so that the rest of the file gets checked too.
    """
    try:
        text = read_text(path, LIMITS)
        fast = read_fast(text, LIMITS)
        if fast is not None:
            return YamlDocument(shown_as, *fast), []
        check_events(text, LIMITS)
        # Duplicates are found on the node tree instead, so that all of them get reported.
        root, tree = compose_and_load(text, allow_duplicate_keys=True)
        duplicates = [ProjectError(shown_as, line, message) for line, message in _duplicate_keys(root)]
    except YamlReadError as exc:
        return None, [ProjectError(shown_as, exc.line, exc.message)]
    except MarkedYAMLError as exc:
        return None, [ProjectError(shown_as, _mark_line(exc), _syntax_message(exc))]
    except ReaderError as exc:  # a character YAML does not allow (NUL, most control characters)
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else 0
        return None, [ProjectError(shown_as, line, f"character {exc.character!r} is not allowed in YAML")]
    except YAMLError as exc:
        return None, [ProjectError(shown_as, 0, "YAML error: " + " ".join(str(exc).split()))]
    return YamlDocument(shown_as, plain_value(tree), tree), duplicates


def _duplicate_keys(root: Node | None) -> Iterator[tuple[int, str]]:
    """``(line, message)`` for every key repeated within one mapping, anywhere in the tree."""
    seen_nodes: set[int] = set()
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if id(node) in seen_nodes:  # aliases may share (or even cycle back to) a node
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                pending.append(value_node)
                if not isinstance(key_node, ScalarNode) or key_node.value == MERGE_KEY:
                    continue
                line = key_node.start_mark.line + 1
                key = key_node.value
                if key not in first_line:
                    first_line[key] = line
                    continue
                yield line, f"duplicate key {key!r} (first defined on line {first_line[key]})"
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)


def _mark_line(exc: MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else 0


def _syntax_message(exc: MarkedYAMLError) -> str:
    """ruamel's problem and its context in one line, without its multi-line source excerpts."""
    if isinstance(exc, ConstructorError) and not exc.context:
        return str(exc.problem)  # a value that cannot be read as its tag says, not a syntax error
    parts = [part for part in (exc.problem, exc.context) if part]
    if exc.problem and exc.context and exc.context_mark is not None and exc.problem_mark is not None:
        parts[1] = f"{exc.context} (line {exc.context_mark.line + 1})"
    return "YAML syntax error: " + "; ".join(parts or [str(exc)])


_ABSENT = object()


def _find_key(mapping: CommentedMap, element: str | int) -> Any:
    """The key of ``mapping`` that ``element`` names; a number key is matched by its text too."""
    if element in mapping:
        return element
    for key in mapping:
        if str(key) == str(element):
            return key
    return _ABSENT


def _key_line(mapping: CommentedMap, key: Any, fallback: int, hops: int = 0) -> int:
    """The line of ``key`` in ``mapping``; a key brought in by ``<<:`` is at its line in the merged map."""
    if key in mapping.lc.data:
        return int(mapping.lc.key(key)[0]) + 1
    for source in getattr(mapping, "merge", None) or ():
        merged = source[1] if isinstance(source, tuple) else source
        if isinstance(merged, CommentedMap) and key in merged and hops < 40:
            return _key_line(merged, key, _start_line(merged), hops + 1)
    return fallback


def _start_line(tree: Any) -> int:
    return tree.lc.line + 1 if isinstance(tree, CommentedMap | CommentedSeq) else 1
