"""A database made by the release before schema versions is upgraded at start-up: the baseline is
adopted, a later migration adds a column, another rebuilds a view from the event store, and the
services serve it with every chain verifying."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.migrations import migrations_folder
from shared.kit.settings import Settings
from tests.support import TEST_FACILITY, admission_payload, arrest_payload, eventually, running

ADD_COLUMN = "ALTER TABLE intake.idempotency ADD COLUMN client text;\n"
REBUILD = "-- The case register changed: dropped, made anew and refolded from the events.\n" \
    "-- caseline: rebuild-view case_register\n"  # fmt: skip


def _rows(settings: Settings, query: str) -> list[tuple]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        return conn.execute(query).fetchall()


def _next_release(root: Path) -> Path:
    for service in ("intake", "judicial", "assessment", "programmes", "ledger"):
        shutil.copytree(migrations_folder(Settings(), service), root / service)
    (root / "intake" / "0006_idempotency_client.sql").write_text(ADD_COLUMN)
    (root / "intake" / "0007_rebuild_case_register.sql").write_text(REBUILD)
    return root


def _in_ledger(ledger, case_id: str, auditor, count: int) -> bool:
    r = ledger.get(f"/cases/{case_id}/timeline", headers=auditor)
    return r.status_code == 200 and len(r.json()["entries"]) == count


def test_a_previous_release_database_is_migrated_and_every_chain_verifies(
    settings, police, registry, auditor, tmp_path
):
    # The release before versions: no migration files, tables made by its start-up code.
    previous = settings.model_copy(update={"migrations_dir": str(tmp_path / "none")})
    with running(intake_app(previous)) as intake, running(ledger_app(previous)) as ledger:
        case_id = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]
        admitted = intake.post(
            f"/cases/{case_id}/admission", json=admission_payload(), headers=registry
        )
        assert admitted.status_code == 201, admitted.text
        eventually(lambda: _in_ledger(ledger, case_id, auditor, 2))
    unversioned = _rows(settings, "SELECT to_regclass('intake.schema_migrations')")
    # That release's register had another shape and kept no facility: the next one's view
    # differs, and is rebuilt from the events.
    _old_register(settings)

    upgraded = settings.model_copy(update={"migrations_dir": str(_next_release(tmp_path / "next"))})
    with running(intake_app(upgraded)) as intake, running(ledger_app(upgraded)) as ledger:
        listed = intake.get("/cases", headers=auditor)
        second = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]
        eventually(lambda: _in_ledger(ledger, second, auditor, 1))
        verdicts = [
            ledger.get(f"/cases/{c}/verify", headers=auditor).json() for c in (case_id, second)
        ]
    verify_all = subprocess.run(
        [sys.executable, "-m", "caseline", "verify", "--all"],
        env={**os.environ, "CASELINE_DATABASE_URL": settings.database_url,
             "CASELINE_ENVIRONMENT": "test"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert unversioned == [(None,)]
    assert _rows(
        settings, "SELECT version, name, adopted FROM intake.schema_migrations ORDER BY version"
    ) == [(1, "baseline", True), (2, "person_registry", False), (3, "registry_counts", False),
          (4, "person_index_covering", False), (5, "person_kinds", False),
          (6, "idempotency_client", False), (7, "rebuild_case_register", False)]  # fmt: skip
    assert _rows(settings, "SELECT version, adopted FROM ledger.schema_migrations ORDER BY 1") == [
        (1, True),
        (2, False),
        (3, False),
        (4, False),
        (5, False),
    ]
    assert _rows(
        settings,
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'intake'"
        " AND table_name = 'idempotency' AND column_name = 'client'",
    ) == [(1,)]
    assert (
        _rows(
            settings,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'intake'"
            " AND table_name = 'case_register' AND column_name = 'old_shape'",
        )
        == []
    )
    assert listed.status_code == 200, listed.text
    assert case_id in listed.text
    assert TEST_FACILITY in listed.text
    assert [v["ok"] for v in verdicts] == [True, True]
    assert [v["events"] for v in verdicts] == [2, 1]
    assert verify_all.returncode == 0, verify_all.stdout + verify_all.stderr


def _old_register(settings: Settings) -> None:
    with psycopg.connect(settings.database.conninfo()) as conn:
        conn.execute("ALTER TABLE intake.case_register ADD COLUMN old_shape text")
        conn.execute("UPDATE intake.case_register SET facility = NULL, old_shape = 'old'")
