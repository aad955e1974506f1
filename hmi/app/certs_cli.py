"""``hmi certs list|trust|reject [THUMBPRINT]``: the OPC UA trust list and decisions on it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hmi.core.certs import CertificateInfo


def add_certs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi certs`` and its actions on the top-level subcommands."""
    certs = sub.add_parser("certs", help="OPC UA certificates: list, trust or reject server certificates")
    certs.add_argument(
        "--pki", type=Path, metavar="DIR", help="PKI folder (default: $CONVERGE_HMI_PKI, else user data)"
    )
    actions = certs.add_subparsers(dest="certs_command", required=True)
    actions.add_parser("list", help="our own certificate, trusted and rejected server certificates")
    for name, text in (("trust", "move a rejected certificate to trusted"), ("reject", "stop trusting one")):
        action = actions.add_parser(name, help=text)
        action.add_argument("thumbprint", help="SHA-1 thumbprint (or its start) from 'hmi certs list'")
        action.add_argument(
            "--user", metavar="NAME", help="log on as NAME (password: terminal or $CONVERGE_PASSWORD)"
        )


def run_certs(args: argparse.Namespace) -> int:
    """Carry out ``hmi certs``; exit 1 with a message when the decision cannot be made."""
    # Imported here: every other ``hmi`` command starts without loading the OPC UA stack.
    from hmi.core.certs import (
        CertificateError,
        list_certificates,
        own_identity,
        reject,
        resolve_pki_dir,
        trust,
    )

    pki_dir = resolve_pki_dir(args.pki)
    try:
        if args.certs_command == "list":
            own_identity(pki_dir)  # created on first run, so it can be handed to a server's administrator
            print(f"PKI folder: {pki_dir}")
            for cert in list_certificates(pki_dir):
                print(format_certificate(cert))
            return 0
        decide = trust if args.certs_command == "trust" else reject
        actor = _authorised(args.certs_command, args.thumbprint, getattr(args, "user", None))
        if actor is None:
            return 2  # refused for this user (audited), nothing moved
        cert = decide(pki_dir, args.thumbprint)
    except (CertificateError, OSError) as exc:
        print(f"hmi certs {args.certs_command}: {exc}", file=sys.stderr)
        return 1
    _audit_decision(args.certs_command, cert.thumbprint, cert.subject, actor)
    print(f"{cert.status}: {cert.thumbprint} {cert.subject}")
    return 0


def format_certificate(cert: CertificateInfo) -> str:
    """A certificate as a block of indented lines, headed by its status and thumbprint."""
    lines = [f"{cert.status:9} {cert.thumbprint}" + ("  EXPIRED" if cert.expired else "")]
    if cert.error:
        lines.append(f"          file {cert.path}: {cert.error}")
        return "\n".join(lines)
    lines += [
        f"          subject   {cert.subject}",
        f"          valid     {cert.validity()}",
        f"          app uri   {cert.application_uri or '(none)'}",
        f"          file      {cert.path}",
    ]
    return "\n".join(lines)


def _authorised(command: str, thumbprint: str, user: str | None) -> str | None:
    """The actor allowed to make this decision, or None (refused: said and audited)."""
    from hmi.app.cli_protect import authorise, installation_record
    from hmi.core.commands import os_user
    from hmi.security.audit import REJECT_CERTIFICATE, TRUST_CERTIFICATE

    action = TRUST_CERTIFICATE if command == "trust" else REJECT_CERTIFICATE
    permit = authorise(f"hmi certs {command}", user, os_user(), action, thumbprint, installation_record())
    return None if permit.refused else permit.actor


def _audit_decision(command: str, thumbprint: str, subject: str, actor: str = "") -> None:
    """A trust decision is installation-wide (the PKI folder): audited in the users store's chain."""
    from hmi.security.audit import REJECT_CERTIFICATE, TRUST_CERTIFICATE
    from hmi.security.paths import users_path
    from hmi.security.users import SecurityError, UserStore

    action = TRUST_CERTIFICATE if command == "trust" else REJECT_CERTIFICATE
    try:
        store = UserStore(users_path())
        store.actor = actor
        store.record_change(action, thumbprint, subject)
    except SecurityError as error:
        print(f"hmi certs {command}: the decision was made but not audited: {error}", file=sys.stderr)
