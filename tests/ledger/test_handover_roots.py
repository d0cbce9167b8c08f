"""A handover v2 names the root of the tree where the old key stopped, as well as its size: a
retired key that leaked then signs no made-up history of that size, nor of a smaller one, that
passes the ledger's verification, `caseline verify-bundle` or a witness. Handovers v1 keep their
size-only bound, and `caseline keys rotate-ledger` run again with both keys upgrades them."""

from __future__ import annotations

import base64
import json
import shutil
from hashlib import sha256

import psycopg
import pytest

from caseline.bundle import BundleError, handover_ends, parse_statement, verify_bundle
from services.ledger.application import LedgerApplication
from services.ledger.handovers import HandoverError, StoredHandover, handovers
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import Handover, KeyEnd
from services.ledger.tree import EMPTY_ROOT
from shared.kit.migrations import Migrator, migrations_folder
from tests.ledger.rotation import Rotation, cli, forged_bundle, public, witness_for
from tests.support import auth, running

MADE_UP = sha256(b"a made-up history").digest()


@pytest.fixture
def rotation(settings, tmp_path) -> Rotation:
    return Rotation(settings, tmp_path)


@pytest.fixture
def handed_over(rotation) -> tuple[Rotation, list[str]]:
    """The old key signs 6 entries (cases A and B, interleaved), then 9 (case C), and hands over
    after 9: the new key has signed nothing yet."""
    cases = rotation.sign(rotation.before, cases=2) + rotation.sign(rotation.before)
    assert rotation.hand_over() == 0
    return rotation, cases


def _short(root: bytes) -> str:
    return root.hex()[:16] + "…"


def _differs(rotation: Rotation, size: int, root: bytes) -> str:
    return (
        f"signed by key {rotation.old.key_id} at tree size {size} with root {_short(root)}, which"
        f" differs from the root {_short(rotation.root(size))} its handover to key"
        f" {rotation.new_id} names for that size"
    )


def _recorded(rotation: Rotation) -> list[tuple[int, int, bytes | None]]:
    ledger = LedgerApplication(rotation.before)
    try:
        return [
            (h.handover.version, h.handover.last_tree_size, h.handover.last_root_hash)
            for h in handovers(ledger.store)
        ]
    finally:
        ledger.close()


def _export(rotation: Rotation, case: str) -> bytes:
    with running(ledger_app(rotation.after)) as client:
        response = client.get(f"/cases/{case}/export", headers=auth(rotation.after, "auditor"))
    assert response.status_code == 200, response.text
    return response.content


def test_rotate_ledger_records_a_handover_v2_naming_the_root_where_the_old_key_stopped(
    handed_over,
):
    rotation, _ = handed_over

    recorded = _recorded(rotation)

    assert recorded == [(2, 9, rotation.root(9))]
    ledger = LedgerApplication(rotation.before)
    try:
        statement = handovers(ledger.store)[0].statement
    finally:
        ledger.close()
    assert statement.startswith(b"caseline-ledger key handover v2\nold_key_id ")
    named = f"\nlast_tree_size 9\nlast_root_hash {rotation.root(9).hex()}\nhanded_over_at "
    assert named.encode() in statement
    with running(ledger_app(rotation.after)) as client:
        key = client.get("/checkpoints/key", headers=auth(rotation.after, "auditor")).json()
    assert [(r["key_id"], r["last_tree_size"], r["last_root_hash"]) for r in key["retired"]] == [
        (rotation.old.key_id, 9, rotation.root(9).hex())
    ]


def test_a_handover_before_any_checkpoint_names_the_empty_trees_root(rotation):
    LedgerApplication(rotation.before).close()  # the ledger's tables, no entry yet

    assert rotation.hand_over() == 0

    assert _recorded(rotation) == [(2, 0, EMPTY_ROOT)]


