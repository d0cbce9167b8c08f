"""Tampering by the database owner behind the ledger's back is caught, naming the first bad entry.

3 cases of 4 interleaved entries, signed at 12; each tamper targets the middle case (ledger 2, 5,
8, 11). Every tamper kind meets every verifier: the running ledger's `GET /cases/{id}/verify`,
`caseline verify --all`, `caseline verify CASE_ID` (a fresh process) and `caseline verify-bundle`
on the bundle the running ledger exports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.cli import main
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import Statement
from services.ledger.store import entry_hash
from shared.kit.settings import Settings
from tests.ledger.helpers import fill, tampering
from tests.support import auth, running
from tests.support.database import owner
from tests.support.ledger import appendable


@dataclass(frozen=True)
class Expected:
    """Where each check must fail: a ledger position, and a position in the middle case."""

    ledger_seq: int | None
    case_seq: int | None
    words: str


def _canonical(conn: Any, ledger_seq: int) -> bytes:
    return bytes(
        conn.execute(
            "SELECT canonical FROM ledger.entries WHERE ledger_seq = %s", (ledger_seq,)
        ).fetchone()[0]
    )


def _hash(conn: Any, ledger_seq: int) -> bytes:
    return bytes(
        conn.execute("SELECT hash FROM ledger.entries WHERE ledger_seq = %s", (ledger_seq,))
        .fetchone()[0]
    )  # fmt: skip


def altered_payload(settings: Settings) -> Expected:
    with tampering(settings, "entries") as conn:
        forged = _canonical(conn, 8).replace(b"Visitor 2", b"Visitor X")
        conn.execute("UPDATE ledger.entries SET canonical = %s WHERE ledger_seq = 8", (forged,))
    return Expected(8, 3, "hash")


def altered_hash(settings: Settings) -> Expected:
    """The stored hash replaced, and the next link re-pointed at it."""
    with tampering(settings, "entries") as conn:
        digest = entry_hash(b"forged", _canonical(conn, 8))
        conn.execute("UPDATE ledger.entries SET hash = %s WHERE ledger_seq = 8", (digest,))
        conn.execute("UPDATE ledger.entries SET prev_hash = %s WHERE ledger_seq = 11", (digest,))
    return Expected(8, 3, "hash")


def forged_with_the_chain_recomputed(settings: Settings) -> Expected:
    with tampering(settings, "entries") as conn:
        forged = _canonical(conn, 8).replace(b"Visitor 2", b"Visitor X")
        digest = entry_hash(_hash(conn, 5), forged)
        conn.execute(
            "UPDATE ledger.entries SET canonical = %s, hash = %s WHERE ledger_seq = 8",
            (forged, digest),
        )
        conn.execute(
            "UPDATE ledger.entries SET prev_hash = %s, hash = %s WHERE ledger_seq = 11",
            (digest, entry_hash(digest, _canonical(conn, 11))),
        )
    return Expected(8, 3, "tree")


def forged_entry_inserted(settings: Settings) -> Expected:
    """A forged entry with a valid-looking hash put in at 6; what follows is renumbered."""
    with tampering(settings, "entries") as conn:
        row = conn.execute(
            "SELECT case_id, hash, canonical, appended_at FROM ledger.entries WHERE ledger_seq = 5"
        ).fetchone()
        case_id, prev, model = row[0], bytes(row[1]), json.loads(bytes(row[2]))
        model["event"]["data"]["with_whom"] = "A forged visitor"
        model.update(ledger_seq=6, case_seq=3)
        forged = rfc8785.dumps(model)
        conn.execute("UPDATE ledger.entries SET ledger_seq = -ledger_seq WHERE ledger_seq >= 6")
        conn.execute("UPDATE ledger.entries SET ledger_seq = 1 - ledger_seq WHERE ledger_seq < 0")
        for statement in (
            "UPDATE ledger.entries SET case_seq = -case_seq WHERE case_id = %s AND case_seq >= 3",
            "UPDATE ledger.entries SET case_seq = 1 - case_seq WHERE case_id = %s AND case_seq < 0",
        ):
            conn.execute(statement, (case_id,))
        conn.execute(
            "INSERT INTO ledger.entries (ledger_seq, event_id, case_id, case_seq, type, event_time,"
            " event_recorded_at, appended_at, canonical, prev_hash, hash)"
            " VALUES (6, gen_random_uuid(), %s, 3, %s, now(), now(), %s, %s, %s, %s)",
            (case_id, model["type"], row[3], forged, prev, entry_hash(prev, forged)),
        )
    return Expected(6, 3, "tree")


def forged_after_the_last_checkpoint(settings: Settings) -> Expected:
    """A fifth entry of each case appended (not yet signed); the middle case's, 14, rewritten."""
    ledger = LedgerApplication(settings, create=False)
    with owner(settings) as conn:
        cases = conn.execute(
            "SELECT case_id FROM ledger.entries WHERE case_seq = 1 ORDER BY ledger_seq"
        ).fetchall()
    ledger.store.append([appendable(UUID(row[0]), 4) for row in cases])
    ledger.close()
    with tampering(settings, "entries") as conn:
        forged = _canonical(conn, 14).replace(b"Visitor 4", b"Visitor X")
        conn.execute(
            "UPDATE ledger.entries SET canonical = %s, hash = %s WHERE ledger_seq = 14",
            (forged, entry_hash(_hash(conn, 11), forged)),
        )
    return Expected(14, 5, "leaf")


