"""The one command path: every write and acknowledgement, whoever asks, goes the same way.

``request (target, value, actor, origin, reason) -> authorise (policy) -> the one write
check -> audit -> driver -> readback -> CommandResult``. The requester keeps the
request's id and watches for the result with that id; nothing else travels back.

Runs on the runtime loop (no Qt, no blocking). The policy and the audit hook are
plain callables so that security (roles, sessions) and an audit journal plug in
later without changing a caller; today everything is allowed and audited to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import getpass
import itertools
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hmi.core.write_check import check_value
from hmi.model import ConfirmMode, Sample, TagDef, WriteError
from hmi.security.actions import PROTECTED_ACTIONS, write_refusal
from hmi.security.audit import AuditEntry
from hmi.security.permissions import Permission
from hmi.security.policy import AccessPolicy
from hmi.security.signatures import Signature, SignatureBook

log = logging.getLogger(__name__)

READBACK_WAIT = 1.0
"""Seconds to wait for a sample of the written tag when the driver did not publish one at once."""


class Origin(enum.StrEnum):
    """Where a request came from."""

    SCREEN = "screen"
    FACEPLATE = "faceplate"
    CLI = "cli"
    RULE = "rule"


_ids = itertools.count(1)
_PREFIX = f"{os.getpid():x}"


def os_user() -> str:
    """The operating system's login name: the actor until the security layer adds logins."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (e.g. a service without USER)
        return "unknown"


def new_request_id() -> str:
    """An id unique within this process (and, with the pid, across the processes of one host)."""
    return f"{_PREFIX}-{next(_ids)}"


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """Write ``value`` to tag ``tag``, asked by ``actor`` from ``origin``."""

    tag: str
    value: Any
    actor: str
    origin: Origin
    reason: str = ""
    id: str = field(default_factory=new_request_id)
    signature: Signature | None = None
    """The electronic signature a ``confirm: signature | double`` tag needs (see hmi.security.signatures)."""


@dataclass(frozen=True, slots=True)
class AcknowledgeRequest:
    """Acknowledge alarm ``alarm``, or every unacknowledged alarm when it is None.

    ``reason`` is the operator's optional comment (journalled); ``visible`` limits an
    "acknowledge all" to the alarms the operator sees (a filtered summary).
    """

    alarm: str | None
    actor: str
    origin: Origin
    reason: str = ""
    id: str = field(default_factory=new_request_id)
    visible: tuple[str, ...] | None = None


class AlarmAction(enum.StrEnum):
    """What an alarm action request does (ISA-18.2 shelving and out of service)."""

    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    OUT_OF_SERVICE = "out of service"
    IN_SERVICE = "return to service"
    RESET = "reset"
    EDIT_LIMIT = "edit limit"


ENGINEER_ACTIONS = frozenset({AlarmAction.OUT_OF_SERVICE, AlarmAction.IN_SERVICE, AlarmAction.EDIT_LIMIT})
"""Actions ISA-18.2 gives to an engineer, not an operator: the policy is where a role check refuses them."""



@dataclass(frozen=True, slots=True)
class AlarmActionRequest:
    """Shelve (for ``duration`` seconds), unshelve, take out of or back into service, reset, edit the limit.

    ``limit`` is the new limit of an ``edit limit`` (journalled old -> new; it holds until restart).
    """

    alarm: str
    action: AlarmAction
    actor: str
    origin: Origin
    reason: str = ""
    duration: float = 0.0
    id: str = field(default_factory=new_request_id)
    limit: float | None = None


Request = WriteRequest | AcknowledgeRequest | AlarmActionRequest


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome the requester watches for, by ``request_id``.

    For a write, ``written`` is the value sent to the device and ``read_back`` the value
    the runtime holds afterwards (None when none came back); for an acknowledgement,
    ``written`` is how many alarms were acknowledged.
    """

    request_id: str
    ok: bool
    written: Any = None
    read_back: Any = None
    error: str = ""


class AuditStage(enum.StrEnum):
    """Which step of a request an audit record reports."""

    REFUSED = "refused"  # by the policy or the write check: nothing reached a device
    SENDING = "sending"  # checked and authorised, about to go to the driver (recorded before it acts)
    DONE = "done"
    FAILED = "failed"  # the device or the link refused or failed


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One step of one request, for the audit hook."""

    request: Request
    stage: AuditStage
    value: Any = None
    error: str = ""
    old: Any = None  # a write's target value before it (the runtime's, when good)
    read_back: Any = None  # a finished write's read-back


