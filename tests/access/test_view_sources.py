"""Every key of every service's own view of a case says which event type it comes from, so the
visibility table reaches it (`shared.kit.redaction`): a new key cannot slip past the table."""

from __future__ import annotations

from uuid import UUID

from services.assessment import queries as assessment
from services.intake import queries as intake
from services.judicial import queries as judicial
from services.programmes import queries as programmes
from shared.kit.redaction import undeclared_keys
from shared.kit.scope import Scope
from tests.access.records import records_of

EVERYTHING = Scope("auditor", "all", sees_sealed=True)


def _app(world, service):
    return world.clients[service].app.state.parts.application


def test_intake_declares_every_key_of_its_case_view(world):
    case_id = UUID(records_of(world).own.case_id)

    view, _ = intake.case_view(_app(world, "intake"), case_id)

    assert undeclared_keys(view, intake.CASE_VIEW_SOURCES) == set()


def test_judicial_declares_every_key_of_its_case_view(world):
    case_id = UUID(records_of(world).own.case_id)

    view, _ = judicial.case_view(_app(world, "judicial"), case_id)

    assert undeclared_keys(view, judicial.CASE_VIEW_SOURCES) == set()


def test_assessment_declares_every_key_of_its_views(world):
    own = records_of(world).own
    app = _app(world, "assessment")

    case, _ = assessment.case_view(app, UUID(own.case_id))
    one, _ = assessment.assessment_view(app, UUID(own.case_id), UUID(own.assessment_id))

    assert undeclared_keys(case, assessment.CASE_VIEW_SOURCES) == set()
    assert undeclared_keys(one, assessment.ASSESSMENT_VIEW_SOURCES) == set()


def test_programmes_declares_every_key_of_its_views(world):
    own = records_of(world).own
    app = _app(world, "programmes")
    reader = programmes.Reader("auditor", "inspection", EVERYTHING)

    case, _ = programmes.case_view(app, UUID(own.case_id), reader=reader)
    referral = programmes.referral_view(
        app, UUID(own.case_id), UUID(own.referral_id), reader=reader
    )

    # The views come redacted: every key an auditor gets must be declared, none dropped.
    assert undeclared_keys(case, programmes.CASE_VIEW_SOURCES) == set()
    assert set(programmes.CASE_VIEW_SOURCES) - {"version"} <= set(case)
    assert undeclared_keys(referral, programmes.REFERRAL_VIEW_SOURCES) == set()
    assert set(programmes.REFERRAL_VIEW_SOURCES) <= set(referral)
