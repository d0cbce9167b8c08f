"""Corrections stay with their author: the kit's one rule for every service's voiding (a role that
records or supervises the entry's type, acting for the agency that recorded it), and the
recording agency of entries indexed before it was kept."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded
from shared.kit.auth import require_voider
from shared.kit.errors import ForbiddenError
from shared.kit.store import CommandContext
from tests.support import arrest_payload

ADMITTED = "caseline.intake.DetaineeAdmitted.v1"


def test_the_recording_agency_voids_with_a_role_that_records_the_type():
    require_voider("prison_registry", "mca-bamako", ADMITTED, "mca-bamako")


def test_a_supervisor_of_the_recording_agency_voids_what_it_may_not_record():
    require_voider("prison_director", "mca-bamako", ADMITTED, "mca-bamako")


@pytest.mark.parametrize(
    ("role", "agency"),
    [("prison_registry", "mca-koulikoro"), ("prison_director", "mca-koulikoro"),
     ("police", "mca-bamako"), ("judge", "mca-bamako")],
    ids=["other-registry", "other-director", "role-not-recording", "role-not-supervising"],
)  # fmt: skip
def test_another_agency_or_a_role_without_the_work_is_refused(role, agency):
    with pytest.raises(ForbiddenError):
        require_voider(role, agency, ADMITTED, "mca-bamako")


def test_an_automatic_entry_is_left_to_the_services_rules():
    require_voider("judge", "pole-judiciaire", "caseline.judicial.CaseSealed.v1", None)


def _police(agency: str) -> CommandContext:
    return CommandContext(actor=f"officer@{agency}", agency=agency, role="police")


@pytest.fixture
def indexed_before_agencies(settings) -> Iterator[tuple[IntakeApplication, UUID]]:
    """An intake store whose entry index was made before it kept the recording agency."""
    app = IntakeApplication(settings)
    arrest = app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), _police("gao"))
    with app.cursor() as curs:
        curs.execute(app.store.fmt("ALTER TABLE {schema}.entry_index DROP COLUMN agency"))
        curs.connection.commit()
    app.shutdown()
    restarted = IntakeApplication(settings)
    yield restarted, arrest.event_id
    restarted.shutdown()


def test_an_entry_indexed_before_agencies_is_voided_by_its_stored_agency(indexed_before_agencies):
    app, arrest = indexed_before_agencies
    assert app.find_entry(arrest).agency is None  # the column is back, the row not yet filled

    assert app.entry_to_void(arrest, _police("gao")).event_id == arrest
    with pytest.raises(ForbiddenError):
        app.entry_to_void(arrest, _police("mopti"))


def test_a_replay_fills_in_the_recording_agency(indexed_before_agencies):
    app, arrest = indexed_before_agencies

    app.rebuild_views()

    assert app.find_entry(arrest).agency == "gao"
