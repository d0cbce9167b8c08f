"""A retired checkpoint key that leaked signs nothing that passes: a checkpoint of it beyond the
last tree size its handover names is refused by the ledger, `caseline verify --all`, a bundle's
offline check and a witness; one within that range still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle
from services.ledger.service import create_app as ledger_app
from tests.ledger.helpers import tampering
from tests.ledger.rotation import Rotation, public, witness_for
from tests.support import auth, running
from tests.support.database import settings_with


@pytest.fixture
def rotation(settings, tmp_path) -> Rotation:
    return Rotation(settings, tmp_path)


@pytest.fixture
def backdated(rotation) -> tuple[Rotation, list[str]]:
    """The old key signs 6 entries and hands over; the new key signs 9; then the old key, leaked,
    signs 12 (a checkpoint inserted by hand, the latest). The cases: one from each part."""
    first = rotation.sign(rotation.before, cases=2)[0]
    assert rotation.hand_over() == 0
    later = rotation.sign(rotation.after)[0]
    assert rotation.backdate() == 12
    return rotation, [first, later]


def _past(rotation: Rotation) -> str:
    return (
        f"signed by key {rotation.old.key_id} after it stopped signing: the last tree size it"
        f" signed is 6 (its handover to key {rotation.new_id}), this checkpoint's is 12"
    )


def test_the_ledger_reports_a_backdated_checkpoint_of_a_retired_key(backdated):
    rotation, cases = backdated
    auditor = auth(rotation.after, "auditor")

    with running(ledger_app(rotation.after)) as client:
        verified = [client.get(f"/cases/{c}/verify", headers=auditor).json() for c in cases]

    for result in verified:
        assert not result["ok"]
        assert result["reason"] == f"checkpoint 12: {_past(rotation)}"


def test_verify_all_reports_a_backdated_checkpoint_and_only_it(backdated, capsys):
    rotation, _ = backdated
    capsys.readouterr()

    code = rotation.verify_all()
    trusting_old = rotation.verify_all("--key", rotation.old_public)

    out = capsys.readouterr().out
    assert (code, trusting_old) == (1, 1)
    assert out.count(f"FAILED: checkpoint 12: {_past(rotation)}") == 2, out
    assert "also:" not in out, "the checkpoints of 6 (old key) and 9 (new key) verify"


def test_a_bundle_against_a_backdated_checkpoint_fails_offline(backdated):
    rotation, cases = backdated
    auditor = auth(rotation.after, "auditor")
    with running(ledger_app(rotation.after)) as client:
        raw = client.get(f"/cases/{cases[1]}/export", headers=auditor).content
    bundle = json.loads(raw)
    bundle["key_handovers"] = []
    stripped = (json.dumps(bundle, sort_keys=True, separators=(",", ":")) + "\n").encode()

    reports = [
        verify_bundle(raw),
        verify_bundle(raw, trusted_key=public(rotation.new)),
        verify_bundle(raw, trusted_key=rotation.old_public),
    ]
    without_handover = verify_bundle(stripped, trusted_key=public(rotation.new))

    for report in reports:
        assert not report.ok
        assert report.reason == f"the bundle's checkpoint 12 is {_past(rotation)}"
    assert not without_handover.ok
    assert "not by the key you trust" in without_handover.reason


def _registered(tmp_path: Path, rotation: Rotation) -> tuple[Path, str]:
    """A witness's state directory with its key made beforehand, and its registration."""
    key = Ed25519PrivateKey.generate()
    state = tmp_path / "court"
    state.mkdir()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (state / "witness.key").write_bytes(pem)
    return state, f"court={public(key)}"


def test_a_witness_refuses_to_cosign_a_backdated_checkpoint_of_its_pinned_key(rotation, tmp_path):
    state, registration = _registered(tmp_path, rotation)
    before = settings_with(rotation.before, ledger_witness_keys=registration)
    after = settings_with(rotation.after, ledger_witness_keys=registration)
    rotation.sign(before, cases=2)
    with running(ledger_app(before)) as client:
        witness_for(before, state, client).step(say=lambda _: None)
    assert rotation.hand_over() == 0
    rotation.sign(after)
    rotation.backdate()
    said: list[str] = []

    with running(ledger_app(after)) as client:
        status = witness_for(after, state, client).run(0, once=True, say=said.append)
        latest = client.get("/checkpoints/latest", headers=auth(after, "auditor")).json()

    assert status == 2
    assert said[-1] == f"ALERT: checkpoint 12 is {_past(rotation)}: refusing it"
    assert (latest["ledger_size"], latest["cosignatures"]) == (12, [])
    held = (state / "checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line)["tree_size"] for line in held] == [6]


def test_a_witness_remembers_where_a_key_stopped_when_the_ledger_hides_its_handover(
    rotation, tmp_path
):
    state = tmp_path / "court"
    rotation.sign(rotation.before, cases=2)
    assert rotation.hand_over() == 0
    with running(ledger_app(rotation.after)) as client:
        # Within the handed-over range: the old key's checkpoint of 6 is still the latest.
        pinned = witness_for(rotation.after, state, client, ledger_key=rotation.old_public)
        kept = pinned.step(say=lambda _: None)
    rotation.sign(rotation.after)
    rotation.backdate()
    with tampering(rotation.after, "key_handovers") as conn:
        conn.execute("DELETE FROM ledger.key_handovers")
    said: list[str] = []

    with running(ledger_app(rotation.after)) as client:
        status = witness_for(rotation.after, state, client).run(0, once=True, say=said.append)

    assert (kept.tree_size, kept.key_id) == (6, rotation.old.key_id)
    assert status == 2
    assert said[-1] == f"ALERT: checkpoint 12 is {_past(rotation)}: refusing it"


def test_a_retired_key_without_a_handover_verifies_nowhere(rotation, capsys):
    rotation.sign(rotation.before)
    rotation.sign(rotation.after)
    capsys.readouterr()

    code = rotation.verify_all()

    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"FAILED: checkpoint 3: signed by retired key {rotation.old.key_id}, whose last tree size"
        " is on record nowhere (no handover from it to a key the ledger trusts, none configured"
        " for it)"
    ) in out


def test_a_retired_key_without_a_handover_verifies_up_to_the_configured_last_tree_size(
    rotation, capsys
):
    rotation.sign(rotation.before)
    rotation.sign(rotation.after)
    capsys.readouterr()

    codes = [rotation.verify_all(retired=f"{rotation.old_public}@{last}") for last in (3, 2)]

    out = capsys.readouterr().out
    assert codes == [0, 1], out
    assert (
        f"FAILED: checkpoint 3: signed by key {rotation.old.key_id} after it stopped signing: the"
        " last tree size it signed is 2 (CASELINE_LEDGER_RETIRED_KEYS), this checkpoint's is 3"
    ) in out
