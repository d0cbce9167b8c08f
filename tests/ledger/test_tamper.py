"""Tampering by the database owner behind the ledger's back is caught, naming the first bad entry.

3 cases of 4 interleaved entries, signed at 12; each tamper targets the middle case (ledger 2, 5,
8, 11); `verify --all`, the case's verify and its bundle (from a fresh process) must name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle
from services.ledger.application import LedgerApplication
from services.ledger.signing import Statement
from services.ledger.store import entry_hash
from tests.ledger.helpers import fill, tampering


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


def changed_payload(settings: Any) -> Expected:
    with tampering(settings, "entries") as conn:
        forged = _canonical(conn, 8).replace(b"Visitor 2", b"Visitor X")
        conn.execute("UPDATE ledger.entries SET canonical = %s WHERE ledger_seq = 8", (forged,))
    return Expected(8, 3, "hash")


def changed_payload_with_chain_rewritten(settings: Any) -> Expected:
    with tampering(settings, "entries") as conn:
        forged = _canonical(conn, 8).replace(b"Visitor 2", b"Visitor X")
        prev = bytes(
            conn.execute("SELECT hash FROM ledger.entries WHERE ledger_seq = 5").fetchone()[0]
        )
        digest = entry_hash(prev, forged)
        conn.execute(
            "UPDATE ledger.entries SET canonical = %s, hash = %s WHERE ledger_seq = 8",
            (forged, digest),
        )
        after = _canonical(conn, 11)
        conn.execute(
            "UPDATE ledger.entries SET prev_hash = %s, hash = %s WHERE ledger_seq = 11",
            (digest, entry_hash(digest, after)),
        )
    return Expected(8, 3, "tree")


def deleted_entry(settings: Any) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq = 5")
    return Expected(5, 2, "missing")


def swapped_entries(settings: Any) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute(
            "UPDATE ledger.entries SET ledger_seq = -ledger_seq, case_seq = -case_seq"
            " WHERE ledger_seq IN (5, 8)"
        )
        conn.execute("UPDATE ledger.entries SET ledger_seq = 8, case_seq = 3 WHERE ledger_seq = -5")
        conn.execute("UPDATE ledger.entries SET ledger_seq = 5, case_seq = 2 WHERE ledger_seq = -8")
    return Expected(5, 2, "prev_hash")


def truncated_tail(settings: Any) -> Expected:
    with tampering(settings, "entries") as conn:
        conn.execute("DELETE FROM ledger.entries WHERE ledger_seq > 9")
    return Expected(10, 4, "missing")


def inserted_in_the_middle(settings: Any) -> Expected:
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


def replaced_checkpoint(settings: Any) -> Expected:
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


TAMPERS: list[Callable[[Any], Expected]] = [
    changed_payload,
    changed_payload_with_chain_rewritten,
    deleted_entry,
    swapped_entries,
    truncated_tail,
    inserted_in_the_middle,
    replaced_checkpoint,
]


@pytest.fixture
def signed_ledger(settings):
    ledger = LedgerApplication(settings)
    cases = fill(ledger, cases=3, per_case=4)
    assert ledger.checkpointer.checkpoint_now().tree_size == 12
    yield ledger, str(cases[1])
    ledger.close()


def test_an_untouched_ledger_verifies(settings, signed_ledger):
    ledger, case_id = signed_ledger

    report = ledger.verify_all()
    bundle = verify_bundle(ledger.export(case_id))

    assert (report.ok, report.events, report.cases, report.first_bad_seq) == (True, 12, 3, None)
    assert ledger.verify_case(case_id).ok
    assert bundle.ok, bundle.reason
    assert bundle.events == 4


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__)
def test_tampering_is_caught_by_verify_and_by_the_bundle(settings, signed_ledger, tamper):
    _, case_id = signed_ledger
    expected = tamper(settings)
    fresh = LedgerApplication(settings, create=False)

    try:
        report = fresh.verify_all()
        case = fresh.verify_case(case_id)
        bundle = verify_bundle(fresh.export(case_id))
    finally:
        fresh.close()

    assert not report.ok
    assert report.first_bad_seq == expected.ledger_seq, report.problems
    assert expected.words in " ".join(report.problems), report.problems
    assert not case.ok
    assert case.first_bad_seq == expected.case_seq, case
    assert not bundle.ok
    assert bundle.first_bad_seq == expected.case_seq, bundle.reason
    if expected.ledger_seq is None:
        assert "checkpoint" in bundle.reason
