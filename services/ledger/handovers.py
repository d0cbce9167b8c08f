"""Handovers of the ledger's checkpoint key: the old key's signed word that a new key follows it
after the last tree size the old key signed, and the root of the tree at that size (v2).

Recorded by `caseline keys rotate-ledger` (which holds both private keys) under the checkpoint
lock, kept append-only, served by `GET /checkpoints/key` and carried in evidence bundles, so that
whoever pinned the old key can follow the rotation without trusting the server, and no verifier
accepts a checkpoint the old key signed past its handover, nor one at or before it of another
tree (docs/operations.md, docs/auditing.md). Handovers v1 (no root) that the release before
recorded still count, bounded by size alone; run again with both keys, `rotate-ledger` records
the v2 of the same handover beside the v1, and readers prefer it.
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
    Statement,
    parse_public_key,
    verify_signature,
)
from services.ledger.store import LedgerCorruptedError, LedgerStore, read_nodes
from services.ledger.tree import EMPTY_ROOT, perfect_nodes, range_hash
from shared.kit.i18n import translate

__all__ = [
    "HandoverError",
    "StoredHandover",
    "chain_through",
    "hand_over",
    "handed_over_from",
    "handovers",
    "preferred",
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

    @property
    def version(self) -> int:
        """1 or 2, as the statement's header says (0 when it is malformed)."""
        try:
            return self.handover.version
        except (ValueError, KeyError, UnicodeDecodeError):
            return 0

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
    """Sign with both keys and keep the handover (v2) from `old` to `new` after the latest
    checkpoint, which `old` must have signed, naming its tree size and root (idempotent for the
    same two keys).

    Under the checkpoint lock, so the tree size named is the last `old` signs: no checkpoint comes
    between, and the checkpointer signs none with a key handed over. Where the handover of `old`
    to `new` on record is a v1, the v2 of it is recorded beside it: the same last tree size, and
    the root of the checkpoint `old` signed at that size.
    """
    old_kid, new_kid = LedgerKey.signing(old).key_id, LedgerKey.signing(new).key_id
    if old_kid == new_kid:
        raise HandoverError(translate("the old and the new key are the same key"))
    with store.connection() as conn, conn.transaction():
        lock_checkpoints(conn)
        kept = _kept(conn, old_kid, new_kid)
        if kept is not None and kept.version == 2:
            return kept
        if kept is None:
            size, root = _latest(conn, old_kid)
        else:
            size = kept.handover.last_tree_size
            root = _signed_root(conn, size, old_kid, old.public_key())
        _, data, old_sig, new_sig = Handover.signed(old, new, size, root, at)
        return _keep(conn, StoredHandover(old_kid, new_kid, data, old_sig, new_sig))


def record_handover(store: LedgerStore, handover: StoredHandover) -> StoredHandover:
    """Keep a handover (v2) signed elsewhere, once both its signatures verify and its tree size
    and root are the latest checkpoint's, signed by the old key — or, where the handover of the
    same two keys on record is a v1, its tree size and the root the old key signed at that size
    (idempotent for the same two keys)."""
    with store.connection() as conn, conn.transaction():
        lock_checkpoints(conn)
        return _keep(conn, handover)


