"""Screen files (``screens/NAME.yaml``): their schema, the checks of their tag bindings, and loading.

Each item type declares which tags it can show (:class:`TagRule`), so a pump
bound to a float or a setpoint bound to a read-only tag is reported at the line
of the binding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from hmi.model import DataType, TagDef
from hmi.project.config import ScreenDef, ScreenItem
from hmi.project.errors import Issue, Loc, ProjectError, did_you_mean, issues_from_validation
from hmi.project.schema import StrictModel
from hmi.project.write_check import write_problem
from hmi.project.yaml_source import YamlDocument, read_yaml


@dataclass(frozen=True, slots=True)
class TagRule:
    """Which tags a binding accepts, and how to say so in an error."""

    needs: str
    numeric: bool = False
    boolean: bool = False
    writable: bool = False

    def accepts(self, tag: TagDef) -> bool:
        """True when ``tag`` can be bound here."""
        if self.writable and not tag.writable:
            return False
        if self.numeric or self.boolean:
            return (self.numeric and tag.type.is_numeric) or (self.boolean and tag.type is DataType.BOOL)
        return True


ANY_TAG = TagRule("any tag")
NUMBER = TagRule("a numeric tag", numeric=True)
BOOL = TagRule("a bool tag", boolean=True)
NUMBER_OR_BOOL = TagRule("a numeric or bool tag", numeric=True, boolean=True)
WRITABLE_NUMBER = TagRule("a writable numeric tag", numeric=True, writable=True)
WRITABLE = TagRule("a writable tag", writable=True)

Binding = tuple[Loc, str, TagRule]
"""Where a tag name sits within an item (path relative to the item), the tag name, and what it must be."""

PositiveInt = Annotated[StrictInt, Field(gt=0)]
Label = Annotated[str, Field(max_length=200)]
Decimals = Annotated[StrictInt | None, Field(ge=0, le=12)]


class LabelProps(StrictModel):
    """Static text."""

    text: str
    size: StrictFloat | None = Field(None, gt=0)


class TankProps(StrictModel):
    """A vertical vessel filled in proportion to its tag between ``min`` and ``max``."""

    label: Label = ""
    min: StrictFloat = 0.0
    max: StrictFloat = 100.0
    hi: StrictFloat | None = None
    lo: StrictFloat | None = None

    @model_validator(mode="after")
    def _check_range(self) -> TankProps:
        if not self.min < self.max:
            raise ValueError(f"min {self.min:g} must be below max {self.max:g}")
        if self.lo is not None and self.hi is not None and not self.lo < self.hi:
            raise ValueError(f"lo {self.lo:g} must be below hi {self.hi:g}")
        return self


class SymbolProps(StrictModel):
    """A symbol with a caption (pump, valve)."""

    label: Label = ""


class PipeProps(StrictModel):
    """A polyline, animated while ``flow_tag`` is true or non-zero."""

    points: list[tuple[StrictFloat, StrictFloat]] = Field(min_length=2)
    flow_tag: str | None = None


class ValueProps(StrictModel):
    """A caption and a formatted value; ``decimals`` overrides the tag's own."""

    label: Label = ""
    decimals: Decimals = None


class WriteAction(StrictModel):
    """Write ``value`` to ``tag`` when pressed."""

    tag: str
    value: Any


class ButtonProps(StrictModel):
    """A push button that navigates to ``screen``, performs ``write`` or opens saved trend ``trend``."""

    label: Label = ""
    screen: str | None = None
    write: WriteAction | None = None
    trend: str | None = None

    @model_validator(mode="after")
    def _check_one_action(self) -> ButtonProps:
        if [self.screen, self.write, self.trend].count(None) != 2:
            raise ValueError(
                "a button needs exactly one action: screen (to navigate), write (to set a tag)"
                " or trend (to open a saved trend)"
            )
        return self


class ItemSpec(StrictModel):
    """What every screen item has: an optional id, its box, and (for most types) a tag."""

    tag_rule: ClassVar[TagRule | None] = None
    id: str | None = None
    x: StrictFloat
    y: StrictFloat
    w: StrictFloat = Field(gt=0)
    h: StrictFloat = Field(gt=0)
    tag: str | None = None

    def bindings(self) -> list[Binding]:
        """Every tag name this item refers to (a tag on a type that takes none is reported apart)."""
        if self.tag is None or self.tag_rule is None:
            return []
        return [(("tag",), self.tag, self.tag_rule)]