def test_the_ledger_refuses_a_checkpoint_of_the_last_size_with_another_root(handed_over, capsys):
    rotation, cases = handed_over
    rotation.forge(9, MADE_UP, replace=True)
    auditor = auth(rotation.after, "auditor")

    with running(ledger_app(rotation.after)) as client:
        verified = client.get(f"/cases/{cases[0]}/verify", headers=auditor).json()
    capsys.readouterr()
    codes = (rotation.verify_all(), rotation.verify_all("--key", rotation.old_public))
    out = capsys.readouterr().out

    reason = f"checkpoint 9: {_differs(rotation, 9, MADE_UP)}"
    assert not verified["ok"]
    assert verified["reason"] == reason
    assert codes == (1, 1)
    assert out.count(f"FAILED: {reason}") == 2, out


def test_the_ledger_refuses_a_smaller_checkpoint_of_a_handed_over_key_unless_consistent(
    handed_over, capsys
):
    rotation, _ = handed_over
    capsys.readouterr()
    genuine = rotation.verify_all()  # the old key's checkpoint of 6, consistent with its 9
    rotation.forge(5)  # the true root at 5: consistent
    consistent = rotation.verify_all()
    rotation.forge(4, MADE_UP)

    codes = (rotation.verify_all(), rotation.verify_all("--key", rotation.old_public))

    out = capsys.readouterr().out
    reason = (
        f"checkpoint 4: signed by key {rotation.old.key_id} at tree size 4 with root"
        f" {_short(MADE_UP)}, which the ledger's tree does not show consistent with the root"
        f" {_short(rotation.root(9))} its handover to key {rotation.new_id} names at tree size 9"
    )
    assert (genuine, consistent) == (0, 0), out
    assert codes == (1, 1)
    assert out.count(f"FAILED: {reason}") == 2, out


def test_verify_bundle_pinning_the_new_key_refuses_a_made_up_history_the_old_key_signed(
    handed_over,
):
    rotation, cases = handed_over
    raw = _export(rotation, cases[0])  # case A: entries 1, 3 and 5, against the old key's 9
    new_key = public(rotation.new)

    genuine = verify_bundle(raw, trusted_key=new_key)
    at_last = verify_bundle(forged_bundle(raw, rotation.old, 9), trusted_key=new_key)
    smaller = verify_bundle(forged_bundle(raw, rotation.old, 6), trusted_key=new_key)

    assert genuine.ok, genuine.lines()
    assert genuine.handed_over == [rotation.old.key_id, rotation.new_id]
    assert not any("handover v1" in line for line in genuine.lines())
    assert not at_last.ok
    made_up = at_last.checkpoint.root_hash
    assert at_last.reason == (
        f"the bundle's checkpoint 9 is signed by key {rotation.old.key_id} with root"
        f" {_short(made_up)}, which differs from the root {_short(rotation.root(9))} its"
        f" handover to key {rotation.new_id} names for tree size 9"
    )
    assert not smaller.ok
    assert smaller.reason == (
        f"the bundle's checkpoint 6 is signed by key {rotation.old.key_id} at tree size 6, before"
        f" the last it signed (9), for which its handover to key {rotation.new_id} names root"
        f" {_short(rotation.root(9))}: offline, nothing shows this checkpoint's root"
        f" {_short(smaller.checkpoint.root_hash)} is of that tree. The ledger exports against its"
        " latest checkpoint: export the bundle again"
    )


def test_a_witness_refuses_a_checkpoint_of_the_last_size_with_another_root(handed_over, tmp_path):
    rotation, _ = handed_over
    rotation.forge(9, MADE_UP, replace=True)
    state = tmp_path / "court"
    said: list[str] = []

    with running(ledger_app(rotation.after)) as client:
        witness = witness_for(rotation.after, state, client, ledger_key=rotation.old_public)
        status = witness.run(0, once=True, say=said.append)
    config = json.loads((state / "witness.json").read_text())

    assert status == 2
    assert said[-1] == (
        f"ALERT: checkpoint 9 is signed by key {rotation.old.key_id} with root {_short(MADE_UP)},"
        f" which differs from the root {_short(rotation.root(9))} its handover to key"
        f" {rotation.new_id} names for tree size 9: refusing it"
    )
    assert config["key_ends"][rotation.old.key_id] == {
        "last_tree_size": 9,
        "new_key_id": rotation.new_id,
        "last_root_hash": rotation.root(9).hex(),
    }
    assert not (state / "checkpoints.jsonl").exists()