Policy = Callable[[Request], str | None]
"""Returns why ``request`` is not allowed, or None to allow it."""

AuditHook = Callable[[AuditRecord], None]
"""Receives every step of every request; must not block (it runs on the runtime loop)."""

SignatureCheck = Callable[[WriteRequest, TagDef], str | None]
"""Why a write of a signed tag (``confirm: signature | double``) is not validly signed, or None."""


def no_signatures(_request: WriteRequest, tag: TagDef) -> str | None:
    """A command path without a signature book (rules, a bare path): a signed tag is never written."""
    return f"confirm: {tag.confirm.value} needs an electronic signature, and nobody here can sign"


def allow_everything(_request: Request) -> str | None:
    """Today's policy: every request is allowed (the security layer replaces it)."""
    return None


def log_audit(record: AuditRecord) -> None:
    """Today's audit hook: one log line per step."""
    request = record.request
    if isinstance(request, WriteRequest):
        target = f"write {request.tag}"
    elif isinstance(request, AlarmActionRequest):
        target = f"{request.action.value} {request.alarm}"
    else:
        target = f"ack {request.alarm or '*'}"
    detail = f" = {record.value!r}" if record.value is not None else ""
    error = f": {record.error}" if record.error else ""
    log.info(
        "command %s %s%s by %s (%s) %s%s",
        request.id,
        target,
        detail,
        request.actor,
        request.origin.value,
        record.stage.value,
        error,
    )


class Runtime(Protocol):
    """What the command path needs of the tag runtime."""

    project: Any
    values: dict[str, Sample]

    async def write(self, tag_name: str, value: Any) -> Any:
        """Write a checked value through the tag's driver."""

    def subscribe(self, listener: Callable[[str, Sample], None]) -> Callable[[], None]:
        """Receive every change of every tag."""


class Alarms(Protocol):
    """What the command path needs of the alarm engine."""

    def acknowledge(self, name: str, actor: str = "", comment: str = "") -> bool:
        """Acknowledge one alarm."""

    def acknowledge_all(self, actor: str = "", comment: str = "", names: Any = None) -> int:
        """Acknowledge every alarm (or those of ``names``)."""

    def shelve(self, name: str, duration: float, reason: str, actor: str) -> str | None:
        """Shelve one alarm; why not, or None."""

    def unshelve(self, name: str, actor: str, comment: str = "") -> str | None:
        """Unshelve one alarm; why not, or None."""

    def remove_from_service(self, name: str, reason: str, actor: str) -> str | None:
        """Take one alarm out of service; why not, or None."""

    def return_to_service(self, name: str, actor: str, comment: str = "") -> str | None:
        """Return one alarm to service; why not, or None."""

    def reset(self, name: str, actor: str, comment: str = "") -> str | None:
        """Reset one latched alarm; why not, or None."""

    def edit_limit(self, name: str, limit: float, actor: str, comment: str = "") -> str | None:
        """Give one alarm a new limit; why not, or None."""


