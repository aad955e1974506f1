"""The fast path for reading a project file: libyaml's C parser, one pass, plain data and line numbers.

The careful reader (:mod:`hmi.project.yaml_reader`) costs ~0.7 ms per tag line in
pure Python. Most project files are plain: no anchors, aliases, merge keys or
explicit tags, no duplicate keys, well within the bounds. For those, one pass
over libyaml's event stream builds the same plain data the careful reader
would, and remembers the line of every key and item, so an error found later
by the schema still names its exact line.

Anything else gives up (``None``) and the caller reads the file the careful
way: every syntax error, refusal and duplicate-key report keeps coming from one
place, worded as before. Scalars are resolved with ruamel's YAML 1.2 resolver
and built by the careful reader's own constructor (cached by text), so
``yes`` stays a string and ``0o17`` is 15 in both paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.docinfo import DocInfo, version
from ruamel.yaml.nodes import ScalarNode

from hmi.project.errors import Loc
from hmi.project.yaml_reader import YamlLimits, plain_value, round_trip_yaml

try:  # PyYAML without its C extension (or without PyYAML) leaves only the careful reader
    from yaml import CSafeLoader as _CParser
    from yaml import events as _events
except ImportError:  # pragma: no cover - depends on the installed wheel
    _CParser = None

_CORE = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(f"{_CORE}{name}" for name in ("int", "float", "bool", "null"))
_STR = f"{_CORE}str"
# Characters the two parsers may read differently (YAML 1.1 line breaks, tabs, a BOM inside, characters
# YAML refuses): a file holding any of them takes the careful path, which has the final word on them.
_UNSURE = re.compile(
    "[^\\n\\r\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd\\U00010000-\\U0010ffff]"
)
_UNSURE_ASCII = re.compile("[\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f]")


def _unsure(text: str) -> bool:
    """Whether ``text`` holds a character or a directive the two parsers might read differently."""
    if text.startswith("%") or "\n%" in text or "\r%" in text:
        return True
    return bool((_UNSURE_ASCII if text.isascii() else _UNSURE).search(text))


_MARGIN = 2
"""Bounds are left to the careful reader this close to them, so it alone words (and places) a refusal."""


class _GiveUp(Exception):
    """The file is not one the fast path reads exactly as the careful reader would."""


@dataclass(slots=True)
class FastLines:
    """Where each mapping and sequence of a fast-read document starts, and the line of each key or item.

    Keyed by the ``id`` of the plain container in the document's data (which the document keeps alive).
    """

    start: int = 1
    containers: dict[int, tuple[int, list[int]]] = field(default_factory=dict)
    root: Any = None
    """The data as read: lines are looked up from it even when a caller hands on a filtered copy."""
    _key_maps: dict[int, dict[Any, int]] = field(default_factory=dict)

    def line_of(self, data: Any, loc: Loc) -> int:
        """The careful reader's answer to :meth:`YamlDocument.line_of`, from the recorded lines."""
        line = self.start_of(data)
        node = data
        for element in loc:
            if isinstance(node, dict):
                key = _find_key(node, element)
                if key is _ABSENT:
                    continue
                line, node = self._key_line(node, key), node[key]
            elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
                line, node = self.containers[id(node)][1][element], node[element]
        return line

    def start_of(self, data: Any) -> int:
        """The line the container ``data`` starts on (1 for a scalar document)."""
        entry = self.containers.get(id(data))
        return entry[0] if entry is not None else 1

    def _key_line(self, mapping: dict[Any, Any], key: Any) -> int:
        lines = self._key_maps.get(id(mapping))
        if lines is None:  # built on the first question: only mappings with an error in them pay for it
            lines = dict(zip(mapping, self.containers[id(mapping)][1], strict=True))
            self._key_maps[id(mapping)] = lines
        return lines[key]


_ABSENT = object()


def _find_key(mapping: dict[Any, Any], element: str | int) -> Any:
    if element in mapping:
        return element
    for key in mapping:
        if str(key) == str(element):
            return key
    return _ABSENT


def fast_available() -> bool:
    """Whether libyaml's C parser is installed (otherwise every file takes the careful path)."""
    return _CParser is not None


def read_fast(text: str, limits: YamlLimits) -> tuple[Any, FastLines] | None:
    """The plain data of ``text`` and its lines, or ``None`` when the careful reader must read it."""
    if _CParser is None or len(text) > limits.max_bytes or _unsure(text):
        return None
    try:
        return _Builder(limits).build(text)
    except Exception:  # any surprise (a libyaml error included) is the careful path's to word
        return None


