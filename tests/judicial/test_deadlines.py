"""Judicial follows custody and pre-trial detention deadlines; `GET /deadlines` shows those due
soon and overdue, by facility, to the court and to the prison; a limit passed with no renewal,
verdict or release is recorded as breached exactly once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.judicial.pathway import DAY, HOUR, iso
from tests.support import eventually


def deadlines(
    stack, role: str = "judge", at: str | None = None, **query: str
) -> list[dict[str, Any]]:
    """The deadlines `role` sees (prison staff: of the facility `at`, by default the tests')."""
    response = stack.judicial.get(
        "/deadlines", params={"limit": 500, **query}, headers=stack.h(role, facility=at)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def known_held(stack, facility: str, *case_ids: str) -> None:
    """Wait until judicial has learnt over the bus that the prison holds these persons."""
    eventually(
        lambda: (
            set(case_ids)
            <= {
                d["case_id"]
                for d in deadlines(stack, "prison_director", facility, facility=facility)
            }
        ),
        timeout=15,
    )


def custody_started_hours_ago(stack, hours: int) -> str:
    case_id = stack.open_case(arrested_at=iso(stack.now() - (hours + 1) * HOUR))
    assert stack.custody(case_id, stack.now() - hours * HOUR).status_code == 201
    stack.judicial_learnt(case_id, lambda v: v["custody"] is not None)
    return case_id


def detained_in(stack, facility: str, ordered_days_ago: int) -> str:
    case_id = stack.charged_case()
    admitted = stack.admit(case_id, facility, register_number=f"ECROU-{facility[-4:]}")
    assert admitted.status_code == 201, admitted.text
    stack.judicial_learnt(case_id, lambda v: v["facility"] == facility)
    ordered = stack.now() - ordered_days_ago * DAY
    assert stack.order_detention(case_id, ordered).status_code == 201
    return case_id


def test_custody_near_its_limit_is_due_soon_and_past_it_overdue(stack):
    soon = custody_started_hours_ago(stack, 40)
    late = custody_started_hours_ago(stack, 50)

    due_soon = {d["case_id"] for d in deadlines(stack, status="due_soon", kind="custody")}
    overdue = {d["case_id"]: d for d in deadlines(stack, status="overdue", kind="custody")}

    assert (soon in due_soon, soon in overdue) == (True, False)
    assert (late in due_soon, late in overdue) == (False, True)
    assert overdue[late]["hours_past_limit"] >= 2
    assert "prosecutor" in overdue[late]["action"]


def test_the_prison_sees_the_detention_deadlines_of_its_facility(stack):
    facility = f"Prison due {stack.now().timestamp()}"
    due = detained_in(stack, facility, ordered_days_ago=360)
    later = detained_in(stack, facility, ordered_days_ago=10)
    known_held(stack, facility, due, later)

    seen = deadlines(stack, "prison_registry", facility, facility=facility, status="due_soon")

    assert [(d["case_id"], d["kind"]) for d in seen] == [(due, "pre_trial")]
    assert seen[0]["register_number"].startswith("ECROU-")
    assert len(deadlines(stack, "prison_director", facility, facility=facility)) == 2
    # Another prison asking for this facility's deadlines sees none of them.
    assert deadlines(stack, "prison_director", facility=facility) == []


def test_an_overdue_detention_tells_the_prison_to_bring_the_detainee_before_the_prosecutor(stack):
    facility = f"Prison overdue {stack.now().timestamp()}"
    known_held(stack, facility, detained_in(stack, facility, ordered_days_ago=370))

    [overdue] = deadlines(stack, "prison_registry", facility, facility=facility, status="overdue")

    assert "bring the detainee before the prosecutor" in overdue["action"]
    assert "art. 135" in overdue["legal_source"]


def test_a_breach_is_recorded_once_and_caused_by_the_limit_it_passed(stack):
    case_id = custody_started_hours_ago(stack, 50)
    custody_event = stack.view(stack.intake, case_id)["entries"][1]["event_id"]

    first = stack.judicial_app.detect_breaches()
    second = stack.judicial_app.detect_breaches()

    assert (UUID(case_id) in first, UUID(case_id) in second) == (True, False)
    view = stack.view(stack.judicial, case_id)
    [breach] = view["breaches"]
    assert (breach["deadline_kind"], breach["expired_at"]) == (
        "custody",
        view["custody"]["expires_at"],
    )
    assert breach_causes(stack, case_id) == [UUID(custody_event)]
    [listed] = [d for d in deadlines(stack, status="overdue") if d["case_id"] == case_id]
    assert listed["breach_recorded"] is True


def breach_causes(stack, case_id: str) -> list[UUID | None]:
    app = stack.judicial_app
    stored = app.recorder.select_events(UUID(case_id))
    return [app.decode(e).meta.causation_id for e in stored if e.topic.endswith("Breached")]


def renew(stack, case_id: str, renewed_at, expires_at) -> Any:
    body = {"renewed_by": "Juge", "renewed_at": iso(renewed_at), "expires_at": iso(expires_at)}
    return stack.post(stack.judicial, f"/cases/{case_id}/detention-orders/renewals", "judge", body)


def test_a_renewal_before_expiry_means_no_breach(stack):
    ordered = stack.now() - 400 * DAY
    case_id = stack.detained_case(ordered)
    assert renew(stack, case_id, ordered + 360 * DAY, ordered + 700 * DAY).status_code == 201

    stack.judicial_app.detect_breaches()

    assert stack.view(stack.judicial, case_id)["breaches"] == []


def test_a_verdict_before_expiry_means_no_breach(stack):
    ordered = stack.now() - 400 * DAY
    case_id = stack.detained_case(ordered)
    stack.verdict(case_id, delivered_at=iso(ordered + 300 * DAY))

    stack.judicial_app.detect_breaches()

    assert stack.view(stack.judicial, case_id)["breaches"] == []


def test_a_release_after_the_limit_is_still_a_breach(stack):
    ordered = stack.now() - 400 * DAY
    case_id = stack.detained_case(ordered)
    assert stack.admit(case_id).status_code == 201
    order = stack.order_release(case_id, "bail", effective_at=iso(stack.now() - 10 * DAY)).json()
    stack.intake_knows_order(case_id, order["release_order_id"])
    released = stack.release(
        case_id, order["release_order_id"], released_at=iso(stack.now() - 9 * DAY)
    )
    assert released.status_code == 201, released.text
    stack.judicial_learnt(case_id, lambda v: v["released_at"] is not None)

    stack.judicial_app.detect_breaches()

    [breach] = stack.view(stack.judicial, case_id)["breaches"]
    assert breach["expired_at"] == iso(ordered + 365 * DAY)


def test_a_voided_detention_order_is_never_breached(stack):
    case_id = stack.detained_case(stack.now() - 400 * DAY)
    order = next(
        e["event_id"]
        for e in stack.view(stack.judicial, case_id)["entries"]
        if e["type"] == "PreTrialDetentionOrdered"
    )
    stack.void(stack.judicial, order, "judge")

    stack.judicial_app.detect_breaches()

    assert stack.view(stack.judicial, case_id)["breaches"] == []


def test_deadlines_are_listed_soonest_first(stack):
    facility = f"Prison order {stack.now().timestamp()}"
    later = detained_in(stack, facility, ordered_days_ago=10)
    sooner = detained_in(stack, facility, ordered_days_ago=100)

    listed = [d["case_id"] for d in deadlines(stack, facility=facility)]

    assert listed == [sooner, later]
