"""Intake's application on in-memory persistence: commands, reactions to judicial's orders and
the case view, through the store's mapper (sealing personal data under the case's key).

What reads a view (voiding by event id, lists, finishing an erasure) needs PostgreSQL: the
real-server tier (`tests/intake`) covers it; here it must say so rather than answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.intake.application import IntakeApplication
from services.intake.domain.errors import (
    CustodyEndsBeforeStartError,
    InvalidFieldsError,
    ReleaseWithoutOrderError,
)
from services.intake.queries import case_view
from shared.events.intake import ArrestRecorded, DetaineeAdmitted, DetaineeReleased
from shared.events.judicial import ReleaseKind, ReleaseOrdered
from shared.events.personal import ERASED
from shared.events.voiding import JudicialEntryVoided
from shared.kit.errors import NotFoundError, StaleVersionError
from shared.kit.memory import NoViewsError
from shared.kit.store import CommandContext, IntegrityError
from tests.support import arrest_payload
from tests.support.bus import envelope_of

POLICE = CommandContext(actor="officer-1", agency="police")
ARRESTED = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def arrest(app: IntakeApplication) -> UUID:
    recorded = app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), POLICE)
    assert isinstance(recorded.case_id, UUID)
    return recorded.case_id


def order_release(app: IntakeApplication, case_id: UUID, effective: datetime) -> tuple[UUID, UUID]:
    """Judicial's release order reaching intake; returns the order's id and its event's."""
    order = ReleaseOrdered(release_order_id=uuid4(), kind=ReleaseKind.BAIL, effective_at=effective)
    envelope = envelope_of(order, case_id)
    app.on_release_ordered(envelope, order, ("release-orders", UUID(str(envelope.id))))
    return order.release_order_id, UUID(str(envelope.id))


def test_an_arrest_reads_back_whole_and_is_stored_sealed(intake: IntakeApplication) -> None:
    case_id = arrest(intake)

    view, version = case_view(intake, case_id)

    assert (view["status"], version) == ("arrested", 1)
    assert view["person"]["full_name"] == "Amadou Test Traoré"
    stored = intake.recorder.select_events(case_id)
    assert len(stored) == 1
    assert b"Amadou" not in stored[0].state


def test_custody_runs_for_the_initial_hours_of_the_jurisdictions_regime(
    intake: IntakeApplication,
) -> None:
    case_id = arrest(intake)
    started = ARRESTED + timedelta(hours=1)
    regime = intake.rules.custody.regimes["ordinary"]

    intake.start_custody(case_id, {"started_at": started, "legal_basis": "CPP"}, "ordinary", POLICE)

    custody = case_view(intake, case_id)[0]["custody"]
    assert custody["until"] == (started + timedelta(hours=regime.initial_hours)).isoformat()
    assert (custody["regime"], custody["max_extensions"]) == ("ordinary", regime.max_extensions)
    assert custody["legal_source"] == regime.source


def test_a_custody_regime_the_jurisdiction_lacks_is_refused(intake: IntakeApplication) -> None:
    case_id = arrest(intake)

    with pytest.raises(InvalidFieldsError, match="no custody regime 'martial'"):
        intake.start_custody(
            case_id, {"started_at": ARRESTED, "legal_basis": "CPP"}, "martial", POLICE
        )

    assert case_view(intake, case_id)[0]["custody"] is None


def test_an_admission_before_the_custody_started_is_refused(intake: IntakeApplication) -> None:
    case_id = arrest(intake)
    started = ARRESTED + timedelta(hours=5)
    intake.start_custody(case_id, {"started_at": started, "legal_basis": "CPP"}, None, POLICE)
    early = DetaineeAdmitted(facility="MCA Bamako", admitted_at=started - HOUR, warrant_ref="MD-1")

    with pytest.raises(CustodyEndsBeforeStartError):
        intake.admit(case_id, early, POLICE)

    assert case_view(intake, case_id)[0]["status"] == "in_custody"


