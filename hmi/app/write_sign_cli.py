"""``hmi write`` on a tag marked ``confirm: signature | double``: the signature from the command line."""

from __future__ import annotations

import argparse
import sys

from hmi.app.cli_logon import PASSWORD_ENV, NoPassword, password_from
from hmi.model import ConfirmMode, TagDef
from hmi.security.signatures import Signature, SignatureBook, SignatureForm

VERIFIER_PASSWORD_ENV = "CONVERGE_VERIFIER_PASSWORD"
"""The password of the second user of a double signature (``--verifier NAME``)."""


def add_sign_arguments(write: argparse.ArgumentParser) -> None:
    """The signature options of ``hmi write``."""
    write.add_argument(
        "--sign-reason",
        metavar="TEXT",
        help="sign the write (a tag marked confirm: signature|double): the reason recorded with it;"
        f" the password again from the terminal or {PASSWORD_ENV}",
    )
    write.add_argument(
        "--verifier",
        metavar="NAME",
        help="the second user of a confirm: double tag"
        f" (password from the terminal or {VERIFIER_PASSWORD_ENV})",
    )


def cli_signature(
    args: argparse.Namespace, tag: TagDef | None, actor: str, book: SignatureBook
) -> Signature | None:
    """The signature of this write when its tag needs one, else None (the command path then refuses it).

    Blocking (argon2): called before the write's event loop starts.
    """
    if tag is None or not tag.confirm.signed:
        return None
    if args.sign_reason is None:
        print(
            f"hmi write: {tag.name} is marked confirm: {tag.confirm.value}: give --sign-reason",
            file=sys.stderr,
        )
        return None
    double = tag.confirm is ConfirmMode.DOUBLE
    try:
        password = password_from(PASSWORD_ENV, f"password of {actor}, to sign: ")
        verifier_password = ""
        if double and args.verifier:
            verifier_password = password_from(
                VERIFIER_PASSWORD_ENV, f"password of {args.verifier}, to verify: "
            )
    except NoPassword as error:
        print(f"hmi write: cannot sign: {error}", file=sys.stderr)
        return None
    form = SignatureForm(args.sign_reason, password, args.verifier or "", verifier_password)
    signature = book.sign(tag.name, args.value, actor, form, double=double, origin="cli")
    if isinstance(signature, str):
        print(f"hmi write: signature refused: {signature}", file=sys.stderr)
        return None
    return signature
