"""Values written as one line of YAML flow style, the way engineers write project files by hand.

Text stays plain (``TANK1.LEVEL``, ``10m``) when a reader takes it back as the
same text, in YAML 1.2 and 1.1 alike; anything else is double-quoted with JSON
escaping, which is valid YAML.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# Words a YAML 1.1 reader takes as booleans or null even where YAML 1.2 reads text.
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_STR_TAG = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1024)
def _reads_as_text(text: str) -> bool:
    return VersionedResolver().resolve(ScalarNode, text, (True, False)) == _STR_TAG


def scalar(value: Any) -> str:
    """One scalar: ``null``, ``true``, a number, plain text or double-quoted text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    plain = _PLAIN.fullmatch(text) and text.lower() not in _YAML11_WORDS and _reads_as_text(text)
    return text if plain else json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """``value`` on one line: mappings as ``{k: v}``, lists and tuples as ``[a, b]``, else a scalar."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(key)}: {flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return scalar(value)


def entry(key: Any, value: Any) -> str:
    """One mapping entry on one line, ``key: value``."""
    return f"{scalar(key)}: {flow(value)}"
