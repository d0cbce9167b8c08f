"""Handovers of the ledger's checkpoint key: the old key's signed word that a new key follows it
after the last tree size the old key signed.

Recorded by `caseline keys rotate-ledger` (which holds both private keys) under the checkpoint
lock, kept append-only, served by `GET /checkpoints/key` and carried in evidence bundles, so that
whoever pinned the old key can follow the rotation without trusting the server, and no verifier
accepts a checkpoint the old key signed past its handover (docs/operations.md, docs/auditing.md).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.ledger.checkpoints import lock_checkpoints
from services.ledger.schema import SCHEMA
from services.ledger.signing import (
    Handover,
    KeyEnd,
    LedgerKey,
    LedgerKeys,
    parse_public_key,
    verify_signature,
)
from services.ledger.store import LedgerStore
from shared.kit.i18n import translate

__all__ = [
    "HandoverError",
    "StoredHandover",
    "chain_through",
    "hand_over",
    "handed_over_from",
    "handovers",
    "record_handover",
    "trusted_keys",
]


class HandoverError(ValueError):
    """A handover the ledger does not record: its signatures, its keys, or its tree size (said in
    the language of the command that records it, `caseline keys rotate-ledger`)."""


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

    @property
    def handover(self) -> Handover:
        return Handover.decode(self.statement)

    def problem(self) -> str | None:
        """Why this is not a handover signed by both keys it names, if it is not."""
        try:
            handover = self.handover
        except (ValueError, KeyError, UnicodeDecodeError):
            return translate("the handover statement is malformed")
        if (handover.old_key_id, handover.new_key_id) != (self.old_key_id, self.new_key_id):
            return translate("the handover statement names other keys")
        old, new = (parse_public_key(base64.b64encode(raw).decode())
                    for raw in (handover.old_public, handover.new_public))  # fmt: skip
        if not verify_signature(old, self.old_signature, self.statement):
            return translate("the handover is not signed by the old key {kid}", kid=self.old_key_id)
        if not verify_signature(new, self.new_signature, self.statement):
            return translate("the handover is not signed by the new key {kid}", kid=self.new_key_id)
        return None


def hand_over(
    store: LedgerStore, old: Ed25519PrivateKey, new: Ed25519PrivateKey, at: str
) -> StoredHandover:
    """Sign with both keys and keep the handover from `old` to `new` after the latest checkpoint,
    which `old` must have signed (idempotent for the same two keys).

    Under the checkpoint lock, so the tree size named is the last `old` signs: no checkpoint comes
    between, and the checkpointer signs none with a key handed over.
    """
    old_kid, new_kid = LedgerKey.signing(old).key_id, LedgerKey.signing(new).key_id
    if old_kid == new_kid:
        raise HandoverError(translate("the old and the new key are the same key"))
    with store.connection() as conn, conn.transaction():
        lock_checkpoints(conn)
        kept = _kept(conn, old_kid, new_kid)
        if kept is not None:
            return kept
        _, data, old_sig, new_sig = Handover.signed(old, new, _last_size(conn, old_kid), at)
        return _keep(conn, StoredHandover(old_kid, new_kid, data, old_sig, new_sig))


def record_handover(store: LedgerStore, handover: StoredHandover) -> StoredHandover:
    """Keep a handover signed elsewhere, once both its signatures verify and its tree size is the
    latest checkpoint's, signed by the old key (idempotent for the same two keys)."""
    with store.connection() as conn, conn.transaction():
        lock_checkpoints(conn)
        return _keep(conn, handover)


