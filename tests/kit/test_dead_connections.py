"""Pooled connections are not pinged before each use, only after they have been idle a while:
connections that died meanwhile (PostgreSQL restarted, or an operator ended the sessions) are
found dead before use and replaced; a read or a command that meets one all the same (it was in
use a moment before) is done again on a fresh connection."""

from __future__ import annotations

import time
from typing import Any

import psycopg

from services.intake.service import create_app as intake_app
from shared.kit.pools import IDLE_CHECK_SECONDS
from tests.support import arrest_payload, auth, running


def _end_sessions(settings: Any, restart_seconds: float = 0.0) -> int:
    """End every other session on the service's database, as a PostgreSQL restart would (one
    taking `restart_seconds`)."""
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchall()
    time.sleep(restart_seconds)
    return len(rows)


def test_reads_and_writes_go_on_after_the_pooled_connections_died(settings: Any) -> None:
    officer = auth(settings, "police", agency="ml-pjs")
    with running(intake_app(settings)) as intake:
        app = intake.app.state.parts.application
        opened = intake.post("/cases", json=arrest_payload(), headers=officer)
        assert opened.status_code == 201, opened.text
        assert app.fetch("SELECT count(*) FROM {schema}.case_persons")[0][0] == 1

        # A restart at least as long as a connection must be idle to be checked.
        assert _end_sessions(settings, IDLE_CHECK_SECONDS + 0.2) > 0
        counted = app.fetch("SELECT count(*) FROM {schema}.case_persons")[0][0]
        again = intake.post("/cases", json=arrest_payload(), headers=officer)
        # Ended while in steady use (no idle time to notice it): the read is done again.
        assert _end_sessions(settings) > 0
        recounted = app.fetch("SELECT count(*) FROM {schema}.case_persons")[0][0]

    assert counted == 1
    assert recounted == 2
    assert again.status_code == 201, again.text