def deleted_middle_entry(settings: Settings) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq = 5")
    return Expected(5, 2, "missing")


def reordered_entries(settings: Settings) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute(
            "UPDATE ledger.entries SET ledger_seq = -ledger_seq, case_seq = -case_seq"
            " WHERE ledger_seq IN (5, 8)"
        )
        conn.execute("UPDATE ledger.entries SET ledger_seq = 8, case_seq = 3 WHERE ledger_seq = -5")
        conn.execute("UPDATE ledger.entries SET ledger_seq = 5, case_seq = 2 WHERE ledger_seq = -8")
    return Expected(5, 2, "prev_hash")


def truncated_case_tail(settings: Settings) -> Expected:
    """The case's last entry deleted (the log goes on after it)."""
    with tampering(settings, "entries") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq = 11")
    return Expected(11, 4, "missing")


def truncated_log_tail(settings: Settings) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq > 9")
    return Expected(10, 4, "missing")


def truncated_log_tail_and_its_tree(settings: Settings) -> Expected:
    """The last entries and the tree nodes over them deleted: the ledger would append again."""
    with tampering(settings, "entries", "tree_nodes") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq > 9")
        conn.execute("DELETE FROM ledger.tree_nodes WHERE (idx + 1) << level > 9")
    return Expected(10, 4, "missing")


def replaced_checkpoint(settings: Settings) -> Expected:
    with tampering(settings, "checkpoints") as conn:
        row = conn.execute(
            "SELECT statement FROM ledger.checkpoints WHERE tree_size = 12"
        ).fetchone()
        old = Statement.decode(bytes(row[0]))
        forged = Statement(
            12, bytes(32), old.heads_size, old.heads_root, old.signed_at, old.key_id
        ).encode()
        signature = Ed25519PrivateKey.generate().sign(forged)
        conn.execute(
            "UPDATE ledger.checkpoints SET root_hash = %s, statement = %s, signature = %s"
            " WHERE tree_size = 12",
            (bytes(32), forged, signature),
        )
    return Expected(None, None, "signature")


TAMPERS: list[Callable[[Settings], Expected]] = [
    altered_payload,
    altered_hash,
    forged_with_the_chain_recomputed,
    forged_entry_inserted,
    forged_after_the_last_checkpoint,
    deleted_middle_entry,
    reordered_entries,
    truncated_case_tail,
    truncated_log_tail,
    truncated_log_tail_and_its_tree,
    replaced_checkpoint,
]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    first_bad: int | None
    text: str


@dataclass(frozen=True)
class Ledger:
    """The signed ledger, its ledger process running, and the middle case."""

    settings: Settings
    client: Any
    case_id: str
    folder: Path


def _cli(ledger: Ledger, argv: list[str], capsys: Any) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", ledger.settings.database_url)
        env.setenv("CASELINE_ENVIRONMENT", "test")
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out + out.err


def _number(pattern: str, text: str) -> int | None:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else None


