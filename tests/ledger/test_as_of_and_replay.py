"""The record as it stood at a time, and replay: every read model rebuilt from the events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import pytest

from caseline.cli import main
from caseline.replay import replay
from services.intake.application import IntakeApplication
from services.intake.service import create_app as intake_app
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from shared.events import ArrestRecorded
from shared.kit.store import CommandContext
from tests.ledger.helpers import tampering
from tests.support import admission_payload, arrest_payload, auth, running
from tests.support.ledger import appendable


def test_as_of_shows_exactly_the_entries_recorded_up_to_that_time(settings):
    ledger = LedgerApplication(settings)
    case_id, other = uuid4(), uuid4()
    ledger.store.append([appendable(case_id, 0), appendable(other, 0)])
    ledger.store.append([appendable(case_id, 1)])
    ledger.store.append([appendable(case_id, 2), appendable(case_id, 3)])
    ledger.close()
    auditor = auth(settings, "auditor")

    with running(ledger_app(settings)) as client:
        everything = client.get(f"/cases/{case_id}/timeline", headers=auditor).json()["entries"]
        views = {
            n: client.get(
                f"/cases/{case_id}/timeline",
                params={"as_of": everything[n - 1]["appended_at"]},
                headers=auditor,
            ).json()["entries"]
            for n in (1, 2, 4)
        }
        before = client.get(
            f"/cases/{case_id}/timeline", params={"as_of": "2000-01-01T00:00:00Z"}, headers=auditor
        )
        naive = client.get(
            f"/cases/{case_id}/timeline", params={"as_of": "2030-01-01T00:00:00"}, headers=auditor
        )

    assert [e["case_seq"] for e in views[1]] == [1]
    assert [e["case_seq"] for e in views[2]] == [1, 2]
    assert views[4] == everything
    assert before.status_code == 200
    assert before.json()["entries"] == []
    assert naive.status_code == 422


def _recorded_cases(settings, count: int = 2) -> None:
    with running(intake_app(settings)) as intake:
        for _ in range(count):
            opened = intake.post("/cases", json=arrest_payload(), headers=auth(settings, "police"))
            assert opened.status_code == 201, opened.text
            case_id = opened.json()["case_id"]
            admitted = intake.post(
                f"/cases/{case_id}/admission",
                json=admission_payload(),
                headers=auth(settings, "prison_registry"),
            )
            assert admitted.status_code == 201, admitted.text


def test_replay_reproduces_every_read_model(settings):
    _recorded_cases(settings)
    LedgerApplication(settings).close()

    results = replay(settings, ["intake", "ledger"])

    assert [(r.service, r.ok) for r in results] == [("intake", True), ("ledger", True)]
    assert results[0].events >= 4
    assert results[0].rows >= 2


def test_replay_shows_a_read_model_that_drifted_and_rebuilds_it(settings):
    _recorded_cases(settings, count=1)
    with tampering(settings) as conn:
        conn.execute("UPDATE intake.case_register SET status = 'drifted'")

    first = replay(settings, ["intake"])
    second = replay(settings, ["intake"])

    assert not first[0].ok
    assert "intake.case_register" in first[0].differences[0]
    assert second[0].ok


def test_replay_of_the_ledger_finds_a_tree_node_that_does_not_follow_from_the_entries(
    settings, capsys
):
    ledger = LedgerApplication(settings)
    ledger.store.append([appendable(uuid4(), n) for n in range(5)])
    ledger.close()
    with tampering(settings, "tree_nodes") as conn:
        conn.execute("UPDATE ledger.tree_nodes SET hash = sha256(hash) WHERE level = 1 AND idx = 1")

    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", settings.database_url)
        env.setenv("CASELINE_ENVIRONMENT", "test")
        with pytest.raises(SystemExit) as exit_:
            main(["replay", "--service", "ledger"])

    out = capsys.readouterr()
    assert exit_.value.code == 1
    assert "ledger      DIFFERS" in out.out
    assert "first: level 1, index 1" in out.out
    assert "ledger      tree [" in out.err


def test_replay_on_a_live_service_holds_its_writers_back_and_stays_exact(settings, monkeypatch):
    # An arrest recorded while replay looks at the live views would, unless held back until the
    # comparison ends, be in the rebuilt views only and be reported as a difference.
    _recorded_cases(settings, count=1)
    writer = IntakeApplication(settings)
    recorded: list[Any] = []

    def record_an_arrest() -> None:
        ctx = CommandContext(actor="officer-1", agency="police-agency", role="police")
        recorded.append(writer.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx))

    real_rebuild = IntakeApplication.rebuild_views

    def rebuild_while_a_writer_comes(self: IntakeApplication, *args: Any, **kwargs: Any) -> int:
        thread = threading.Thread(target=record_an_arrest)
        thread.start()
        thread.join(timeout=1.0)  # held back by replay's transaction: it is still waiting
        threads.append(thread)
        return real_rebuild(self, *args, **kwargs)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(IntakeApplication, "rebuild_views", rebuild_while_a_writer_comes)
    try:
        results = replay(settings, ["intake"])
        threads[0].join(timeout=15)
    finally:
        writer.shutdown()

    assert results[0].ok, results[0].differences
    assert len(recorded) == 1  # and the writer went on once replay was done
    monkeypatch.undo()
    assert replay(settings, ["intake"])[0].ok


def test_replay_of_a_growing_ledger_checks_the_tree_over_the_entries_it_read(settings):
    # Entries appended after replay read the ledger have nodes of their own: not a difference.
    ledger = LedgerApplication(settings)
    ledger.store.append([appendable(uuid4(), n) for n in range(5)])
    read_the_entries = ledger.store.stream

    @contextmanager
    def read_then_grow(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with read_the_entries(*args, **kwargs) as rows:
            yield rows
        ledger.store.append([appendable(uuid4(), n) for n in range(3)])

    ledger.store.stream = read_then_grow  # type: ignore[method-assign]
    try:
        check = ledger.check_tree()
    finally:
        ledger.close()

    assert check.entries == 5
    assert check.differing == []
    assert check.stored_nodes == check.nodes == 5 + 2 + 1
