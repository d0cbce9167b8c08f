"""A release order names its kind, and the kind must fit the case; an acquittal or a dismissal
orders release by itself, caused by the verdict, and intake learns of it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from tests.judicial.pathway import assert_refused, iso


@pytest.mark.parametrize("outcome", ["acquitted", "dismissed"])
def test_an_acquittal_or_dismissal_orders_release(stack, outcome):
    case_id = stack.charged_case()

    response = stack.verdict(case_id, outcome)

    assert response.status_code == 201, response.text
    answer = response.json()
    [order] = stack.view(stack.judicial, case_id)["release_orders"]
    kind = {"acquitted": "acquittal", "dismissed": "dismissal"}[outcome]
    assert (order["release_order_id"], order["kind"]) == (answer["release_order_id"], kind)
    assert len(answer["event_ids"]) == 2
    stack.intake_knows_order(case_id, answer["release_order_id"])


def test_the_release_the_verdict_orders_is_caused_by_it(stack):
    case_id = stack.charged_case()
    answer = stack.verdict(case_id, "acquitted").json()
    verdict_id, order_id = answer["event_ids"]

    app = stack.judicial_app
    stored = app.recorder.select_events(UUID(case_id))

    metas = [app.decode(e).meta for e in stored if e.topic.endswith("ReleaseOrdered")]
    assert [(m.event_id, m.causation_id) for m in metas] == [(UUID(order_id), UUID(verdict_id))]


def test_an_acquittal_release_needs_an_acquittal(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.order_release(case_id, "acquittal")

    assert_refused(response, "release-kind-not-allowed", "verdict of acquitted")
    assert stack.version(stack.judicial, case_id) == before


def test_the_release_an_acquittal_ordered_is_not_ordered_twice(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id, "acquitted")
    before = stack.version(stack.judicial, case_id)

    response = stack.order_release(case_id, "acquittal")

    assert_refused(response, "release-kind-not-allowed", "already ordered")
    assert stack.version(stack.judicial, case_id) == before


def test_bail_is_granted_only_before_the_verdict(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.order_release(case_id, "bail")

    assert_refused(response, "release-kind-not-allowed", "before the verdict")
    assert stack.version(stack.judicial, case_id) == before


def test_a_release_for_a_sentence_served_needs_a_sentence(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    served = stack.order_release(case_id, "sentence_served")
    conditional = stack.order_release(case_id, "conditional")

    assert_refused(served, "release-kind-not-allowed", "needs a sentence")
    assert_refused(conditional, "release-kind-not-allowed", "needs a sentence")
    assert stack.version(stack.judicial, case_id) == before


def test_a_release_for_a_sentence_served_waits_for_the_sentence_to_end(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    starts = stack.now().date()
    stack.sentence(
        case_id, term_days=30, starts_on=starts.isoformat(), credit_for_time_served_days=0
    )
    before = stack.version(stack.judicial, case_id)

    response = stack.order_release(case_id, "sentence_served", effective_at=iso(stack.now()))

    assert_refused(
        response, "release-before-sentence-ends", (starts + timedelta(days=30)).isoformat()
    )
    assert stack.version(stack.judicial, case_id) == before


def test_no_release_order_once_the_person_was_released(stack):
    case_id, _ = stack.released_case()
    stack.judicial_learnt(case_id, lambda v: v["released_at"] is not None)
    before = stack.version(stack.judicial, case_id)

    response = stack.order_release(case_id, "bail")

    assert_refused(response, "already-released", "intake recorded")
    assert stack.version(stack.judicial, case_id) == before
