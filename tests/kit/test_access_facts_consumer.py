"""The access facts the other services' events bring (`shared.kit.runtime.AccessFacts`): a batch
noted in one transaction, each event exactly once, on PostgreSQL; a service's own events are left
to its commands' transactions."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from services.judicial.application import JudicialApplication
from shared.events import ArrestRecorded, DetaineeAdmitted
from shared.kit.runtime import access_reactions
from shared.kit.subscriber import ACK, Dead, Delivery
from tests.support import arrest_payload
from tests.support.bus import envelope_of, signed, subject


@pytest.fixture
def judicial(settings) -> Iterator[JudicialApplication]:
    app = JudicialApplication(settings)
    yield app
    app.shutdown()


def _delivery(app: JudicialApplication, event, case_id, **kw) -> Delivery:
    env = envelope_of(event, case_id, **kw)
    on = app.settings.subject_prefix + subject(event, case_id)
    return Delivery(on, signed(env), {"Nats-Msg-Id": str(env.id)}, msg=None)


def _rows(app: JudicialApplication, case_id) -> list[tuple]:
    return app.fetch(
        "SELECT principal, kind FROM {schema}.case_access WHERE case_id = %s ORDER BY ord",
        (str(case_id),),
    )


def _inbound(app: JudicialApplication) -> int:
    return app.fetch("SELECT count(*) FROM {schema}.inbound WHERE consumer = 'access'")[0][0]


def test_a_batch_is_noted_once_each_event_even_when_delivered_again(judicial):
    case_id = uuid4()
    arrest = _delivery(
        judicial, ArrestRecorded.model_validate(arrest_payload()), case_id, agency="gao"
    )
    admitted = _delivery(
        judicial,
        DetaineeAdmitted(facility="Bamako", admitted_at="2026-01-02T10:00:00Z", warrant_ref="W-1"),
        case_id,
    )
    forged = Delivery(arrest.subject, arrest.data.replace(b'"gao"', b'"kidal"'), {}, msg=None)
    facts = access_reactions(judicial, "judicial")
    before = _inbound(judicial)

    first = facts([arrest, arrest, forged, admitted])
    again = facts([admitted, arrest])

    assert first[:2] == [ACK, ACK] and first[3] == ACK
    assert isinstance(first[2], Dead) and first[2].origin
    assert again == [ACK, ACK]
    assert _rows(judicial, case_id) == [("agency:gao", "link"), ("facility:bamako", "stay")]
    assert _inbound(judicial) == before + 2


def test_a_service_receives_only_the_other_services_access_types(judicial):
    every = access_reactions(judicial).subjects()

    others = access_reactions(judicial, "intake").subjects()

    assert any(s.startswith("caseline.intake.") for s in every)
    assert not any(s.startswith("caseline.intake.") for s in others)
    assert set(others) < set(every)
    assert "caseline.programmes.ReferralAccepted.*" in others
