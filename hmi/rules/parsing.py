"""Parse an expression's text (lark) into a tree, bounded before anything recursive walks it.

The first stage of :mod:`hmi.rules.expr`: the text's length, the tree's depth and its size are
checked here, a syntax error is reported at its offset in words an engineer reads, and each
distinct text is parsed once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from hmi.rules.grammar import parser


@dataclass(frozen=True, slots=True)
class Limits:
    """What one expression may be: characters, depth of nesting, nodes of its tree."""

    length: int = 2000
    depth: int = 40
    nodes: int = 400


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class ExprError:
    """One problem at ``offset`` (0-based) in the expression's text."""

    offset: int
    message: str


def parse(text: str, limits: Limits = LIMITS) -> tuple[Tree[Token] | None, list[ExprError]]:
    """The checked tree of ``text``, or None and the syntax or size problem.

    Each distinct text is parsed once per process (the loader's cycle check, ``hmi check`` and the
    engine at start all ask for the same texts); the tree is shared, and nothing modifies it.
    """
    key = (text, limits)
    parsed = _PARSED.pop(key, None)
    if parsed is None:
        tree, problems = _parse(text, limits)
        parsed = tree, tuple(problems)
        if len(_PARSED) >= PARSED_MAX:
            del _PARSED[next(iter(_PARSED))]  # the least recently asked for
    _PARSED[key] = parsed  # last in the order: recently asked for
    return parsed[0], list(parsed[1])


PARSED_MAX = 16384
"""How many distinct texts' trees are kept for the next caller asking for the same text."""

_PARSED: dict[tuple[str, Limits], tuple[Tree[Token] | None, tuple[ExprError, ...]]] = {}


def forget_parsed(texts: Iterable[str], limits: Limits = LIMITS) -> None:
    """Drop the kept trees of ``texts`` (compiled for good: nobody in this process needs them again).

    A tree of a few nodes is some thirty objects the cyclic garbage collector walks on each of its
    full passes for as long as it is kept: for a project of thousands of expressions, tens of
    thousands of objects, a full pass several times as long. The next load of the same texts parses
    them again.
    """
    for text in texts:
        _PARSED.pop((text, limits), None)


def _parse(text: str, limits: Limits) -> tuple[Tree[Token] | None, list[ExprError]]:
    if len(text) > limits.length:
        return None, [ExprError(limits.length, f"longer than {limits.length} characters")]
    if not text.strip():
        return None, [ExprError(0, "empty expression")]
    try:
        tree = parser().parse(text)
    except UnexpectedInput as error:
        return None, [ExprError(_offset(text, error), _syntax_message(error))]
    except LarkError as error:  # any other failure of the parser is still just a syntax error
        return None, [ExprError(0, f"syntax error: {error}")]
    if not isinstance(tree, Tree):  # a lone token
        tree = Tree("number" if tree.type == "QUANTITY" else "tag", [tree])
    problem = _size_problem(tree, limits)
    return (None, [problem]) if problem else (tree, [])


def _offset(text: str, error: UnexpectedInput) -> int:
    position = getattr(error, "pos_in_stream", None)
    if isinstance(error, UnexpectedToken) and error.token is not None:
        if error.token.type == "$END":
            return len(text)
        position = getattr(error.token, "start_pos", position)
    if isinstance(error, UnexpectedEOF) or position is None:
        return len(text)
    return max(0, min(int(position), len(text)))


def _syntax_message(error: UnexpectedInput) -> str:
    if isinstance(error, UnexpectedCharacters):
        return f"syntax error: unexpected character {error.char!r}"
    if isinstance(error, UnexpectedEOF):
        return "syntax error: the expression ends too soon"
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token is None or token.type == "$END":
            return "syntax error: the expression ends too soon"
        expected = sorted(_readable(name) for name in error.expected)[:6]
        hint = f" (expected {', '.join(expected)})" if expected else ""
        return f"syntax error: unexpected {str(token)!r}{hint}"
    return "syntax error"


_TERMINALS = {
    "RPAR": "')'", "LPAR": "'('", "COMMA": "','", "NAME": "a name", "QUANTITY": "a number",
    "COMPARE": "a comparison", "PLUS": "'+'", "MINUS": "'-'", "TIMES": "'*'", "DIVIDE": "'/'",
    "POWER": "'**'", "$END": "the end", "THEN": "'then'", "ELSE": "'else'", "AND": "'and'", "OR": "'or'",
    "IF": "'if'", "NOT": "'not'", "TRUE": "'true'", "FALSE": "'false'",
}  # fmt: skip


def _readable(terminal: str) -> str:
    return _TERMINALS.get(terminal, terminal.lower())


def _size_problem(tree: Tree[Token], limits: Limits) -> ExprError | None:
    """Depth and size of the tree, measured without recursion."""
    nodes = 0
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > limits.depth:
            return ExprError(start_of(node), f"nested deeper than {limits.depth} levels")
        if nodes > limits.nodes:
            return ExprError(0, f"more than {limits.nodes} parts")
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return None


def start_of(node: Tree[Token] | Token) -> int:
    """The offset of ``node``: its first token's (found without recursion)."""
    stack: list[Tree[Token] | Token] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Token):
            return current.start_pos or 0
        stack.extend(reversed(current.children))
    return 0


def tag_references(tree: Tree[Token]) -> Iterator[tuple[str, int]]:
    """Every tag name the tree reads, with its offset (names of functions are not tags)."""
    for node in tree.iter_subtrees():
        if node.data == "tag":
            token = node.children[0]
            assert isinstance(token, Token)
            yield str(token), token.start_pos or 0