def test_a_release_executes_the_order_judicial_sent(intake: IntakeApplication) -> None:
    case_id = arrest(intake)
    release = DetaineeReleased(released_at=ARRESTED + 3 * HOUR, release_order_id=uuid4())
    with pytest.raises(ReleaseWithoutOrderError):
        intake.release(case_id, release, POLICE)
    order_id, order_event = order_release(intake, case_id, ARRESTED + 2 * HOUR)

    recorded = intake.release(
        case_id, release.model_copy(update={"release_order_id": order_id}), POLICE
    )

    view = case_view(intake, case_id)[0]
    assert (view["status"], view["release_order_id"]) == ("released", str(order_id))
    released = list(intake.events.get(case_id))[-1]
    assert (type(released).__name__, released.meta.event_id) == (
        "DetaineeReleased",
        recorded.event_id,
    )
    assert released.meta.causation_id == order_event


def test_a_redelivered_order_is_refused_by_its_inbound_record(intake: IntakeApplication) -> None:
    case_id = arrest(intake)
    order = ReleaseOrdered(release_order_id=uuid4(), kind=ReleaseKind.BAIL, effective_at=ARRESTED)
    envelope = envelope_of(order, case_id)
    inbound = ("release-orders", UUID(str(envelope.id)))
    intake.on_release_ordered(envelope, order, inbound)
    version = case_view(intake, case_id)[1]

    with pytest.raises(IntegrityError):
        intake.on_release_ordered(envelope, order, inbound)

    assert intake.has_processed(*inbound)
    assert case_view(intake, case_id)[1] == version


def test_orders_for_a_case_intake_never_learnt_are_noted_and_record_nothing(
    intake: IntakeApplication,
) -> None:
    unknown = uuid4()
    order = ReleaseOrdered(release_order_id=uuid4(), kind=ReleaseKind.BAIL, effective_at=ARRESTED)
    ordered = envelope_of(order, unknown)
    voiding = JudicialEntryVoided(
        voided_event_id=UUID(str(ordered.id)),
        reason="Wrong case",
        voided_event_type=ReleaseOrdered.type_name(),
    )
    voided = envelope_of(voiding, unknown)

    intake.on_release_ordered(ordered, order, ("release-orders", UUID(str(ordered.id))))
    intake.on_judicial_entry_voided(voided, voiding, ("release-orders", UUID(str(voided.id))))

    assert intake.has_processed("release-orders", UUID(str(ordered.id)))
    assert intake.has_processed("release-orders", UUID(str(voided.id)))
    assert intake.recorder.select_events(unknown) == []


def test_a_voided_release_order_no_longer_allows_a_release(intake: IntakeApplication) -> None:
    case_id = arrest(intake)
    order_id, order_event = order_release(intake, case_id, ARRESTED)
    voiding = JudicialEntryVoided(
        voided_event_id=order_event,
        reason="Wrong case",
        voided_event_type=ReleaseOrdered.type_name(),
    )
    envelope = envelope_of(voiding, case_id)

    intake.on_judicial_entry_voided(envelope, voiding, ("release-orders", UUID(str(envelope.id))))

    release = DetaineeReleased(released_at=ARRESTED + HOUR, release_order_id=order_id)
    with pytest.raises(ReleaseWithoutOrderError):
        intake.release(case_id, release, POLICE)
    assert case_view(intake, case_id)[0]["release_orders"][0]["withdrawn"] is True


def test_a_command_on_a_stale_version_or_an_unknown_case_is_refused(
    intake: IntakeApplication,
) -> None:
    case_id = arrest(intake)
    stale = CommandContext(actor="officer-1", agency="police", expected_version=7)
    admission = DetaineeAdmitted(facility="MCA Bamako", admitted_at=ARRESTED, warrant_ref="MD-1")

    with pytest.raises(StaleVersionError):
        intake.admit(case_id, admission, stale)
    with pytest.raises(NotFoundError):
        intake.admit(uuid4(), admission, POLICE)

    assert case_view(intake, case_id)[1] == 1


def test_a_destroyed_key_leaves_the_case_readable_its_person_erased(
    intake: IntakeApplication,
) -> None:
    case_id = arrest(intake)

    assert intake.keys.erase(str(case_id))

    view = case_view(intake, case_id)[0]
    assert view["person"]["full_name"] == ERASED
    assert view["arrest"]["location"] == "Sévaré checkpoint, Mopti region"


def test_what_needs_a_view_says_so_in_memory(intake: IntakeApplication) -> None:
    case_id = arrest(intake)
    first = intake.repository.get(case_id).entries[0].event_id

    with pytest.raises(NoViewsError):
        intake.void(first, "Mistake", POLICE)
    with pytest.raises(NoViewsError):
        intake.finish_erasures()
