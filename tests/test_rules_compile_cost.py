"""Compiling is paid once: the parser is built once per user (kept in the cache folder), each text is
parsed once per process, and the engine's plan is not quadratic in the number of derived tags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hmi.model import DataType, TagDef
from hmi.project.rules_defs import DerivedDef, RaiseAction, RuleDef, RulesConfig
from hmi.rules.engine import RulesEngine
from hmi.rules.expr import compile_expression
from hmi.rules.parsing import parse

ROOT = Path(__file__).resolve().parents[1]


def test_each_distinct_text_is_parsed_once_and_its_errors_are_the_callers_own():
    first, errors = parse("A + 1 > 2 and not B")
    again, _ = parse("A + 1 > 2 and not B")
    assert first is again and errors == []
    _tree, problems = parse("A +")
    problems.append("mine")  # a caller's list: the next caller gets the problem alone
    assert [p.message for p in parse("A +")[1]] == ["syntax error: the expression ends too soon"]


def test_a_shared_tree_compiles_the_same_for_different_tag_types():
    from hmi.rules.expr import TagType
    from hmi.rules.functions import Kind

    as_numbers, _ = compile_expression("A + 1", {"A": TagType(Kind.NUMBER)})
    _none, problems = compile_expression("A + 1", {"A": TagType(Kind.BOOL)})
    assert as_numbers is not None and as_numbers.evaluate({"A": 2.0}) == 3.0
    assert problems and "type error" in problems[0].message


def test_the_parser_is_kept_in_the_cache_folder_and_loaded_from_it(tmp_path):
    env = {**os.environ, "CONVERGE_HMI_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    script = "from hmi.rules.parsing import parse; print(parse('max(A, 2) > 1')[0].data)"
    for _ in range(2):  # built and saved, then loaded
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "compare"
        assert "Failed" not in result.stderr
    assert len(list(tmp_path.glob("expr-parser-*.lark"))) == 1


def test_the_parser_is_built_without_a_cache_when_the_cache_is_off(tmp_path):
    env = {**os.environ, "CONVERGE_HMI_CACHE_DIR": "", "PYTHONPATH": str(ROOT)}
    script = "from hmi.rules.grammar import _cache_file, parser; assert _cache_file() is None; parser()"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_long_chain_of_derived_tags_is_planned_in_order():
    count = 300
    derived = {f"D.{i}": DerivedDef(f"D.{i}", f"D.{i - 1} + 1" if i else "IN + 1") for i in range(count)}
    tags = {"IN": TagDef("IN", "plc", "hr:0")}
    tags |= {
        name: TagDef(name, None, d.expr, DataType.FLOAT64, source="rules") for name, d in derived.items()
    }
    rules = {"r": RuleDef("r", f"D.{count - 1} > 1e9", (RaiseAction("x"),))}
    published: list[str] = []

    async def never(*_args: object) -> object:
        raise AssertionError("no writes here")

    engine = RulesEngine(
        RulesConfig(derived, rules), tags, publish=lambda n, s: published.append(n), write=never, record=print
    )
    from hmi.model import Quality, Sample

    engine.on_sample("IN", Sample(1.0, Quality.GOOD, 1.0))
    assert published == [f"D.{i}" for i in range(count)]
    assert engine.inputs.values[f"D.{count - 1}"] == 1.0 + count


def _closures_of(fn: object) -> list[object]:
    """``fn`` and every function it reaches through its bound defaults (bounded: trees are small)."""
    found, pending = [], [fn]
    while pending and len(found) < 100:
        current = pending.pop()
        if callable(current) and hasattr(current, "__defaults__"):
            found.append(current)
            pending.extend(d for d in (current.__defaults__ or ()) if callable(d))
    return found


def test_a_started_engine_keeps_no_parse_tree_and_its_closures_no_cells():
    """What the engine keeps for the run is few objects: each is walked by the collector's full passes."""
    texts = {
        "D": "clamp(A * 2 - B / 3, 0, 1000) + abs(B - 50)",
        "E": "min(A, B) - max(A * 2, 3) / (A + 1)",
        "r": "A > 95 or (D > 990 and A < 3)",
        "s": "avg(A, 30s) > 60 and D < 900",
    }
    tags = {name: TagDef(name, "plc", f"hr:{i}") for i, name in enumerate("AB")}
    tags |= {name: TagDef(name, None, texts[name], DataType.FLOAT64, source="rules") for name in "DE"}
    derived = {name: DerivedDef(name, texts[name]) for name in "DE"}
    rules = {name: RuleDef(name, texts[name], (RaiseAction("x"),)) for name in "rs"}
    checked = {text: parse(text)[0] for text in texts.values()}  # as the loader's check parses them

    async def never(*_args: object) -> object:
        raise AssertionError("no writes here")

    config = RulesConfig(derived, rules)
    engine = RulesEngine(config, tags, publish=lambda n, s: None, write=never, record=print)
    for text, tree in checked.items():
        assert tree is not None and parse(text)[0] is not tree  # dropped once compiled: parsed afresh
    fns = [d.fast for d in engine.derived.values()] + [r.condition for r in engine.rules.values()]
    closures = [fn for top in fns for fn in _closures_of(top)]
    assert closures and all(getattr(fn, "__closure__", None) is None for fn in closures)
