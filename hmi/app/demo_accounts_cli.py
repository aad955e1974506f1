"""At ``hmi demo``'s start: create the demo accounts of its data folder once and print them."""

from __future__ import annotations

import sys
from pathlib import Path

from hmi.security.demo_accounts import accounts_path, describe, ensure_demo_accounts
from hmi.security.paths import users_path
from hmi.security.users import SecurityError, UserStore


def announce_demo_accounts(data_dir: Path) -> None:
    """Make sure the demo's accounts exist and tell the person who started it (never stops the demo)."""
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
