"""Rotating the checkpoint key: old checkpoints still verify with the retired key, a handover
signed by the old key and naming the last tree size it signed lets witnesses and offline
verifiers follow, anything else is refused."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle, verify_consistency
from caseline.witness import Witness
from services.ledger.application import LedgerApplication
from services.ledger.handovers import HandoverError, StoredHandover, handovers
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import Handover, ledger_key
from services.ledger.tree import EMPTY_ROOT
from tests.ledger.rotation import Rotation, cli, public, seed, witness_for
from tests.support import auth, running
from tests.support.database import ledger_role, settings_with


@pytest.fixture
def rotation(settings, tmp_path) -> Rotation:
    return Rotation(settings, tmp_path)


def test_checkpoints_before_and_after_a_rotation_verify_everywhere(rotation, capsys):
    first = rotation.sign(rotation.before, cases=2)[0]
    assert rotation.hand_over() == 0
    auditor = auth(rotation.after, "auditor")

    with running(ledger_app(rotation.after)) as client:
        # Before the new key signs anything: the latest checkpoint is the retired key's.
        verified_old = client.get(f"/cases/{first}/verify", headers=auditor).json()
        bundle_old = client.get(f"/cases/{first}/export", headers=auditor).content
        later = rotation.sign(rotation.after)[0]
        verified = [
            client.get(f"/cases/{c}/verify", headers=auditor).json() for c in (first, later)
        ]
        key = client.get("/checkpoints/key", headers=auditor).json()
        sizes = [6, 9]
        roots = [client.get(f"/checkpoints/{n}", headers=auditor).json() for n in sizes]
        proof = client.get("/proofs/consistency?first=6&second=9", headers=auditor).json()
        bundle_new = client.get(f"/cases/{first}/export", headers=auditor).content
    capsys.readouterr()
    code = cli(
        rotation.after,
        ["verify", "--all"],
        CASELINE_LEDGER_SIGNING_KEY=seed(rotation.new),
        CASELINE_LEDGER_RETIRED_KEYS=rotation.old_public,
    )
    out = capsys.readouterr().out
    trusting_old = cli(rotation.after, ["verify", "--all", "--key", rotation.old_public])
    stranger = cli(
        rotation.after, ["verify", "--all", "--key", public(Ed25519PrivateKey.generate())]
    )

    assert (trusting_old, stranger) == (0, 1), "--key follows the handovers from the key given"
    assert verified_old["ok"] and all(v["ok"] for v in verified), (verified_old, verified)
    assert [r["key_id"] for r in roots] == [rotation.old.key_id, key["key_id"]]
    assert key["public_key"] == public(rotation.new)
    assert [(r["key_id"], r["last_tree_size"]) for r in key["retired"]] == [
        (rotation.old.key_id, 6)
    ]
    assert [(h["old_key_id"], h["new_key_id"]) for h in key["handovers"]] == [
        (rotation.old.key_id, key["key_id"])
    ]
    assert verify_consistency(
        6, 9, *(bytes.fromhex(r["root_hash"]) for r in roots),
        [bytes.fromhex(p) for p in proof["proof"]],
    )  # fmt: skip
    assert code == 0, out
    assert "2 checkpoints" in out
    old_report = verify_bundle(bundle_old, trusted_key=rotation.old_public)
    assert old_report.ok, old_report.lines()
    assert old_report.checkpoint.key_id == rotation.old.key_id
    new_report = verify_bundle(bundle_new, trusted_key=rotation.old_public)
    assert new_report.ok, new_report.lines()
    assert new_report.handed_over == [rotation.old.key_id, key["key_id"]]
    assert verify_bundle(bundle_new, trusted_key=public(rotation.new)).ok
    trusting_new = verify_bundle(bundle_old, trusted_key=public(rotation.new))
    assert trusting_new.ok, trusting_new.lines()
    assert trusting_new.handed_over == [rotation.old.key_id, key["key_id"]]
    assert trusting_new.trusted_is_newer


def test_verify_bundle_refuses_a_key_no_handover_from_the_trusted_key_leads_to(rotation):
    rotation.sign(rotation.before)
    assert rotation.hand_over() == 0
    case = rotation.sign(rotation.after)[0]
    ledger = LedgerApplication(rotation.after)
    raw = ledger.export(case)
    ledger.close()
    stranger = public(Ed25519PrivateKey.generate())
    bundle = json.loads(raw)
    bundle["key_handovers"] = []
    stripped = (json.dumps(bundle, sort_keys=True, separators=(",", ":")) + "\n").encode()

    refused = [verify_bundle(raw, trusted_key=stranger), verify_bundle(stripped,
               trusted_key=rotation.old_public)]  # fmt: skip

    assert verify_bundle(stripped).ok, "without a trusted key the bundle stands on its own"
    for report in refused:
        assert not report.ok
        assert "not by the key you trust" in report.reason
        assert "no handover signed by the key you trust leads to it" in report.reason


def test_a_witness_follows_a_handover_signed_by_its_pinned_key_and_repins(rotation, tmp_path):
    state = tmp_path / "court"
    rotation.sign(rotation.before)
    with running(ledger_app(rotation.before)) as client:
        witness_for(rotation.before, state, client).step(say=lambda _: None)
    assert rotation.hand_over() == 0
    rotation.sign(rotation.after)
    said: list[str] = []

    with running(ledger_app(rotation.after)) as client:
        witness = witness_for(rotation.after, state, client)
        checkpoint = witness.step(say=said.append)
        again = witness.step(say=said.append)
    config = json.loads((state / "witness.json").read_text())
    reopened = Witness(state, "http://x", ledger_key=rotation.old_public)

    assert checkpoint.tree_size == 6 and again.tree_size == 6
    assert checkpoint.key_id == ledger_key(rotation.after).key_id
    assert config["ledger_key"] == public(rotation.new)
    assert config["handed_over_from"] == [rotation.old_public]
    assert reopened.config["ledger_key"] == public(rotation.new)
    assert len([s for s in said if s.startswith("followed the ledger's key handover")]) == 1


def test_a_witness_refuses_a_rotation_without_a_handover(rotation, tmp_path):
    state = tmp_path / "court"
    rotation.sign(rotation.before)
    with running(ledger_app(rotation.before)) as client:
        witness_for(rotation.before, state, client).step(say=lambda _: None)
    rotation.sign(rotation.after)
    said: list[str] = []

    with running(ledger_app(rotation.after)) as client:
        status = witness_for(rotation.after, state, client).run(0, once=True, say=said.append)
    config = json.loads((state / "witness.json").read_text())

    assert status == 2
    assert said[-1].startswith(
        f"ALERT: checkpoint 6 is signed by key {ledger_key(rotation.after).key_id}, not by the key"
        " you trust"
    ), said
    assert config["ledger_key"] == rotation.old_public


def test_a_checkpoint_signed_by_a_key_neither_current_nor_retired_is_reported(rotation, capsys):
    case = rotation.sign(rotation.before)[0]
    forgotten = settings_with(rotation.after, ledger_retired_keys="")
    auditor = auth(forgotten, "auditor")

    with running(ledger_app(forgotten)) as client:
        verified = client.get(f"/cases/{case}/verify", headers=auditor).json()
    capsys.readouterr()
    code = cli(forgotten, ["verify", "--all"], CASELINE_LEDGER_SIGNING_KEY=seed(rotation.new))
    out = capsys.readouterr().out

    named = (
        f"checkpoint 3: signed by key {rotation.old.key_id}, which is neither the ledger's current"
        " key nor a retired one"
    )
    assert not verified["ok"]
    assert verified["reason"] == named
    assert code == 1
    assert named in out


def test_a_handover_not_signed_by_both_keys_is_not_recorded(rotation):
    stranger = Ed25519PrivateKey.generate()
    assert rotation.old.private is not None
    handover, data, _, new_sig = Handover.signed(
        rotation.old.private, rotation.new, 0, EMPTY_ROOT, "2026-12-01Z"
    )
    forged = StoredHandover(
        handover.old_key_id, handover.new_key_id, data, stranger.sign(data), new_sig
    )
    ledger = LedgerApplication(rotation.before)

    try:
        with pytest.raises(ValueError, match="not signed by the old key"):
            ledger.record_handover(forged)
        listed = ledger.public_key()["handovers"]
    finally:
        ledger.close()

    assert listed == []


def _recorded(settings) -> list[Handover]:
    ledger = LedgerApplication(settings)
    try:
        return [h.handover for h in handovers(ledger.store)]
    finally:
        ledger.close()


def test_the_handover_names_the_last_tree_size_the_old_key_signed(rotation, capsys):
    rotation.sign(rotation.before, cases=2)
    capsys.readouterr()

    code = rotation.hand_over()

    recorded = _recorded(rotation.before)
    assert code == 0
    assert [(h.old_key_id, h.new_key_id, h.last_tree_size) for h in recorded] == [
        (rotation.old.key_id, rotation.new_id, 6)
    ]
    assert b"\nlast_tree_size 6\n" in recorded[0].encode()
    assert "the old key signed checkpoints up to tree size 6," in capsys.readouterr().out


def test_the_ledgers_own_role_cannot_record_a_handover(rotation, capsys):
    """`rotate-ledger` is the owner's: run with the running ledger's role, it says so, and
    nothing is recorded; as the owner, the same command records it."""
    rotation.sign(rotation.before)
    capsys.readouterr()

    with ledger_role(rotation.before) as restricted:
        refused = cli(
            restricted,
            ["keys", "rotate-ledger", "--old-key", str(rotation.old_file)],
            CASELINE_LEDGER_SIGNING_KEY=seed(rotation.new),
        )
        said = capsys.readouterr().err
        left = _recorded(restricted)
    recorded = rotation.hand_over()

    assert (refused, left) == (1, [])
    assert "may not record one" in said
    assert "run this command as the database owner" in said
    assert recorded == 0
    assert [h.new_key_id for h in _recorded(rotation.before)] == [rotation.new_id]


def test_a_rotation_is_refused_while_the_latest_checkpoint_is_signed_by_another_key(
    rotation, capsys
):
    rotation.sign(rotation.before)
    rotation.sign(rotation.after)
    capsys.readouterr()

    code = rotation.hand_over()

    assert code == 1
    assert (
        f"no handover recorded: the latest checkpoint (6 entries) is signed by key"
        f" {rotation.new_id}, not by the old key {rotation.old.key_id}"
    ) in capsys.readouterr().err
    assert _recorded(rotation.before) == []


def test_a_ledger_still_running_with_a_handed_over_key_signs_no_more_checkpoints(rotation):
    rotation.sign(rotation.before)
    assert rotation.hand_over() == 0

    rotation.sign(rotation.before)

    ledger = LedgerApplication(rotation.after)
    try:
        sizes = [(c.tree_size, c.key_id) for c in ledger.checkpointer.all()]
    finally:
        ledger.close()
    assert sizes == [(3, rotation.old.key_id)]


def test_a_handover_naming_another_tree_size_than_the_old_keys_last_is_not_recorded(rotation):
    rotation.sign(rotation.before)

    refused = rotation.refusal(2, rotation.root(2))

    assert refused == (
        f"the handover names 2 as the last tree size key {rotation.old.key_id} signed; its"
        " latest checkpoint is of 3 entries"
    )
    assert _recorded(rotation.before) == []


def test_a_key_is_handed_over_once(rotation):
    rotation.sign(rotation.before)
    assert rotation.hand_over() == 0
    assert rotation.old.private is not None
    ledger = LedgerApplication(rotation.before)

    try:
        again = ledger.hand_over(rotation.old.private, rotation.new, "2026-12-02T00:00:00Z")
        with pytest.raises(HandoverError) as refused:
            ledger.hand_over(rotation.old.private, Ed25519PrivateKey.generate(), "2026-12-02Z")
    finally:
        ledger.close()

    assert again.new_key_id == rotation.new_id
    assert "was already handed over, to key" in str(refused.value)
    assert len(_recorded(rotation.before)) == 1
