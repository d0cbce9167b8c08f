"""Every key of every service's own view of a case says which event type it comes from, so the
visibility table reaches it (`shared.kit.redaction`): a new key cannot slip past the table."""

from __future__ import annotations

from uuid import UUID

from services.assessment import queries as assessment
from services.intake.application import CASE_VIEW_SOURCES as INTAKE
from services.judicial import queries as judicial
from services.programmes.queries import CASE_VIEW_SOURCES as PROGRAMMES
from services.programmes.queries import REFERRAL_VIEW_SOURCES, Reader
from shared.kit.redaction import undeclared_keys
from shared.kit.scope import Scope
from tests.access.records import records_of

EVERYTHING = Scope("auditor", "all", sees_sealed=True)


def _app(world, service):
    return world.clients[service].app.state.parts.application


def test_intake_declares_every_key_of_its_case_view(world):
    case_id = UUID(records_of(world).own.case_id)

    view, _ = _app(world, "intake").case_view(case_id)

    assert undeclared_keys(view, INTAKE) == set()


def test_judicial_declares_every_key_of_its_case_view(world):
    case_id = UUID(records_of(world).own.case_id)

    view, _ = judicial.case_view(_app(world, "judicial"), case_id)

    assert undeclared_keys(view, judicial.CASE_VIEW_SOURCES) == set()


def test_assessment_declares_every_key_of_its_views(world):
    own = records_of(world).own
    app = _app(world, "assessment")

    case, _ = app.case_view(UUID(own.case_id))
    one, _ = app.assessment_view(UUID(own.case_id), UUID(own.assessment_id))

    assert undeclared_keys(case, assessment.CASE_VIEW_SOURCES) == set()
    assert undeclared_keys(one, assessment.ASSESSMENT_VIEW_SOURCES) == set()


def test_programmes_declares_every_key_of_its_views(world):
    own = records_of(world).own
    app = _app(world, "programmes")
    reader = Reader("auditor", "inspection", EVERYTHING)

    case, _ = app.case_view(UUID(own.case_id), reader)
    referral = app.referral_view(UUID(own.case_id), UUID(own.referral_id), reader)

    # The views come redacted: every key an auditor gets must be declared, none dropped.
    assert undeclared_keys(case, PROGRAMMES) == set()
    assert set(PROGRAMMES) - {"version"} <= set(case)
    assert undeclared_keys(referral, REFERRAL_VIEW_SOURCES) == set()
    assert set(REFERRAL_VIEW_SOURCES) <= set(referral)
