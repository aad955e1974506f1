"""At ``hmi demo``'s start: create the demo accounts of its data folder once and print them."""

from __future__ import annotations

import sys
from pathlib import Path

from hmi.security.demo_accounts import accounts_path, describe, ensure_demo_accounts
from hmi.security.paths import DATA_DIR_ENV, users_path
from hmi.security.users import SecurityError, UserStore


def announce_demo_accounts(data_dir: Path) -> None:
    """Make sure the demo's accounts exist and tell the person who started it (never stops the demo).

    Only in the demo's own installation (``<data_dir>/installation``): with ``CONVERGE_HMI_DATA_DIR``
    aimed at a plant's folder, the demo must not add an administrator to the plant's users store.
    """
    own = Path(data_dir) / "installation"
    if users_path().parent.resolve() != own.resolve():
        print(
            f"hmi demo: users come from {users_path()} ({DATA_DIR_ENV}): no demo accounts made",
            file=sys.stderr,
        )
        return
    try:
        accounts = ensure_demo_accounts(data_dir, UserStore(users_path()))
    except (SecurityError, OSError) as error:
        print(f"hmi demo: no demo accounts ({error}); the demo runs view only", file=sys.stderr)
        return
    if accounts:
        print(describe(accounts), flush=True)
        print(
            f"  (kept in {accounts_path(data_dir)}, readable only by you; also in Help > About)", flush=True
        )
