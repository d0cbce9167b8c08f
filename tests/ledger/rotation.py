"""Helpers of the key rotation tests: a ledger signed with its first key, then rotated, and a
checkpoint backdated by hand with a key that no longer signs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.cli import main
from caseline.witness import Witness
from services.ledger.application import LedgerApplication
from services.ledger.signing import LedgerKey, Statement, ledger_key
from services.ledger.store import rfc3339
from services.ledger.tree import mth
from shared.kit.settings import Settings
from tests.ledger.helpers import fill
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
            root = mth(ledger.store.leaves(0, size))
            heads_size, heads_root = ledger.checkpointer.heads_at(size).root()
        finally:
            ledger.close()
        signed_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        statement = Statement(
            size, root, heads_size, heads_root, rfc3339(signed_at), self.old.key_id
        ).encode()
        with owner(self.after) as conn:
            conn.execute(
                "INSERT INTO ledger.checkpoints (tree_size, root_hash, heads_size, heads_root,"
                " signed_at, key_id, statement, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (size, root, heads_size, heads_root, signed_at, self.old.key_id, statement,
                 self.old.sign(statement)),
            )  # fmt: skip
        return size


def witness_for(
    settings: Settings, state: Path, client: Any, ledger_key: str | None = None
) -> Witness:
    token = token_for(settings, "auditor")
    return Witness(
        state, "http://testserver", name="court", ledger_key=ledger_key, token=token, client=client
    )
