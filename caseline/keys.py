"""`caseline keys rotate-master`: re-wrap every case key under the current master key;
`caseline keys rotate-ledger`: record the handover of the checkpoint key to a new one (or the v2 of
a handover v1 on record); `caseline keys handovers`: the handovers on record.

Run `rotate-master` with `CASELINE_MASTER_KEY` set to the new master and
`CASELINE_MASTER_KEY_PREVIOUS` to the old one, the same settings the services run with during the
rotation; they keep reading every key meanwhile. Once it reports nothing left under another master,
the previous key can be removed. Run `rotate-ledger` with `CASELINE_LEDGER_SIGNING_KEY` set to the
new checkpoint key and the old private key in a file (docs/operations.md).
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any

from shared.kit.i18n import translate as _

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
    sys.stdout.write(
        _("re-wrapped {moved} case keys under master key {kid}", moved=moved, kid=keys.master_kid)
        + "\n"
    )
    if left:
        sys.stderr.write(_("still under other master keys: {left}", left=left) + "\n")
        return 1
    return 0


def _rotate_ledger(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from psycopg.errors import InsufficientPrivilege

    from services.ledger.application import LedgerApplication
    from services.ledger.handovers import HandoverError, handovers
    from services.ledger.signing import ledger_key, parse_private_key
    from services.ledger.store import rfc3339
    from shared.kit.settings import Settings

    settings = Settings()
    try:
        new = ledger_key(settings)
        old = parse_private_key(Path(args.old_key).read_text())
    except (OSError, RuntimeError, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if new.private is None or new.development:
        sys.stderr.write(
            _("set CASELINE_LEDGER_SIGNING_KEY to the new key (not the development key)") + "\n"
        )
        return 1
    ledger = LedgerApplication(settings, create=False, key=new)
    try:
        stored = ledger.hand_over(old, new.private, rfc3339(datetime.now(UTC)))
        on_record = handovers(ledger.store)
    except HandoverError as exc:
        sys.stderr.write(_("no handover recorded: {error}", error=exc) + "\n")
        return 1
    except InsufficientPrivilege:
        sys.stderr.write(
            _(
                "no handover recorded: the database role in CASELINE_DATABASE_URL may not record"
                " one (the ledger's own role may not); run this command as the database owner"
            )
            + "\n"
        )
        return 1
    finally:
        ledger.close()
    handover = stored.handover
    old_public = base64.b64encode(handover.old_public).decode()
    recorded = _(
        "the handover of the checkpoint key {old_kid} to key {new_kid}, signed by both, is on"
        " record: the old key signed checkpoints up to tree size {last}, of root {root}, and"
        " verifiers refuse any it signs beyond, or of another tree",
        old_kid=handover.old_key_id,
        new_kid=handover.new_key_id,
        last=handover.last_tree_size,
        root=(handover.last_root_hash or b"").hex(),
    )
    lines = [recorded]
    if stored.version == 2 and any(
        (h.old_key_id, h.new_key_id, h.version) == (stored.old_key_id, stored.new_key_id, 1)
        for h in on_record
    ):
        lines.append(
            _(
                "it is the v2 of the handover v1 on record, kept beside it: verifiers now check"
                " the root where key {old_kid} stopped too",
                old_kid=handover.old_key_id,
            )
        )
    lines.append(
        _(
            "now run the ledger with the new CASELINE_LEDGER_SIGNING_KEY and"
            " CASELINE_LEDGER_RETIRED_KEYS={old_public} (added to any retired before)",
            old_public=old_public,
        )
    )
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


def _list_handovers(args: argparse.Namespace) -> int:
    from services.ledger.handovers import handovers, preferred
    from services.ledger.store import LedgerStore
    from shared.kit.settings import Settings

    store = LedgerStore(Settings(), pool_size=1)
    try:
        recorded = preferred(handovers(store))
    finally:
        store.close()
    lines = [_handover_line(step) for step in recorded] or [
        _("no handover of the checkpoint key is on record")
    ]
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


def _handover_line(step: Any) -> str:
    """One handover on record, in a line: v2 with its root, v1 saying it names none."""
    problem = step.problem()
    if problem:
        return _("{old_kid} → {new_kid}: {problem}", old_kid=step.old_key_id,
                 new_kid=step.new_key_id, problem=problem)  # fmt: skip
    handover = step.handover
    if handover.last_root_hash is None:
        return _(
            "{old_kid} → {new_kid}: last tree size {last}; handover v1: the root where key"
            " {old_kid} stopped is not on record",
            old_kid=step.old_key_id,
            new_kid=step.new_key_id,
            last=handover.last_tree_size,
        )
    return _(
        "{old_kid} → {new_kid}: last tree size {last}, of root {root} (handover v2)",
        old_kid=step.old_key_id,
        new_kid=step.new_key_id,
        last=handover.last_tree_size,
        root=handover.last_root_hash.hex(),
    )


def add_parser(sub: Any) -> None:
    """Register `caseline keys …` on `caseline`'s subcommand parser."""
    keys = sub.add_parser(
        "keys", help=_("rotate the master key that wraps the case keys, or the checkpoint key")
    )
    actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = actions.add_parser(
        "rotate-master",
        help=_(
            "re-wrap every case key under CASELINE_MASTER_KEY (the previous master in"
            " CASELINE_MASTER_KEY_PREVIOUS)"
        ),
    )
    rotate.add_argument("--batch", type=int, default=500, help=_("keys per transaction"))
    rotate.set_defaults(func=_rotate_master)
    ledger = actions.add_parser(
        "rotate-ledger",
        help=_(
            "record the handover of the checkpoint key to CASELINE_LEDGER_SIGNING_KEY, signed by"
            " the old key and the new"
        ),
    )
    ledger.add_argument(
        "--old-key", required=True, help=_("file of the old private key (PEM or base64 raw)")
    )
    ledger.set_defaults(func=_rotate_ledger)
    listed = actions.add_parser(
        "handovers",
        help=_(
            "list the handovers of the checkpoint key on record (v1: the root where the old key"
            " stopped is not on record)"
        ),
    )
    listed.set_defaults(func=_list_handovers)
