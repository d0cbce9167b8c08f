"""Checkpoints and proofs served over HTTP verify by an independent reading of RFC 9162."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from tests.ledger import rfc9162
from tests.ledger.helpers import fill
from tests.support import running
from tests.support.database import owner


def _leaves(settings) -> list[bytes]:
    with owner(settings) as conn:
        rows = conn.execute("SELECT canonical FROM ledger.entries ORDER BY ledger_seq").fetchall()
    return [bytes(r[0]) for r in rows]


def _two_checkpoints(settings) -> None:
    ledger = LedgerApplication(settings)
    try:
        fill(ledger, cases=3, per_case=5)
        ledger.checkpointer.checkpoint_now()
        fill(ledger, cases=1, per_case=3)
        ledger.checkpointer.checkpoint_now()
    finally:
        ledger.close()


def test_checkpoints_are_signed_roots_of_all_entries(settings, auditor):
    _two_checkpoints(settings)
    leaves = _leaves(settings)

    with running(ledger_app(settings)) as ledger:
        latest = ledger.get("/checkpoints/latest", headers=auditor).json()
        first = ledger.get("/checkpoints/15", headers=auditor).json()
        key = ledger.get("/checkpoints/key", headers=auditor).json()

    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    for checkpoint, size in ((latest, 18), (first, 15)):
        assert checkpoint["ledger_size"] == size
        assert bytes.fromhex(checkpoint["root_hash"]) == rfc9162.mth(leaves[:size])
        statement = base64.b64decode(checkpoint["statement"])
        public.verify(base64.b64decode(checkpoint["signature"]), statement)
        assert f"tree_size {size}\nroot_hash {checkpoint['root_hash']}\n".encode() in statement
        assert checkpoint["key_id"] == key["key_id"]
    assert key["development"] is True


def test_every_inclusion_proof_verifies_independently(settings, auditor):
    _two_checkpoints(settings)
    leaves = _leaves(settings)
    root = rfc9162.mth(leaves)

    with running(ledger_app(settings)) as ledger:
        proofs = [
            ledger.get(
                "/proofs/inclusion", params={"ledger_seq": seq, "tree_size": 18}, headers=auditor
            ).json()
            for seq in range(1, 19)
        ]
        default = ledger.get("/proofs/inclusion", params={"ledger_seq": 7}, headers=auditor).json()

    for seq, body in enumerate(proofs, 1):
        path = [bytes.fromhex(p) for p in body["proof"]]
        assert rfc9162.verify_inclusion(seq - 1, 18, leaves[seq - 1], path, root), seq
        assert path == rfc9162.path(seq - 1, leaves)
    assert default == proofs[6]


def test_an_inclusion_proof_names_the_entrys_leaf_hash_and_chain_hash(settings, auditor):
    _two_checkpoints(settings)
    with owner(settings) as conn:
        rows = conn.execute(
            "SELECT canonical, prev_hash, hash FROM ledger.entries ORDER BY ledger_seq"
        ).fetchall()

    with running(ledger_app(settings)) as ledger:
        proofs = [
            ledger.get("/proofs/inclusion", params={"ledger_seq": seq}, headers=auditor).json()
            for seq in range(1, 19)
        ]

    for body, (canonical, prev, chain) in zip(proofs, rows, strict=True):
        leaf = hashlib.sha256(b"\x00" + bytes(canonical)).digest()
        assert bytes.fromhex(body["leaf_hash"]) == leaf
        assert bytes.fromhex(body["hash"]) == bytes(chain)
        assert hashlib.sha256(bytes(prev) + bytes(canonical)).digest() == bytes(chain)


def test_a_consistency_proof_verifies_independently(settings, auditor):
    _two_checkpoints(settings)
    leaves = _leaves(settings)

    with running(ledger_app(settings)) as ledger:
        body = ledger.get(
            "/proofs/consistency", params={"first": 15, "second": 18}, headers=auditor
        ).json()

    proof = [bytes.fromhex(p) for p in body["proof"]]
    assert rfc9162.verify_consistency(15, 18, rfc9162.mth(leaves[:15]), rfc9162.mth(leaves), proof)
    assert proof == rfc9162.proof(15, leaves)
    assert not rfc9162.verify_consistency(
        15, 18, rfc9162.mth(leaves[:14]), rfc9162.mth(leaves), proof
    )


def test_proofs_beyond_the_tree_and_unknown_checkpoints_are_404_or_422(settings, auditor):
    _two_checkpoints(settings)

    with running(ledger_app(settings)) as ledger:
        answers = {
            "entry beyond size": ledger.get(
                "/proofs/inclusion?ledger_seq=19&tree_size=18", headers=auditor
            ),
            "size beyond tree": ledger.get(
                "/proofs/inclusion?ledger_seq=1&tree_size=99", headers=auditor
            ),
            "first beyond second": ledger.get(
                "/proofs/consistency?first=18&second=15", headers=auditor
            ),
            "no such checkpoint": ledger.get("/checkpoints/16", headers=auditor),
            "zero": ledger.get("/proofs/consistency?first=0&second=15", headers=auditor),
            "not a number": ledger.get("/checkpoints/abc", headers=auditor),
        }

    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "entry beyond size": 404,
        "size beyond tree": 404,
        "first beyond second": 404,
        "no such checkpoint": 404,
        "zero": 422,
        "not a number": 422,
    }
    assert all(r.headers["content-type"] == "application/problem+json" for r in answers.values())
