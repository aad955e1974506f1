"""``hmi browse ENDPOINT [NODE]``: list a node's children on an OPC UA server, or print them as tag lines."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from drivers.opcua_nodeid import parse_node_id
from drivers.settings import SECURITY_MODES, SECURITY_POLICIES, OpcUaSettings

if TYPE_CHECKING:
    from drivers.opcua_browse import BrowseEntry

OBJECTS_FOLDER = "i=85"
COLUMNS = ("NodeId", "BrowseName", "NodeClass", "DataType", "Units", "Access")


def add_browse_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi browse`` on the top-level subcommands."""
    browse = sub.add_parser("browse", help="list the children of an OPC UA node (default: Objects)")
    browse.add_argument("endpoint", help="opc.tcp://HOST:PORT[/PATH]")
    browse.add_argument(
        "node", nargs="?", default=OBJECTS_FOLDER, help="NodeId, e.g. ns=2;s=Plant (default i=85)"
    )
    browse.add_argument("--tags", action="store_true", help="print project.yaml tag lines for the variables")
    browse.add_argument("--connection", default="ua1", help="connection name used in --tags lines")
    browse.add_argument("--security", default="None", choices=SECURITY_POLICIES)
    browse.add_argument("--mode", choices=SECURITY_MODES, help="default: SignAndEncrypt with a policy")
    browse.add_argument("--username")
    browse.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    browse.add_argument("--password-keyring", metavar="SERVICE/USER", help="OS keyring entry of the password")
    browse.add_argument("--timeout", type=float, default=4.0, help="seconds per request")
    browse.add_argument(
        "--pki", metavar="DIR", help="PKI folder (default: $CONVERGE_HMI_PKI, else user data)"
    )


def run_browse(args: argparse.Namespace) -> int:
    """List the children of ``args.node``; exit 1 with the reason when the server cannot be browsed."""
    # Imported here: every other ``hmi`` command starts without loading the OPC UA stack.
    from drivers.opcua_browse import browse_once, tag_yaml_line
    from hmi.core.certs import resolve_pki_dir

    try:
        parse_node_id(args.node)
    except ValueError as exc:
        print(f"hmi browse: {exc}", file=sys.stderr)
        return 1
    mode = args.mode or ("None" if args.security == "None" else "SignAndEncrypt")
    settings = OpcUaSettings(
        args.endpoint,
        args.security,
        mode,
        args.timeout,
        args.username,
        args.password_env,
        password_keyring=args.password_keyring,
    )
    pki_dir = resolve_pki_dir(args.pki) if args.security != "None" else None
    # A one-shot command: asyncua's notes on revised session timeouts are noise here.
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    try:
        entries = asyncio.run(browse_once(settings, args.node, pki_dir))
    except Exception as exc:  # every failure of a remote server ends here with its reason
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        print(f"hmi browse: {args.endpoint}: {reason}", file=sys.stderr)
        return 1
    if args.tags:
        for entry in entries:
            if entry.is_variable:
                print(tag_yaml_line(entry, args.connection))
        return 0
    print(format_table(entries))
    return 0


def format_table(entries: list[BrowseEntry]) -> str:
    """The entries as aligned columns under a header."""
    rows = [COLUMNS] + [
        (e.node_id, e.browse_name, e.node_class, e.data_type, e.units, e.access) for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
