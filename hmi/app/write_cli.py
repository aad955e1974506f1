"""``hmi write PROJECT TAG VALUE``: one write through the command path, for engineers and commissioning.

Only the driver of the tag's connection runs (polling that one tag): no history store
and no alarms, so a running ``hmi run`` of the same project keeps its store to itself.
The value goes as typed to the one write check (an int64 stays exact), then to the
PLC; the read-back is printed. Exit 0 when written, 2 with the refusal or the PLC's
error, and 2 when the PLC cannot be reached within ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sqlite3
import sys
from typing import Any

from hmi.app.cli_logon import cli_identity
from hmi.app.write_sign_cli import add_sign_arguments, cli_signature
from hmi.core.commands import (
    AuditHook,
    CommandPath,
    CommandResult,
    Origin,
    Policy,
    SignatureCheck,
    WriteRequest,
    allow_everything,
    audit_into,
    log_audit,
    no_signatures,
    os_user,
    secured,
    signed,
)
from hmi.core.runtime import TagRuntime
from hmi.model import ConnectionState, Reason, Sample
from hmi.project.config import Project
from hmi.security.paths import DATA_DIR_ENV, audit_path, data_dir, users_path
from hmi.security.signatures import SignatureBook
from hmi.security.trail import AuditTrail
from hmi.security.users import UserStore

DEFAULT_TIMEOUT = 5.0
OLD_VALUE_WAIT = 2.0
"""Seconds to wait for the tag's first read before writing (the audit's old value)."""

EXAMPLE = """\
example:
  hmi write plant/ PUMP1.SPEED_SP 1200
  hmi write plant/ COUNTER.TOTAL 1152921504606846977 --format json
  hmi write plant/ PUMP1.RUN on
  hmi write plant/ TANK1.OFFSET -- -1.5e-3     (a value that starts with '-' and is not a plain number)

  CONVERGE_PASSWORD=... hmi write plant/ PUMP1.RUN on --user alice
  CONVERGE_PASSWORD=... hmi write plant/ DOSING.SP 4.2 --user alice --sign-reason "batch 118 recipe"
  CONVERGE_PASSWORD=... CONVERGE_VERIFIER_PASSWORD=... hmi write plant/ KILN.SP 900 --user alice \
      --sign-reason "trial" --verifier bob          (a tag marked confirm: double)

once users exist (hmi users), a write needs --user NAME holding write_tag; until then it runs
as the OS user with a warning. Every step is audited in the project's trail (hmi audit).

exit status: 0 written (the read-back is printed); 2 refused (read-only, out of limits,
unknown tag, not a number, not permitted), the PLC's error, or the PLC not reachable within --timeout.
"""


def add_write_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi write``."""
    write = sub.add_parser(
        "write",
        help="write one value to a tag through the command path and print the read-back",
        description="Write one value to a tag (actor: you, origin: cli), read it back and print it.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    write.add_argument("project", help="project folder")
    write.add_argument("tag", help="tag name, as in project.yaml")
    write.add_argument("value", help="the value as text: 1200, 12.5, on/off, or text for a string tag")
    write.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    write.add_argument(
        "--user", metavar="NAME", help="log on as NAME (password from the terminal or CONVERGE_PASSWORD)"
    )
    add_sign_arguments(write)
    write.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up when the PLC has not connected or answered in this time (default {DEFAULT_TIMEOUT:g})",
    )


def run_write(args: argparse.Namespace) -> int:
    """Entry point of ``hmi write``."""
    from hmi.project.loader import load_project

    project = load_project(args.project)
    trail = AuditTrail(audit_path(project.history.path), commit_interval=0.05)
    try:
        trail.start()
    except (OSError, sqlite3.Error) as error:  # no write without its audit record
        print(f"hmi write: the audit trail cannot be opened, nothing was written: {error}", file=sys.stderr)
        hint = f"(the audit key lives in {data_dir()}; set {DATA_DIR_ENV} to use another folder)"
        print(hint, file=sys.stderr)
        return 2
    try:
        identity = cli_identity(args.user, os_user(), trail.record)
        if identity.logon_problem:
            print(f"hmi write: {identity.logon_problem}", file=sys.stderr)
        book = SignatureBook(UserStore(users_path()), trail.record)
        signature = cli_signature(args, project.tags.get(args.tag), identity.actor, book)
        request = WriteRequest(args.tag, args.value, identity.actor, Origin.CLI, signature=signature)
        checks = Checks(
            secured(identity.policy, project),
            audit_into(trail.record),
            signed(book, identity.policy),
            signed(book, identity.policy, consume=False),
        )
        result = asyncio.run(write_once(project, request, args.timeout, checks))
    finally:
        trail.stop()
    _report(args.format, request, result)
    return 0 if result.ok else 2


