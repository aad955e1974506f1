"""The expression language's grammar, parsed by lark's LALR parser (one table built once per process).

LALR keeps parsing linear in the text and free of recursion, so a hostile expression costs at most its
length; the tree it yields is checked for depth before anything recursive walks it.
"""

from __future__ import annotations

import functools

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
    """The one parser (building the LALR table costs milliseconds; it is shared, it keeps no state)."""
    # Tokens carry their offsets; positions are not propagated to every tree node (that costs 40 % of
    # a parse here): a node's place, needed only for a message, is its first token's.
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)
