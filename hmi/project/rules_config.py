"""The ``rules:`` section and derived tags (``tags: X: {expr: ...}``): their schema and checks.

The loader hands this module the raw entries before its own validation sees them
(:func:`split_rules`), then asks it for the checked :class:`RulesConfig`, the tags the rules engine
publishes, and every problem (:func:`check_rules`). An expression's problems are reported at
``file:line:column`` with the expression and a caret under the offending place; every expression is
compiled, so one run lists every syntax error, unknown name and type error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, ValidationError

from drivers.units import DURATION_UNITS
from hmi.model import DataType, TagDef
from hmi.project.errors import Issue, Loc, ProjectError, did_you_mean, issues_from_validation
from hmi.project.rules_defs import (
    RULES_SOURCE,
    Action,
    DerivedDef,
    LogAction,
    RaiseAction,
    RuleDef,
    RulesConfig,
    SetAction,
    WriteAction,
    fault_tag,
)
from hmi.project.schema_base import Duration, StrictModel, Text
from hmi.project.yaml_source import YamlDocument
from hmi.rules.expr import TagType, compile_expression
from hmi.rules.functions import Kind
from hmi.rules.parsing import ExprError, parse, tag_references

MAX_RULES = 5000
"""Derived tags and rules a project may hold each: every one is compiled at load."""


class DerivedSpec(StrictModel):
    """A derived tag: an expression over other tags, and how it is shown and kept."""

    expr: Text
    units: str = ""
    description: str = ""
    decimals: int = Field(2, ge=0, le=12)
    deadband: StrictFloat = Field(0.0, ge=0)
    history_deadband: StrictFloat = Field(0.0, ge=0)


class WriteSpec(StrictModel):
    """``{write: TAG, value: EXPR, min:, max:, rate_limit: 50/min}``."""

    write: Text
    value: Text | StrictFloat | StrictBool
    min: StrictFloat | None = None
    max: StrictFloat | None = None
    rate_limit: str | None = None


class RaiseSpec(StrictModel):
    """``{raise: maintenance, message: ..., priority: high, sync: true}``."""

    model_config = ConfigDict(**StrictModel.model_config, populate_by_name=True)

    raise_: Literal["maintenance"] = Field(alias="raise")
    message: Text
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    sync: StrictBool = True


class SetSpec(StrictModel):
    """``{set: FLAG_TAG}``: a bool tag true while the rule is active."""

    set: Text


class LogSpec(StrictModel):
    """``{log: message}``."""

    log: Text


_ACTIONS: dict[str, type[StrictModel]] = {
    "write": WriteSpec,
    "raise": RaiseSpec,
    "set": SetSpec,
    "log": LogSpec,
}


class RuleSpec(StrictModel):
    """One rule: when (for) -> do; clear, cooldown, enabled, dry_run."""

    model_config = ConfigDict(**StrictModel.model_config, populate_by_name=True)

    when: Text
    for_: Duration = Field(0.0, alias="for", ge=0)
    clear: Text | None = None
    cooldown: Duration = Field(0.0, ge=0)
    enabled: StrictBool = True
    dry_run: StrictBool = False
    do: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class RulesPart:
    """The raw entries taken out of ``project.yaml`` for this module: derived tags and ``rules``."""

    derived: dict[str, Any]
    rules: Any

    def tag_names(self) -> frozenset[str]:
        """Every tag the rules engine will publish (derived, flags, faults), for the loader's references."""
        names = set(self.derived)
        for name, rule in self.rules.items() if isinstance(self.rules, dict) else ():
            names.add(fault_tag(str(name)))
            for action in rule.get("do", []) if isinstance(rule, dict) else ():
                if isinstance(action, dict) and isinstance(action.get("set"), str):
                    names.add(action["set"])
        return frozenset(names)


def split_rules(document: YamlDocument | None) -> tuple[YamlDocument | None, RulesPart]:
    """``document`` without its derived tags and ``rules`` section (line lookups unchanged), and those."""
    data = document.data if document is not None else None
    if document is None or not isinstance(data, dict):
        return document, RulesPart({}, {})
    tags = data.get("tags")
    derived = {}
    if isinstance(tags, dict):
        derived = {name: entry for name, entry in tags.items() if isinstance(entry, dict) and "expr" in entry}
    rest = {key: value for key, value in data.items() if key != "rules"}
    if derived and isinstance(tags, dict):
        rest["tags"] = {name: entry for name, entry in tags.items() if name not in derived}
    return dataclasses.replace(document, data=rest), RulesPart(derived, data.get("rules") or {})


