"""The client kit proves a delivered `ledger_seq` and hash against the ledger's signed checkpoint,
over a real ledger served on HTTP: under the pinned key only, with pinned witnesses' cosignatures,
extending the checkpoint it trusted before; a hash, a key, an entry or a history the ledger did not
sign is refused, and an entry past the latest checkpoint is not proven yet."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline_client import LedgerClient, NotYetProvenError, ProofError, Verifier
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import Statement, cosignature_message, ledger_key
from shared.kit.settings import Settings
from shared.kit.testing import Servers, settings_for
from tests.ledger.helpers import fill, tampering
from tests.support import serving, token_for
from tests.support.database import owner

PURPOSE = "checking a delivery"


@dataclass
class Ledger:
    settings: Settings
    url: str
    key: str  # the ledger's public key, as an agency pins it
    rows: dict[int, tuple[bytes, bytes]]  # ledger_seq → (canonical, chain hash)

    def client(self) -> LedgerClient:
        token = token_for(self.settings, "civil_society", agency="ngo-sahel-avenir")
        return LedgerClient(self.url, token, purpose=PURPOSE)

    def hash(self, seq: int) -> str:
        return self.rows[seq][1].hex()


def _filled(settings: Settings) -> None:
    """18 entries signed at 15 and at 18, then 2 more not signed yet."""
    ledger = LedgerApplication(settings)
    try:
        fill(ledger, cases=3, per_case=5)
        ledger.checkpointer.checkpoint_now()
        fill(ledger, cases=1, per_case=3)
        ledger.checkpointer.checkpoint_now()
        fill(ledger, cases=2, per_case=1)
    finally:
        ledger.close()


def _rows(settings: Settings) -> dict[int, tuple[bytes, bytes]]:
    with owner(settings) as conn:
        rows = conn.execute("SELECT ledger_seq, canonical, hash FROM ledger.entries").fetchall()
    return {int(s): (bytes(c), bytes(h)) for s, c, h in rows}


@contextlib.contextmanager
def _served(settings: Settings) -> Iterator[Ledger]:
    public = ledger_key(settings).public_body()["public_key"]
    with serving(ledger_app(settings)) as url:
        yield Ledger(settings, url, str(public), _rows(settings))


def _quiet(servers: Servers, **overrides: Any) -> Settings:
    """A ledger that signs no checkpoint of its own during the test: only those it is told to."""
    return settings_for(
        servers, ledger_checkpoint_seconds=3600, ledger_checkpoint_every=10**6, **overrides
    )


@pytest.fixture(scope="module")
def ledger(servers: Servers) -> Iterator[Ledger]:
    settings = _quiet(servers)
    _filled(settings)
    with _served(settings) as served:
        yield served


async def test_every_signed_entry_is_proven_with_its_leaf_and_the_checkpoints_root(ledger):
    async with ledger.client() as client:
        verifier = Verifier(client, [ledger.key])
        checkpoint = await verifier.checkpoint()
        proofs = [await verifier.verify(seq, ledger.hash(seq), checkpoint) for seq in range(1, 19)]
        served = await client.checkpoint(18)

    assert checkpoint.tree_size == 18
    for seq, proof in enumerate(proofs, 1):
        canonical, chain = ledger.rows[seq]
        assert proof.leaf_hash == hashlib.sha256(b"\x00" + canonical).hexdigest()
        assert (proof.ledger_seq, proof.hash) == (seq, chain.hex())
        assert (proof.tree_size, proof.root_hash) == (18, served["root_hash"])
        assert proof.key_id == served["key_id"]


async def test_a_hash_the_ledger_did_not_commit_to_is_refused(ledger):
    other = ledger.hash(6)

    async with ledger.client() as client:
        verifier = Verifier(client, [ledger.key])
        with pytest.raises(ProofError, match="chain hash") as refused:
            await verifier.verify(5, other)

    assert other in str(refused.value)


async def test_a_checkpoint_signed_by_a_key_not_pinned_is_refused(ledger):
    stranger = _public(Ed25519PrivateKey.generate())

    async with ledger.client() as client:
        with pytest.raises(ProofError, match="not pinned"):
            await Verifier(client, [stranger]).verify(1, ledger.hash(1))


async def test_an_entry_past_the_latest_checkpoint_is_not_proven_yet(ledger):
    async with ledger.client() as client:
        with pytest.raises(NotYetProvenError, match="not in a signed checkpoint yet"):
            await Verifier(client, [ledger.key]).verify(19, ledger.hash(19))


async def test_a_checkpoint_trusted_before_must_be_extended_by_the_next(ledger):
    async with ledger.client() as client:
        earlier = await client.checkpoint(15)
        extended = await Verifier(client, [ledger.key], trusted=earlier).checkpoint()
        # The ledger's own key signing another history of 15 entries than the one it showed.
        forked = Verifier(client, [ledger.key], trusted=_forked(ledger.settings, earlier))
        with pytest.raises(ProofError, match="another history"):
            await forked.checkpoint()

    assert extended.tree_size == 18


def _forked(settings: Settings, served: dict[str, Any]) -> dict[str, Any]:
    key = ledger_key(settings)
    statement = Statement(
        tree_size=served["ledger_size"], root_hash=hashlib.sha256(b"another").digest(),
        heads_size=served["heads_size"], heads_root=bytes.fromhex(served["heads_root"]),
        signed_at=served["signed_at"], key_id=key.key_id,
    ).encode()  # fmt: skip
    return {
        **served,
        "root_hash": hashlib.sha256(b"another").hexdigest(),
        "statement": base64.b64encode(statement).decode(),
        "signature": base64.b64encode(key.sign(statement)).decode(),
    }


def test_an_entry_changed_after_it_was_signed_is_refused(servers: Servers):
    settings = _quiet(servers)
    _filled(settings)
    with tampering(settings, "entries") as conn:
        changed = conn.execute(
            "UPDATE ledger.entries SET canonical ="
            " convert_to(replace(convert_from(canonical, 'UTF8'), 'MCA', 'XYZ'), 'UTF8')"
            " WHERE ledger_seq = 2 RETURNING 1"
        ).fetchall()
    assert changed == [(1,)]

    with _served(settings) as ledger:
        with pytest.raises(ProofError, match="audit path does not lead"):
            _run(_verify(ledger, 2))
        assert _run(_verify(ledger, 3)).ledger_seq == 3


def test_pinned_witnesses_must_have_cosigned_the_checkpoint(servers: Servers):
    witness = Ed25519PrivateKey.generate()
    settings = _quiet(servers, ledger_witness_keys=f"court={_public(witness)}")
    _filled(settings)

    with _served(settings) as ledger:
        with pytest.raises(NotYetProvenError, match="not cosigned yet by court"):
            _run(_verify(ledger, 4, witnesses={"court": _public(witness)}))
        _cosign(ledger, witness)
        proof = _run(_verify(ledger, 4, witnesses={"court": _public(witness)}))
        with pytest.raises(ProofError, match="cosignature does not verify"):
            _run(_verify(ledger, 4, witnesses={"court": _public(Ed25519PrivateKey.generate())}))

    assert proof.witnesses == ("court",)


def _cosign(ledger: Ledger, witness: Ed25519PrivateKey) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token_for(ledger.settings, 'auditor')}"}
    served = httpx.get(f"{ledger.url}/checkpoints/18", headers=headers).json()
    message = cosignature_message("court", base64.b64decode(served["statement"]))
    body = {"witness": "court", "signature": base64.b64encode(witness.sign(message)).decode()}
    answer = httpx.post(f"{ledger.url}/checkpoints/18/cosignatures", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


async def _verify(ledger: Ledger, seq: int, **options: Any) -> Any:
    async with ledger.client() as client:
        return await Verifier(client, [ledger.key], **options).verify(seq, ledger.hash(seq))


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


def _public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
