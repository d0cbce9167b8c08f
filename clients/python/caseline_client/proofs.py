"""Check a delivery against the ledger's signed checkpoints, trusting only the keys one pins.

A delivery is redacted (fields the agency may not see removed, personal fields withheld), so the
agency cannot hash the entry's stored bytes itself. What it checks instead (docs/agencies.md):

1. the latest checkpoint is signed by a pinned ledger key (and cosigned by every pinned witness),
   and extends every checkpoint this verifier took before (an RFC 9162 consistency proof);
2. the ledger's answer for the entry at `ledger_seq` names the chain hash the delivery carries;
3. the audit path leads from that entry's leaf hash to the checkpoint's root (RFC 9162).

So the ledger committed, under its key, to one entry at that position, which it says has that
chain hash; it cannot later show anyone another entry there. What the agency cannot see it cannot
check: that the removed and withheld fields were not altered is outside its proof (an auditor
holding the whole entry checks that, with the case's evidence bundle).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from caseline_client.ledger import LedgerClient

__all__ = [
    "Checkpoint",
    "NotYetProvenError",
    "Proof",
    "ProofError",
    "Verifier",
    "check_entry",
    "key_id",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]

STATEMENT_HEADER = "caseline-ledger checkpoint v1"
COSIGNATURE_HEADER = "caseline-ledger cosignature v1"


class ProofError(ValueError):
    """The ledger's answers do not prove the delivery: altered, forged, inconsistent with what it
    signed before, or signed by a key that is not pinned."""


class NotYetProvenError(RuntimeError):
    """No checkpoint covers the entry yet, or not every pinned witness has cosigned the latest:
    ask again later (the ledger signs a checkpoint every few seconds while entries come)."""


def key_id(public_raw: bytes) -> str:
    """The ledger's short id of an Ed25519 public key: its SHA-256's first 8 bytes, in hex."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def _public(text: str) -> tuple[str, Ed25519PublicKey]:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return key_id(raw), Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a raw Ed25519 public key in base64: {exc}") from None


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature verified under a pinned key."""

    tree_size: int
    root_hash: bytes
    signed_at: str
    key_id: str
    witnesses: tuple[str, ...]  # the pinned witnesses whose cosignature verified
    served: dict[str, Any] = field(repr=False, compare=False)  # the body, to keep and reload


@dataclass(frozen=True)
class Proof:
    """What shows that the ledger committed to the delivered entry: keep it with the record."""

    ledger_seq: int
    hash: str
    leaf_hash: str
    tree_size: int
    root_hash: str
    key_id: str
    signed_at: str
    witnesses: tuple[str, ...]


def _statement(data: bytes) -> dict[str, str]:
    try:
        lines = data.decode().split("\n")
        if len(lines) != 8 or lines[0] != STATEMENT_HEADER or lines[7] != "":
            raise ValueError("lines")
        return dict(line.split(" ", 1) for line in lines[1:7])
    except ValueError:
        raise ProofError("the checkpoint's statement is not a ledger checkpoint") from None


def verify_checkpoint(
    body: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    witnesses: Mapping[str, Ed25519PublicKey] | None = None,
) -> Checkpoint:
    """The checkpoint `GET /checkpoints/…` served, once its signed statement verifies under one of
    `keys` (by key id) and every witness of `witnesses` cosigned it."""
    try:
        statement = base64.b64decode(body["statement"], validate=True)
        signature = base64.b64decode(body["signature"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise ProofError("the checkpoint carries no statement or signature in base64") from None
    facts = _statement(statement)
    try:
        size, root = int(facts["tree_size"]), bytes.fromhex(facts["root_hash"])
    except (KeyError, ValueError):
        raise ProofError("the checkpoint's statement has no tree size or root") from None
    if (body.get("ledger_size"), body.get("root_hash")) != (size, root.hex()):
        raise ProofError("the checkpoint's size and root are not those its signature covers")
    kid = facts.get("key_id", "")
    public = keys.get(kid)
    if public is None:
        raise ProofError(f"the checkpoint is signed by key {kid}, which is not pinned")
    if not _verifies(public, signature, statement):
        raise ProofError(f"the checkpoint's signature does not verify under key {kid}")
    cosigned = _cosigned(body, statement, witnesses or {})
    missing = sorted(set(witnesses or {}) - set(cosigned))
    if missing:
        raise NotYetProvenError(f"checkpoint {size} is not cosigned yet by {', '.join(missing)}")
    return Checkpoint(size, root, facts.get("signed_at", ""), kid, cosigned, dict(body))


def _cosigned(
    body: Mapping[str, Any], statement: bytes, witnesses: Mapping[str, Ed25519PublicKey]
) -> tuple[str, ...]:
    out = []
    for item in body.get("cosignatures") or ():
        name = str(item.get("witness", ""))
        if name not in witnesses:
            continue
        message = f"{COSIGNATURE_HEADER}\nwitness {name}\n".encode() + statement
        try:
            signature = base64.b64decode(item.get("signature", ""), validate=True)
        except binascii.Error:
            signature = b""
        if not _verifies(witnesses[name], signature, message):
            raise ProofError(f"witness {name}'s cosignature does not verify")
        out.append(name)
    return tuple(sorted(out))


def _verifies(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `path` lead from the leaf hash at `index` to `root`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of `second` leaves extends the tree of `first` leaves."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


def _hashes(values: Any) -> list[bytes]:
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ProofError("the proof's hashes are not hex") from None


def check_entry(
    answer: Mapping[str, Any], checkpoint: Checkpoint, ledger_seq: int, digest: str
) -> Proof:
    """What `GET /proofs/inclusion` answered for `ledger_seq` in the checkpoint's tree proves
    the delivery's chain hash `digest` is the one the ledger committed to there."""
    if (answer.get("ledger_seq"), answer.get("tree_size")) != (ledger_seq, checkpoint.tree_size):
        raise ProofError("the proof is not about this entry in this checkpoint's tree")
    served = str(answer.get("hash", ""))
    if not hmac.compare_digest(served.lower(), digest.lower()):
        raise ProofError(
            f"the ledger's entry {ledger_seq} has chain hash {served}, the delivery says {digest}"
        )
    (leaf,) = _hashes([answer.get("leaf_hash", "")])
    if not verify_inclusion(
        ledger_seq - 1, checkpoint.tree_size, leaf, _hashes(answer.get("proof", ())),
        checkpoint.root_hash,
    ):  # fmt: skip
        raise ProofError(
            f"entry {ledger_seq}'s audit path does not lead to checkpoint"
            f" {checkpoint.tree_size}'s root"
        )
    return Proof(
        ledger_seq, served.lower(), leaf.hex(), checkpoint.tree_size, checkpoint.root_hash.hex(),
        checkpoint.key_id, checkpoint.signed_at, checkpoint.witnesses,
    )  # fmt: skip


