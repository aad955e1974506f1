"""The ``hmi`` command line: the contract that tests and automation rely on (see docs/cli.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hmi.project.errors import ProjectInvalid

SNAPSHOT_AFTER = 8.0
"""Seconds a ``--snapshot`` run lasts when no ``--for`` is given: long enough for every value to arrive."""


def _version() -> str:
    try:
        return version("converge-hmi")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="hmi", description="Converge HMI: mimic screens, trends, alarms.")
    parser.add_argument("--version", action="version", version=f"hmi {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--headless", action="store_true", help="no window: runtime, history and alarms only")
        p.add_argument(
            "--for", dest="seconds", type=float, metavar="SECONDS", help="run that long, then exit 0"
        )
        p.add_argument(
            "--snapshot",
            type=Path,
            metavar="FILE.png",
            help=f"save the main window as PNG after --for (default {SNAPSHOT_AFTER:g} s), then exit",
        )

    demo = sub.add_parser("demo", help="run the built-in demo plant")
    add_run_options(demo)
    demo.add_argument("--data-dir", type=Path, help="where the demo keeps its history")

    run = sub.add_parser("run", help="run a project")
    run.add_argument("project", type=Path)
    add_run_options(run)

    check = sub.add_parser("check", help="validate a project; exit 2 with file:line: message per error")
    check.add_argument("project", type=Path)

    history = sub.add_parser("history", help="history tools")
    history_sub = history.add_subparsers(dest="history_command", required=True)
    export = history_sub.add_parser(
        "export",
        help="print the history of one or more tags as CSV",
        description="Print the history of one or more tags as one CSV, in time order, with a tag column.",
        epilog="example: hmi history export demo --tag TANK1.LEVEL --tag PUMP1.SPEED --from -1h",
    )
    export.add_argument("project", help="project folder, or 'demo'")
    export.add_argument("--tag", required=True, action="append", help="a tag to export (repeat for more)")
    export.add_argument("--from", dest="start", help="ISO time, epoch seconds or relative (-1h)")
    export.add_argument("--to", dest="end", help="ISO time, epoch seconds or relative (-10m)")
    export.add_argument("--format", choices=["csv"], default="csv")
    export.add_argument("--data-dir", type=Path, help="the demo's data folder (with project 'demo')")

    from hmi.app.alarms_cli import add_alarms_parser
    from hmi.app.audit_cli import add_audit_parser
    from hmi.app.browse_cli import add_browse_parser
    from hmi.app.certs_cli import add_certs_parser
    from hmi.app.sync_cli import add_sync_parser
    from hmi.app.users_cli import add_users_parser
    from hmi.app.write_cli import add_write_parser

    add_certs_parser(sub)
    add_browse_parser(sub)
    add_write_parser(sub)
    add_sync_parser(sub)
    add_alarms_parser(sub)
    add_users_parser(sub)
    add_audit_parser(sub)

    bench = sub.add_parser("bench", help="run benchmarks, print JSON")
    bench.add_argument("name", nargs="?", help="one benchmark (default: all)")
    bench.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="that benchmark's options, e.g. scale --tags 10000 --seconds 30",
    )
    return parser


RELATIVE_TIME_OPTIONS = ("--from", "--to")


def _join_relative_times(argv: list[str]) -> list[str]:
    """Let ``--from -1d`` mean ``--from=-1d``: argparse would take ``-1d`` for an option."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if word in RELATIVE_TIME_OPTIONS and following.startswith("-"):
            joined.append(f"{word}={following}")
            index += 2
        else:
            joined.append(word)
            index += 1
    return joined


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hmi`` console script."""
    # A frozen build starts acquisition processes (spawn) through this very executable.
    multiprocessing.freeze_support()
    args = build_parser().parse_args(_join_relative_times(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except ProjectInvalid as invalid:
        for error in invalid.errors:
            print(error, file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `hmi history export ... | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from hmi.project.loader import check_project_with_warnings, load_project

    if args.command == "check":
        errors, warnings = check_project_with_warnings(args.project)
        for problem in [*errors, *warnings]:
            print(problem, flush=True)
            excerpt = getattr(problem, "excerpt", None)  # an expression's: its text and a caret, for people
            if excerpt is not None:
                print(excerpt(), file=sys.stderr, flush=True)
        if not errors:
            print(f"{args.project}: ok" + (f" ({len(warnings)} warnings)" if warnings else ""))
        return 2 if errors else 0
    if args.command == "history":
        from hmi.app.history_cli import export_history

        return export_history(args)
    if args.command == "certs":
        from hmi.app.certs_cli import run_certs

        return run_certs(args)
    if args.command == "write":
        from hmi.app.write_cli import run_write

        return run_write(args)
    if args.command in ("users", "audit"):
        from hmi.app.audit_cli import run_audit
        from hmi.app.users_cli import run_users

        return run_users(args) if args.command == "users" else run_audit(args)
    if args.command == "browse":
        from hmi.app.browse_cli import run_browse

        return run_browse(args)
    if args.command == "sync":
        from hmi.app.sync_cli import run_sync

        return run_sync(args)
    if args.command == "alarms":
        from hmi.app.alarms_cli import run_alarms

        return run_alarms(args)
    if args.command == "bench":
        from benchmarks.runner import run_benchmarks

        return run_benchmarks(args.name, args.options)
    if getattr(args, "snapshot", None) is not None and args.seconds is None:
        args.seconds = SNAPSHOT_AFTER  # a snapshot is taken at the end of a run: give the run an end
    if args.command == "demo":
        from hmi.core.demo import default_data_dir

        data_dir = args.data_dir or default_data_dir()
        # The demo is an installation of its own: its users, audit key and trail stay in its data folder
        # (writable by whoever starts it), never mixed with a plant's on the same machine.
        os.environ.setdefault("CONVERGE_HMI_DATA_DIR", str(Path(data_dir) / "installation"))
        from hmi.app.demo_accounts_cli import announce_demo_accounts

        announce_demo_accounts(data_dir)
        if args.headless:
            from hmi.app.headless import run_headless
            from hmi.core.resources import demo_project_dir

            return asyncio.run(run_headless(load_project(demo_project_dir()), args.seconds, data_dir))
        from hmi.ui.app import run_gui

        return run_gui(None, args.seconds, args.snapshot, demo_data_dir=data_dir)
    # run
    if args.headless:
        from hmi.app.headless import run_headless

        return asyncio.run(run_headless(load_project(args.project), args.seconds))
    from hmi.ui.app import run_gui

    return run_gui(args.project, args.seconds, args.snapshot)


if __name__ == "__main__":
    sys.exit(main())