class _Builder:
    """Plain data from the event stream, one container per frame; refuses what it cannot read exactly."""

    def __init__(self, limits: YamlLimits) -> None:
        self.max_depth = limits.max_depth - _MARGIN
        self.max_nodes = limits.max_nodes - _MARGIN
        self.lines = FastLines()
        self.scalars = _ScalarCache()

    def build(self, text: str) -> tuple[Any, FastLines]:
        """Data and lines of ``text``; raises on anything the careful reader must read instead."""
        containers = self.lines.containers
        root: list[Any] = []
        # The open container is kept in locals (the hot path); enclosing ones wait on the stack.
        container: Any = root
        lines: list[int] = []
        is_list, pending, keys = True, _ABSENT, 0
        stack: list[tuple[Any, list[int], bool, Any, int]] = []
        nodes = documents = 0
        scalar_event, mapping_start = _events.ScalarEvent, _events.MappingStartEvent
        sequence_start, collection_end = _events.SequenceStartEvent, _events.CollectionEndEvent
        scalar, max_nodes, max_depth = self.scalars.value, self.max_nodes, self.max_depth
        first_chars = self.scalars.first_chars
        parser = _CParser(text)
        try:
            get_event = parser.get_event
            while (event := get_event()) is not None:
                kind = type(event)
                if kind is scalar_event:
                    if event.anchor is not None or event.tag is not None:
                        raise _GiveUp
                    value: Any = event.value
                    implicit = event.implicit
                    if implicit[0] and (not value or value[0] in first_chars):
                        value = scalar(value, implicit)  # plain, and possibly not a string
                    nodes += 1
                    if pending is not _ABSENT:  # the value of a key: the commonest event of all
                        container[pending] = value
                        pending = _ABSENT
                    elif is_list:
                        container.append(value)
                        lines.append(event.start_mark.line + 1)
                    else:
                        pending = value
                        keys += 1
                        lines.append(event.start_mark.line + 1)
                elif kind is mapping_start or kind is sequence_start:
                    if event.anchor is not None or event.tag is not None or len(stack) >= max_depth:
                        raise _GiveUp
                    value = {} if kind is mapping_start else []
                    line = event.start_mark.line + 1
                    nodes += 1
                    if pending is not _ABSENT:
                        container[pending] = value
                        pending = _ABSENT
                    elif is_list:
                        container.append(value)
                        lines.append(line)
                    else:
                        raise _GiveUp  # a collection as a key
                    stack.append((container, lines, is_list, pending, keys))
                    container, lines, is_list, pending, keys = value, [], kind is sequence_start, _ABSENT, 0
                    containers[id(value)] = (line, lines)
                elif isinstance(event, collection_end):
                    if pending is not _ABSENT or (not is_list and len(container) != keys):
                        raise _GiveUp  # a repeated key (by text or value): the careful reader names them all
                    container, lines, is_list, pending, keys = stack.pop()
                elif isinstance(event, _events.DocumentStartEvent):
                    documents += 1
                    if documents > 1:
                        raise _GiveUp
                elif not isinstance(event, _FRAMING):  # an alias
                    raise _GiveUp
                if nodes > max_nodes:
                    raise _GiveUp
        finally:
            parser.dispose()
        if stack or len(root) > 1:
            raise _GiveUp
        data = root[0] if root else None
        self.lines.start = self.lines.start_of(data)
        self.lines.root = data
        return data, self.lines


_FRAMING = (_events.StreamStartEvent, _events.StreamEndEvent, _events.DocumentEndEvent) if _CParser else ()


class _ScalarCache:
    """Scalars as the careful reader builds them (YAML 1.2), each distinct text resolved once."""

    def __init__(self) -> None:
        yaml = round_trip_yaml()
        yaml.doc_infos.append(DocInfo(requested_version=version(yaml.version)))
        self.resolver, self.constructor = yaml.resolver, yaml.constructor
        self.first_chars = frozenset(key for key in self.resolver.versioned_resolver if key)
        self.cache: dict[tuple[str, bool], Any] = {}

    def value(self, text: str, implicit: tuple[bool, bool]) -> Any:
        plain = implicit[0]
        if not plain or (text and text[0] not in self.first_chars):
            return text  # quoted, or plain and starting where no YAML 1.2 type could: a string
        key = (text, plain)
        try:
            return self.cache[key]
        except KeyError:
            pass
        tag = str(self.resolver.resolve(ScalarNode, text, implicit))
        if tag == _STR:
            value: Any = text
        elif tag in _PLAIN_TAGS:
            value = plain_value(self.constructor.construct_object(ScalarNode(tag, text)))
        else:
            raise _GiveUp  # a timestamp, a merge key, '=': the careful reader's business
        self.cache[key] = value
        return value
