"""Helpers of the key rotation tests: a ledger signed with its first key, then rotated, a
checkpoint backdated or forged by hand with a key that no longer signs, a handover v1 as the
release before recorded it, and a bundle made again against a made-up tree."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.cli import main
from caseline.witness import Witness
from services.ledger.application import LedgerApplication
from services.ledger.handovers import HandoverError, StoredHandover
from services.ledger.signing import Handover, LedgerKey, Statement, ledger_key
from services.ledger.store import rfc3339
from services.ledger.tree import mth
from shared.kit.settings import Settings
from tests.ledger import rfc9162
from tests.ledger.helpers import fill, tampering
from tests.support import token_for
from tests.support.database import owner, settings_with


def seed(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def cli(settings: Settings, argv: list[str], **env: str) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASELINE_DATABASE_URL", settings.database_url)
        patch.setenv("CASELINE_ENVIRONMENT", "test")
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    return int(exit_.value.code)


class Rotation:
    """A ledger signed with its first key, and the settings of the same ledger after rotating."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.before = settings
        old = ledger_key(settings)
        assert old.private is not None
        self.old, self.old_public = old, public(old.private)
        self.new = Ed25519PrivateKey.generate()
        self.new_id = LedgerKey.signing(self.new).key_id
        self.old_file = tmp_path / "old-ledger.key"
        self.old_file.write_text(seed(old.private))
        self.after = settings_with(
            settings, ledger_signing_key=seed(self.new), ledger_retired_keys=self.old_public
        )

    def hand_over(self) -> int:
        return cli(
            self.before,
            ["keys", "rotate-ledger", "--old-key", str(self.old_file)],
            CASELINE_LEDGER_SIGNING_KEY=seed(self.new),
        )

    def verify_all(self, *argv: str, retired: str | None = None) -> int:
        """`caseline verify --all` configured as after the rotation (or with `retired` keys)."""
        return cli(
            self.after,
            ["verify", "--all", *argv],
            CASELINE_LEDGER_SIGNING_KEY=seed(self.new),
            CASELINE_LEDGER_RETIRED_KEYS=self.old_public if retired is None else retired,
        )

    def sign(self, settings: Settings, cases: int = 1) -> list[str]:
        """New entries and a checkpoint over them, signed by the key `settings` name."""
        ledger = LedgerApplication(settings)
        try:
            ids = [str(c) for c in fill(ledger, cases=cases, per_case=3)]
            ledger.checkpointer.checkpoint_now()
        finally:
            ledger.close()
        return ids

    def backdate(self) -> int:
        """New entries, then a checkpoint over them signed with the old key and inserted by hand
        as someone holding it after it leaked would: true root and heads, a date before the
        rotation. Its tree size."""
        ledger = LedgerApplication(self.after)
        try:
            fill(ledger, cases=1, per_case=3)
            size = ledger.store.last_seq()
        finally:
            ledger.close()
        self.forge(size)
        return size

    def root(self, size: int) -> bytes:
        """The root of the ledger's tree of `size` entries, from its entries."""
        ledger = LedgerApplication(self.after)
        try:
            return mth(ledger.store.leaves(0, size))
        finally:
            ledger.close()

    def forge(self, size: int, root: bytes | None = None, *, replace: bool = False) -> bytes:
        """A checkpoint of `size` entries signed with the old key and inserted by hand, as someone
        holding it after it leaked would: true heads, the tree's true root unless `root` is
        given, a date before the rotation; `replace`: in place of the checkpoint of that size
        (the append-only triggers off). Its root."""
        ledger = LedgerApplication(self.after)
        try:
            root = root or mth(ledger.store.leaves(0, size))
            heads_size, heads_root = ledger.checkpointer.heads_at(size).root()
        finally:
            ledger.close()
        signed_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        statement = Statement(
            size, root, heads_size, heads_root, rfc3339(signed_at), self.old.key_id
        ).encode()
        with tampering(self.after, "checkpoints") as conn:
            if replace:
                conn.execute("DELETE FROM ledger.checkpoints WHERE tree_size = %s", (size,))
            conn.execute(
                "INSERT INTO ledger.checkpoints (tree_size, root_hash, heads_size, heads_root,"
                " signed_at, key_id, statement, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (size, root, heads_size, heads_root, signed_at, self.old.key_id, statement,
                 self.old.sign(statement)),
            )  # fmt: skip
        return root

    def handover_v1(self, last: int) -> StoredHandover:
        """The handover (v1: no root) of the old key to the new one after `last` entries, signed
        by both, as the release before v2 made it."""
        assert self.old.private is not None
        handover = Handover(
            LedgerKey.signing(self.old.private).public_raw, LedgerKey.signing(self.new).public_raw,
            last, "2026-01-05T09:00:00Z",
        )  # fmt: skip
        data = handover.encode()
        return StoredHandover(
            handover.old_key_id, handover.new_key_id, data, self.old.sign(data), self.new.sign(data)
        )

    def refusal(self, last: int, root: bytes) -> str:
        """Why the ledger refuses to record the handover v2 of the old key to the new one after
        `last` entries of root `root`, signed by both elsewhere (it must refuse it)."""
        assert self.old.private is not None
        handover, data, old_sig, new_sig = Handover.signed(
            self.old.private, self.new, last, root, "2026-12-01T00:00:00Z"
        )
        ledger = LedgerApplication(self.before)
        try:
            with pytest.raises(HandoverError) as refused:
                ledger.record_handover(
                    StoredHandover(handover.old_key_id, handover.new_key_id, data, old_sig, new_sig)
                )
        finally:
            ledger.close()
        return str(refused.value)

    def keep_v1(self, last: int) -> StoredHandover:
        """`handover_v1(last)` kept as the release before v2 recorded it (no version column)."""
        stored = self.handover_v1(last)
        with owner(self.before) as conn:
            conn.execute(
                "INSERT INTO ledger.key_handovers (old_key_id, new_key_id, statement,"
                " old_signature, new_signature) VALUES (%s, %s, %s, %s, %s)",
                (stored.old_key_id, stored.new_key_id, stored.statement, stored.old_signature,
                 stored.new_signature),
            )  # fmt: skip
        return stored

    def leaked(self, last: int, root: bytes | None = None) -> StoredHandover:
        """A handover of the old key to a key of the attacker's own, after `last` entries (v2 at
        `root`, else v1), signed by both: what anyone holding the old key after it leaked can
        make."""
        assert self.old.private is not None
        theirs = Ed25519PrivateKey.generate()
        old, new = LedgerKey.signing(self.old.private), LedgerKey.signing(theirs)
        handover = Handover(old.public_raw, new.public_raw, last, "2026-01-05T09:00:00Z", root)
        data = handover.encode()
        return StoredHandover(old.key_id, new.key_id, data, self.old.sign(data), theirs.sign(data))

    def insert(self, stored: StoredHandover, *, replacing: bool = False) -> None:
        """`stored` written into the ledger's handovers behind its back (`replacing`: every
        handover of its old key taken out first, the append-only triggers off)."""
        with tampering(self.before, "key_handovers") as conn:
            if replacing:
                conn.execute(
                    "DELETE FROM ledger.key_handovers WHERE old_key_id = %s", (stored.old_key_id,)
                )
            conn.execute(
                "INSERT INTO ledger.key_handovers (old_key_id, new_key_id, version, statement,"
                " old_signature, new_signature) VALUES (%s, %s, %s, %s, %s, %s)",
                (stored.old_key_id, stored.new_key_id, stored.handover.version, stored.statement,
                 stored.old_signature, stored.new_signature),
            )  # fmt: skip


