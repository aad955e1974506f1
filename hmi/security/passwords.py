"""Password hashing (argon2id) and the password rules of an installation."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True, slots=True)
class HashParameters:
    """argon2id cost parameters (RFC 9106's low-memory profile by default)."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        """A hasher with these parameters; a hash made with others verifies and then needs a rehash."""
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism, type=Type.ID
        )


@dataclass(frozen=True, slots=True)
class PasswordRules:
    """What a new password must satisfy."""

    min_length: int = 12
    require_letter: bool = True
    require_digit: bool = True

    def problem(self, password: str, user: str) -> str | None:
        """Why ``password`` is not acceptable for ``user``, or None."""
        if len(password) < self.min_length:
            return f"a password needs at least {self.min_length} characters"
        if self.require_letter and not any(c.isalpha() for c in password):
            return "a password needs a letter"
        if self.require_digit and not any(c.isdigit() for c in password):
            return "a password needs a digit"
        if user and user.casefold() in password.casefold():
            return "a password must not contain the user name"
        return None


def hash_password(password: str, parameters: HashParameters) -> str:
    """The encoded argon2id hash (salt and parameters included)."""
    return parameters.hasher().hash(password)


def verify_password(encoded: str, password: str, parameters: HashParameters) -> tuple[bool, bool]:
    """(matches, needs a rehash with ``parameters``); a damaged hash never matches."""
    hasher = parameters.hasher()
    try:
        hasher.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(encoded)