class CommandPath:
    """Authorises, checks, audits and carries out requests against one runtime (and its alarms)."""

    def __init__(
        self,
        runtime: Runtime,
        alarms: Alarms | None = None,
        *,
        policy: Policy = allow_everything,
        audit: AuditHook = log_audit,
        readback_wait: float = READBACK_WAIT,
        signatures: SignatureCheck = no_signatures,
    ) -> None:
        self.runtime = runtime
        self.alarms = alarms
        self.policy = policy
        self.signatures = signatures
        self.audit = audit
        self.readback_wait = readback_wait
        self.audit_errors = 0

    def refusal(self, request: WriteRequest) -> CommandResult | None:
        """The refused result (audited) when the policy or the write check stops ``request``, else None.

        ``write`` does this first; a caller may ask before it starts a driver (``hmi write``).
        """
        return self._vet(request)[1]

    async def write(self, request: WriteRequest) -> CommandResult:
        """Carry out one write; never raises for a refusal or a device error (the result says)."""
        value, refused = self._vet(request)
        if refused is not None:
            return refused
        before = self._current(request.tag)
        self._audit(AuditRecord(request, AuditStage.SENDING, value, old=before))
        seen: list[Sample] = []
        matched = asyncio.Event()

        def watch(name: str, sample: Sample) -> None:
            if name == request.tag:
                seen.append(sample)
                if sample.is_good and _same(sample.value, value):
                    matched.set()

        unsubscribe = self.runtime.subscribe(watch)
        try:
            written = await self.runtime.write(request.tag, value)
            read_back = await self._read_back(request.tag, written, seen, matched)
        except WriteError as error:
            return self._finish(request, CommandResult(request.id, False, value, error=str(error)), before)
        finally:
            unsubscribe()
        return self._finish(request, CommandResult(request.id, True, written, read_back), before)

    def _vet(self, request: WriteRequest) -> tuple[Any, CommandResult | None]:
        tag = self.runtime.project.tags.get(request.tag)
        if tag is None:
            return None, self._refuse(request, f"{request.tag}: no such tag")
        refusal = self.policy(request)
        if refusal:
            return None, self._refuse(request, f"{request.tag}: {refusal}")
        if tag.confirm.signed:  # here, not in a dialog: the CLI and rules cannot go round it
            unsigned = self.signatures(request, tag)
            if unsigned:
                return None, self._refuse(request, f"{request.tag}: {unsigned}")
        value, problem = check_value(tag, request.value)
        if problem:
            return None, self._refuse(request, f"{request.tag}: {problem}")
        return value, None

    def acknowledge(self, request: AcknowledgeRequest) -> CommandResult:
        """Acknowledge one alarm or all; ``written`` says how many were acknowledged."""
        target = request.alarm or "all alarms"
        if self.alarms is None:
            return self._refuse(request, f"{target}: no alarm engine is running")
        refusal = self.policy(request)
        if refusal:
            return self._refuse(request, f"{target}: {refusal}")
        self._audit(AuditRecord(request, AuditStage.SENDING))
        if request.alarm is None:
            count = self.alarms.acknowledge_all(request.actor, request.reason, request.visible)
        else:
            count = int(self.alarms.acknowledge(request.alarm, request.actor, request.reason))
        return self._finish(request, CommandResult(request.id, True, count))

    def alarm_action(self, request: AlarmActionRequest) -> CommandResult:
        """An alarm action (shelve, out of service, reset, edit limit...): the policy, then the engine."""
        if self.alarms is None:
            return self._refuse(request, f"{request.alarm}: no alarm engine is running")
        refusal = self.policy(request)  # the one place a role check goes (operator vs engineer)
        if refusal:
            return self._refuse(request, f"{request.alarm}: {refusal}")
        value = request.limit if request.limit is not None else request.duration or None
        self._audit(AuditRecord(request, AuditStage.SENDING, value))
        alarms, name, actor, reason = self.alarms, request.alarm, request.actor, request.reason
        if request.action is AlarmAction.SHELVE:
            problem = alarms.shelve(name, request.duration, reason, actor)
        elif request.action is AlarmAction.UNSHELVE:
            problem = alarms.unshelve(name, actor, reason)
        elif request.action is AlarmAction.OUT_OF_SERVICE:
            problem = alarms.remove_from_service(name, reason, actor)
        elif request.action is AlarmAction.RESET:
            problem = alarms.reset(name, actor, reason)
        elif request.action is AlarmAction.EDIT_LIMIT:
            problem = (
                f"{name}: give the new limit"
                if request.limit is None
                else alarms.edit_limit(name, request.limit, actor, reason)
            )
        else:
            problem = alarms.return_to_service(name, actor, reason)
        if problem:
            return self._finish(request, CommandResult(request.id, False, error=problem))
        return self._finish(request, CommandResult(request.id, True, request.action.value))

    async def _read_back(self, tag: str, written: Any, seen: list[Sample], matched: asyncio.Event) -> Any:
        """The value the runtime holds after the write.

        A Modbus driver publishes its readback during the write; a subscription (OPC UA)
        delivers it a little later, possibly after a notification of the old value, so
        wait (bounded) for the written value to come back. A device that holds something
        else (a clamped setpoint) is answered with what it holds, once the wait is over.
        """
        if not matched.is_set() and (seen or not _same(self._current(tag), written)):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(matched.wait(), self.readback_wait)
        good = [sample for sample in seen if sample.is_good]
        return good[-1].value if good else self._current(tag)

    def _current(self, tag: str) -> Any:
        sample = self.runtime.values.get(tag)
        return sample.value if sample is not None and sample.is_good else None

    def _refuse(self, request: Request, error: str) -> CommandResult:
        value = request.value if isinstance(request, WriteRequest) else None
        self._audit(AuditRecord(request, AuditStage.REFUSED, value, error))
        return CommandResult(request.id, False, error=error)

    def _finish(self, request: Request, result: CommandResult, old: Any = None) -> CommandResult:
        stage = AuditStage.DONE if result.ok else AuditStage.FAILED
        self._audit(AuditRecord(request, stage, result.written, result.error, old, result.read_back))
        return result

    def _audit(self, record: AuditRecord) -> None:
        try:
            self.audit(record)
        except Exception:  # a broken audit sink is counted and logged, never the operator's problem
            self.audit_errors += 1
            log.exception("audit hook failed for request %s", record.request.id)


