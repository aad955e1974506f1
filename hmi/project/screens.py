"""Screen files (``screens/NAME.yaml``): their schema, the checks of their tag bindings, and loading.

The item types and their props are the declarations of
``hmi.model.symbol_catalog`` (the same ones the widgets are built from): each
declares which tags it can show (:class:`~hmi.model.symbols.TagRule`), so a
pump bound to a float or a setpoint bound to a read-only tag is reported at the
line of the binding. Items stay typed: a loaded item carries its props model.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BeforeValidator, Field, StrictFloat, StrictInt, TypeAdapter, ValidationError

from hmi.model import TagDef
from hmi.model.symbol_catalog import SYMBOLS
from hmi.model.symbol_props import ButtonProps
from hmi.model.symbols import Binding, SymbolProps, SymbolRegistry, SymbolType, TagRule
from hmi.project.config import ScreenDef, ScreenItem
from hmi.project.errors import Issue, Loc, ProjectError, did_you_mean, issues_from_validation
from hmi.project.schema import StrictModel
from hmi.project.write_check import write_problem
from hmi.project.yaml_source import YamlDocument, read_yaml

PositiveInt = Annotated[StrictInt, Field(gt=0)]


class ItemSpec(StrictModel):
    """What every screen item has: an optional id, its box, and (for most types) a tag.

    One subclass per registered :class:`SymbolType` is made from its declaration
    (``type`` and ``props``), so a screen file is checked against the same list
    of types the widgets are built from.
    """

    symbol: ClassVar[SymbolType]
    type: str
    props: SymbolProps
    id: str | None = None
    x: StrictFloat
    y: StrictFloat
    w: StrictFloat = Field(gt=0)
    h: StrictFloat = Field(gt=0)
    tag: str | None = None

    def bindings(self) -> list[Binding]:
        """Every tag name this item refers to (a tag on a type that takes none is reported apart)."""
        return self.symbol.bindings(self.tag, self.props)


def item_model(symbol: SymbolType) -> type[ItemSpec]:
    """The schema of one item of type ``symbol``: the common keys, its ``type`` and its typed ``props``."""
    namespace: dict[str, Any] = {
        "__annotations__": {"type": Literal[symbol.name], "props": symbol.props},
        "__doc__": f"A screen item of type {symbol.name!r}.",
        "__module__": __name__,
        "symbol": symbol,
    }
    if not symbol.props_required:
        namespace["props"] = Field(default_factory=symbol.props)
    return type(f"{symbol.name.title().replace('_', '')}Item", (ItemSpec,), namespace)


@dataclass(frozen=True, slots=True)
class ScreenSchema:
    """The screen-file schema for one set of registered types."""

    spec: type[StrictModel]
    item: TypeAdapter[Any]


def screen_schema(registry: SymbolRegistry = SYMBOLS) -> ScreenSchema:
    """The schema for the types registered now (made again only when the registry changed)."""
    return _schema_for(tuple(registry))


@functools.lru_cache(maxsize=8)
def _schema_for(symbols: tuple[SymbolType, ...]) -> ScreenSchema:
    models = tuple(item_model(symbol) for symbol in symbols)
    item: Any = Annotated[Union[models], Field(discriminator="type")] if len(models) > 1 else models[0]  # noqa: UP007
    spec = type(
        "ScreenSpec",
        (StrictModel,),
        {
            "__doc__": "The whole of a screen file; the title defaults to the file name.",
            "__module__": __name__,
            "__annotations__": {
                "title": str | None,
                "size": tuple[PositiveInt, PositiveInt],
                "items": Annotated[list[item], BeforeValidator(lambda value: [] if value is None else value)],
            },
            "title": None,
            "items": Field(default_factory=list),
        },
    )
    return ScreenSchema(spec, TypeAdapter(item))


@dataclass(frozen=True, slots=True)
class ScreenContext:
    """What a screen's references are checked against.

    ``declared_tags`` holds every tag name in ``project.yaml``, valid or not, so
    that a broken tag is not reported again as unknown; ``None`` when the tags
    could not be read at all (then bindings are not checked).
    """

    tags: Mapping[str, TagDef]
    declared_tags: Collection[str] | None
    screen_names: Collection[str]
    trend_names: Collection[str] | None = None  # None: the trends could not be read, so are not checked


def load_screen(path: Path, context: ScreenContext) -> tuple[ScreenDef | None, list[ProjectError]]:
    """Read and check one screen file; the screen is ``None`` when it has errors."""
    document, errors = read_yaml(path, path)
    if document is None:
        return None, errors
    if not isinstance(document.data, dict):
        message = "a screen file must be a mapping: title, size, items"
        return None, [*errors, document.error(Issue((), message))]
    schema = screen_schema()
    try:
        spec, issues = schema.spec.model_validate(document.data), []
        items = dict(enumerate(spec.items))  # type: ignore[attr-defined]  # the model is made per registry
    except ValidationError as exc:
        spec, issues = None, issues_from_validation(exc, document.data, schema.spec, _subject)
        items = _valid_items(document.data.get("items"), schema.item)
    issues += _item_issues(items, context, document)
    errors += [document.error(issue) for issue in issues]
    if errors or spec is None:
        return None, sorted(errors, key=lambda error: error.line)
    return _screen_def(path, spec, document), []


def _subject(loc: Loc, data: Any) -> tuple[str, Loc]:
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
        return f"item {_raw_item_name(data, loc[1])}", loc[2:]
    return "", loc


def _raw_item_name(data: Any, index: int) -> str:
    """``'pump1'`` for an item with an id, else ``#3`` (its position, from 1)."""
    items = data.get("items") if isinstance(data, dict) else None
    item = items[index] if isinstance(items, list) and 0 <= index < len(items) else None
    item_id = item.get("id") if isinstance(item, dict) else None
    return repr(str(item_id)) if item_id is not None else f"#{index + 1}"


