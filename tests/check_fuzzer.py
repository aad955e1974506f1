"""A fuzzer for ``hmi check``: mutants of the demo project and its screens, each checked in this process.

Every mutant must end as exit 0 or exit 2 with ``file:line: message`` lines: never an
exception (exit 1 / a traceback), never a hang (an alarm bounds each check), never
unbounded memory (run it under a memory limit, as ``tests/test_check_fuzz.py`` and
``make fuzz`` do). Mutations are structural (a value replaced by a hostile one, a key
dropped, renamed or added, an entry duplicated) and textual (hostile YAML spliced in,
lines dropped, duplicated or cut, bytes that are not UTF-8, file kinds that cannot be read).

    python tests/check_fuzzer.py --examples 200        # what the test suite runs
    python tests/check_fuzzer.py --examples 20000      # make fuzz
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
FILES = ("project.yaml", "screens/overview.yaml", "screens/pump1.yaml")
CHECK_SECONDS = 20  # one check of a small project takes well under a second; more is a hang
ERROR_LINE = re.compile(r"^.+:\d+: .+$")

# --- hostile values and snippets ---------------------------------------------------------------------------

HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\0",
            "a\0b",
            "~nouser/pki",
            "opc.tcp://127.0.0.1:99999/",
            "opc.tcp://:0/",
            "hr:70000",
            "hr:-1",
            "hr:1.99",
            "400000",
            "9" * 400 + "d",
            "1e999s",
            "-5s",
            "0s",
            "99999999999d",
            "{value.1f}",
            "{",
            "ns=99;s=X",
            "nsu=;i=",
            "x" * 5000,
            "TANK1.LEVEL",
            "PUMP1.SPEED_SP",
            "overview",
        ]
    ),
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SNIPPETS = [
    "x: &a [1, 2, 3]\ny: *a\n",
    "z: *undefined\n",
    "loop: &l [*l]\n",
    "bomb0: &b0 [a, a, a, a, a, a, a, a, a]\n"
    + "".join(f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]\n" for i in range(1, 9)),
    "deep: " + "[" * 400 + "]" * 400 + "\n",
    "deep: " + "{a: " * 200 + "1" + "}" * 200 + "\n",
    "n: !!int abc\n",
    "f: !!float abc\n",
    "t: !!timestamp 2024-13-45\n",
    "d: 2024-02-30\n",
    "p: !!python/object:os.system ls\n",
    "s: !!set {a, b}\n",
    "c: !custom value\n",
    "m: {<<: *nothing}\n",
    "big: " + "9" * 5000 + "\n",
    "---\nsecond: document\n",
    "%YAML 1.1\n---\n",
    "\t- tab\n",
    "key: 'unterminated\n",
    "? complex\n: key\n",
    "? [a, {b: c}]\n: v\n",
    "? {x: [1]}\n: v\n",
    "{a: 1}: v\n",
    "[1, 2]: flowkey\n",
    "<<: {merged: 1}\n",
    "dup: 1\ndup: 2\n",
]
BAD_BYTES = [
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\r",
    b"\x85",
    "\u2028".encode(),
]

# --- mutations --------------------------------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path into plain data, the root included (at most 30 deep: aliases may make loops)."""
    yield prefix
    if len(prefix) >= 30:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


def _mutate_data(draw: st.DrawFn, data: Any) -> Any:
    """One structural change somewhere in the plain data of a file."""
    paths = [path for path in _paths(data) if path]
    if not paths:
        return draw(HOSTILE_VALUES)
    path = draw(st.sampled_from(paths))
    parent, last = _parent(data, path), path[-1]
    action = draw(st.sampled_from(["replace", "delete", "rename", "add", "duplicate", "wrap"]))
    if action == "replace":
        parent[last] = draw(HOSTILE_VALUES)
    elif action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(st.text(max_size=10)) or "k"] = parent.pop(last)
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=10) | st.sampled_from(["bogus", "port", "type", "unit", "tag"]))] = draw(
            HOSTILE_VALUES
        )
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    elif action == "duplicate" and isinstance(parent, dict):
        parent[f"{last}_copy"] = parent[last]
    else:
        parent[last] = [parent[last]] if draw(st.booleans()) else {"x": parent[last]}
    return data


def _plain_data(text: str) -> Any:
    """The file as plain data, or None when it no longer reads as (tame) YAML."""
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except Exception:  # any YAML the fuzzer itself broke; the check is what is under test
        return None
    if not isinstance(data, dict | list) or len(text) > 100_000 or "&" in text:
        return None  # anchors: the fuzzer's own dump would have to follow loops and shared nodes
    return data


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _mutate_text(draw: st.DrawFn, text: str) -> bytes:
    """One textual change: a snippet spliced in, a line dropped/duplicated, a cut, a bad byte."""
    lines = text.splitlines(keepends=True) or [""]
    action = draw(st.sampled_from(["snippet", "drop", "duplicate", "cut", "bytes", "indent"]))
    at = draw(st.integers(0, len(lines)))
    if action == "snippet":
        snippet = draw(st.sampled_from(SNIPPETS))
        indent = draw(st.sampled_from(["", "  ", "    "]))
        lines.insert(at, "".join(indent + line for line in snippet.splitlines(keepends=True)))
    elif action == "drop" and at < len(lines):
        del lines[at]
    elif action == "duplicate" and at < len(lines):
        lines.insert(at, lines[at])
    elif action == "indent" and at < len(lines):
        lines[at] = draw(st.sampled_from([" ", "\t", "   "])) + lines[at]
    elif action == "cut":
        joined = "".join(lines)
        return joined[: draw(st.integers(0, len(joined)))].encode("utf-8")
    data = "".join(lines).encode("utf-8")
    if action == "bytes":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from(BAD_BYTES)) + data[cut:]
    return data


