"""Only the service that recorded an entry can void it (SPEC §5): in the ledger's access facts, a
voiding takes away only its own service's rows of its own case. Another service's voiding naming a
seal, or a police link, changes nothing — whichever case it is about, and whenever it arrives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.ledger.application import LedgerApplication
from services.ledger.inbound import LedgerIntake
from services.ledger.schema import SCHEMA
from shared.events import CaseSealed, EvidenceLogged
from shared.events.voiding import (
    IntakeEntryVoided,
    JudicialEntryVoided,
    ProgrammesEntryVoided,
)
from shared.kit.origins import origin_keys
from shared.kit.subscriber import ACK, Delivery
from tests.support.bus import envelope_bytes, subject
from tests.support.ledger import principals

VOIDED_BY = {
    "intake": IntakeEntryVoided,
    "judicial": JudicialEntryVoided,
    "programmes": ProgrammesEntryVoided,
}


@pytest.fixture
def ledger(settings) -> Iterator[LedgerApplication]:
    app = LedgerApplication(settings)
    yield app
    app.close()


@pytest.fixture
def intake(ledger) -> Any:
    handle = LedgerIntake(ledger.store, "", ledger.note_access, keys=origin_keys(ledger.settings))

    def deliver(*deliveries: Delivery) -> None:
        assert handle(list(deliveries)) == [ACK] * len(deliveries)

    return deliver


def _delivery(event: Any, case_id: UUID, **kw: Any) -> tuple[str, Delivery]:
    event_id, body = envelope_bytes(event, case_id, **kw)
    return event_id, Delivery(subject(event, case_id), body, {"Nats-Msg-Id": event_id}, msg=None)


def _seal(case_id: UUID) -> tuple[str, Delivery]:
    return _delivery(CaseSealed(reason="Acquitted", sealed_by="Judge"), case_id, agency="tribunal")


def _link(case_id: UUID) -> tuple[str, Delivery]:
    evidence = EvidenceLogged(
        item_id="E-1",
        description="Notebook",
        collected_by="Adj. Kone",
        collected_at="2026-11-01T07:00:00Z",
    )
    return _delivery(evidence, case_id, agency="police-a")


def _voiding(service: str, voided: str, case_id: UUID) -> Delivery:
    event = VOIDED_BY[service](voided_event_id=UUID(voided), reason="Recorded in error")
    return _delivery(event, case_id, agency=service)[1]


def _sealed(ledger: LedgerApplication, case_id: UUID) -> bool:
    with ledger.store.connection() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.sealed_cases WHERE case_id = %s", (str(case_id),)
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("about", ["the sealed case", "another case"])
def test_another_services_voiding_of_a_seal_leaves_the_case_sealed(ledger, intake, about):
    case_id = uuid4()
    seal_id, seal = _seal(case_id)
    intake(seal)

    intake(_voiding("programmes", seal_id, case_id if about == "the sealed case" else uuid4()))

    assert _sealed(ledger, case_id)
    assert principals(ledger, case_id) == ["sealed"]


def test_the_sealing_services_voiding_from_another_case_leaves_the_case_sealed(ledger, intake):
    case_id = uuid4()
    seal_id, seal = _seal(case_id)
    intake(seal)

    intake(_voiding("judicial", seal_id, uuid4()))

    assert _sealed(ledger, case_id)


def test_the_sealing_services_own_voiding_unseals_the_case(ledger, intake):
    case_id = uuid4()
    seal_id, seal = _seal(case_id)
    intake(seal)

    intake(_voiding("judicial", seal_id, case_id))

    assert not _sealed(ledger, case_id)
    assert principals(ledger, case_id) == []


def test_another_services_voiding_arriving_first_does_not_hold_a_seal_back(ledger, intake):
    case_id = uuid4()
    seal_id, seal = _seal(case_id)

    intake(_voiding("programmes", seal_id, case_id), seal)

    assert _sealed(ledger, case_id)


def test_the_sealing_services_voiding_arriving_first_holds_its_seal_back(ledger, intake):
    case_id = uuid4()
    seal_id, seal = _seal(case_id)

    intake(_voiding("judicial", seal_id, case_id), seal)

    assert not _sealed(ledger, case_id)


@pytest.mark.parametrize("service", ["judicial", "programmes"])
def test_another_services_voiding_of_a_police_link_leaves_it(ledger, intake, service):
    case_id = uuid4()
    link_id, link = _link(case_id)
    intake(link)

    intake(_voiding(service, link_id, case_id))

    assert principals(ledger, case_id) == ["agency:police-a"]


def test_intakes_own_voiding_of_a_police_link_takes_it_away(ledger, intake):
    case_id = uuid4()
    link_id, link = _link(case_id)
    intake(link)

    intake(_voiding("intake", link_id, case_id))

    assert principals(ledger, case_id) == []
