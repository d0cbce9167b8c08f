"""Pooled connections are pinged only after an idle while, and go back to their pool at once: no
`reset` callback, which would hand each returned connection to the pool's worker threads (a
thread switch per transaction)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.intake.application import IntakeApplication
from shared.kit import pools
from shared.kit.pools import IdleCheck, idle_checked_pool


def _returns_scheduled(pool: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tasks the pool gave its workers while three connections were used and returned."""
    pool.wait()
    tasks: list[str] = []
    original = pool.run_task
    monkeypatch.setattr(
        pool, "run_task", lambda task: (tasks.append(type(task).__name__), original(task))
    )
    for _ in range(3):
        with pool.connection() as conn:
            conn.execute("SELECT 1")
    monkeypatch.undo()
    return tasks


def test_the_event_stores_pool_takes_its_connections_back_without_a_worker(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = IntakeApplication(settings)
    try:
        tasks = _returns_scheduled(app.recorder.datastore.pool, monkeypatch)
    finally:
        app.shutdown()

    assert tasks == []


def test_the_kits_own_pools_take_their_connections_back_without_a_worker(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with idle_checked_pool(settings.database.conninfo(), min_size=1, max_size=2) as pool:
        tasks = _returns_scheduled(pool, monkeypatch)

    assert tasks == []


def test_a_connection_is_pinged_only_after_it_was_left_idle(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pools, "IDLE_CHECK_SECONDS", 0.3)
    pinged: list[Any] = []
    idle = IdleCheck(pinged.append)
    with idle_checked_pool(settings.database.conninfo(), min_size=1, max_size=1) as pool:
        pool._check = idle.check
        for _ in range(5):  # in steady use: checked when first handed out only
            with pool.connection() as conn:
                conn.execute("SELECT 1")
        steady = len(pinged)
        time.sleep(0.5)
        with pool.connection() as conn:
            conn.execute("SELECT 1")

    assert steady == 1
    assert len(pinged) == 2