def test_a_handover_v1_keeps_its_size_bound_and_says_its_root_is_not_on_record(rotation, capsys):
    case = rotation.sign(rotation.before, cases=2)[0]
    rotation.keep_v1(6)  # as the release before v2 recorded it
    raw = _export(rotation, case)
    verified = rotation.verify_all()
    capsys.readouterr()
    listed = cli(rotation.after, ["keys", "handovers"])
    listing = capsys.readouterr().out
    rotation.backdate()

    past = rotation.verify_all()

    out = capsys.readouterr().out
    report = verify_bundle(raw, trusted_key=public(rotation.new))
    note = f"handover v1: the root where key {rotation.old.key_id} stopped is not on record"
    assert (verified, listed) == (0, 0)
    assert report.ok, report.lines()
    assert sum(note in line for line in report.lines()) == 1, report.lines()
    assert listing == f"{rotation.old.key_id} → {rotation.new_id}: last tree size 6; {note}\n"
    assert past == 1
    assert (
        f"FAILED: checkpoint 9: signed by key {rotation.old.key_id} after it stopped signing: the"
        f" last tree size it signed is 6 (its handover to key {rotation.new_id}), this"
        " checkpoint's is 9"
    ) in out


def test_rotate_ledger_run_again_with_both_keys_upgrades_a_handover_v1(rotation, capsys):
    case = rotation.sign(rotation.before, cases=2)[0]
    rotation.keep_v1(6)
    capsys.readouterr()

    codes = (rotation.hand_over(), rotation.hand_over())

    out = capsys.readouterr().out
    root = rotation.root(6)
    assert codes == (0, 0)
    assert _recorded(rotation) == [(1, 6, None), (2, 6, root)]
    assert (
        f"the old key signed checkpoints up to tree size 6, of root {root.hex()}, and verifiers"
        " refuse any it signs beyond, or of another tree"
    ) in out
    assert (
        "it is the v2 of the handover v1 on record, kept beside it: verifiers now check the root"
        f" where key {rotation.old.key_id} stopped too"
    ) in out
    assert cli(rotation.after, ["keys", "handovers"]) == 0
    assert capsys.readouterr().out == (
        f"{rotation.old.key_id} → {rotation.new_id}: last tree size 6, of root {root.hex()}"
        " (handover v2)\n"
    )
    raw = _export(rotation, case)
    carried = [
        Handover.decode(base64.b64decode(h["statement"])).version
        for h in json.loads(raw)["key_handovers"]
    ]
    report = verify_bundle(raw, trusted_key=public(rotation.new))
    forged = verify_bundle(forged_bundle(raw, rotation.old, 6), trusted_key=public(rotation.new))
    assert carried == [2]
    assert report.ok, report.lines()
    assert not any("handover v1" in line for line in report.lines())
    assert forged.reason == (
        f"the bundle's checkpoint 6 is signed by key {rotation.old.key_id} with root"
        f" {_short(forged.checkpoint.root_hash)}, which differs from the root {_short(root)} its"
        f" handover to key {rotation.new_id} names for tree size 6"
    )

    rotation.forge(6, MADE_UP, replace=True)
    assert rotation.verify_all() == 1
    assert f"FAILED: checkpoint 6: {_differs(rotation, 6, MADE_UP)}" in capsys.readouterr().out


def test_an_upgrade_needs_the_old_keys_checkpoint_at_the_size_its_handover_v1_names(
    rotation, capsys
):
    rotation.sign(rotation.before)
    rotation.keep_v1(3)
    rotation.forge(3, MADE_UP, replace=True)  # the stored tree's root at 3 is another
    capsys.readouterr()

    code = rotation.hand_over()

    assert code == 1
    assert (
        f"no handover recorded: the checkpoint of 3 entries signed by key {rotation.old.key_id}"
        " does not hold (its signature, its statement or the stored tree's root at that size): no"
        " root to name for it"
    ) in capsys.readouterr().err
    assert _recorded(rotation) == [(1, 3, None)]


