"""Witnesses countersign consistent checkpoints and catch a history re-signed by the ledger."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle
from caseline.cli import main
from caseline.witness import Witness, witness_roots
from services.ledger.application import LedgerApplication
from services.ledger.checkpoints import CaseHeads
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import Statement, ledger_key
from services.ledger.store import GENESIS, entry_hash, rfc3339
from services.ledger.tree import TreeBuilder, leaf_hash
from tests.ledger.helpers import fill, tampering
from tests.support import running, token_for
from tests.support.database import settings_with


def _raw(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


@pytest.fixture
def court(tmp_path):
    """A witness's state directory with its key made beforehand, so the ledger can register it."""
    key = Ed25519PrivateKey.generate()
    state = tmp_path / "court"
    state.mkdir()
    (state / "witness.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return state, _raw(key)


def _witnessed(settings, court):
    state, public = court
    settings = settings_with(settings, ledger_witness_keys=f"court={public}")
    return settings, state


def rewrite_history(settings) -> None:
    """As the owner with the ledger's own key: change entry 2, recompute everything, re-sign."""
    with tampering(settings, "entries", "tree_nodes", "checkpoints", "cosignatures") as conn:
        rows = conn.execute(
            "SELECT ledger_seq, case_id, canonical FROM ledger.entries ORDER BY ledger_seq"
        ).fetchall()
        heads, builder, nodes, leaves = {}, TreeBuilder(), [], []
        for ledger_seq, case_id, canonical in rows:
            canonical = bytes(canonical)
            if ledger_seq == 2:
                canonical = canonical.replace(b"MCA Bamako", b"Elsewhere!")
            leaves.append(leaf_hash(canonical))
            prev = heads.get(case_id, GENESIS)
            heads[case_id] = entry_hash(prev, canonical)
            conn.execute(
                "UPDATE ledger.entries SET canonical = %s, prev_hash = %s, hash = %s"
                " WHERE ledger_seq = %s",
                (canonical, prev, heads[case_id], ledger_seq),
            )
            nodes += builder.append(leaf_hash(canonical))
        conn.execute("DELETE FROM ledger.tree_nodes")
        for node in nodes:
            conn.execute(
                "INSERT INTO ledger.tree_nodes (level, idx, hash) VALUES (%s, %s, %s)", node
            )
        old = conn.execute(
            "SELECT tree_size, heads_size, heads_root, signed_at FROM ledger.checkpoints"
        ).fetchall()
        conn.execute("DELETE FROM ledger.cosignatures")
        conn.execute("DELETE FROM ledger.checkpoints")
        key = ledger_key(settings)
        for size, _, _, signed_at in old:
            case_heads = CaseHeads()
            case_heads.advance(
                conn.execute(
                    "SELECT ledger_seq, case_id, case_seq, hash FROM ledger.entries"
                    " WHERE ledger_seq <= %s ORDER BY ledger_seq",
                    (size,),
                ).fetchall(),
                size,
            )
            heads_size, heads_root = case_heads.root()
            sub = TreeBuilder()
            for leaf in leaves[:size]:
                sub.append(leaf)
            root = sub.root()
            statement = Statement(
                size, root, heads_size, bytes(heads_root), rfc3339(signed_at), key.key_id
            )
            data = statement.encode()
            conn.execute(
                "INSERT INTO ledger.checkpoints (tree_size, root_hash, heads_size, heads_root,"
                " signed_at, key_id, statement, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (size, root, heads_size, heads_root, signed_at, key.key_id, data, key.sign(data)),
            )


def test_a_witness_countersigns_consistent_checkpoints_and_the_ledger_lists_them(settings, court):
    settings, state = _witnessed(settings, court)
    ledger = LedgerApplication(settings)
    token = token_for(settings, "auditor")

    with running(ledger_app(settings)) as client:
        witness = Witness(state, "http://testserver", name="court", token=token, client=client)
        fill(ledger, cases=2, per_case=3)
        ledger.checkpointer.checkpoint_now()
        first = witness.step(say=lambda _: None)
        fill(ledger, cases=1, per_case=3)
        ledger.checkpointer.checkpoint_now()
        second = witness.step(say=lambda _: None)
        listed = client.get("/checkpoints/9", headers={"Authorization": f"Bearer {token}"}).json()
    report = ledger.verify_all()
    ledger.close()

    assert (first.tree_size, second.tree_size) == (6, 9)
    assert [c["witness"] for c in listed["cosignatures"]] == ["court"]
    assert sorted(witness_roots(state)) == [6, 9]
    assert report.ok
    assert report.cosignatures == 2


def test_a_history_rewritten_and_resigned_with_the_ledgers_key_is_caught_by_the_witness(
    settings, court
):
    settings, state = _witnessed(settings, court)
    ledger = LedgerApplication(settings)
    token = token_for(settings, "auditor")
    case_id = str(fill(ledger, cases=2, per_case=3)[1])
    ledger.checkpointer.checkpoint_now()
    said: list[str] = []
    with running(ledger_app(settings)) as client:
        witness = Witness(state, "http://testserver", name="court", token=token, client=client)
        witness.step(say=said.append)

        rewrite_history(settings)
        alone = LedgerApplication(settings, create=False)
        unwitnessed = alone.verify_all()
        witnessed = alone.verify_all(witness_roots(state))
        bundle = verify_bundle(alone.export(case_id), witness_keys={"court": court[1]})
        alone.close()
        status = witness.run(interval=0, once=True, say=said.append)
    ledger.close()

    assert unwitnessed.ok, "a rewrite re-signed with the ledger's own key fools the ledger alone"
    assert status == 2
    assert "history was rewritten" in said[-1]
    assert not witnessed.ok
    assert "witness court" in witnessed.reason
    assert not bundle.ok
    assert "court" in bundle.reason


def test_cosignatures_from_unknown_witnesses_or_with_bad_signatures_are_refused(settings, court):
    settings, _ = _witnessed(settings, court)
    ledger = LedgerApplication(settings)
    fill(ledger, cases=1, per_case=2)
    ledger.checkpointer.checkpoint_now()
    stranger = base64.b64encode(Ed25519PrivateKey.generate().sign(b"anything")).decode()

    with running(ledger_app(settings)) as client:
        answers = [
            client.post(
                "/checkpoints/2/cosignatures", json={"witness": "monitor", "signature": stranger}
            ),
            client.post(
                "/checkpoints/2/cosignatures", json={"witness": "court", "signature": stranger}
            ),
            client.post(
                "/checkpoints/3/cosignatures", json={"witness": "court", "signature": stranger}
            ),
            client.post("/checkpoints/2/cosignatures", json={"witness": "court"}),
            client.post(
                "/checkpoints/2/cosignatures",
                content=b"{",
                headers={"content-type": "application/json"},
            ),
        ]
    stored = ledger.checkpointer.get(2).cosignatures
    ledger.close()

    assert [a.status_code for a in answers] == [403, 403, 404, 422, 400]
    assert json.loads(answers[1].text)["detail"].startswith("the signature does not verify")
    assert stored == ()


def test_a_tail_cut_with_the_checkpoints_over_it_is_caught_against_a_witness(
    settings, court, capsys
):
    settings, state = _witnessed(settings, court)
    ledger = LedgerApplication(settings)
    token = token_for(settings, "auditor")
    with running(ledger_app(settings)) as client:
        witness = Witness(state, "http://testserver", name="court", token=token, client=client)
        fill(ledger, cases=2, per_case=3)
        ledger.checkpointer.checkpoint_now()
        witness.step(say=lambda _: None)
        fill(ledger, cases=1, per_case=3)
        ledger.checkpointer.checkpoint_now()
        witness.step(say=lambda _: None)
    ledger.close()
    with tampering(settings, "entries", "tree_nodes", "checkpoints", "cosignatures") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq > 6")
        conn.execute("DELETE FROM ledger.tree_nodes WHERE (idx + 1) << level > 6")
        conn.execute("DELETE FROM ledger.cosignatures WHERE tree_size > 6")
        conn.execute("DELETE FROM ledger.checkpoints WHERE tree_size > 6")

    codes = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", settings.database_url)
        env.setenv("CASELINE_ENVIRONMENT", "test")
        env.setenv("CASELINE_LEDGER_WITNESS_KEYS", settings.ledger_witness_keys)
        for argv in (["verify", "--all"], ["verify", "--all", "--witness", str(state)]):
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            codes.append(exit_.value.code)
    out = capsys.readouterr().out

    assert codes == [0, 1], "a tail cut with its checkpoints fools the ledger alone"
    assert "first bad entry: 7; entries 7 to 9 are missing: the tail was cut" in out
    assert "witness court's copy covers 9 entries" in out