class Verifier:
    """Proves deliveries against the ledger's latest checkpoint, trusting only pinned keys.

    `keys`: the ledger's public keys the agency pins (raw Ed25519 in base64, as
    `GET /checkpoints/key` shows them; the next one too, during a key rotation). `witnesses`:
    name → public key of the witnesses whose cosignature every checkpoint must carry. `trusted`:
    the last checkpoint taken before (e.g. kept in the agency's database): each new one must
    extend it, so the ledger cannot show this agency two histories.
    """

    def __init__(
        self,
        ledger: LedgerClient,
        keys: Sequence[str],
        *,
        witnesses: Mapping[str, str] | None = None,
        trusted: Mapping[str, Any] | None = None,
    ) -> None:
        if not keys:
            raise ValueError("pin at least one ledger key")
        self.ledger = ledger
        self.keys = dict(_public(k) for k in keys)
        self.witnesses = {name: _public(k)[1] for name, k in (witnesses or {}).items()}
        self.trusted = verify_checkpoint(trusted, self.keys) if trusted else None

    async def checkpoint(self) -> Checkpoint:
        """The latest checkpoint, verified, and consistent with the one trusted before."""
        latest = verify_checkpoint(await self.ledger.latest_checkpoint(), self.keys, self.witnesses)
        old = self.trusted
        if old is not None:
            if latest.tree_size < old.tree_size:
                raise ProofError(
                    f"the ledger's latest checkpoint ({latest.tree_size} entries) is behind one"
                    f" it signed before ({old.tree_size})"
                )
            proof: list[bytes] = []
            if latest.tree_size > old.tree_size:
                answer = await self.ledger.consistency(old.tree_size, latest.tree_size)
                proof = _hashes(answer.get("proof", ()))
            if not verify_consistency(
                old.tree_size, latest.tree_size, old.root_hash, latest.root_hash, proof
            ):
                raise ProofError(
                    f"checkpoint {latest.tree_size} does not extend checkpoint {old.tree_size}:"
                    " the ledger shows another history than before"
                )
        self.trusted = latest
        return latest

    async def verify(
        self, ledger_seq: int, digest: str, checkpoint: Checkpoint | None = None
    ) -> Proof:
        """Prove the entry at `ledger_seq` with chain hash `digest` (a delivery's `hash`)
        against `checkpoint` (default: the latest, verified)."""
        checkpoint = checkpoint or await self.checkpoint()
        if ledger_seq > checkpoint.tree_size:
            raise NotYetProvenError(
                f"entry {ledger_seq} is not in a signed checkpoint yet (the latest has"
                f" {checkpoint.tree_size} entries)"
            )
        answer = await self.ledger.inclusion(ledger_seq, checkpoint.tree_size)
        return check_entry(answer, checkpoint, ledger_seq, digest)


def checkpoint_json(checkpoint: Checkpoint) -> str:
    """The served body, to keep and pass again as `trusted`."""
    return json.dumps(checkpoint.served, sort_keys=True)


__all__ += ["checkpoint_json"]
