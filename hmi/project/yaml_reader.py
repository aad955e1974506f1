"""The one bounded way to read a YAML project file: size, file type, nesting, alias expansion and tags.

ruamel composes recursively (a few hundred levels exhaust the stack), shares
aliased nodes but lets every consumer expand them (a billion-laughs file of a
few hundred bytes becomes gigabytes once turned into plain data), constructs
``!!int abc`` by raising a bare ``ValueError``, and reading a FIFO named
``*.yaml`` blocks forever. The bounds are checked before anything is composed or
built, from the file descriptor and the event stream (each refusal a
:class:`YamlReadError` with its line); the data is then built by a constructor that
reports a value it cannot read at the value's line.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import ReusedAnchorWarning
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.docinfo import DocInfo, version
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean

# A redefined anchor is valid YAML (the later one counts); ruamel would print a warning on every check.
warnings.filterwarnings("ignore", category=ReusedAnchorWarning)

_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq"))
"""Explicit tags a project file may carry; any other (``!foo``, ``!!python/...``, ``!!set``) is refused."""


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How much a file may ask of the reader."""

    max_bytes: int = 32 * 1024 * 1024  # a 100k-tag project.yaml is 9-15 MB
    max_depth: int = 40
    max_nodes: int = 4_000_000  # nodes once every alias is expanded (what a consumer of plain data builds)
    max_aliases: int | None = None


class YamlReadError(ValueError):
    """A file refused before or while it was parsed, at a 1-based line (0 when no line applies)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def read_text(path: Path, limits: YamlLimits, encoding: str = "utf-8-sig") -> str:
    """The text of the regular file ``path``, decoded as UTF-8 (a BOM dropped), at most ``max_bytes``.

    A directory, FIFO, socket or device named like a project file, a dangling
    link or a link loop is refused without blocking on it.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open file.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise YamlReadError(0, _open_problem(path, exc)) from exc
    try:
        kind = os.fstat(handle).st_mode
        if not stat.S_ISREG(kind):
            raise YamlReadError(0, f"not a regular file ({_file_kind(kind)})")
        with os.fdopen(handle, "rb", closefd=False) as file:
            data = file.read(limits.max_bytes + 1)
    except OSError as exc:
        raise YamlReadError(0, f"cannot read the file: {exc.strerror or exc}") from exc
    finally:
        os.close(handle)
    if len(data) > limits.max_bytes:
        raise YamlReadError(0, f"the file is larger than {limits.max_bytes} bytes")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlReadError(line, f"file is not valid UTF-8 text ({exc.reason})") from exc


def check_events(text: str, limits: YamlLimits) -> None:
    """Refuse deep nesting, alias loops, too large an expansion and unknown tags, from the event stream.

    Syntax errors surface here as ``MarkedYAMLError``, as they would from loading.
    An expansion past ``max_nodes`` is reported once the stream ends (counting costs
    nothing), so any other problem of the file is named first.
    """
    if len(text) > limits.max_bytes:
        raise YamlReadError(0, f"the text is longer than {limits.max_bytes} characters")
    bounds = _Expansion(limits)
    anchors: dict[str, tuple[int, int]] = {}
    aliases = 0
    for event in YAML(typ="safe", pure=True).parse(text):  # no comments kept: faster
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, CollectionEndEvent):
            size, below, anchor = bounds.close()
            if anchor is not None:
                anchors[anchor] = (size, below)
            continue
        if not isinstance(event, NodeEvent):
            continue
        if isinstance(event, AliasEvent):
            aliases += 1
            if limits.max_aliases is not None and aliases > limits.max_aliases:
                raise YamlReadError(line, f"more than {limits.max_aliases} aliases")
            if event.anchor not in anchors:
                raise YamlReadError(line, f"alias *{event.anchor} refers to a collection it is in (a loop)")
            bounds.add(*anchors[event.anchor], line)
            continue
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ALLOWED_TAGS:
            raise YamlReadError(line, f"tag {_short(tag)} is not allowed in project files")
        if isinstance(event, ScalarEvent):
            bounds.add(1, 0, line)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, CollectionStartEvent):
            if event.anchor is not None:
                anchors.pop(event.anchor, None)  # an alias inside refers to this open collection: a loop
            bounds.open(event.anchor, line)
    bounds.finish()