@dataclass(frozen=True, slots=True)
class ExpressionError(ProjectError):
    """A problem in an expression: at a column too; ``excerpt`` shows the expression with a caret."""

    column: int = 0
    text: str = ""
    offset: int = 0

    def __str__(self) -> str:
        # One line, like every other error: tools read ``file:line: message`` lines.
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def excerpt(self) -> str:
        """The expression and a caret under the offending place (two lines, for people)."""
        shown = self.text.replace("\n", " ")
        offset = self.offset
        if len(shown) > 200:  # a long expression: show the part around the caret
            start = max(0, offset - 100)
            shown, offset = shown[start : start + 200], offset - start
        return f"    {shown}\n    {' ' * offset}^"


def check_rules(
    part: RulesPart,
    document: YamlDocument | None,
    tags: Mapping[str, TagDef],
    rule_writable: frozenset[str],
) -> tuple[RulesConfig, dict[str, TagDef], list[ProjectError]]:
    """The checked rules, the tags they publish, and every problem (empty when all is well).

    ``tags`` are the project's and system tags; ``rule_writable`` the tags marked ``rule_writable``.
    """
    checker = _Checker(document, tags)
    for name in sorted(rule_writable):
        if name in tags and not tags[name].writable:
            checker.issue(
                ("tags", name, "rule_writable"), f"tag {name!r}: rule_writable needs writable: true"
            )
    derived = checker.derived(part.derived)
    rules = checker.rules(part.rules, rule_writable)
    config = RulesConfig(derived, rules, rule_writable)
    return config, checker.published, checker.errors