def test_a_handover_v1_offered_for_recording_is_refused(rotation):
    rotation.sign(rotation.before)
    ledger = LedgerApplication(rotation.before)

    try:
        with pytest.raises(HandoverError) as refused:
            ledger.record_handover(rotation.handover_v1(3))
    finally:
        ledger.close()

    assert str(refused.value) == (
        f"the handover of key {rotation.old.key_id} is a v1 (it names no root): the ledger records"
        " handovers v2 only, which name the root of the tree where the old key stopped; sign it"
        " again with `caseline keys rotate-ledger`"
    )
    assert _recorded(rotation) == []


def test_a_handover_v2_naming_another_root_than_the_old_keys_last_is_not_recorded(rotation):
    rotation.sign(rotation.before)

    refused = rotation.refusal(3, MADE_UP)

    assert refused == (
        f"the handover names root {MADE_UP.hex()} for tree size 3; the checkpoint key"
        f" {rotation.old.key_id} signed at that size has root {rotation.root(3).hex()}"
    )
    assert _recorded(rotation) == []


def test_the_migration_keeps_handovers_v1_and_lets_their_v2_stand_beside_them(
    settings, rotation, tmp_path
):
    before_roots = tmp_path / "ledger"
    shutil.copytree(migrations_folder(settings, "ledger"), before_roots)
    (before_roots / "0005_key_handover_roots.sql").unlink()
    Migrator(settings, "ledger", before_roots).run()  # the schema of the release before
    rotation.sign(rotation.before)
    rotation.keep_v1(3)

    done, _ = Migrator(settings, "ledger").run()
    code = rotation.hand_over()

    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute(
            "SELECT version, substring(statement from 1 for 31) FROM ledger.key_handovers"
            " ORDER BY recorded_at"
        ).fetchall()
    assert done == ["0005_key_handover_roots"]
    assert code == 0
    assert rows == [
        (1, b"caseline-ledger key handover v1"),
        (2, b"caseline-ledger key handover v2"),
    ]


# A key is handed over once. Whoever holds the old key after it leaked can sign a handover of it
# to a key of their own, signed by both: shown beside the genuine one, it must not weaken it.


def test_verify_bundle_refuses_a_bundle_showing_the_old_key_handed_over_twice(handed_over):
    rotation, cases = handed_over
    raw = _export(rotation, cases[0])
    new_key = public(rotation.new)
    at_last = json.loads(forged_bundle(raw, rotation.old, 9))
    root = parse_statement(base64.b64decode(at_last["checkpoint"]["statement"])).root_hash
    theirs = rotation.leaked(9, root)  # after the genuine handover, naming the made-up root
    at_last["key_handovers"].append(theirs.body())
    smaller = json.loads(forged_bundle(raw, rotation.old, 6))
    smaller["key_handovers"].insert(0, rotation.leaked(6).body())

    reports = [
        verify_bundle(
            (json.dumps(bundle, sort_keys=True, separators=(",", ":")) + "\n").encode(),
            trusted_key=new_key,
        )
        for bundle in (at_last, smaller)
    ]

    assert [r.ok for r in reports] == [False, False]
    assert reports[0].reason == (
        f"key {rotation.old.key_id} is handed over twice, differently (to key {rotation.new_id}"
        f" after 9 entries, to key {theirs.new_key_id} after 9, or to other roots): a key is"
        " handed over once, so its private key was used by someone else, and nothing it signed"
        " can be trusted"
    ), reports[0].lines()
    assert "is handed over twice, differently" in (reports[1].reason or ""), reports[1].lines()


