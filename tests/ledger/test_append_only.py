"""Append-only in the database: triggers refuse the owner, privileges refuse the ledger's role."""

from __future__ import annotations

from uuid import uuid4

import psycopg
import pytest
from psycopg import errors

from services.ledger.application import LedgerApplication
from services.ledger.schema import OPERATOR_TABLES, TABLES
from services.ledger.service import create_app as ledger_app
from tests.ledger.helpers import fill, publish
from tests.support import auth, eventually, running
from tests.support.database import ledger_role, owner, settings_with
from tests.support.ledger import appendable

CHANGES = ("UPDATE ledger.{t} SET {c} = {c}", "DELETE FROM ledger.{t}", "TRUNCATE ledger.{t}")
COLUMN = {
    "entries": "hash",
    "tree_nodes": "hash",
    "checkpoints": "signature",
    "cosignatures": "signature",
    "audit_anchors": "hash",
    "key_handovers": "statement",
}


@pytest.fixture
def restricted(settings):
    """Settings that connect as a fresh role made by `grant_ledger_role`; dropped afterwards."""
    with ledger_role(settings) as restricted:
        yield restricted


def _signed_ledger(settings, owners=None) -> None:
    """Two entries, a checkpoint, a (made-up) cosignature row, an anchor and a key handover:
    every table has rows. The handover is the owner's to record (`owners`, when `settings`
    connect as the ledger's role)."""
    ledger = LedgerApplication(settings)
    fill(ledger, cases=1, per_case=2)
    ledger.checkpointer.checkpoint_now()
    ledger.close()
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ledger.cosignatures (tree_size, witness, key_id, signature)"
            " VALUES (2, 'court', 'k', '\\x00')"
        )
        conn.execute(
            "INSERT INTO ledger.audit_anchors (anchor_seq, service, audit_seq, audit_hash,"
            " anchored_at, prev_hash, hash) VALUES (1, 'intake', 1, '\\x00', now(), '\\x00', '\\x00')"
        )
    with owner(owners or settings) as conn:
        conn.execute(HANDOVER_ROW)


HANDOVER_ROW = (
    "INSERT INTO ledger.key_handovers (old_key_id, new_key_id, statement, old_signature,"
    " new_signature) VALUES ('a', 'b', '\\x00', '\\x00', '\\x00')"
)


@pytest.mark.parametrize("table", TABLES)
def test_the_owner_cannot_change_or_remove_rows_while_the_triggers_stand(settings, table):
    _signed_ledger(settings)

    refusals = []
    with owner(settings) as conn:
        for change in CHANGES:
            with pytest.raises(errors.RaiseException) as refused:
                conn.execute(change.format(t=table, c=COLUMN[table]))  # type: ignore[arg-type]
            refusals.append(str(refused.value))

    assert all("the ledger is append-only" in r for r in refusals)


@pytest.mark.parametrize("table", TABLES)
def test_the_ledgers_role_is_refused_by_privileges_even_with_the_triggers_off(
    settings, restricted, table
):
    _signed_ledger(restricted, settings)

    with owner(settings) as conn:
        conn.execute(f"ALTER TABLE ledger.{table} DISABLE TRIGGER USER")  # type: ignore[arg-type]
    refused = []
    with psycopg.connect(restricted.database.conninfo(), autocommit=True) as conn:
        for change in CHANGES:
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(change.format(t=table, c=COLUMN[table]))  # type: ignore[arg-type]
            refused.append(change)
        rows = conn.execute(f"SELECT count(*) FROM ledger.{table}").fetchone()  # type: ignore[arg-type]

    assert len(refused) == 3
    assert rows is not None
    assert rows[0] > 0


def test_only_the_owner_records_a_key_handover(settings, restricted):
    """The running ledger reads the handovers of its checkpoint key and never records one: a
    process taken over could otherwise record a second, disagreeing one, after which no verifier
    trusts the old key's checkpoints."""
    assert OPERATOR_TABLES == ("key_handovers",)
    with psycopg.connect(restricted.database.conninfo(), autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(HANDOVER_ROW)
        rows = conn.execute("SELECT count(*) FROM ledger.key_handovers").fetchone()

    assert rows == (0,)


def test_the_ledger_service_runs_as_the_restricted_role(settings, restricted):
    restricted = settings_with(restricted, ledger_checkpoint_every=2)
    case_id = uuid4()

    with running(ledger_app(restricted)) as client:
        eventually(lambda: client.get("/readyz").status_code == 200)
        publish(restricted, [appendable(case_id, 0), appendable(case_id, 1)])
        latest = eventually(
            lambda: (
                (
                    r := client.get("/checkpoints/latest", headers=auth(settings, "auditor"))
                ).status_code
                == 200
                and r.json()
            )
        )
        verified = client.get(f"/cases/{case_id}/verify", headers=auth(settings, "auditor")).json()

    assert latest["ledger_size"] == 2
    assert verified["ok"]
    assert verified["events"] == 2