class _Checker:
    def __init__(self, document: YamlDocument | None, tags: Mapping[str, TagDef]) -> None:
        self.document = document
        self.errors: list[ProjectError] = []
        self.types: dict[str, TagType] = {name: _tag_type(tag) for name, tag in tags.items()}
        self.tags = tags
        self.published: dict[str, TagDef] = {}
        self._lines: list[str] | None = None

    # -- derived tags ---------------------------------------------------------------

    def derived(self, raw: dict[str, Any]) -> dict[str, DerivedDef]:
        specs: dict[str, DerivedSpec] = {}
        for name, entry in list(raw.items())[:MAX_RULES]:
            loc = ("tags", name)
            try:
                specs[str(name)] = DerivedSpec.model_validate(entry)
            except ValidationError as exc:
                self._validation(exc, entry, loc, f"derived tag {name!r}", DerivedSpec)
        if len(raw) > MAX_RULES:
            self._issue(("tags",), f"more than {MAX_RULES} derived tags")
        order = self._order(specs)
        for name in specs:  # a tag in a cycle is reported as such, never again as unknown
            self.types.setdefault(name, TagType(Kind.NUMBER, specs[name].units))
        result: dict[str, DerivedDef] = {}
        for name in order:
            spec = specs[name]
            expression = self._compile(("tags", name, "expr"), spec.expr, f"derived tag {name!r}")
            kind = expression.kind if expression is not None else Kind.NUMBER
            self.types[name] = TagType(kind, spec.units or (expression.units if expression else ""))
            self.published[name] = _derived_tag(name, spec, kind)
            if expression is not None:
                result[name] = DerivedDef(name, spec.expr)
        return result

    def _order(self, specs: dict[str, DerivedSpec]) -> list[str]:
        """Derived tags in dependency order; each cycle is an error at the expression of its members."""
        references: dict[str, list[tuple[str, int]]] = {}
        for name, spec in specs.items():
            tree, _errors = parse(spec.expr)  # syntax errors are reported when it is compiled
            refs = list(tag_references(tree)) if tree is not None else []
            references[name] = [(ref, at) for ref, at in refs if ref in specs]
        order: list[str] = []
        state: dict[str, int] = {}  # 1: being visited, 2: done
        for root in specs:
            if root in state:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = []
            while stack:
                name, index = stack.pop()
                if index == 0:
                    state[name] = 1
                    path.append(name)
                refs = references[name]
                if index < len(refs):
                    stack.append((name, index + 1))
                    ref, at = refs[index]
                    if state.get(ref) == 1:
                        cycle = [*path[path.index(ref) :], ref]
                        self._expr_issue(
                            ("tags", name, "expr"),
                            specs[name].expr,
                            ExprError(at, "cycle between derived tags: " + " -> ".join(cycle)),
                            f"derived tag {name!r}",
                        )
                    elif ref not in state:
                        stack.append((ref, 0))
                    continue
                state[name] = 2
                path.pop()
                order.append(name)
        return order

    # -- rules ----------------------------------------------------------------------

    def rules(self, raw: Any, rule_writable: frozenset[str]) -> dict[str, RuleDef]:
        if not isinstance(raw, dict):
            self._issue(("rules",), "rules must be a mapping of rule names to rules")
            return {}
        flags: dict[str, str] = {}
        result: dict[str, RuleDef] = {}
        for name, entry in list(raw.items())[:MAX_RULES]:
            rule = self._rule(str(name), entry, rule_writable, flags)
            if rule is not None:
                result[rule.name] = rule
        return result

    def _rule(
        self, name: str, entry: Any, rule_writable: frozenset[str], flags: dict[str, str]
    ) -> RuleDef | None:
        loc, subject = ("rules", name), f"rule {name!r}"
        try:
            spec = RuleSpec.model_validate(entry)
        except ValidationError as exc:
            self._validation(exc, entry, loc, subject, RuleSpec)
            return None
        if fault_tag(name) in self.tags:
            self._issue(loc, f"{subject}: its fault tag {fault_tag(name)!r} is already a tag of the project")
            return None
        self.published[fault_tag(name)] = _bool_tag(fault_tag(name), f"Rule {name} is in error or held")
        ok = self._condition((*loc, "when"), spec.when, subject, "when")
        if spec.clear is not None:
            ok = self._condition((*loc, "clear"), spec.clear, subject, "clear") and ok
        actions: list[Action] = []
        for index, raw_action in enumerate(spec.do):
            action = self._action((*loc, "do", index), raw_action, subject, rule_writable, flags, name)
            if action is None:
                ok = False
            else:
                actions.append(action)
        if not ok:
            return None
        return RuleDef(
            name, spec.when, tuple(actions), spec.for_, spec.clear, spec.cooldown, spec.enabled, spec.dry_run
        )

    def _condition(self, loc: Loc, text: str, subject: str, key: str) -> bool:
        expression = self._compile(loc, text, subject)
        if expression is not None and expression.kind is not Kind.BOOL:
            self._expr_issue(
                loc, text, ExprError(0, f"type error: {key} must be a condition (true or false)"), subject
            )
            return False
        return expression is not None

    def _action(
        self,
        loc: Loc,
        raw: dict[str, Any],
        subject: str,
        rule_writable: frozenset[str],
        flags: dict[str, str],
        rule: str,
    ) -> Action | None:
        kinds = [key for key in _ACTIONS if key in raw]
        if len(kinds) != 1:
            self._issue(loc, f"{subject}: each action is one of write, raise, set or log, not {sorted(raw)}")
            return None
        model = _ACTIONS[kinds[0]]
        try:
            spec = model.model_validate(raw)
        except ValidationError as exc:
            self._validation(exc, raw, loc, subject, model)
            return None
        if isinstance(spec, WriteSpec):
            return self._write(loc, spec, subject, rule_writable)
        if isinstance(spec, RaiseSpec):
            return RaiseAction(spec.message, spec.priority, spec.sync)
        if isinstance(spec, SetSpec):
            return self._flag(loc, spec.set, subject, flags, rule)
        assert isinstance(spec, LogSpec)
        return LogAction(spec.log)

    def _write(self, loc: Loc, spec: WriteSpec, subject: str, rule_writable: frozenset[str]) -> Action | None:
        tag = self.tags.get(spec.write)
        if tag is None:
            self._issue(
                (*loc, "write"),
                f"{subject}: unknown tag {spec.write!r}" + did_you_mean(spec.write, self.tags),
            )
            return None
        if not tag.writable:
            self._issue((*loc, "write"), f"{subject}: tag {spec.write!r} is not writable")
            return None
        if spec.write not in rule_writable:
            self._issue((*loc, "write"), f"{subject}: tag {spec.write!r} is not marked rule_writable: true")
            return None
        value = spec.value if isinstance(spec.value, str) else str(spec.value).lower()
        expression = self._compile((*loc, "value"), value, subject)
        if expression is None:
            return None
        wanted = Kind.BOOL if tag.type is DataType.BOOL else Kind.NUMBER
        if expression.kind is not wanted:
            problem = f"type error: the value for {spec.write!r} must be a {wanted}, not a {expression.kind}"
            self._expr_issue((*loc, "value"), value, ExprError(0, problem), subject)
            return None
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            self._issue((*loc, "min"), f"{subject}: min {spec.min:g} is above max {spec.max:g}")
            return None
        rate = burst = None
        if spec.rate_limit is not None:
            parsed = _rate_limit(spec.rate_limit)
            if parsed is None:
                self._issue(
                    (*loc, "rate_limit"), f"{subject}: rate_limit {spec.rate_limit!r} is not like 50/min"
                )
                return None
            rate, burst = parsed
        return WriteAction(spec.write, value, spec.min, spec.max, rate, burst)

    def _flag(self, loc: Loc, name: str, subject: str, flags: dict[str, str], rule: str) -> Action | None:
        if name in self.tags or (name in self.published and name not in flags):
            self._issue(
                (*loc, "set"), f"{subject}: flag tag {name!r} is already a tag; a flag names a new one"
            )
            return None
        if name in flags:
            self._issue((*loc, "set"), f"{subject}: flag tag {name!r} is already set by rule {flags[name]!r}")
            return None
        flags[name] = rule
        self.published[name] = _bool_tag(name, f"Flag of rule {rule}")
        self.types[name] = TagType(Kind.BOOL)
        return SetAction(name)

    # -- compiling and reporting ----------------------------------------------------

    def _compile(self, loc: Loc, text: str, subject: str) -> Any:
        expression, problems = compile_expression(text, self.types)
        for problem in problems:
            self._expr_issue(loc, text, problem, subject)
        return expression

    def _expr_issue(self, loc: Loc, text: str, problem: ExprError, subject: str) -> None:
        message = f"{subject}: {loc[-1]}: {problem.message}"
        if self.document is None:
            self.errors.append(ProjectError(Path("project.yaml"), 0, message))
            return
        line, column = self._position(loc, text, problem.offset)
        self.errors.append(ExpressionError(self.document.path, line, message, column, text, problem.offset))

    def issue(self, loc: Loc, message: str) -> None:
        """Report a problem located by its path in the document."""
        self._issue(loc, message)

    def _issue(self, loc: Loc, message: str) -> None:
        if self.document is not None:
            self.errors.append(self.document.error(Issue(loc, message)))
        else:
            self.errors.append(ProjectError(Path("project.yaml"), 0, message))

    def _validation(
        self, exc: ValidationError, entry: Any, loc: Loc, subject: str, model: type[BaseModel]
    ) -> None:
        for issue in issues_from_validation(exc, entry, model, lambda rest, _d: (subject, rest)):
            self._issue((*loc, *issue.loc), issue.message)

    def _position(self, loc: Loc, text: str, offset: int) -> tuple[int, int]:
        """1-based line and column in the file of character ``offset`` of the expression at ``loc``."""
        assert self.document is not None
        start = _value_start(self.document.tree, loc)
        if start is None:  # a file the fast reader read keeps lines, not columns: find the text on its line
            line = self.document.line_of(loc)
            found = self._source_line(line - 1).find(text) if text and "\n" not in text else -1
            return (line, found + offset + 1) if found >= 0 else (line, 1)
        line, column = start
        source = self._source_line(line)
        quoted = column < len(source) and source[column] in "\"'"
        single_line = "\n" not in text
        if single_line and source[column + quoted :].startswith(text[: max(offset, 1)][:1]):
            return line + 1, column + quoted + offset + 1
        return line + 1, column + 1

    def _source_line(self, line: int) -> str:
        if self._lines is None:
            assert self.document is not None
            try:
                self._lines = self.document.path.read_text(encoding="utf-8-sig").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines = []
        return self._lines[line] if 0 <= line < len(self._lines) else ""