def _same(a: Any, b: Any) -> bool:
    """True when the value read is the value written (a bool is never the same as 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a is not None and a == b


def secured(policy: AccessPolicy, project: Any = None) -> Policy:
    """The command path's policy from the security layer: the permission each kind of request needs.

    With ``project`` the target's area (a tag's or an alarm's ``area:``) is checked too.
    """
    tags = getattr(project, "tags", {})
    alarms = getattr(project, "alarms", {})

    def area(definitions: Any, name: str | None) -> str:
        found = definitions.get(name) if name else None
        return str(getattr(found, "area", "") or "")

    def decide(request: Request) -> str | None:
        if isinstance(request, WriteRequest):  # a command tag (start/stop) needs OPERATE too
            tag = request.tag
            return write_refusal(policy, request.actor, tag, tags.get(tag), area(tags, tag))
        if isinstance(request, AlarmActionRequest):
            needed = PROTECTED_ACTIONS[request.action.value]  # the one table of hmi.security.actions
            return policy.refusal(request.actor, needed, request.alarm, area(alarms, request.alarm))
        where = area(alarms, request.alarm)
        return policy.refusal(request.actor, Permission.ACKNOWLEDGE, request.alarm or "*", where)

    return decide


def signed(book: SignatureBook, policy: AccessPolicy, *, consume: bool = True) -> SignatureCheck:
    """The command path's signature check: ``book`` issued the request's signature for exactly this write,
    and a double signature's verifier holds the write permission in the tag's area.

    ``consume`` False leaves the signature for the write itself (a check made before it).
    """

    def check(request: WriteRequest, tag: TagDef) -> str | None:
        return book.check(
            request.signature,
            tag=request.tag,
            value=request.value,
            actor=request.actor,
            double=tag.confirm is ConfirmMode.DOUBLE,
            permitted=lambda user: policy.grant_refusal(user, Permission.WRITE_TAG, tag.area),
            consume=consume,
        )

    return check


def audit_into(record: Callable[[AuditEntry], bool], also: AuditHook = log_audit) -> AuditHook:
    """An audit hook that hands each step, as an audit entry, to ``record`` (a trail), after ``also``."""

    def hook(step: AuditRecord) -> None:
        also(step)
        request = step.request
        if isinstance(request, WriteRequest):
            action, target = "write", request.tag
        elif isinstance(request, AlarmActionRequest):
            action, target = request.action.value, request.alarm
        else:
            action, target = "acknowledge", request.alarm or "*"
        entry = AuditEntry(
            actor=request.actor,
            origin=request.origin.value,
            action=action,
            target=target,
            stage=step.stage.value,
            value=step.value,
            old=step.old,
            read_back=step.read_back,
            detail=_detail(step.error or request.reason, step),
            request_id=request.id,
        )
        if not record(entry):
            raise RuntimeError(f"the audit trail refused the record of request {request.id}")

    return hook


def _detail(text: str, step: AuditRecord) -> str:
    """The audit's detail: the refusal or reason, and an accepted signature's signers with their meaning.

    A refused write names no signers: what was presented was not (or not yet) a valid signature.
    """
    request = step.request
    signature = request.signature if isinstance(request, WriteRequest) else None
    if signature is None or step.stage is AuditStage.REFUSED:
        return text
    return f"{text}; {signature.describe()}" if text else signature.describe()
