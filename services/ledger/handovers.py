"""Handovers of the ledger's checkpoint key: the old key's signed word that a new key follows it.

Recorded by `caseline keys rotate-ledger` (which holds both private keys), kept append-only, served
by `GET /checkpoints/key` and carried in evidence bundles, so that whoever pinned the old key can
follow the rotation without trusting the server (docs/operations.md, docs/auditing.md).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from services.ledger.schema import SCHEMA
from services.ledger.signing import Handover, parse_public_key, verify_signature
from services.ledger.store import LedgerStore

__all__ = ["StoredHandover", "chain_to", "handovers", "record_handover"]


@dataclass(frozen=True)
class StoredHandover:
    """A handover statement and the old and the new key's signatures of it."""

    old_key_id: str
    new_key_id: str
    statement: bytes
    old_signature: bytes
    new_signature: bytes

    def body(self) -> dict[str, Any]:
        """The JSON form served by `GET /checkpoints/key` and carried by evidence bundles."""
        return {
            "old_key_id": self.old_key_id,
            "new_key_id": self.new_key_id,
            "statement": base64.b64encode(self.statement).decode(),
            "old_signature": base64.b64encode(self.old_signature).decode(),
            "new_signature": base64.b64encode(self.new_signature).decode(),
        }

    def problem(self) -> str | None:
        """Why this is not a handover signed by both keys it names, if it is not."""
        try:
            handover = Handover.decode(self.statement)
        except (ValueError, KeyError, UnicodeDecodeError):
            return "the handover statement is malformed"
        if (handover.old_key_id, handover.new_key_id) != (self.old_key_id, self.new_key_id):
            return "the handover statement names other keys"
        old, new = (parse_public_key(base64.b64encode(raw).decode())
                    for raw in (handover.old_public, handover.new_public))  # fmt: skip
        if not verify_signature(old, self.old_signature, self.statement):
            return f"the handover is not signed by the old key {self.old_key_id}"
        if not verify_signature(new, self.new_signature, self.statement):
            return f"the handover is not signed by the new key {self.new_key_id}"
        return None


def record_handover(store: LedgerStore, handover: StoredHandover) -> None:
    """Keep a handover once both its signatures verify (idempotent for the same two keys)."""
    problem = handover.problem()
    if problem:
        raise ValueError(problem)
    with store.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.key_handovers"
            " (old_key_id, new_key_id, statement, old_signature, new_signature)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (old_key_id, new_key_id) DO NOTHING",
            (handover.old_key_id, handover.new_key_id, handover.statement,
             handover.old_signature, handover.new_signature),
        )  # fmt: skip


def handovers(store: LedgerStore) -> list[StoredHandover]:
    """Every recorded handover, oldest first."""
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT old_key_id, new_key_id, statement, old_signature, new_signature"
            f" FROM {SCHEMA}.key_handovers ORDER BY recorded_at, old_key_id"
        ).fetchall()
    return [StoredHandover(o, n, bytes(s), bytes(a), bytes(b)) for o, n, s, a, b in rows]


def chain_to(kid: str, recorded: list[StoredHandover]) -> list[StoredHandover]:
    """The handovers that lead to key `kid`, oldest first (what a verifier needs to reach it)."""
    by_new = {h.new_key_id: h for h in recorded}
    chain: list[StoredHandover] = []
    seen = {kid}
    while (step := by_new.get(kid)) is not None and step.old_key_id not in seen:
        chain.insert(0, step)
        kid = step.old_key_id
        seen.add(kid)
    return chain
