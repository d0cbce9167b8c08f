"""Evidence bundles: a case's stored entries, chain, signed checkpoint and proofs in one JSON file.

Written compact with sorted keys, the exact form `caseline verify-bundle` requires (format in
docs/auditing.md); entries carry their stored canonical bytes in base64.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.ledger.checkpoints import Checkpointer
from services.ledger.handovers import StoredHandover, chain_through
from services.ledger.signing import LedgerKeys
from services.ledger.store import LedgerCorruptedError, LedgerStore
from services.ledger.verification import case_paths
from shared.kit.errors import NotFoundError

__all__ = ["BUNDLE_FORMAT", "build_bundle", "bundle_bytes"]

log = logging.getLogger("caseline.ledger.export")
BUNDLE_FORMAT = "caseline-evidence-bundle/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_bundle(
    store: LedgerStore,
    checkpointer: Checkpointer,
    keys: LedgerKeys,
    handovers: list[StoredHandover],
    case_id: str,
    witnesses: Mapping[str, Ed25519PublicKey],
    service_keys: Mapping[str, dict[str, str]],
) -> dict[str, Any]:
    """The evidence bundle of a case, against a checkpoint covering the ledger as it stands.

    It carries the key that signed that checkpoint (current or retired) and the handovers that
    lead to it and on from it, so whoever trusts an older or a newer key of the ledger can follow
    them offline, and see where the checkpoint's key stopped signing.
    """
    try:
        checkpoint = checkpointer.checkpoint_now()
    except LedgerCorruptedError as exc:
        # Never sign a damaged ledger; export against the last good signature so the verifier
        # shows what changed.
        log.error("exporting against the latest checkpoint: %s", exc)
        checkpoint = checkpointer.latest()
    if checkpoint is None:
        raise NotFoundError("no case {case_id} in the ledger", case_id=case_id)
    rows = store.case_rows(case_id, upto=checkpoint.tree_size)
    if not rows:
        raise NotFoundError("no case {case_id} in the ledger", case_id=case_id)
    entries = _entries(store, rows, checkpoint.tree_size)
    cosignatures = [
        _cosignature(c.body(), witnesses.get(c.witness)) for c in checkpoint.cosignatures
    ]
    return {
        "format": BUNDLE_FORMAT,
        "case_id": case_id,
        "public_key": keys.public_body(checkpoint.key_id) or keys.public_body(keys.current.key_id),
        "key_handovers": [h.body() for h in chain_through(checkpoint.key_id, handovers)],
        "checkpoint": {
            "statement": _b64(checkpoint.statement),
            "signature": _b64(checkpoint.signature),
        },
        "cosignatures": cosignatures,
        "service_keys": _signing_keys(rows, service_keys),
        "entries": entries,
        "case_head": checkpointer.heads_at(checkpoint.tree_size).proof(case_id),
    }


def _signing_keys(
    rows: list[tuple[Any, ...]], service_keys: Mapping[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The trusted service keys that signed the case's entries: each entry's origin is checked
    offline with them, and the bundle carries no key that checks nothing."""
    used = {json.loads(bytes(row[5]))["event"].get("originkeyid") for row in rows}
    return {kid: dict(key) for kid, key in service_keys.items() if kid in used}


def _entries(store: LedgerStore, rows: list[tuple[Any, ...]], size: int) -> list[dict[str, Any]]:
    """The case's stored entries, each with its audit path in the tree of `size` entries (null
    where the stored tree lacks a node of it: the verifier then says the entry is unproven)."""
    paths = case_paths(store, [r[0] for r in rows], size)
    if any(path is None for path in paths):
        log.error("the stored tree lacks nodes: some entries of the bundle cannot be proven")
    return [
        {
            "ledger_seq": row[0],
            "case_seq": row[2],
            "canonical": _b64(bytes(row[5])),
            "prev_hash": bytes(row[6]).hex(),
            "hash": bytes(row[7]).hex(),
            "inclusion_proof": None if path is None else [p.hex() for p in path],
        }
        for row, path in zip(rows, paths, strict=True)
    ]


def _cosignature(body: dict[str, Any], public: Ed25519PublicKey | None) -> dict[str, Any]:
    """A cosignature, with the witness's key as registered with this ledger (if it still is)."""
    if public is not None:
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        body["public_key"] = _b64(raw)
    return body


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    """The one exact form a bundle file has."""
    return (
        json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        + b"\n"
    )