def by_the_server(ledger: Ledger, capsys: Any) -> Verdict:
    response = ledger.client.get(
        f"/cases/{ledger.case_id}/verify", headers=auth(ledger.settings, "auditor")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Verdict(body["ok"], body["first_bad_seq"], body.get("reason") or "")


def by_verify_all(ledger: Ledger, capsys: Any) -> Verdict:
    code, text = _cli(ledger, ["verify", "--all"], capsys)
    return Verdict(code == 0, _number(r"first bad entry: (\d+)", text), text)


def by_verify_case(ledger: Ledger, capsys: Any) -> Verdict:
    code, text = _cli(ledger, ["verify", ledger.case_id], capsys)
    return Verdict(code == 0, _number(r"FAILED at entry (\d+)", text), text)


def by_the_bundle(ledger: Ledger, capsys: Any) -> Verdict:
    response = ledger.client.get(
        f"/cases/{ledger.case_id}/export", headers=auth(ledger.settings, "auditor")
    )
    assert response.status_code == 200, response.text
    path = ledger.folder / "evidence.json"
    path.write_bytes(response.content)
    code, text = _cli(ledger, ["verify-bundle", str(path)], capsys)
    return Verdict(code == 0, _number(r"FAILED at entry (\d+) of the case", text), text)


VERIFIERS: list[Callable[[Ledger, Any], Verdict]] = [
    by_the_server,
    by_verify_all,
    by_verify_case,
    by_the_bundle,
]


@pytest.fixture
def signed_ledger(settings, tmp_path) -> Iterator[Ledger]:
    """Signed at 12 entries; the ledger process has already verified the middle case once."""
    ledger = LedgerApplication(settings)
    case_id = str(fill(ledger, cases=3, per_case=4)[1])
    assert ledger.checkpointer.checkpoint_now().tree_size == 12
    ledger.close()
    with running(ledger_app(settings)) as client:
        signed = Ledger(settings, client, case_id, tmp_path)
        assert by_the_server(signed, None).ok
        yield signed


@pytest.mark.parametrize("verifier", VERIFIERS, ids=lambda v: v.__name__)
def test_an_untouched_ledger_verifies(signed_ledger, capsys, verifier):
    verdict = verifier(signed_ledger, capsys)

    assert verdict.ok, verdict.text
    assert verdict.first_bad is None


@pytest.mark.parametrize("verifier", VERIFIERS, ids=lambda v: v.__name__)
@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__)
def test_each_tampering_is_caught_by_each_verifier_at_the_first_bad_entry(
    signed_ledger, capsys, tamper, verifier
):
    expected = tamper(signed_ledger.settings)

    verdict = verifier(signed_ledger, capsys)

    assert not verdict.ok, verdict.text
    where = expected.ledger_seq if verifier is by_verify_all else expected.case_seq
    assert verdict.first_bad == where, verdict.text
    if verifier is by_verify_all:
        assert expected.words in verdict.text, verdict.text
    if expected.ledger_seq is None:
        assert "signature" in verdict.text or "checkpoint" in verdict.text, verdict.text


def test_tree_nodes_deleted_are_rebuilt_from_the_entries_and_still_vouched_for(
    signed_ledger, capsys
):
    with tampering(signed_ledger.settings, "tree_nodes") as conn:
        conn.execute(
            "DELETE FROM ledger.tree_nodes WHERE (level IN (1, 2) AND idx < 2)"
            " OR (level = 0 AND idx = 4)"
        )

    verdicts = [verifier(signed_ledger, capsys) for verifier in VERIFIERS]

    assert all(v.ok for v in verdicts), [v.text for v in verdicts]


def test_an_entry_whose_proof_needs_deleted_entries_is_unproven_not_vouched_for(
    signed_ledger, capsys
):
    with tampering(signed_ledger.settings, "entries", "tree_nodes") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq = 4")
        conn.execute("DELETE FROM ledger.tree_nodes WHERE (level, idx) IN ((0, 3), (1, 1))")

    server, everything, _, bundle = (verifier(signed_ledger, capsys) for verifier in VERIFIERS)

    assert (everything.ok, everything.first_bad) == (False, 4), everything.text
    assert (server.ok, server.first_bad) == (False, 1)
    assert "cannot be proven" in server.text
    assert (bundle.ok, bundle.first_bad) == (False, 1)
    assert "cannot be proven" in bundle.text
