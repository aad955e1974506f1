"""Secrets written into a project or screen file, found by line: a project is kept in git, a secret never is.

The schemas refuse the secret fields they know (a sync ``token``, an OPC UA ``password``). This scan
reads the text itself, so that it also finds a secret where no schema looks: a key named like a
secret anywhere (``password``, ``passphrase``, ``api_key``, ``private_key``...), a URL with a
password in it (``https://user:pass@host``), a pasted private key. Names that point at where a
secret lives (``password_env``, ``token_keyring``) are what a project should hold, and pass. The
message never repeats the secret.
"""

from __future__ import annotations

import re
from pathlib import Path

from hmi.project.errors import ProjectError
from hmi.project.yaml_reader import read_text
from hmi.project.yaml_source import LIMITS

_SECRET_KEY = (
    r"(?:password|passwd|passphrase|secret|client_secret|token|access_token|api_key|apikey"
    r"|private_key|key_password)"
)
_KEY_VALUE = re.compile(
    rf"""(?:^\s*(?:-\s+)?|[{{,]\s*)(["']?){_SECRET_KEY}\1\s*:[ \t]*(?P<value>[^,}}\#\n]*)""",
)
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:(?P<value>[^/\s@'\"]+)@")
_PRIVATE_KEY = re.compile(r"-----begin (?:[a-z]+ )?private key-----")
_CANDIDATE = re.compile(r"passw|passphrase|secret|token|api_?key|private|://")
_EMPTY = frozenset({"", "~", "null", "''", '""', "|", ">", "|-", ">-"})
ADVICE = "give it by name instead (an environment variable or an OS keyring entry; see docs/security.md)"


def file_secrets(path: Path, shown_as: Path) -> list[ProjectError]:
    """:func:`plaintext_secrets` of a file; nothing when it cannot be read (its reader says why)."""
    try:
        text = read_text(path, LIMITS)
    except (OSError, ValueError):
        return []
    return plaintext_secrets(text, shown_as)


def plaintext_secrets(text: str, shown_as: Path) -> list[ProjectError]:
    """One error per line of ``text`` that holds a secret in the clear."""
    errors: list[ProjectError] = []
    # Lower-cased once, so that every pattern is case-sensitive (Python's case-insensitive matching is
    # ten times slower); one pass of a plain pattern finds the few lines worth a closer look. A 100k-tag
    # project has none, and is scanned in a fraction of its load time.
    text = text.lower()
    number, counted_to, last = 1, 0, 0
    for candidate in _CANDIDATE.finditer(text):
        start = text.rfind("\n", 0, candidate.start()) + 1
        if start < counted_to:
            continue  # a second candidate on a line already looked at
        number += text.count("\n", last, start)
        last = start
        end = text.find("\n", start)
        counted_to = len(text) if end < 0 else end
        why = _secret_in(text[start:counted_to])
        if why is not None:
            errors.append(ProjectError(shown_as, number, f"{why} in the project file: {ADVICE}"))
    return errors


def _secret_in(line: str) -> str | None:
    if line.lstrip().startswith("#"):
        return None
    if _PRIVATE_KEY.search(line):
        return "a private key"
    for found in _KEY_VALUE.finditer(line):
        if found.group("value").strip().lower() not in _EMPTY:
            return "a plaintext secret"
    if _URL_PASSWORD.search(line):
        return "a password in a URL"
    return None


def already_reported(scan: list[ProjectError], errors: list[ProjectError]) -> list[ProjectError]:
    """The scan's errors on lines where no schema refused a plaintext secret already (a sync ``token``)."""
    told = {(str(error.file), error.line) for error in errors if "plaintext" in error.message}
    return [error for error in scan if (str(error.file), error.line) not in told]
