"""Reactions share one transaction per batch (`CaselineApplication.batch()`), on PostgreSQL: each
reaction undone alone when it fails, nothing acked that was not committed, the listeners told once
the batch commits, and no deadlock with the service's commands."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from services.judicial.application import JudicialApplication
from services.judicial.domain import Case
from shared.events import ArrestRecorded, DetaineeAdmitted, Envelope
from shared.kit.store import CommandContext
from shared.kit.subscriber import ACK, MAX_ATTEMPTS, Dead, Delivery, Reactions, Retry
from tests.support import arrest_payload
from tests.support.bus import envelope_of, signed, subject

CONSUMER = "batch-test"


@pytest.fixture
def judicial(settings) -> Iterator[JudicialApplication]:
    app = JudicialApplication(settings)
    yield app
    app.shutdown()


def _delivery(
    app: JudicialApplication, event: Any, case_id: UUID, attempt: int = 1
) -> tuple[Delivery, UUID]:
    env = envelope_of(event, case_id)
    on = app.settings.subject_prefix + subject(event, case_id)
    # Which delivery this is, as JetStream's metadata says it.
    metadata = SimpleNamespace(num_delivered=attempt, sequence=SimpleNamespace())
    msg = SimpleNamespace(metadata=metadata)
    return Delivery(on, signed(env), {"Nats-Msg-Id": str(env.id)}, msg=msg), UUID(str(env.id))


def _arrest(app: JudicialApplication, case_id: UUID, attempt: int = 1) -> tuple[Delivery, UUID]:
    return _delivery(app, ArrestRecorded.model_validate(arrest_payload()), case_id, attempt)


def _admitted(app: JudicialApplication, case_id: UUID, attempt: int = 1) -> tuple[Delivery, UUID]:
    admitted = DetaineeAdmitted(
        facility="Bamako", admitted_at="2026-01-02T10:00:00Z", warrant_ref="W-1"
    )
    return _delivery(app, admitted, case_id, attempt)


def _unfit_to_commit(app: JudicialApplication) -> Callable[[Envelope, Any, tuple[str, UUID]], None]:
    """A reaction that fails a check PostgreSQL makes only at COMMIT."""

    def unfit_to_commit(envelope: Envelope, event: Any, inbound: tuple[str, UUID]) -> None:
        with app.cursor() as curs:
            curs.execute(
                "CREATE TEMP TABLE at_commit (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"
                " ON COMMIT DROP"
            )
            curs.execute("INSERT INTO at_commit VALUES (1), (1)")

    return unfit_to_commit


def _reactions(app: JudicialApplication, handlers: dict[type, Any]) -> Reactions:
    """The reactions of `handlers`, all of a batch in one transaction however slow the machine."""
    reactions = Reactions(app, CONSUMER, handlers)
    reactions.transaction_seconds = 60.0
    return reactions


def _opener(app: JudicialApplication) -> Callable[[Envelope, Any, tuple[str, UUID]], None]:
    """Open the envelope's case without looking first: a second opening loses the race."""

    def open_case(envelope: Envelope, event: ArrestRecorded, inbound: tuple[str, UUID]) -> None:
        case_id = UUID(envelope.subject)
        case = Case.open(case_id, UUID(str(envelope.id)), event.arrested_at, app.clock.now())
        app.commit(CommandContext.system(envelope, purpose="test"), case, inbound=inbound)

    return open_case


def _inbound(app: JudicialApplication) -> list[UUID]:
    rows = app.fetch(
        "SELECT event_id FROM {schema}.inbound WHERE consumer = %s ORDER BY processed_at",
        (CONSUMER,),
    )
    return [row[0] for row in rows]


def _events(app: JudicialApplication, case_id: UUID) -> int:
    return len(app.recorder.select_events(case_id))


def _other_connection(app: JudicialApplication) -> psycopg.Connection[Any]:
    return psycopg.connect(app.settings.database.conninfo(), autocommit=True)


def test_a_reaction_that_loses_a_race_is_undone_alone_and_those_before_it_are_committed(judicial):
    a, b, c = uuid4(), uuid4(), uuid4()
    (first, first_id), (second, second_id) = _arrest(judicial, a), _arrest(judicial, b)
    (again, again_id), (after, _) = _arrest(judicial, a), _arrest(judicial, c)
    reactions = _reactions(judicial, {ArrestRecorded: _opener(judicial)})

    outcomes = reactions([first, second, again, after])

    assert outcomes[:2] == [ACK, ACK]
    assert [type(o) for o in outcomes[2:]] == [Retry, Retry]
    assert "concurrent change" in outcomes[2].reason
    assert _inbound(judicial) == [first_id, second_id]
    assert _events(judicial, a) == _events(judicial, b) > 0
    assert _events(judicial, c) == 0
    with _other_connection(judicial) as conn:  # committed, not merely seen by the batch
        (count,) = conn.execute(
            f'SELECT count(*) FROM "{judicial.service}".inbound WHERE event_id = ANY(%s)',
            ([first_id, second_id, again_id],),
        ).fetchone()
    assert count == 2