@st.composite
def mutants(draw: st.DrawFn) -> dict[str, bytes | str]:
    """The demo's files, one to three of them changed; a value ``"<kind>"`` makes an unreadable entry."""
    files: dict[str, bytes | str] = {name: (DEMO / name).read_bytes() for name in FILES}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from((*FILES, "screens/extra.yaml")))
        original = files.get(name, (DEMO / FILES[1]).read_bytes())
        text = original.decode("utf-8", errors="replace") if isinstance(original, bytes) else ""
        how = draw(st.sampled_from(["data", "data", "text", "text", "kind"]))
        data = _plain_data(text) if how == "data" else None
        if data is not None:
            files[name] = _dump(_mutate_data(draw, data)).encode("utf-8")
        elif how in ("data", "text"):  # a file an earlier mutation broke is changed as text
            files[name] = _mutate_text(draw, text)
        else:
            files[name] = draw(st.sampled_from(["<fifo>", "<dir>", "<dangling>", "<loop>"]))
    return files


# --- one check --------------------------------------------------------------------------------


class Hang(Exception):
    """A check ran past CHECK_SECONDS."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang(f"hmi check ran longer than {CHECK_SECONDS} s")


def _write(root: Path, files: dict[str, bytes | str]) -> None:
    (root / "screens").mkdir(parents=True)
    for name, content in files.items():
        path = root / name
        if content == "<fifo>":
            os.mkfifo(path)
        elif content == "<dir>":
            path.mkdir()
        elif content == "<dangling>":
            path.symlink_to(root / "nowhere")
        elif content == "<loop>":
            path.symlink_to(path)
        else:
            assert isinstance(content, bytes)
            path.write_bytes(content)


def check_mutant(files: dict[str, bytes | str]) -> int:
    """Run ``hmi check`` on the mutant in this process; fail on anything but 0 or 2 with error lines."""
    from hmi.app.cli import main

    root = Path(tempfile.mkdtemp(prefix="hmi-fuzz-"))
    try:
        _write(root / "plant", files)
        out = io.StringIO()
        signal.alarm(CHECK_SECONDS)
        try:
            with contextlib.redirect_stdout(out):
                code = main(["check", str(root / "plant")])
        finally:
            signal.alarm(0)
        lines = out.getvalue().splitlines()
        assert code in (0, 2), code
        # Checked again, a valid mutant answers from the project cache: the same words, every time.
        again = io.StringIO()
        signal.alarm(CHECK_SECONDS)
        try:
            with contextlib.redirect_stdout(again):
                assert main(["check", str(root / "plant")]) == code
        finally:
            signal.alarm(0)
        assert again.getvalue().splitlines() == lines, (lines, again.getvalue())
        if code == 0:
            assert lines[-1].startswith(f"{root / 'plant'}: ok"), lines
            assert all(ERROR_LINE.match(line) and ": warning: " in line for line in lines[:-1]), lines
        else:
            assert lines and all(ERROR_LINE.match(line) for line in lines), lines
            assert all(len(line) < 2000 for line in lines), max(lines, key=len)[:300]
        return code
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(examples: int, seed: int | None) -> int:
    """Check ``examples`` mutants; returns the process exit code (0 when every one held)."""
    counts = {0: 0, 2: 0}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None and examples <= 500,  # the suite's run is the same every time
        phases=[Phase.explicit, Phase.generate, Phase.shrink]
        if seed is None
        else [Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(mutants())
    def fuzz(files: dict[str, bytes | str]) -> None:
        counts[check_mutant(files)] += 1

    signal.signal(signal.SIGALRM, _on_alarm)
    # The project cache of this run only, unless the caller chose one (the test suite does).
    cache = None if os.environ.get("CONVERGE_HMI_CACHE_DIR") is not None else tempfile.TemporaryDirectory()
    if cache is not None:
        os.environ["CONVERGE_HMI_CACHE_DIR"] = cache.name
    if seed is not None:
        from hypothesis import seed as with_seed

        fuzz = with_seed(seed)(fuzz)
    try:
        fuzz()
    finally:
        if cache is not None:
            cache.cleanup()
    print(f"hmi check held on {sum(counts.values())} mutants: {counts[0]} valid, {counts[2]} refused")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--examples N`` (default 200) and an optional ``--seed``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    return run(args.examples, args.seed)


if __name__ == "__main__":
    sys.exit(main())
