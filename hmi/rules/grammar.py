"""The expression language's grammar, parsed by lark's LALR parser (one table built once per process).

LALR keeps parsing linear in the text and free of recursion, so a hostile expression costs at most its
length; the tree it yields is checked for depth before anything recursive walks it.
"""

from __future__ import annotations

import functools
import hashlib

from lark import Lark

GRAMMAR = r"""
?start: expr

?expr: or_expr
     | "if" expr "then" expr "else" expr    -> conditional

?or_expr: and_expr
        | or_expr "or" and_expr             -> or_
?and_expr: not_expr
         | and_expr "and" not_expr          -> and_
?not_expr: comparison
         | "not" not_expr                   -> not_
?comparison: sum
           | sum COMPARE sum                -> compare
?sum: term
    | sum PLUS term                         -> arith
    | sum MINUS term                        -> arith
?term: factor
     | term TIMES factor                    -> arith
     | term DIVIDE factor                   -> arith
?factor: power
       | MINUS factor                       -> neg
       | PLUS factor
?power: atom
      | atom POWER factor                   -> arith
?atom: QUANTITY                             -> number
     | "true"                               -> true
     | "false"                              -> false
     | NAME "(" [expr ("," expr)*] ")"      -> call
     | NAME                                 -> tag
     | "(" expr ")"

COMPARE: "==" | "!=" | "<=" | ">=" | "<" | ">"
PLUS: "+"
MINUS: "-"
POWER: "**"
TIMES: "*"
DIVIDE: "/"
QUANTITY: /(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?([A-Za-z%\u00b0\u00b5][A-Za-z0-9_\u00b0\u00b5]*)?/
NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*/
%ignore /[ \t\r\n]+/
"""

KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "true", "false"})


@functools.cache
def parser() -> Lark:
    """The one parser of the process (it is shared, it keeps no state).

    Building the LALR table costs some 30-80 ms, more than a small project's whole check: it is kept
    in this user's cache folder (lark checks the file against a hash of the grammar, its options and
    its own version, and rebuilds when it does not match or cannot be read).
    """
    # Tokens carry their offsets; positions are not propagated to every tree node (that costs 40 % of
    # a parse here): a node's place, needed only for a message, is its first token's.
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False, cache=_cache_file() or False)


def _cache_file() -> str | None:
    """Where the built parser is kept: this user's cache folder (None: the cache is turned off)."""
    from hmi.project.project_cache import cache_folder  # the same per-user folder as the project cache

    folder = cache_folder()
    if folder is None:
        return None
    digest = hashlib.sha256(GRAMMAR.encode()).hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: build it each time
        return None
    return str(folder / f"expr-parser-{digest}.lark")  # the project cache evicts only its *.entry files
