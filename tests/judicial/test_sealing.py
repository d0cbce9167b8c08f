"""A final acquittal or dismissal seals the case once the appeal period has passed (the checker
does it, once); a judge may seal by order; a sealed case takes no new entry."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from tests.judicial.pathway import DAY, assert_refused, iso


def acquitted(stack, days_ago: int, outcome: str = "acquitted") -> tuple[str, str]:
    case_id = stack.charged_case()
    response = stack.verdict(case_id, outcome, delivered_at=iso(stack.now() - days_ago * DAY))
    assert response.status_code == 201, response.text
    return case_id, response.json()["event_ids"][0]


def test_an_acquittal_is_sealed_once_the_appeal_period_has_passed(stack):
    case_id, verdict_id = acquitted(stack, days_ago=61)

    first = stack.judicial_app.seal_due_cases()
    second = stack.judicial_app.seal_due_cases()

    assert (UUID(case_id) in first, UUID(case_id) in second) == (True, False)
    view = stack.view(stack.judicial, case_id)
    assert (view["sealed"], view["stage"]) == (True, "sealed")
    app = stack.judicial_app
    [sealed] = [
        app.decode(e)
        for e in app.recorder.select_events(UUID(case_id))
        if e.topic.endswith("CaseSealed")
    ]
    assert (sealed.data.sealed_by, sealed.meta.causation_id) == ("system", UUID(verdict_id))
    assert "appeal period of 60 days" in sealed.data.reason


def test_a_dismissal_is_sealed_as_well(stack):
    case_id, _ = acquitted(stack, days_ago=61, outcome="dismissed")

    stack.judicial_app.seal_due_cases()

    assert stack.view(stack.judicial, case_id)["sealed"] is True


def test_no_seal_while_an_appeal_is_still_possible(stack):
    case_id, _ = acquitted(stack, days_ago=59)

    stack.judicial_app.seal_due_cases()

    assert stack.view(stack.judicial, case_id)["sealed"] is False


def test_a_conviction_is_never_sealed_by_the_checker(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id, delivered_at=iso(stack.now() - 400 * DAY))

    stack.judicial_app.seal_due_cases()

    assert stack.view(stack.judicial, case_id)["sealed"] is False


def test_a_sealed_case_takes_no_new_entry(stack):
    case_id, _ = acquitted(stack, days_ago=61)
    stack.judicial_app.seal_due_cases()
    before = stack.version(stack.judicial, case_id)

    hearing = stack.post(
        stack.judicial, f"/cases/{case_id}/hearings", "judge",
        {"court": "C", "scheduled_for": iso(stack.now() + timedelta(days=1)), "purpose": "Review"},
    )  # fmt: skip
    order = stack.order_release(case_id, "bail")

    assert_refused(hearing, "case-sealed", "sealed")
    assert_refused(order, "case-sealed", "sealed")
    assert stack.version(stack.judicial, case_id) == before


def test_an_automatic_seal_cannot_be_voided(stack):
    case_id, _ = acquitted(stack, days_ago=61)
    stack.judicial_app.seal_due_cases()
    seal = next(
        e for e in stack.view(stack.judicial, case_id)["entries"] if e["type"] == "CaseSealed"
    )
    before = stack.version(stack.judicial, case_id)

    response = stack.void(stack.judicial, seal["event_id"], "judge")

    assert_refused(response, "entry-not-voidable", "automatic seal")
    assert stack.version(stack.judicial, case_id) == before


def test_a_judge_seals_by_order_once(stack):
    case_id = stack.charged_case()
    ordered = stack.post(
        stack.judicial, f"/cases/{case_id}/seal", "judge", {"reason": "Minor at the time"}
    )
    before = stack.version(stack.judicial, case_id)

    again = stack.post(stack.judicial, f"/cases/{case_id}/seal", "judge", {"reason": "Again"})

    assert ordered.status_code == 201, ordered.text
    assert_refused(again, "case-sealed", "sealed")
    assert stack.version(stack.judicial, case_id) == before


def test_a_seal_ordered_by_mistake_is_voided_by_a_judge(stack):
    case_id = stack.charged_case()
    seal = stack.post(stack.judicial, f"/cases/{case_id}/seal", "judge", {"reason": "Wrong case"})

    response = stack.void(stack.judicial, seal.json()["event_id"], "judge")

    assert response.status_code == 201, response.text
    assert stack.view(stack.judicial, case_id)["sealed"] is False
