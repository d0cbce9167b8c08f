"""Backup and restore as docs/operations.md tells it: pg_dump the database and copy the stopped
NATS server's store, wipe both, restore both, then `caseline verify --all` passes with every event
present, and the restored stack carries on without publishing anything twice."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.servers import NatsServer
from shared.kit.settings import DatabaseParts, Settings
from shared.kit.testing import Servers
from tests.deploy.support import ROOT
from tests.support import admission_payload, arrest_payload, auth, eventually, running
from tests.support.bus import stream_messages

pytestmark = pytest.mark.timeout(120)

CASES = 4


def _record_cases(settings: Settings) -> list[str]:
    """Arrest and admission of CASES people; the ids of every event recorded."""
    police, registry = auth(settings, "police"), auth(settings, "prison_registry")
    recorded: list[str] = []
    with running(intake_app(settings)) as intake, running(ledger_app(settings)):
        for _ in range(CASES):
            opened = intake.post("/cases", json=arrest_payload(), headers=police).json()
            admitted = intake.post(f"/cases/{opened['case_id']}/admission",
                                   json=admission_payload(), headers=registry).json()  # fmt: skip
            recorded += [opened["event_id"], admitted["event_id"]]
        eventually(lambda: set(_ledger_ids(settings)) >= set(recorded), timeout=30)
    return recorded


def _ledger_ids(settings: Settings) -> list[str]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute("SELECT event_id FROM ledger.entries ORDER BY ledger_seq").fetchall()
    return [str(r[0]) for r in rows]


def _admin(settings: Settings, statement: sql.Composable) -> None:
    parts = DatabaseParts(settings.database_url or "")
    admin = (
        DatabaseParts(settings.database_url or "")
        .conninfo()
        .replace(f"dbname={parts.dbname}", "dbname=postgres")
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def _pg(servers: Servers, tool: str, *args: str) -> None:
    assert servers.postgres is not None
    done = subprocess.run(
        [str(servers.postgres.pg_tool(tool)), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _verify_all(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env["CASELINE_DATABASE_URL"] = settings.database_url or ""
    return subprocess.run(
        [str(Path(sys.executable).parent / "caseline"), "verify", "--all"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def isolated(servers: Servers, settings_factory: Any, tmp_path: Path) -> Any:
    """A NATS server of the test's own (it is wiped) and settings on a fresh database."""
    if servers.postgres is None:
        pytest.skip("needs the embedded PostgreSQL's pg_dump and pg_restore")
    nats = NatsServer(tmp_path / "nats").start()
    try:
        yield nats, settings_factory(nats_url=nats.url, stream="CASELINE", subject_prefix="")
    finally:
        nats.stop()


def test_a_wiped_database_and_stream_restored_from_backup_verify_with_every_event(
    servers, isolated, tmp_path
):
    nats, settings = isolated
    recorded = _record_cases(settings)
    dbname = DatabaseParts(settings.database_url).dbname
    dump, stream_backup = tmp_path / "caseline.dump", tmp_path / "nats-backup"

    _pg(servers, "pg_dump", "--format=custom", f"--file={dump}", settings.database_url)
    nats.stop()  # a store is copied only while its server is stopped
    shutil.copytree(nats.store_dir, stream_backup)

    _admin(settings, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
    shutil.rmtree(nats.store_dir)

    _admin(settings, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    _pg(servers, "pg_restore", "--exit-on-error", f"--dbname={settings.database_url}", str(dump))
    shutil.copytree(stream_backup, nats.store_dir)
    nats.start()

    verified = _verify_all(settings)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(recorded)} entries" in verified.stdout
    assert _ledger_ids(settings) == recorded
    messages = asyncio.run(stream_messages(nats.url, "CASELINE", "caseline.>"))
    assert [msg_id for _, msg_id in messages] == recorded


def test_the_restored_stack_carries_on_without_publishing_anything_twice(
    servers, isolated, tmp_path
):
    nats, settings = isolated
    recorded = _record_cases(settings)
    dump = tmp_path / "caseline.dump"
    _pg(servers, "pg_dump", "--format=custom", f"--file={dump}", settings.database_url)
    dbname = DatabaseParts(settings.database_url).dbname
    _admin(settings, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
    _admin(settings, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    _pg(servers, "pg_restore", "--exit-on-error", f"--dbname={settings.database_url}", str(dump))

    with running(intake_app(settings)) as intake, running(ledger_app(settings)):
        more = intake.post("/cases", json=arrest_payload(), headers=auth(settings, "police")).json()
        eventually(lambda: more["event_id"] in _ledger_ids(settings), timeout=30)

    assert _ledger_ids(settings) == [*recorded, more["event_id"]]
    messages = asyncio.run(stream_messages(nats.url, "CASELINE", "caseline.>"))
    assert [msg_id for _, msg_id in messages] == [*recorded, more["event_id"]]