def forged_bundle(raw: bytes, key: LedgerKey, size: int) -> bytes:
    """The bundle `raw` made again against a made-up tree of `size` entries signed by `key`, as
    someone holding it after it leaked could: the case's entries where they were, made-up entries
    everywhere else, the entries' proofs in that tree, and the case heads as signed (so the case's
    head still proves). Every check of a bundle holds but where the key may have signed."""
    bundle = json.loads(raw)
    case = {e["ledger_seq"]: base64.b64decode(e["canonical"]) for e in bundle["entries"]}
    inputs = [case.get(seq, b"made up %d" % seq) for seq in range(1, size + 1)]
    signed = Statement.decode(base64.b64decode(bundle["checkpoint"]["statement"]))
    statement = Statement(
        size, rfc9162.mth(inputs), signed.heads_size, signed.heads_root, signed.signed_at,
        key.key_id,
    ).encode()  # fmt: skip
    bundle["checkpoint"] = {
        "statement": base64.b64encode(statement).decode(),
        "signature": base64.b64encode(key.sign(statement)).decode(),
    }
    bundle["cosignatures"] = []
    for entry in bundle["entries"]:
        entry["inclusion_proof"] = [p.hex() for p in rfc9162.path(entry["ledger_seq"] - 1, inputs)]
    return (json.dumps(bundle, sort_keys=True, separators=(",", ":")) + "\n").encode()


def witness_for(
    settings: Settings, state: Path, client: Any, ledger_key: str | None = None
) -> Witness:
    token = token_for(settings, "auditor")
    return Witness(
        state, "http://testserver", name="court", ledger_key=ledger_key, token=token, client=client
    )
