"""``hmi users add|passwd|disable|enable|list|roles``: the installation's users, for plant IT's scripts.

The first user of an empty store must be an administrator and needs no log-on; every later change
needs a user holding ``manage_users`` given with ``--as NAME`` (password from the terminal or
``CONVERGE_AS_PASSWORD``). A user's own password comes from the terminal or ``CONVERGE_PASSWORD``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hmi.app.cli_logon import AS_PASSWORD_ENV, PASSWORD_ENV, NoPassword, password_from
from hmi.security.paths import DATA_DIR_ENV, users_path
from hmi.security.permissions import Permission
from hmi.security.users import SETTING_NAMES, SecurityError, UserStore

EXAMPLE = f"""\
examples:
  hmi users add alice --role administrator            (the first user: no --as needed)
  hmi users add bob --role operator --as alice
  CONVERGE_PASSWORD=... CONVERGE_AS_PASSWORD=... hmi users passwd bob --as alice
  hmi users disable bob --as alice
  hmi users list --format json
  hmi users roles                                     (roles and their permissions)
  hmi users roles --add shift_lead --permissions write_tag,acknowledge,shelve --as alice
  hmi users config lockout_seconds 600 --as alice     ({", ".join(SETTING_NAMES)})
  hmi users config idle_logoff_seconds.operator 600 --as alice   (auto log-off per role)

the store is {users_path()} (set {DATA_DIR_ENV} to use another folder).
exit status: 0 done; 2 refused (with the reason).
"""


def add_users_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``hmi users``."""
    users = sub.add_parser(
        "users",
        help="manage the installation's users and roles",
        description="Users and roles of this installation (in the per-machine data folder, not the project).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = users.add_subparsers(dest="users_command", required=True)

    def with_as(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--as", dest="as_user", metavar="NAME", help="the administrator making the change")
        return p

    add = with_as(actions.add_parser("add", help="add a user (the first one must be an administrator)"))
    add.add_argument("name")
    add.add_argument(
        "--role", required=True, help="viewer, operator, engineer, administrator or a custom role"
    )
    passwd = with_as(actions.add_parser("passwd", help="set a user's password"))
    passwd.add_argument("name")
    for verb in ("disable", "enable"):
        with_as(actions.add_parser(verb, help=f"{verb} a user")).add_argument("name")
    listing = actions.add_parser("list", help="list users")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    roles = with_as(actions.add_parser("roles", help="list roles, or add a custom role with --add"))
    roles.add_argument("--add", metavar="ROLE", help="create or change a custom role")
    roles.add_argument(
        "--permissions",
        default="",
        help=f"comma-separated: {', '.join(p.value for p in Permission)};"
        " PERMISSION@AREA+AREA holds it in those plant areas only",
    )
    roles.add_argument("--format", choices=["text", "json"], default="text")
    config = with_as(
        actions.add_parser("config", help="show or change password, lockout and hashing settings")
    )
    config.add_argument("key", nargs="?", help=f"{', '.join(SETTING_NAMES)}, or idle_logoff_seconds.ROLE")
    config.add_argument("value", nargs="?")


def run_users(args: argparse.Namespace) -> int:
    """Entry point of ``hmi users``."""
    store = UserStore(users_path())
    try:
        return _run(store, args)
    except (SecurityError, NoPassword) as error:
        print(f"hmi users: {error}", file=sys.stderr)
        return 2


def _run(store: UserStore, args: argparse.Namespace) -> int:
    command = args.users_command
    if command == "list":
        users = store.users()
        if args.format == "json":
            print(json.dumps([_user_json(u) for u in users]))
        else:
            for user in users:
                state = " (disabled)" if user.disabled else ""
                print(f"{user.name}\t{user.role}{state}")
        return 0
    if command == "roles" and not args.add:
        grants = {name: grant.texts() for name, grant in store.role_grants().items()}  # write_tag@area
        if args.format == "json":
            print(json.dumps(grants))
        else:
            for name, texts in grants.items():
                print(f"{name}\t{', '.join(texts) or '(sees everything, changes nothing)'}")
        return 0
    if command == "config" and args.key is None:
        print(store.settings())
        return 0
    # An empty store has nobody to ask: its first user and its settings need no log-on.
    if not (command in ("add", "config") and store.is_empty()):
        _require_manager(store, args.as_user)
        store.actor = args.as_user  # every change is audited in the store's own chain as this user
    if command == "add":
        password = password_from(PASSWORD_ENV, f"password for {args.name}: ", confirm=True)
        store.add_user(args.name, args.role, password)
        print(f"added {args.name} ({args.role})")
    elif command == "passwd":
        store.set_password(
            args.name, password_from(PASSWORD_ENV, f"new password for {args.name}: ", confirm=True)
        )
        print(f"password of {args.name} changed")
    elif command in ("disable", "enable"):
        store.set_disabled(args.name, command == "disable")
        print(f"{args.name} {command}d")
    elif command == "roles":
        store.add_role(args.add, args.permissions.split(","))
        texts = store.role_grants()[args.add].texts()
        print(f"role {args.add}: {', '.join(texts) or '(no permissions)'}")
    elif command == "config":
        if args.value is None:
            raise SecurityError(f"give a value for {args.key}")
        print(store.configure(args.key, args.value))
    return 0


def _require_manager(store: UserStore, name: str | None) -> None:
    if store.is_empty():
        raise SecurityError(
            "no users yet: add the first one, an administrator (hmi users add NAME --role administrator)"
        )
    if not name:
        raise SecurityError("this change needs a user who manages users: give --as NAME")
    logon = store.authenticate(name, password_from(AS_PASSWORD_ENV, f"password for {name}: "))
    if not logon.ok:
        raise SecurityError(f"{name}: {logon.reason}")
    if Permission.MANAGE_USERS not in store.roles().get(logon.role, frozenset()):
        raise SecurityError(f"{name} ({logon.role}) lacks the permission {Permission.MANAGE_USERS.value}")


def _user_json(user: Any) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "disabled": user.disabled,
        "locked_until": user.locked_until,
    }