class _Expansion:
    """Node counts and depths as a consumer expanding every alias would see them, without expanding."""

    def __init__(self, limits: YamlLimits) -> None:
        self.limits = limits
        self.cap = limits.max_nodes + 1  # counts saturate: a bomb's sizes would otherwise be huge integers
        # Per open collection: [nodes in it expanded, levels it spans (1 + its children's), anchor]
        self.stack: list[list[Any]] = [[0, 0, None]]
        self.total = 0
        self.too_many_at: int | None = None

    def open(self, anchor: str | None, line: int) -> None:
        """A collection starts: one level deeper."""
        if len(self.stack) > self.limits.max_depth:
            raise YamlReadError(line, f"nested deeper than {self.limits.max_depth} levels")
        self.stack.append([1, 1, anchor])
        self._count(1, line)

    def close(self) -> tuple[int, int, str | None]:
        """A collection ends: its expanded size, the levels it spans and its anchor."""
        size, levels, anchor = self.stack.pop()
        parent = self.stack[-1]
        parent[0] = min(parent[0] + size, self.cap)
        parent[1] = max(parent[1], levels + 1)
        return size, levels, anchor

    def add(self, size: int, levels: int, line: int) -> None:
        """A scalar (``size`` 1, ``levels`` 0), or an alias for ``size`` nodes spanning ``levels``."""
        if len(self.stack) - 1 + levels > self.limits.max_depth:
            raise YamlReadError(line, f"aliases nest the data deeper than {self.limits.max_depth} levels")
        parent = self.stack[-1]
        parent[0] = min(parent[0] + size, self.cap)
        parent[1] = max(parent[1], levels + 1)
        self._count(size, line)

    def _count(self, size: int, line: int) -> None:
        self.total = min(self.total + size, self.cap)
        if self.total > self.limits.max_nodes and self.too_many_at is None:
            self.too_many_at = line

    def finish(self) -> None:
        """Report an expansion past the bound, at the line where it was passed."""
        if self.too_many_at is not None:
            message = f"aliases expand the file to more than {self.limits.max_nodes} values"
            raise YamlReadError(self.too_many_at, message)


def round_trip_yaml() -> YAML:
    """A round-trip loader whose constructor reports a bad value (``!!int abc``) at its line."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _LocatedConstructor
    return yaml


def compose_and_load(text: str, allow_duplicate_keys: bool = False) -> tuple[Node | None, Any]:
    """The node tree and the round-trip data of ``text`` from one parse (``load`` would parse again).

    Call :func:`check_events` first: composing is recursive, and safe only within its bounds.
    """
    yaml = round_trip_yaml()
    yaml.allow_duplicate_keys = allow_duplicate_keys
    yaml.doc_infos.append(DocInfo(requested_version=version(yaml.version)))
    yaml.tags = {}
    constructor, parser = yaml.get_constructor_parser(text)
    try:
        node = constructor.composer.get_single_node()
        try:
            return node, (constructor.construct_document(node) if node is not None else None)
        except _VALUE_ERRORS as exc:  # a constructor failure no node-level check caught: still no traceback
            raise YamlReadError(0, f"cannot build the file's data: {_cut(str(exc))}") from exc
    finally:
        parser.dispose()


class _LocatedConstructor(RoundTripConstructor):
    """Turns the bare exceptions of ruamel's value constructors into errors marked with the node's place."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        full_tag = str(tag or node.tag)
        try:
            # ruamel reads anything as !!null and only looks up !!bool: both must look like what they say.
            spelled = full_tag in _SPELLED_TAGS and isinstance(node, ScalarNode)
            if spelled and _resolved(node.value) != full_tag:
                raise ValueError(f"not a {_SPELLED_TAGS[full_tag]}")
            return super().construct_non_recursive_object(node, tag)
        except MarkedYAMLError:
            raise
        except _VALUE_ERRORS as exc:
            value = f" {_cut(repr(node.value))}" if isinstance(node.value, str) else ""
            problem = f"cannot read{value} as {_short(full_tag)}: {_cut(str(exc))}"
            raise ConstructorError(None, None, problem, node.start_mark) from exc


    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        # A key holding a mapping (``? [a, {b: c}]``) cannot be hashed: ruamel would raise a bare TypeError.
        try:
            hash(key)
        except TypeError:
            mark = key_node.start_mark
            raise ConstructorError(None, None, "a mapping key must be plain text", mark) from None
        return bool(super().check_mapping_key(node, key_node, mapping, key, value))


def plain_value(node: Any) -> Any:
    """The tree as plain dicts, lists, str, int, float and bool (ruamel's subclasses removed)."""
    if isinstance(node, dict):
        return {plain_value(key): plain_value(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain_value(item) for item in node]
    if isinstance(node, bool | ScalarBoolean):  # ScalarBoolean is an int subclass, not a bool
        return bool(node)
    for plain_type in (int, float, str):
        if isinstance(node, plain_type):
            return plain_type(node)
    return node


_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError, KeyError, IndexError, AttributeError)
_SPELLED_TAGS = {f"{_CORE}null": "null (null, ~ or nothing)", f"{_CORE}bool": "bool (true or false)"}
_RESOLVER = VersionedResolver(version=(1, 2))


def _resolved(value: str) -> str:
    return str(_RESOLVER.resolve(ScalarNode, value, (True, False)))


def _cut(text: str, limit: int = 60) -> str:
    """``text`` cut short, so a hostile value cannot flood the output."""
    return text if len(text) <= limit else f"{text[: limit - 5]}...({len(text)} characters)"


def _short(tag: Any) -> str:
    text = str(tag)
    return "!!" + text[len(_CORE) :] if text.startswith(_CORE) else text


def _open_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "a dangling symbolic link" if path.is_symlink() else "no such file"
    if exc.errno == errno.EISDIR:
        return "not a regular file (a directory)"
    return f"cannot read the file: {exc.strerror or exc}"


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a plain file"
