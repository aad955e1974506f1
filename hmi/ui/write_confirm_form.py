"""What a confirmed and signed write carries from the dialog to the session (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hmi.security.signatures import SignatureForm


@dataclass(frozen=True, slots=True)
class SignedValue:
    """A value to write with the signature typed for it; the session signs it off the GUI thread."""

    value: Any
    form: SignatureForm
    double: bool = False