def _value_start(tree: Any, loc: Loc) -> tuple[int, int] | None:
    """0-based line and column where the value at ``loc`` starts, or None when it cannot be found."""
    node, position = tree, None
    for element in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and element in node and lc is not None:
            position = lc.value(element) if element in lc.data else None
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node) and lc:
            position = lc.item(element)
            node = node[element]
        else:
            return None
    return (int(position[0]), int(position[1])) if position else None


def _rate_limit(text: str) -> tuple[float, float] | None:
    """``50/min`` -> (50/60 units per second, 50 at most at once)."""
    amount, _, per = text.partition("/")
    per = per.strip().replace("min", "m")
    if per and per[0].isalpha():
        per = "1" + per
    digits = len(per) - len(per.lstrip("0123456789."))
    try:
        value = float(amount)
        seconds = float(per[:digits]) * DURATION_UNITS[per[digits:] or "s"]
    except (ValueError, KeyError):
        return None
    if not (math.isfinite(value) and value > 0 and math.isfinite(seconds) and seconds > 0):
        return None
    return value / seconds, value


def _tag_type(tag: TagDef) -> TagType:
    if tag.type is DataType.BOOL:
        return TagType(Kind.BOOL, tag.units)
    if tag.type is DataType.STRING:
        return TagType(None)
    return TagType(Kind.NUMBER, tag.units)


def _derived_tag(name: str, spec: DerivedSpec, kind: Kind) -> TagDef:
    return TagDef(
        name,
        None,
        spec.expr,
        DataType.BOOL if kind is Kind.BOOL else DataType.FLOAT64,
        units=spec.units,
        description=spec.description or f"Derived: {spec.expr}",
        decimals=spec.decimals,
        deadband=spec.deadband,
        history_deadband=spec.history_deadband,
        source=RULES_SOURCE,
    )


def _bool_tag(name: str, description: str) -> TagDef:
    return TagDef(name, None, name, DataType.BOOL, description=description, source=RULES_SOURCE)