def _last_size(conn: psycopg.Connection[Any], old_kid: str) -> int:
    """The latest checkpoint's tree size (0 when there is none), which key `old_kid` signed."""
    row = conn.execute(
        f"SELECT tree_size, key_id FROM {SCHEMA}.checkpoints ORDER BY tree_size DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return 0
    size, kid = int(row[0]), str(row[1])
    if kid != old_kid:
        raise HandoverError(
            translate(
                "the latest checkpoint ({size} entries) is signed by key {kid}, not by the old key"
                " {old_kid}: a handover names the last tree size the old key signed, and that is"
                " not it (was the ledger restarted with another key first?)",
                size=size,
                kid=kid,
                old_kid=old_kid,
            )
        )
    return size


def _kept(conn: psycopg.Connection[Any], old_kid: str, new_kid: str) -> StoredHandover | None:
    """The handover from key `old_kid` already kept, if it is the one to `new_kid`; a key is
    handed over once, so that where it stopped signing is never in doubt."""
    row = conn.execute(
        "SELECT old_key_id, new_key_id, statement, old_signature, new_signature"
        f" FROM {SCHEMA}.key_handovers WHERE old_key_id = %s",
        (old_kid,),
    ).fetchone()
    if row is None:
        return None
    if row[1] != new_kid:
        raise HandoverError(
            translate(
                "key {kid} was already handed over, to key {new_kid}", kid=old_kid, new_kid=row[1]
            )
        )
    return StoredHandover(row[0], row[1], bytes(row[2]), bytes(row[3]), bytes(row[4]))


def _keep(conn: psycopg.Connection[Any], handover: StoredHandover) -> StoredHandover:
    """Record `handover` unless it is the one already kept (checked under the checkpoint lock)."""
    problem = handover.problem()
    if problem:
        raise HandoverError(problem)
    kept = _kept(conn, handover.old_key_id, handover.new_key_id)
    if kept is not None:
        return kept
    size, last = _last_size(conn, handover.old_key_id), handover.handover.last_tree_size
    if last != size:
        raise HandoverError(
            translate(
                "the handover names {last} as the last tree size key {kid} signed; its latest"
                " checkpoint is of {size} entries",
                last=last,
                kid=handover.old_key_id,
                size=size,
            )
        )
    conn.execute(
        f"INSERT INTO {SCHEMA}.key_handovers"
        " (old_key_id, new_key_id, statement, old_signature, new_signature)"
        " VALUES (%s, %s, %s, %s, %s)",
        (handover.old_key_id, handover.new_key_id, handover.statement,
         handover.old_signature, handover.new_signature),
    )  # fmt: skip
    return handover


def handovers(store: LedgerStore) -> list[StoredHandover]:
    """Every recorded handover, oldest first."""
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT old_key_id, new_key_id, statement, old_signature, new_signature"
            f" FROM {SCHEMA}.key_handovers ORDER BY recorded_at, old_key_id"
        ).fetchall()
    return [StoredHandover(o, n, bytes(s), bytes(a), bytes(b)) for o, n, s, a, b in rows]


def chain_through(kid: str, recorded: list[StoredHandover]) -> list[StoredHandover]:
    """The handovers that lead to key `kid` and on from it, oldest first: what a verifier needs
    to reach it from an older key or from a newer one, and to see where it stopped signing."""
    by_new = {h.new_key_id: h for h in recorded}
    by_old = {h.old_key_id: h for h in recorded}
    before: list[StoredHandover] = []
    after: list[StoredHandover] = []
    seen = {kid}
    at = kid
    while (step := by_new.get(at)) is not None and step.old_key_id not in seen:
        before.insert(0, step)
        at = step.old_key_id
        seen.add(at)
    at = kid
    while (step := by_old.get(at)) is not None and step.new_key_id not in seen:
        after.append(step)
        at = step.new_key_id
        seen.add(at)
    return before + after


def _ends(
    recorded: list[StoredHandover], trusted: Mapping[str, object], ends: dict[str, KeyEnd]
) -> dict[str, KeyEnd]:
    """`ends`, with the end each valid handover between two trusted keys gives its old key."""
    out = dict(ends)
    for step in recorded:
        if step.old_key_id in trusted and step.new_key_id in trusted and step.problem() is None:
            end = KeyEnd(step.handover.last_tree_size, step.new_key_id)
            out[step.old_key_id] = end.earlier(out.get(step.old_key_id))
    return out


def trusted_keys(
    current: LedgerKey,
    retired: Mapping[str, Ed25519PublicKey],
    configured: Mapping[str, KeyEnd],
    recorded: list[StoredHandover],
) -> LedgerKeys:
    """The configured keys, each retired one ending where its handover to another configured key
    (or the configuration) says it stopped signing."""
    trusted = {current.key_id: current.public, **retired}
    return LedgerKeys(current, retired, _ends(recorded, trusted, dict(configured)))


def handed_over_from(trusted: LedgerKey, recorded: list[StoredHandover]) -> LedgerKeys:
    """`trusted` and every key reached from it by handovers each signed by the key before and
    the key after, each key that handed over ending where its handover says."""
    valid = [h for h in recorded if h.problem() is None]
    reached: dict[str, Ed25519PublicKey] = {}
    frontier = [trusted.key_id]
    while frontier:
        kid = frontier.pop()
        for step in valid:
            if step.old_key_id == kid and step.new_key_id not in reached:
                new = step.handover.new_public
                reached[step.new_key_id] = Ed25519PublicKey.from_public_bytes(new)
                frontier.append(step.new_key_id)
    reached.pop(trusted.key_id, None)
    ends = _ends(valid, {trusted.key_id: trusted.public, **reached}, {})
    return LedgerKeys(trusted, ends=ends, successors=reached)
