"""Every key of every service's own view of a case, and of every item of its lists, says which
event type it comes from, so the visibility table reaches it (`shared.kit.redaction`): a new key
cannot slip past the table. So does every filter of a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from services.assessment import queries as assessment
from services.intake import queries as intake
from services.judicial import queries as judicial
from services.programmes import queries as programmes
from shared.kit.redaction import ViewSources, redact_items, sees_key, undeclared_keys
from shared.kit.scope import Scope
from shared.permissions import ROLES, SERVICE_READERS
from tests.access.care import MINISTRY
from tests.access.reads import narrowed_readers
from tests.access.records import records_of
from tests.access.sweep import guarded_routes, path_params, query_names

EVERYTHING = Scope("auditor", "all", sees_sealed=True)
Read = Callable[[Any], dict[str, Any]]


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
    programme, _ = programmes.programme_view(app, UUID(own.programme_id), reader=reader)

    # The views come redacted: every key an auditor gets must be declared, none dropped.
    assert undeclared_keys(case, programmes.CASE_VIEW_SOURCES) == set()
    assert set(programmes.CASE_VIEW_SOURCES) - {"version"} <= set(case)
    assert undeclared_keys(referral, programmes.REFERRAL_VIEW_SOURCES) == set()
    assert set(programmes.REFERRAL_VIEW_SOURCES) <= set(referral)
    assert set(programmes.PROGRAMME_VIEW_SOURCES) - {"version"} == set(programme)


# --- lists: every key of every item, and every filter, declared as the views' keys are --------

_AUDITOR = programmes.Reader("auditor", "inspection", EVERYTHING)
_MINISTRY = programmes.Reader("auditor", MINISTRY, EVERYTHING)

LISTS: dict[tuple[str, str], tuple[type[BaseModel], ViewSources, ViewSources, Read]] = {
    ("assessment", "/cases"): (
        assessment.CaseItem,
        assessment.CASE_ITEM_SOURCES,
        assessment.CASE_FILTER_SOURCES,
        lambda app: assessment.list_cases(app, 500, 0, scope=EVERYTHING),
    ),
    ("assessment", "/reviews"): (
        assessment.Review,
        assessment.REVIEW_ITEM_SOURCES,
        assessment.REVIEW_FILTER_SOURCES,
        lambda app: assessment.reviews(app, "satisfied", 500, 0, scope=EVERYTHING),
    ),
    ("judicial", "/cases"): (
        judicial.CaseItem,
        judicial.CASE_ITEM_SOURCES,
        judicial.CASE_FILTER_SOURCES,
        lambda app: judicial.list_cases(app, 500, 0, scope=EVERYTHING),
    ),
    ("judicial", "/deadlines"): (
        judicial.Deadline,
        judicial.DEADLINE_ITEM_SOURCES,
        judicial.DEADLINE_FILTER_SOURCES,
        lambda app: judicial.deadlines(app, 500, 0, scope=EVERYTHING),
    ),
    ("programmes", "/programmes"): (
        programmes.ProgrammeItem,
        programmes.PROGRAMME_ITEM_SOURCES,
        programmes.PROGRAMME_FILTER_SOURCES,
        lambda app: programmes.list_programmes(app, 500, 0, reader=_AUDITOR),
    ),
    ("programmes", "/cases"): (
        programmes.CaseItem,
        programmes.CASE_ITEM_SOURCES,
        programmes.CASE_FILTER_SOURCES,
        lambda app: programmes.list_cases(app, 500, 0, reader=_AUDITOR),
    ),
    ("programmes", "/referrals"): (
        programmes.ReferralItem,
        programmes.REFERRAL_ITEM_SOURCES,
        programmes.REFERRAL_FILTER_SOURCES,
        lambda app: programmes.list_referrals(app, "outgoing", 500, 0, reader=_MINISTRY),
    ),
    ("programmes", "/follow-ups"): (
        programmes.FollowUpDue,
        programmes.FOLLOW_UP_ITEM_SOURCES,
        programmes.FOLLOW_UP_FILTER_SOURCES,
        lambda app: programmes.follow_ups(app, 500, 0, reader=_AUDITOR),
    ),
}
"""Each case list → its item model, the sources of its items' keys and of its filters, and a
read of it as an auditor (who sees every declared key)."""


UNDECLARED_LISTS = {
    ("assessment", "/instruments"): "the instruments published: no case in them",
    ("assessment", "/placements/conflicts"): "pairs and minors, each a finding about cases",
}
"""The lists of these services that declare no sources, and why."""


def test_every_list_of_these_services_is_declared():
    lists = {
        (s, r)
        for s, r in guarded_routes()
        if s in ("assessment", "judicial", "programmes")
        and not path_params(r)
        and not r.startswith("/audit")
    }

    assert lists - set(LISTS) == set(UNDECLARED_LISTS)
    assert set(LISTS) <= lists


@pytest.mark.parametrize("route", sorted(LISTS), ids=str)
def test_every_key_of_a_lists_items_is_declared(world, route):
    model, sources, _, read = LISTS[route]
    records_of(world)

    items = read(_app(world, route[0]))["items"]

    assert items
    assert set(model.model_fields) == set(sources)
    for item in items:
        assert undeclared_keys(item, sources) == set()
        # An auditor sees every key (but those only an overdue deadline has).
        assert set(sources) - set(item) <= {"hours_past_limit", "action"}


@pytest.mark.parametrize("route", sorted(LISTS), ids=str)
def test_every_filter_of_a_list_is_declared(route):
    _, _, filters, _ = LISTS[route]

    assert query_names(*route) - {"limit", "offset"} == set(filters)


@pytest.mark.parametrize("route", sorted(LISTS), ids=str)
def test_a_key_some_reader_may_not_see_is_optional_in_the_items(route):
    model, sources, _, _ = LISTS[route]
    readers = narrowed_readers(*route) or SERVICE_READERS[route[0]]

    required = {name for name, f in model.model_fields.items() if f.is_required()}
    seen_by_all = {key for key in sources if all(sees_key(r, sources, key) for r in readers)}

    assert required <= seen_by_all


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("route", sorted(LISTS), ids=str)
def test_no_role_keeps_a_key_of_a_list_item_it_may_not_see(route, role):
    _, sources, _, _ = LISTS[route]
    item = dict.fromkeys(sources, "x") | {"undeclared": "x"}

    [shown] = redact_items([item], role, sources)

    assert set(shown) == {key for key in sources if sees_key(role, sources, key)}