def _valid_items(raw_items: Any, item_schema: TypeAdapter[Any]) -> dict[int, ItemSpec]:
    """The items that are valid on their own, by position, so their bindings can still be checked."""
    valid: dict[int, ItemSpec] = {}
    for index, raw in enumerate(raw_items if isinstance(raw_items, list) else []):
        with contextlib.suppress(ValidationError):  # already reported by the whole-file validation
            valid[index] = item_schema.validate_python(raw)
    return valid


def _item_issues(items: dict[int, ItemSpec], context: ScreenContext, document: YamlDocument) -> list[Issue]:
    issues: list[Issue] = []
    first_use: dict[str, int] = {}
    for index, item in items.items():
        at, name = ("items", index), _raw_item_name(document.data, index)
        if item.id is not None and item.id in first_use:
            line = document.line_of(("items", first_use[item.id]))
            issues.append(Issue((*at, "id"), f"duplicate item id {item.id!r} (first used on line {line})"))
        elif item.id is not None:
            first_use[item.id] = index
        issues += _tag_key_issues(at, name, item)
        for where, tag_name, rule in item.bindings():
            issues += _binding_issues((*at, *where), name, ".".join(map(str, where)), tag_name, rule, context)
        if isinstance(item.props, ButtonProps):
            issues += _button_issues(at, name, item.props, context)
    return issues


def _tag_key_issues(at: Loc, name: str, item: ItemSpec) -> list[Issue]:
    """A type that binds ``tag`` needs one; a type that does not must not be given one."""
    rule = item.symbol.tag
    if rule is not None and item.tag is None:
        return [Issue(at, f"item {name}: missing required key 'tag' ({item.type} needs {rule.needs})")]
    if rule is None and item.tag is not None:
        keys = item.symbol.binding_keys
        hint = f" (use {' or '.join(keys)})" if keys else ""
        return [Issue((*at, "tag"), f"item {name}: {item.type} items take no tag{hint}")]
    return []


def _binding_issues(
    loc: Loc, item_name: str, binding: str, tag_name: str, rule: TagRule, context: ScreenContext
) -> list[Issue]:
    known = context.declared_tags
    if known is not None and tag_name not in known:
        message = f"unknown tag {tag_name!r} in binding {binding!r} of item {item_name}"
        return [Issue(loc, message + did_you_mean(tag_name, known))]
    tag = context.tags.get(tag_name)
    if tag is None or rule.accepts(tag):
        return []
    actual = f"{'a writable' if tag.writable else 'a read-only'} {tag.type} tag"
    return [
        Issue(loc, f"item {item_name}: binding {binding!r} needs {rule.needs}, but {tag_name!r} is {actual}")
    ]


def _button_issues(at: Loc, item_name: str, props: ButtonProps, context: ScreenContext) -> list[Issue]:
    trends = context.trend_names
    if props.trend is not None and trends is not None and props.trend not in trends:
        message = f"item {item_name}: unknown trend {props.trend!r}"
        return [Issue((*at, "props", "trend"), message + did_you_mean(props.trend, trends))]
    if props.screen is not None and props.screen not in context.screen_names:
        message = f"item {item_name}: unknown screen {props.screen!r}"
        return [Issue((*at, "props", "screen"), message + did_you_mean(props.screen, context.screen_names))]
    tag = context.tags.get(props.write.tag) if props.write is not None else None
    # A read-only target is already reported by the binding rule.
    if props.write is None or tag is None or not tag.writable:
        return []
    # The runtime's own check: a button hmi check accepts is a write the runtime accepts.
    problem = write_problem(tag, props.write.value)
    message = f"item {item_name}: write to {tag.name!r} refused: {problem}"
    return [Issue((*at, "props", "write", "value"), message)] if problem else []


def _screen_def(path: Path, spec: Any, document: YamlDocument) -> ScreenDef:
    taken = {item.id for item in spec.items if item.id is not None}
    items = []
    for index, item in enumerate(spec.items):
        item_id = item.id
        if item_id is None:
            number = index + 1
            while f"item{number}" in taken:
                number += 1
            item_id = f"item{number}"
            taken.add(item_id)
        line = document.line_of(("items", index))
        box = (item.x, item.y, item.w, item.h)
        items.append(ScreenItem(item.type, item_id, *box, item.tag, item.props, line))
    width, height = spec.size
    return ScreenDef(path.stem, spec.title or path.stem, path.resolve(), width, height, tuple(items))
