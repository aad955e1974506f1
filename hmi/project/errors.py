"""Project errors as ``file:line: message``, and the wording of schema errors for engineers."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from drivers.connection_fields import closest, did_you_mean

Loc = tuple[str | int, ...]
"""A path into a YAML document: mapping keys and sequence indexes, outermost first."""

Subject = Callable[[Loc, Any], tuple[str, Loc]]
"""Names what a path points at (``tag 'TANK1.LEVEL'``) and returns the rest of the path."""

DISCRIMINATORS = ("driver", "type")
"""Keys whose value picks the schema of their mapping (a connection's driver, a screen item's type)."""


@dataclass(frozen=True, slots=True)
class ProjectError:
    """One problem in a project file, at a 1-based line (0 when the line is unknown)."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {_shortened(self.message)}"


MAX_MESSAGE = 600
"""Longest message printed whole: a hostile value (a name of 5,000 characters) is quoted cut in the middle."""


def _shortened(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    cut = len(message) - MAX_MESSAGE + 40
    head, tail = message[: MAX_MESSAGE * 2 // 3], message[MAX_MESSAGE * 2 // 3 + cut :]
    return f"{head}...({cut} characters cut)...{tail}"


class ProjectInvalid(Exception):
    """A project that failed validation, carrying every error found (not just the first)."""

    def __init__(self, errors: Iterable[ProjectError]) -> None:
        self.errors: list[ProjectError] = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem located by its path in a YAML document, before that path is turned into a line."""

    loc: Loc
    message: str


def path_text(loc: Loc) -> str:
    """``props.points[1]`` for ``('props', 'points', 1)``."""
    text = ""
    for element in loc:
        text += f"[{element}]" if isinstance(element, int) else (f".{element}" if text else str(element))
    return text


def join_message(*parts: str) -> str:
    """Join the non-empty parts of a message with ``: ``."""
    return ": ".join(part for part in parts if part)


def strip_discriminators(loc: Loc, data: Any) -> Loc:
    """Drop the union tags pydantic inserts into a path (``('connections', 'plc1', 'modbus', 'host')``)."""
    kept: list[str | int] = []
    node = data
    for element in loc:
        if isinstance(node, dict):
            if element in node:
                node = node[element]
            elif element in [node.get(key) for key in DISCRIMINATORS]:
                continue
            else:
                node = None
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            node = node[element]
        else:
            node = None
        kept.append(element)
    return tuple(kept)


def issues_from_validation(
    error: ValidationError, data: Any, model: type[BaseModel], subject: Subject
) -> list[Issue]:
    """Turn each pydantic error into an :class:`Issue` worded for an engineer.

    A misspelt key would also make its correct spelling 'missing'; that second
    error is dropped, since the suggestion on the first already says it.
    """
    details = error.errors(include_url=False)
    misspelt: set[Loc] = set()
    for detail in details:
        loc = strip_discriminators(tuple(detail["loc"]), data)
        if detail["type"] == "extra_forbidden" and loc:
            suggestion = closest(loc[-1], _allowed_keys(model, loc[:-1], data))
            if suggestion is not None:
                misspelt.add((*loc[:-1], suggestion))
    return [
        _issue(detail, data, model, subject)
        for detail in details
        if not (detail["type"] == "missing" and strip_discriminators(tuple(detail["loc"]), data) in misspelt)
    ]


def _issue(detail: ErrorDetails, data: Any, model: type[BaseModel], subject: Subject) -> Issue:
    loc = strip_discriminators(tuple(detail["loc"]), data)
    kind, ctx = detail["type"], detail.get("ctx", {})
    where, rest = subject(loc, data)
    if kind in ("extra_forbidden", "missing") and rest:
        if kind == "missing":
            text = f"missing required key {rest[-1]!r}"
        else:
            allowed = _allowed_keys(model, loc[:-1], data)
            place = "" if where or rest[:-1] else " at the top level"
            text = f"unknown key {rest[-1]!r}{place}" + did_you_mean(rest[-1], allowed)
        return Issue(loc, join_message(where, path_text(rest[:-1]), text))
    if kind == "union_tag_invalid":
        key = ctx["discriminator"].strip("'")
        expected = re.findall(r"'([^']*)'", ctx["expected_tags"])
        text = f"{key} {ctx['tag']!r} is not one of {', '.join(expected)}" + did_you_mean(
            ctx["tag"], expected
        )
        return Issue((*loc, key), join_message(where, path_text(rest), text))
    if kind == "union_tag_not_found":
        return Issue(
            loc, join_message(where, path_text(rest), f"missing required key {ctx['discriminator']}")
        )
    return Issue(loc, join_message(where, path_text(rest), _reason(detail)))


def _reason(detail: ErrorDetails) -> str:
    kind, ctx, given = detail["type"], detail.get("ctx", {}), detail["input"]
    if kind == "value_error":
        return str(ctx["error"])
    if kind in ("enum", "literal_error"):
        expected = re.findall(r"'([^']*)'", ctx["expected"])
        return f"{given!r} is not one of {', '.join(expected)}" + did_you_mean(given, expected)
    text = detail["msg"]
    text = (
        "should" + text[len("Input should") :]
        if text.startswith("Input should")
        else text[:1].lower() + text[1:]
    )
    if isinstance(given, str | int | float | bool) or given is None:
        text += f" (got {given!r})"
    return text


def _allowed_keys(model: type[BaseModel], loc: Loc, data: Any) -> list[str]:
    """The keys the schema accepts in the mapping at ``loc`` (empty when the path leaves the schema)."""
    annotation: Any = model
    node = data
    for element in loc:
        annotation = _concrete(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(element))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
        node = _child(node, element)
    annotation = _concrete(annotation, node)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [name for name, field in annotation.model_fields.items() if not field.exclude]
    return []


def _concrete(annotation: Any, node: Any) -> Any:
    """Unwrap ``Annotated`` and unions; a union of models is resolved by the node's discriminator."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = _pick_member(members, node) if len(members) > 1 else members[0]
        else:
            return annotation


def _pick_member(members: list[Any], node: Any) -> Any:
    if not isinstance(node, dict):
        return None
    for member in members:
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            continue
        for key in DISCRIMINATORS:
            field = member.model_fields.get(key)
            if field is not None and node.get(key) in typing.get_args(field.annotation):
                return member
    return None


def _child(node: Any, element: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(element)
    if isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
        return node[element]
    return None
