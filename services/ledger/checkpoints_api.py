"""The ledger's commitments over HTTP: checkpoints, proofs, its key, witnesses' cosignatures.

Reads need a token and are audited like any; a cosignature is authenticated by the witness's
registered Ed25519 key alone (the signature is the credential).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.ledger.api import LedgerApp
from services.ledger.requests import CosignatureRequest

__all__ = ["router"]

router = APIRouter(tags=["checkpoints"])
Size = Annotated[int, Path(ge=1, le=2**62)]
Position = Annotated[int, Query(ge=1, le=2**62)]


@router.get("/checkpoints/latest")
def latest(ledger: LedgerApp) -> dict[str, Any]:
    """The latest signed checkpoint: `{ledger_size, root_hash, signed_at, key_id, signature, …}`."""
    return ledger.latest_checkpoint().body()


@router.get("/checkpoints/key")
def public_key(ledger: LedgerApp) -> dict[str, Any]:
    """The key new checkpoints are signed with (raw Ed25519, base64), the retired keys with the
    last tree size each signed, and the handovers from each old key to its successor, signed by
    both."""
    return ledger.public_key()


@router.get("/checkpoints/{size}")
def checkpoint(size: Size, ledger: LedgerApp) -> dict[str, Any]:
    """The checkpoint of the tree at `size` entries, with the witnesses' cosignatures."""
    return ledger.checkpoint(size).body()


@router.post("/checkpoints/{size}/cosignatures")
def cosign(size: Size, body: CosignatureRequest, ledger: LedgerApp) -> dict[str, Any]:
    """A registered witness countersigns a checkpoint it has checked; idempotent."""
    return ledger.cosign(size, body.witness, body.signature).body()


@router.get("/proofs/inclusion")
def inclusion(
    ledger: LedgerApp,
    ledger_seq: Position,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    """The audit path of an entry in the tree of `tree_size` entries (default: the latest), with
    the entry's leaf hash and chain hash (`hash`)."""
    return ledger.inclusion(ledger_seq, tree_size)


@router.get("/proofs/consistency")
def consistency(ledger: LedgerApp, first: Position, second: Position) -> dict[str, Any]:
    """The proof that the tree of `second` entries extends the tree of `first` (RFC 9162)."""
    return ledger.consistency(first, second)
