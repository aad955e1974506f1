"""Electronic signatures of writes (21 CFR Part 11 style): the writer's password again, a reason, and
for a double signature a second, different user's password ("verified by").

Signing is blocking (the users store, argon2): it runs before the request is made, off any event loop.
It checks each password through the users store, so a wrong one counts towards that user's lockout,
and keeps no password: what comes out is a :class:`Signature`, issued by one :class:`SignatureBook`.
The command path then checks the signature in memory, on the runtime loop: the book must have issued
it, for this tag, this value and this actor, not long ago and never used before (one write each).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hmi.security.audit import AuditEntry
from hmi.security.users import SecurityError, UserStore

PERFORMED_BY = "performed by"
VERIFIED_BY = "verified by"
LIFETIME = 120.0
"""Seconds a signature stays valid for its write: long enough to reach the PLC, too short to keep."""
MAX_OPEN = 1000
"""Signatures issued and not used at most; the oldest go first (a write that never came)."""
MAX_REASON = 500

Record = Callable[[AuditEntry], bool]
Permitted = Callable[[str], str | None]
"""A user name -> why that user may not make this write, or None."""


@dataclass(frozen=True, slots=True)
class SignatureForm:
    """What a person typed to sign: the reason, their password, and a verifier's name and password."""

    reason: str
    password: str = field(repr=False)
    verifier: str = ""
    verifier_password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Signature:
    """A checked signature of one write, as the audit records it (no password in it)."""

    id: str
    tag: str
    value: str  # the requested value, as JSON: the signature covers exactly this value
    signer: str
    reason: str
    verifier: str = ""
    issued: float = 0.0

    def describe(self) -> str:
        """The audit's words: the meaning of each signature, who, and why."""
        text = f"signed: {PERFORMED_BY} {self.signer}; reason: {self.reason}"
        return f"{text}; {VERIFIED_BY} {self.verifier}" if self.verifier else text


def value_key(value: Any) -> str:
    """The requested value as the signature binds it (an int stays an int, True stays true)."""
    return json.dumps(value, default=str, sort_keys=True)


class SignatureBook:
    """Issues signatures after checking passwords, and accepts each one once for its own write."""

    def __init__(
        self,
        store: UserStore,
        record: Record | None = None,
        clock: Callable[[], float] = time.monotonic,
        lifetime: float = LIFETIME,
    ) -> None:
        """Check passwords in ``store``; audit each signing attempt to ``record``; ``clock`` in seconds."""
        self.store = store
        self.record = record
        self.clock = clock
        self.lifetime = lifetime
        self._open: dict[str, Signature] = {}
        self._lock = threading.Lock()  # signing happens in a worker thread, checks on the runtime loop

    def sign(
        self, tag: str, value: Any, signer: str, form: SignatureForm, *, double: bool, origin: str
    ) -> Signature | str:
        """A signature of writing ``value`` to ``tag`` by ``signer``, or why not. Blocking.

        Every password is checked (and a failure counted) even when the other one is wrong, so the
        answer never tells which of the two was.
        """
        problem = self._form_problem(signer, form, double)
        if problem:
            self._audit(signer, origin, tag, value, "refused", problem)
            return problem
        try:
            if self.store.is_empty():
                problem = "no users are configured: a signed write needs a user's signature"
            else:
                problem = self._passwords(signer, form, double, origin)
        except SecurityError as error:
            problem = str(error)
        if problem:
            self._audit(signer, origin, tag, value, "refused", problem)
            return problem
        signature = Signature(
            secrets.token_hex(16),
            tag,
            value_key(value),
            signer,
            form.reason.strip(),
            form.verifier.strip() if double else "",
            self.clock(),
        )
        with self._lock:
            self._expire()
            self._open[signature.id] = signature
        self._audit(signer, origin, tag, value, "ok", signature.describe())
        return signature

    def check(
        self,
        signature: Signature | None,
        *,
        tag: str,
        value: Any,
        actor: str,
        double: bool,
        permitted: Permitted,
        consume: bool = True,
    ) -> str | None:
        """Why ``signature`` does not sign this write, or None; an accepted signature is used up.

        ``consume`` False: a look before the write (``hmi write`` checks before it starts a driver).
        """
        if signature is None:
            wanted = "password, reason and a verifier" if double else "password and reason"
            return f"needs an electronic signature ({wanted})"
        with self._lock:
            issued = self._open.pop(signature.id, None) if consume else self._open.get(signature.id)
        if issued is None or issued != signature:
            return "the signature was not issued here, or was used already"
        if self.clock() - issued.issued > self.lifetime:
            return f"the signature is older than {self.lifetime:g} s: sign again"
        if issued.tag != tag or issued.value != value_key(value):
            return "the signature was given for another tag or value"
        if issued.signer != actor:
            return f"signed by {issued.signer}, but the write is {actor}'s: the writer signs"
        if double and not issued.verifier:
            return "needs a second signature (verified by another user)"
        if double and issued.verifier.casefold() == issued.signer.casefold():
            return "the verifier must be another user than the signer"
        if double:
            refused = permitted(issued.verifier)
            if refused:
                return f"the verifier cannot verify this write: {refused}"
        return None

    def _form_problem(self, signer: str, form: SignatureForm, double: bool) -> str:
        if not form.reason.strip():
            return "a signature needs a reason"
        if len(form.reason) > MAX_REASON:
            return f"a reason has at most {MAX_REASON} characters"
        if double and not form.verifier.strip():
            return "a double signature needs a verifier (another user's name and password)"
        if double and form.verifier.strip().casefold() == signer.casefold():
            return "the verifier must be another user than the signer"
        return ""

    def _passwords(self, signer: str, form: SignatureForm, double: bool, origin: str) -> str:
        checks = [(signer, form.password)]
        if double:
            checks.append((form.verifier.strip(), form.verifier_password))
        problems = []
        for name, password in checks:
            result = self.store.authenticate(name, password)
            if result.locked_now and self.record is not None:
                self.record(AuditEntry(name, origin, "lockout", name, "ok", detail=result.reason))
            if not result.ok:
                problems.append(f"{name}: {result.reason}")
        return "; ".join(problems)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._open.items() if now - s.issued > self.lifetime]:
            del self._open[key]
        while len(self._open) >= MAX_OPEN:  # bounded: the oldest unused signature goes
            del self._open[next(iter(self._open))]

    def _audit(self, signer: str, origin: str, tag: str, value: Any, stage: str, detail: str) -> None:
        if self.record is not None:
            self.record(AuditEntry(signer, origin, "sign", tag, stage, value=value, detail=detail))