def test_the_ledger_trusts_nothing_a_key_handed_over_twice_signed(handed_over, capsys):
    rotation, _ = handed_over
    rotation.insert(rotation.leaked(9))  # a v1 beside the genuine v2, to the attacker's key
    capsys.readouterr()

    codes = (rotation.verify_all(), rotation.verify_all("--key", rotation.old_public))

    out = capsys.readouterr().out
    assert codes == (1, 1)
    assert out.count(f"key {rotation.old.key_id} is handed over twice, differently") >= 2, out


def test_a_witness_alerts_when_the_ledger_serves_another_handover_than_the_one_it_holds(
    handed_over, tmp_path
):
    rotation, _ = handed_over
    state = tmp_path / "court"
    said: list[str] = []
    with running(ledger_app(rotation.after)) as client:
        witness = witness_for(rotation.after, state, client, ledger_key=rotation.old_public)
        first = witness.run(0, once=True, say=said.append)  # holds 9 and the genuine handover
    theirs = rotation.leaked(9, MADE_UP)
    rotation.insert(theirs, replacing=True)
    rotation.forge(9, MADE_UP, replace=True)

    with running(ledger_app(rotation.after)) as client:
        second = witness_for(rotation.after, state, client).run(0, once=True, say=said.append)
    config = json.loads((state / "witness.json").read_text())

    assert (first, second) == (0, 2), said
    assert said[-1].startswith(
        f"ALERT: the ledger serves a handover of key {rotation.old.key_id} other than the one"
        f" this witness holds (to key {rotation.new_id} after 9 entries; now to key"
        f" {theirs.new_key_id} after 9"
    ), said
    assert config["key_ends"][rotation.old.key_id]["new_key_id"] == rotation.new_id
    assert config["key_ends"][rotation.old.key_id]["last_root_hash"] == rotation.root(9).hex()


def test_a_witness_alerts_when_the_ledger_serves_two_handovers_of_one_key(handed_over, tmp_path):
    rotation, _ = handed_over
    rotation.insert(rotation.leaked(9))  # beside the genuine one
    said: list[str] = []

    with running(ledger_app(rotation.after)) as client:
        witness = witness_for(rotation.after, tmp_path / "court", client, rotation.old_public)
        status = witness.run(0, once=True, say=said.append)

    assert status == 2
    assert "the ledger serves a bad key handover" in said[-1], said
    assert "is handed over twice, differently" in said[-1], said


def test_a_handover_on_record_whose_signatures_fail_is_never_taken_for_the_kept_one(
    rotation, capsys
):
    rotation.sign(rotation.before, cases=2)
    rotation.keep_v1(6)
    genuine = rotation.handover_v1(6)
    bad = StoredHandover(
        genuine.old_key_id, genuine.new_key_id,
        genuine.statement.replace(b"handover v1", b"handover v2").replace(
            b"\nhanded_over_at", b"\nlast_root_hash " + MADE_UP.hex().encode() + b"\nhanded_over_at"
        ),
        genuine.old_signature, genuine.new_signature,
    )  # fmt: skip
    rotation.insert(bad)
    capsys.readouterr()

    code = rotation.hand_over()

    assert code == 1
    assert (
        f"a handover of key {rotation.old.key_id} on record does not hold: the handover is not"
        f" signed by the old key {rotation.old.key_id}"
    ) in capsys.readouterr().err


def test_a_handover_statement_that_is_not_utf8_is_a_malformed_handover():
    item = {"statement": base64.b64encode(b"\xff\xfe handover").decode()}

    with pytest.raises(BundleError) as refused:
        handover_ends([item])

    assert refused.value.reason == "a key handover statement is malformed"


def test_a_configured_end_below_a_handovers_size_keeps_the_root_its_handover_v2_names():
    handed = KeyEnd(9, "new", MADE_UP, 9)

    both = [handed.earlier(KeyEnd(6)), KeyEnd(6).earlier(handed)]

    assert [(e.last_tree_size, e.last_root, e.root_size, e.successor) for e in both] == [
        (6, MADE_UP, 9, "new"),
        (6, MADE_UP, 9, "new"),
    ]