@dataclasses.dataclass(frozen=True, slots=True)
class Checks:
    """The policy and the audit hook a write goes through."""

    policy: Policy = allow_everything
    audit: AuditHook = log_audit
    signatures: SignatureCheck = no_signatures
    preview: SignatureCheck = no_signatures
    """The signature check of the look before the write: it leaves the signature for the write."""


async def write_once(
    project: Project, request: WriteRequest, within: float, checks: Checks = Checks()
) -> CommandResult:
    """Check ``request``, start the tag's connection only, write, read back, stop."""
    first = CommandPath(
        TagRuntime(project), policy=checks.policy, audit=checks.audit, signatures=checks.preview
    )
    refused = first.refusal(request)
    if refused is not None:  # refused before any connection is opened
        return refused
    tag = project.tags[request.tag]
    connection = tag.connection or ""
    config = project.connections.get(connection)
    if config is None:
        return CommandResult(request.id, False, error=f"{tag.name}: connection {connection!r} is not defined")
    # Only this tag on its own connection: the one value to read back, nothing else polled.
    alone = dataclasses.replace(project, connections={connection: config}, tags={tag.name: tag}, alarms={})
    runtime = TagRuntime(alone)
    path = CommandPath(runtime, policy=checks.policy, audit=checks.audit, signatures=checks.signatures)
    await runtime.start()
    try:
        if not await _connected(runtime, connection, within):
            status = runtime.statuses.get(connection)
            detail = f" ({status.last_error})" if status is not None and status.last_error else ""
            error = f"{tag.name}: connection {connection} not connected within {within:g} s{detail}"
            return CommandResult(request.id, False, error=error)
        await _first_sample(runtime, tag.name, min(within, OLD_VALUE_WAIT))  # the audit's "old" value
        try:
            return await asyncio.wait_for(path.write(request), within)
        except TimeoutError:
            error = f"{tag.name}: no answer from connection {connection} within {within:g} s"
            return CommandResult(request.id, False, error=error)
    finally:
        await runtime.stop()


async def _first_sample(runtime: TagRuntime, tag: str, within: float) -> None:
    """Wait (bounded) for the tag's first read, so the audit records the value the write replaces."""
    seen = asyncio.Event()

    def watch(name: str, sample: Sample) -> None:
        if name == tag and sample.reason is not Reason.WAITING:
            seen.set()

    unsubscribe = runtime.subscribe(watch)
    try:
        current = runtime.values.get(tag)
        if current is None or current.reason is Reason.WAITING:
            await asyncio.wait_for(seen.wait(), within)
    except TimeoutError:
        pass  # the write goes ahead; the audit then says the old value is unknown
    finally:
        unsubscribe()


async def _connected(runtime: TagRuntime, connection: str, within: float) -> bool:
    """Wait (bounded) for the connection to come up; the runtime reports state changes as they happen."""
    up = asyncio.Event()

    def watch(_status: object) -> None:
        status = runtime.statuses.get(connection)
        if status is not None and status.state is ConnectionState.CONNECTED:
            up.set()

    unsubscribe = runtime.subscribe_status(watch)
    try:
        watch(None)
        await asyncio.wait_for(up.wait(), within)
        return True
    except TimeoutError:
        return False
    finally:
        unsubscribe()


def _report(form: str, request: WriteRequest, result: CommandResult) -> None:
    if form == "json":
        document: dict[str, Any] = {
            "ok": result.ok,
            "tag": request.tag,
            "written": result.written,
            "read_back": result.read_back,
            "error": result.error,
            "request_id": result.request_id,
            "actor": request.actor,
            "origin": request.origin.value,
        }
        print(json.dumps(document, default=str))
        return
    if result.ok:
        print(f"{request.tag} = {result.read_back if result.read_back is not None else result.written}")
    else:
        print(f"hmi write: {result.error}", file=sys.stderr)