def _latest(conn: psycopg.Connection[Any], old_kid: str) -> tuple[int, bytes]:
    """The latest checkpoint's tree size and root (0 and the empty tree's root when there is
    none), which key `old_kid` signed."""
    row = conn.execute(
        f"SELECT tree_size, key_id, root_hash FROM {SCHEMA}.checkpoints"
        " ORDER BY tree_size DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return 0, EMPTY_ROOT
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
    return size, bytes(row[2])


def _signed_root(
    conn: psycopg.Connection[Any], size: int, old_kid: str, old: Ed25519PublicKey
) -> bytes:
    """The root of the checkpoint of `size` entries (the empty tree's for 0), which must be
    signed by key `old_kid` (public key `old`), its statement its columns', and the stored tree's
    root at that size: where a handover v1 of that key says it stopped, made v2."""
    if size == 0:
        return EMPTY_ROOT
    row = conn.execute(
        f"SELECT key_id, root_hash, statement, signature FROM {SCHEMA}.checkpoints"
        " WHERE tree_size = %s",
        (size,),
    ).fetchone()
    if row is None or str(row[0]) != old_kid:
        raise HandoverError(
            translate(
                "the handover of key {kid} on record names {size} as the last tree size it"
                " signed, and the ledger holds no checkpoint of that size signed by it",
                kid=old_kid,
                size=size,
            )
        )
    root, statement, signature = bytes(row[1]), bytes(row[2]), bytes(row[3])
    try:
        signed = Statement.decode(statement)
    except (ValueError, KeyError, UnicodeDecodeError):
        signed = None
    holds = (
        signed is not None
        and (signed.tree_size, signed.root_hash, signed.key_id) == (size, root, old_kid)
        and verify_signature(old, signature, statement)
    )
    try:
        tree = range_hash(0, size, read_nodes(conn, perfect_nodes(0, size)))
    except LedgerCorruptedError:  # a node of the tree at that size is missing
        tree = None
    if not holds or tree != root:
        raise HandoverError(
            translate(
                "the checkpoint of {size} entries signed by key {kid} does not hold (its"
                " signature, its statement or the stored tree's root at that size): no root to"
                " name for it",
                size=size,
                kid=old_kid,
            )
        )
    return root


def _kept(conn: psycopg.Connection[Any], old_kid: str, new_kid: str) -> StoredHandover | None:
    """The handover from key `old_kid` already kept (its v2, where there is one), if it is the
    one to `new_kid`; a key is handed over once, so that where it stopped signing is never in
    doubt."""
    rows = conn.execute(
        "SELECT old_key_id, new_key_id, statement, old_signature, new_signature"
        f" FROM {SCHEMA}.key_handovers WHERE old_key_id = %s ORDER BY version DESC",
        (old_kid,),
    ).fetchall()
    if not rows:
        return None
    kept = [StoredHandover(r[0], r[1], bytes(r[2]), bytes(r[3]), bytes(r[4])) for r in rows]
    for step in kept:
        # A row written behind the ledger's back is never taken for the handover on record.
        problem = step.problem()
        if problem:
            raise HandoverError(
                translate(
                    "a handover of key {kid} on record does not hold: {problem}",
                    kid=old_kid,
                    problem=problem,
                )
            )
        if step.new_key_id != new_kid:
            raise HandoverError(
                translate(
                    "key {kid} was already handed over, to key {new_kid}",
                    kid=old_kid,
                    new_kid=step.new_key_id,
                )
            )
    return kept[0]


def _keep(conn: psycopg.Connection[Any], handover: StoredHandover) -> StoredHandover:
    """Record `handover` unless it is the one already kept (checked under the checkpoint lock):
    a v2 whose size and root are those where its old key stopped."""
    problem = handover.problem()
    if problem:
        raise HandoverError(problem)
    offered = handover.handover
    named = offered.last_root_hash
    if named is None:
        raise HandoverError(
            translate(
                "the handover of key {kid} is a v1 (it names no root): the ledger records"
                " handovers v2 only, which name the root of the tree where the old key stopped;"
                " sign it again with `caseline keys rotate-ledger`",
                kid=handover.old_key_id,
            )
        )
    kept = _kept(conn, handover.old_key_id, handover.new_key_id)
    if kept is not None and kept.version == 2:
        return kept
    last = offered.last_tree_size
    if kept is None:
        size, root = _latest(conn, handover.old_key_id)
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
    else:
        size = kept.handover.last_tree_size
        if last != size:
            raise HandoverError(
                translate(
                    "the handover names {last} as the last tree size key {kid} signed; its"
                    " handover v1 on record names {size}",
                    last=last,
                    kid=handover.old_key_id,
                    size=size,
                )
            )
        old = Ed25519PublicKey.from_public_bytes(offered.old_public)
        root = _signed_root(conn, size, handover.old_key_id, old)
    if named != root:
        raise HandoverError(
            translate(
                "the handover names root {named} for tree size {size}; the checkpoint key {kid}"
                " signed at that size has root {root}",
                named=named.hex(),
                size=size,
                kid=handover.old_key_id,
                root=root.hex(),
            )
        )
    conn.execute(
        f"INSERT INTO {SCHEMA}.key_handovers"
        " (old_key_id, new_key_id, version, statement, old_signature, new_signature)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (handover.old_key_id, handover.new_key_id, offered.version, handover.statement,
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


def preferred(recorded: list[StoredHandover]) -> list[StoredHandover]:
    """One handover of each old key to its new one, in the order recorded: the v2 where one is
    kept beside the v1 it upgrades (and one whose signatures hold over one whose do not)."""
    best: dict[tuple[str, str], tuple[tuple[bool, int], StoredHandover]] = {}
    for step in recorded:  # each one's signatures checked once
        pair, rank = (step.old_key_id, step.new_key_id), (step.problem() is None, step.version)
        if pair not in best or rank > best[pair][0]:
            best[pair] = (rank, step)
    return [step for step in recorded if best[(step.old_key_id, step.new_key_id)][1] is step]


def chain_through(kid: str, recorded: list[StoredHandover]) -> list[StoredHandover]:
    """The handovers that lead to key `kid` and on from it, oldest first (the v2 of each, where
    one is kept): what a verifier needs to reach it from an older key or from a newer one, and
    to see where it stopped signing, and at which root."""
    chosen = preferred(recorded)
    by_new = {h.new_key_id: h for h in chosen}
    by_old = {h.old_key_id: h for h in chosen}
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


def _conflicts(valid: list[StoredHandover]) -> dict[str, str]:
    """The keys handed over twice, differently (to another key, after another size, or to
    another root), each handover signed by both its keys, and why: a key is handed over once,
    so its private key was used by someone else. Only a v1 and the v2 that upgrades it agree."""
    seen: dict[str, Handover] = {}
    out: dict[str, str] = {}
    for step in valid:
        handover, held = step.handover, seen.get(step.old_key_id)
        if held is None or held.last_root_hash is None:
            seen[step.old_key_id] = handover
        if held is None:
            continue
        roots = {r for r in (held.last_root_hash, handover.last_root_hash) if r is not None}
        if (held.new_key_id, held.last_tree_size) != (
            handover.new_key_id, handover.last_tree_size
        ) or len(roots) > 1:  # fmt: skip
            out[step.old_key_id] = translate(
                "key {kid} is handed over twice, differently (to key {one} after {one_size}"
                " entries, to key {other} after {other_size}, or to other roots): a key is handed"
                " over once, so its private key was used by someone else, and nothing it signed"
                " can be trusted",
                kid=step.old_key_id,
                one=held.new_key_id,
                one_size=held.last_tree_size,
                other=handover.new_key_id,
                other_size=handover.last_tree_size,
            )
    return out


def _ends(
    recorded: list[StoredHandover], trusted: Mapping[str, object], ends: dict[str, KeyEnd]
) -> dict[str, KeyEnd]:
    """`ends`, with the end each valid handover between two trusted keys gives its old key (both
    where two are kept: a v1 and the v2 that upgrades it), and no trust at all in a key handed
    over twice, differently (whatever the keys it was handed to)."""
    out = dict(ends)
    valid = [step for step in recorded if step.problem() is None]
    for kid, reason in _conflicts(valid).items():
        out[kid] = KeyEnd(0, conflict=reason).earlier(out.get(kid))
    for step in valid:
        if step.old_key_id in trusted and step.new_key_id in trusted:
            handover = step.handover
            root = handover.last_root_hash
            end = KeyEnd(
                handover.last_tree_size, step.new_key_id, root,
                None if root is None else handover.last_tree_size,
            )  # fmt: skip
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
    conflicted = _conflicts(valid)
    reached: dict[str, Ed25519PublicKey] = {}
    frontier = [trusted.key_id]
    while frontier:
        kid = frontier.pop()
        if kid in conflicted:  # followed nowhere: which of its handovers is genuine is unknown
            continue
        for step in valid:
            if step.old_key_id == kid and step.new_key_id not in reached:
                new = step.handover.new_public
                reached[step.new_key_id] = Ed25519PublicKey.from_public_bytes(new)
                frontier.append(step.new_key_id)
    reached.pop(trusted.key_id, None)
    ends = _ends(valid, {trusted.key_id: trusted.public, **reached}, {})
    return LedgerKeys(trusted, ends=ends, successors=reached)
