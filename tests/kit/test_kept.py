"""Aggregates kept between commands (`shared.kit.kept`): a programme, whose log grows with every
participant, is brought up to date from the store at each load, so that two replicas of
programmes (two application objects on one database) never act on a stale one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.programmes.application import ProgrammesApplication
from services.programmes.domain import CaseFile, Programme
from services.programmes.domain.errors import CapacityFullError
from services.programmes.inbound import reactions
from shared.events import DetaineeAdmitted, ParticipantEnrolled
from shared.kit.errors import NotFoundError
from shared.kit.kept import KeptAggregates
from shared.kit.store import CommandContext
from shared.kit.subscriber import ACK
from tests.support.bus import delivery

WORKER = CommandContext(actor="social-worker-1", agency="programmes", role="social_worker")
ADMITTED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


def _admitted(app: ProgrammesApplication) -> UUID:
    case_id = uuid4()
    admitted = DetaineeAdmitted(facility="Bamako", admitted_at=ADMITTED, warrant_ref="MD-1")
    noted = delivery(admitted, case_id, prefix=app.settings.subject_prefix)
    assert reactions(app)[0].handle_one(noted) == ACK
    return case_id


def _programme(app: ProgrammesApplication, capacity: int) -> UUID:
    fields = {
        "kind": "vocational",
        "title": "Menuiserie",
        "provider_agency": "programmes",
        "capacity": capacity,
    }
    return UUID(str(app.create_programme(fields, WORKER).ids["programme_id"]))


@pytest.fixture
def replicas(settings):  # type: ignore[no-untyped-def]
    one, two = ProgrammesApplication(settings), ProgrammesApplication(settings)
    yield one, two
    one.shutdown()
    two.shutdown()


def test_a_kept_programme_shows_what_another_replica_recorded(replicas: Any) -> None:
    one, two = replicas
    programme_id = _programme(one, capacity=2)
    first, second, third = (_admitted(one) for _ in range(3))
    assert one.load(Programme, programme_id).active() == []  # now kept by the first replica

    two.enrol(programme_id, first, None, WORKER)
    seen, there = one.load(Programme, programme_id), two.load(Programme, programme_id)
    one.enrol(programme_id, second, None, WORKER)  # on the kept one, brought up to date

    assert [p.case_id for p in seen.active()] == [first]
    assert seen.version == there.version == 2
    assert {p.case_id for p in two.load(Programme, programme_id).active()} == {first, second}
    with pytest.raises(CapacityFullError):  # the invariant sees the other replica's enrolment
        two.enrol(programme_id, third, None, WORKER)
    with pytest.raises(CapacityFullError):
        one.enrol(programme_id, third, None, WORKER)


def test_a_load_hands_out_a_copy_a_failed_command_cannot_spoil(replicas: Any) -> None:
    one, _ = replicas
    programme_id, case_id = _programme(one, capacity=5), _admitted(one)
    copy = one.load(Programme, programme_id)
    data = ParticipantEnrolled(programme_id=programme_id, enrolled_at=ADMITTED)
    copy.enrol(case_id, data, one._case(case_id).facts(), one.meta(WORKER, case_id))

    assert [p.case_id for p in copy.active()] == [case_id]  # mutated, never committed
    assert one.load(Programme, programme_id).active() == []
    assert one.load(Programme, programme_id).version == copy.version - 1


def test_only_the_kept_kinds_are_kept(replicas: Any) -> None:
    one, _ = replicas
    case_id = _admitted(one)  # a case file: it holds a person's sealed name

    with pytest.raises(NotFoundError):
        one.load(Programme, case_id)
    assert len(one._kept) == 0
    assert one.load(CaseFile, case_id).facility == "Bamako"
    assert len(one._kept) == 0


class _Counted:
    """An aggregate whose events add to a total (`mutate` as the library's events have it)."""

    def __init__(self) -> None:
        self.version, self.total = 0, 0


class _Added:
    def __init__(self, version: int, amount: int) -> None:
        self.version, self.amount = version, amount

    def mutate(self, aggregate: _Counted | None) -> _Counted:
        aggregate = aggregate or _Counted()
        assert self.version == aggregate.version + 1
        aggregate.version, aggregate.total = self.version, aggregate.total + self.amount
        return aggregate


def test_a_kept_aggregate_reads_only_the_events_after_its_version() -> None:
    log: dict[UUID, list[_Added]] = {}
    asked: list[int | None] = []

    def events(aggregate_id: UUID, after: int | None) -> list[_Added]:
        asked.append(after)
        return [e for e in log.get(aggregate_id, []) if after is None or e.version > after]

    kept = KeptAggregates((_Counted,), events, maxsize=1)
    a, b = uuid4(), uuid4()
    log[a] = [_Added(1, 5), _Added(2, 7)]
    log[b] = [_Added(1, 1)]
    first = kept.load(a).total
    log[a].append(_Added(3, 30))
    second = kept.load(a).total
    kept.load(b)  # the LRU holds one: `a` goes
    third = kept.load(a).total

    assert (first, second, third) == (12, 42, 42)
    assert asked == [None, 2, None, None]
    assert kept.load(uuid4()) is None


class _Spoiling:
    """An event that changes the aggregate, then fails (a decoding error halfway, say)."""

    def mutate(self, aggregate: _Counted) -> _Counted:
        aggregate.total += 1000
        raise RuntimeError("halfway")


def test_a_load_that_fails_midway_forgets_the_kept_aggregate() -> None:
    log: list[Any] = [_Added(1, 5), _Added(2, 7)]
    spoiled = False

    def events(aggregate_id: UUID, after: int | None) -> list[Any]:
        new = [e for e in log if after is None or e.version > after]
        return [*new[:1], _Spoiling(), *new[1:]] if spoiled else new

    kept, a = KeptAggregates((_Counted,), events), uuid4()
    kept.load(a)
    log += [_Added(3, 1), _Added(4, 1)]
    spoiled = True
    with pytest.raises(RuntimeError):
        kept.load(a)
    spoiled = False

    assert kept.load(a).total == 14


def test_no_more_events_than_the_budget_are_kept() -> None:
    log = {a: [_Added(v, 1) for v in range(1, 6)] for a in (uuid4(), uuid4(), uuid4())}
    asked: list[int | None] = []

    def events(aggregate_id: UUID, after: int | None) -> list[_Added]:
        asked.append(after)
        return [e for e in log[aggregate_id] if after is None or e.version > after]

    first, second, third = log
    kept = KeptAggregates((_Counted,), events, max_events=10)
    kept.load(first)
    kept.load(second)  # 10 events kept
    kept.load(third)  # 15: the least recently loaded goes
    kept.load(second)
    kept.load(first)

    assert asked == [None, None, None, 5, None]
    assert len(kept) == 2
