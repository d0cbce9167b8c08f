"""`caseline keys rotate-master`: re-wrap every case key under the current master key.

Run with `CASELINE_MASTER_KEY` set to the new master and `CASELINE_MASTER_KEY_PREVIOUS` to the old
one, the same settings the services run with during the rotation; they keep reading every key
meanwhile. Once it reports nothing left under another master, the previous key can be removed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser"]


def _rotate_master(args: argparse.Namespace) -> int:
    from shared.kit.keystore import PostgresKeyStore
    from shared.kit.settings import Settings

    keys = PostgresKeyStore(Settings())
    try:
        moved = 0
        while step := keys.rewrap(batch=args.batch):
            moved += step
        left = {kid: n for kid, n in keys.wrapped_by().items() if kid != keys.master_kid}
    except RuntimeError as exc:  # a key wrapped by a master that is not configured
        sys.stderr.write(f"{exc}\n")
        return 1
    finally:
        keys.close()
    sys.stdout.write(f"re-wrapped {moved} case keys under master key {keys.master_kid}\n")
    if left:
        sys.stderr.write(f"still under other master keys: {left}\n")
        return 1
    return 0


def add_parser(sub: Any) -> None:
    """Register `caseline keys …` on `caseline`'s subcommand parser."""
    keys = sub.add_parser("keys", help="manage the master key that wraps the case keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = actions.add_parser(
        "rotate-master",
        help="re-wrap every case key under CASELINE_MASTER_KEY (the previous master in"
        " CASELINE_MASTER_KEY_PREVIOUS)",
    )
    rotate.add_argument("--batch", type=int, default=500, help="keys per transaction")
    rotate.set_defaults(func=_rotate_master)