class LabelItem(ItemSpec):
    """Static text."""

    type: Literal["label"]
    props: LabelProps


class TankItem(ItemSpec):
    """A tank level."""

    tag_rule = NUMBER
    type: Literal["tank"]
    props: TankProps = TankProps()


class PumpItem(ItemSpec):
    """A pump, running or stopped."""

    tag_rule = BOOL
    type: Literal["pump"]
    props: SymbolProps = SymbolProps()


class ValveItem(ItemSpec):
    """A valve, open/closed or by position."""

    tag_rule = NUMBER_OR_BOOL
    type: Literal["valve"]
    props: SymbolProps = SymbolProps()


class PipeItem(ItemSpec):
    """A pipe run; it shows flow through ``props.flow_tag``, not ``tag``."""

    type: Literal["pipe"]
    props: PipeProps

    def bindings(self) -> list[Binding]:
        """The flow tag, which animates the pipe."""
        flow = [(("props", "flow_tag"), self.props.flow_tag, NUMBER_OR_BOOL)] if self.props.flow_tag else []
        return super().bindings() + flow


class ValueItem(ItemSpec):
    """A live value of any tag."""

    tag_rule = ANY_TAG
    type: Literal["value"]
    props: ValueProps = ValueProps()


class SetpointItem(ItemSpec):
    """An entry field that writes its tag."""

    tag_rule = WRITABLE_NUMBER
    type: Literal["setpoint"]
    props: ValueProps = ValueProps()


class ButtonItem(ItemSpec):
    """A navigation or write button."""

    type: Literal["button"]
    props: ButtonProps

    def bindings(self) -> list[Binding]:
        """The tag the button writes, if it writes one."""
        write = self.props.write
        return super().bindings() + ([(("props", "write", "tag"), write.tag, WRITABLE)] if write else [])


Item = Annotated[
    LabelItem | TankItem | PumpItem | ValveItem | PipeItem | ValueItem | SetpointItem | ButtonItem,
    Field(discriminator="type"),
]


class ScreenSpec(StrictModel):
    """The whole of a screen file; the title defaults to the file name."""

    title: str | None = None
    size: tuple[PositiveInt, PositiveInt]
    items: Annotated[list[Item], BeforeValidator(lambda value: [] if value is None else value)] = Field(
        default_factory=list
    )


_ITEM = TypeAdapter(Item)


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
    try:
        spec, issues = ScreenSpec.model_validate(document.data), []
        items = dict(enumerate(spec.items))
    except ValidationError as exc:
        spec, issues = None, issues_from_validation(exc, document.data, ScreenSpec, _subject)
        items = _valid_items(document.data.get("items"))
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


def _valid_items(raw_items: Any) -> dict[int, ItemSpec]:
    """The items that are valid on their own, by position, so their bindings can still be checked."""
    valid: dict[int, ItemSpec] = {}
    for index, raw in enumerate(raw_items if isinstance(raw_items, list) else []):
        with contextlib.suppress(ValidationError):  # already reported by the whole-file validation
            valid[index] = _ITEM.validate_python(raw)
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
        if item.tag_rule is not None and item.tag is None:
            issues.append(
                Issue(
                    at, f"item {name}: missing required key 'tag' ({item.type} needs {item.tag_rule.needs})"
                )
            )
        if item.tag_rule is None and item.tag is not None:
            hint = " (use props.flow_tag)" if isinstance(item, PipeItem) else ""
            issues.append(Issue((*at, "tag"), f"item {name}: {item.type} items take no tag{hint}"))
        for where, tag_name, rule in item.bindings():
            issues += _binding_issues((*at, *where), name, ".".join(map(str, where)), tag_name, rule, context)
        if isinstance(item, ButtonItem):
            issues += _button_issues(at, name, item.props, context)
    return issues


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


def _screen_def(path: Path, spec: ScreenSpec, document: YamlDocument) -> ScreenDef:
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
        # Only what the engineer wrote: each widget applies its own defaults (a label falls back to the tag).
        props = item.props.model_dump(exclude_unset=True)
        line = document.line_of(("items", index))
        items.append(ScreenItem(item.type, item_id, item.x, item.y, item.w, item.h, item.tag, props, line))
    width, height = spec.size
    return ScreenDef(path.stem, spec.title or path.stem, path.resolve(), width, height, tuple(items))