def test_when_the_batch_cannot_commit_nothing_is_recorded_and_a_redelivery_records_each_once(
    judicial,
):
    cases = [uuid4(), uuid4(), uuid4()]
    arrests = [_arrest(judicial, case_id) for case_id in cases]
    admitted, _ = _admitted(judicial, cases[0])

    unfit_to_commit = _unfit_to_commit(judicial)
    opener = _opener(judicial)
    failing = _reactions(judicial, {ArrestRecorded: opener, DetaineeAdmitted: unfit_to_commit})
    deliveries = [d for d, _ in arrests] + [admitted]

    outcomes = failing(deliveries)

    assert [type(o) for o in outcomes] == [Retry] * 4
    assert "not committed" in outcomes[0].reason
    assert _inbound(judicial) == []
    assert [_events(judicial, case_id) for case_id in cases] == [0, 0, 0]

    fine = _reactions(
        judicial,
        {ArrestRecorded: opener, DetaineeAdmitted: judicial.on_detainee_admitted},
    )
    assert fine(deliveries) == [ACK] * 4
    assert fine(deliveries) == [ACK] * 4
    assert sorted(_inbound(judicial)) == sorted(
        [*(i for _, i in arrests), UUID(str(admitted.headers["Nats-Msg-Id"]))]
    )
    assert all(_events(judicial, case_id) > 0 for case_id in cases)


def test_a_lost_connection_retries_the_whole_batch(judicial):
    cases = [uuid4(), uuid4()]
    arrests = [_arrest(judicial, case_id) for case_id in cases]
    admitted, _ = _admitted(judicial, cases[0])

    def terminate_own_connection(envelope: Envelope, event: Any, inbound: tuple[str, UUID]) -> None:
        ((pid,),) = judicial.fetch("SELECT pg_backend_pid()")
        with _other_connection(judicial) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    opener = _opener(judicial)
    reactions = _reactions(
        judicial, {ArrestRecorded: opener, DetaineeAdmitted: terminate_own_connection}
    )
    deliveries = [d for d, _ in arrests] + [admitted]

    outcomes = reactions(deliveries)

    assert [type(o) for o in outcomes] == [Retry] * 3
    assert _inbound(judicial) == []
    assert [_events(judicial, case_id) for case_id in cases] == [0, 0]
    reactions.handlers[DetaineeAdmitted] = judicial.on_detainee_admitted
    assert reactions(deliveries) == [ACK] * 3
    assert len(_inbound(judicial)) == 3


def test_the_listeners_are_told_once_when_the_batch_has_committed(judicial):
    cases = [uuid4(), uuid4(), uuid4()]
    seen: list[int] = []

    def count_committed() -> None:
        with _other_connection(judicial) as conn:
            (count,) = conn.execute(
                f'SELECT count(DISTINCT originator_id) FROM "{judicial.service}".'
                f'"{judicial.store.events_table_name}" WHERE originator_id = ANY(%s)',
                (cases,),
            ).fetchone()
        seen.append(count)

    judicial.listeners.append(count_committed)
    reactions = _reactions(judicial, {ArrestRecorded: judicial.on_arrest_recorded})

    assert reactions([_arrest(judicial, case_id)[0] for case_id in cases]) == [ACK] * 3

    assert seen == [3]


def test_a_command_and_a_batch_writing_the_same_view_row_do_not_deadlock(judicial):
    with judicial.cursor() as curs:
        curs.execute(judicial.store.fmt("CREATE TABLE {schema}.probe (id int PRIMARY KEY, n int)"))
        curs.execute(judicial.store.fmt("INSERT INTO {schema}.probe VALUES (1, 0)"))
    bump = ("UPDATE {schema}.probe SET n = n + 1 WHERE id = 1", ())
    row_written = threading.Event()
    (noted, _), (opened, _) = _admitted(judicial, uuid4()), _arrest(judicial, uuid4())

    def note_only(envelope: Envelope, event: Any, inbound: tuple[str, UUID]) -> None:
        judicial.record_inbound_only(*inbound, [bump])
        row_written.set()
        time.sleep(0.5)  # the command comes meanwhile

    def command() -> None:
        # What a command's transaction does, in the library's order: the events table lock,
        # then its view rows.
        row_written.wait(10)
        with _other_connection(judicial) as conn, conn.transaction():
            schema = judicial.service
            events = judicial.store.events_table_name
            conn.execute(f'LOCK TABLE "{schema}"."{events}" IN EXCLUSIVE MODE')
            conn.execute(f'UPDATE "{schema}".probe SET n = n + 1 WHERE id = 1')

    failures: list[BaseException] = []

    def run_command() -> None:
        try:
            command()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run_command)
    thread.start()
    reactions = _reactions(
        judicial,
        {DetaineeAdmitted: note_only, ArrestRecorded: judicial.on_arrest_recorded},
    )
    outcomes = reactions([noted, opened])
    thread.join(30)

    assert outcomes == [ACK, ACK]
    assert failures == []
    assert judicial.fetch("SELECT n FROM {schema}.probe") == [(2,)]


def test_a_long_batch_is_committed_in_several_transactions(judicial):
    cases = [uuid4(), uuid4(), uuid4()]
    seen: list[int] = []
    judicial.listeners.append(lambda: seen.append(len(_inbound(judicial))))
    reactions = _reactions(judicial, {ArrestRecorded: judicial.on_arrest_recorded})
    reactions.transaction_reactions = 2

    assert reactions([_arrest(judicial, case_id)[0] for case_id in cases]) == [ACK] * 3

    assert seen == [2, 3]


@pytest.mark.parametrize("attempt", [2, MAX_ATTEMPTS])
def test_a_batch_delivered_again_goes_one_reaction_a_transaction(judicial, attempt):
    cases = [uuid4(), uuid4()]
    arrests = [_arrest(judicial, case_id, attempt) for case_id in cases]
    admitted, _ = _admitted(judicial, cases[0], attempt)
    reactions = _reactions(
        judicial,
        {ArrestRecorded: _opener(judicial), DetaineeAdmitted: _unfit_to_commit(judicial)},
    )

    outcomes = reactions([d for d, _ in arrests] + [admitted])

    assert outcomes[:2] == [ACK, ACK]
    assert isinstance(outcomes[2], Dead if attempt >= MAX_ATTEMPTS else Retry)
    assert sorted(_inbound(judicial)) == sorted(i for _, i in arrests)
