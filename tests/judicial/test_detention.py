"""Pre-trial detention: ordered only after charges and within the offence class's initial term;
renewed only before it expires, one renewal term at a time, within the legal maximum total."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.judicial.pathway import DAY, HOUR, assert_refused, iso


def renew(stack, case_id: str, renewed_at: datetime, expires_at: datetime | None = None):
    body = {
        "renewed_by": "Juge d'instruction",
        "renewed_at": iso(renewed_at),
        "reason": "Inquiry continues",
    }
    if expires_at is not None:
        body["expires_at"] = iso(expires_at)
    return stack.post(stack.judicial, f"/cases/{case_id}/detention-orders/renewals", "judge", body)


def test_an_order_runs_the_initial_term_of_the_offence_class_by_default(stack):
    case_id = stack.charged_case()
    ordered = stack.now() - HOUR

    response = stack.order_detention(case_id, ordered)

    assert response.status_code == 201, response.text
    detention = stack.view(stack.judicial, case_id)["pre_trial_detention"]
    assert detention["expires_at"] == iso(ordered + 365 * DAY)
    assert (detention["offence_class"], detention["max_total_days"]) == ("crime", 1095)
    assert "art. 135" in detention["legal_source"]


def test_the_order_ends_custody(stack):
    case_id = stack.charged_case()

    stack.order_detention(case_id)

    custody = stack.view(stack.judicial, case_id)["custody"]
    assert (custody["status"], custody["ended_by"]) == ("ended", "detention_order")


def test_no_detention_order_without_charges(stack):
    case_id = stack.case_in_custody()
    before = stack.version(stack.judicial, case_id)

    response = stack.order_detention(case_id)

    assert_refused(response, "charges-required", "without charges")
    assert stack.version(stack.judicial, case_id) == before


def test_a_running_detention_is_renewed_not_ordered_again(stack):
    case_id = stack.detained_case()
    before = stack.version(stack.judicial, case_id)

    response = stack.order_detention(case_id)

    assert_refused(response, "detention-already-ordered", "renew it")
    assert stack.version(stack.judicial, case_id) == before


def test_a_first_order_runs_at_most_the_initial_term(stack):
    case_id = stack.charged_case()
    ordered = stack.now() - HOUR
    before = stack.version(stack.judicial, case_id)

    response = stack.order_detention(case_id, ordered, expires_at=iso(ordered + 366 * DAY))

    assert_refused(response, "detention-term-too-long", "at most 365 days", "art. 135")
    assert stack.version(stack.judicial, case_id) == before


def test_a_renewal_before_expiry_runs_one_more_term(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered)

    response = renew(stack, case_id, stack.now())

    assert response.status_code == 201, response.text
    detention = stack.view(stack.judicial, case_id)["pre_trial_detention"]
    assert (detention["expires_at"], detention["renewals"]) == (iso(ordered + 730 * DAY), 1)


def test_a_renewal_comes_only_before_expiry(stack):
    ordered = stack.now() - 400 * DAY
    case_id = stack.detained_case(ordered)
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now())

    assert_refused(response, "detention-expired", "only before expiry", "prosecutor")
    assert stack.version(stack.judicial, case_id) == before


def test_a_renewal_must_run_past_the_current_expiry(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered)
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now(), ordered + 300 * DAY)

    assert_refused(response, "renewal-not-later", "past the current expiry")
    assert stack.version(stack.judicial, case_id) == before


def test_a_renewal_adds_at_most_one_renewal_term(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered, expires_at=iso(ordered + 100 * DAY))
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now(), ordered + 466 * DAY)

    assert_refused(response, "renewal-too-long", "at most 365 days")
    assert stack.version(stack.judicial, case_id) == before


def test_detention_never_runs_past_the_legal_maximum(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered)
    assert renew(stack, case_id, stack.now()).status_code == 201
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now(), ordered + 1096 * DAY)

    assert_refused(response, "detention-beyond-maximum", "1095 days in all", "art. 135")
    assert stack.version(stack.judicial, case_id) == before


def test_the_default_renewal_stops_at_the_legal_maximum(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered)
    renew(stack, case_id, stack.now())

    renew(stack, case_id, stack.now())

    detention = stack.view(stack.judicial, case_id)["pre_trial_detention"]
    assert detention["expires_at"] == iso(ordered + 1095 * DAY)


def test_a_class_allows_only_its_number_of_renewals(stack):
    case_id = stack.case_in_custody()
    stack.charges(case_id, offence_class="delit")
    stack.order_detention(case_id)
    assert renew(stack, case_id, stack.now()).status_code == 201
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now())

    assert_refused(response, "renewal-limit", "delit allows 1 renewal", "art. 127")
    assert stack.version(stack.judicial, case_id) == before


def test_an_unknown_offence_class_is_an_invalid_field(stack):
    case_id = stack.case_in_custody()
    before = stack.version(stack.judicial, case_id)

    response = stack.charges(case_id, offence_class="felony")

    assert response.status_code == 422, response.text
    assert "offence_class" in response.json()["detail"]
    assert stack.version(stack.judicial, case_id) == before


def test_nothing_to_renew_without_an_order(stack):
    case_id = stack.charged_case()
    before = stack.version(stack.judicial, case_id)

    response = renew(stack, case_id, stack.now())

    assert_refused(response, "no-detention-order", "nothing to renew")
    assert stack.version(stack.judicial, case_id) == before


def test_pre_trial_detention_ends_with_the_verdict(stack):
    case_id = stack.detained_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    renewal = renew(stack, case_id, stack.now())
    order = stack.order_detention(case_id)

    assert_refused(renewal, "detention-after-verdict", "ended with it")
    assert_refused(order, "detention-after-verdict", "ended with it")
    assert stack.version(stack.judicial, case_id) == before


def test_charges_come_before_the_verdict(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.charges(case_id)

    assert_refused(response, "charges-after-verdict", "before it")
    assert stack.version(stack.judicial, case_id) == before


def test_a_released_person_is_not_detained_again_without_a_new_arrest(stack):
    case_id, _ = stack.released_case()
    stack.judicial_learnt(case_id, lambda v: v["released_at"] is not None)
    before = stack.version(stack.judicial, case_id)

    response = stack.order_detention(case_id)

    assert_refused(response, "detention-after-release", "new arrest")
    assert stack.version(stack.judicial, case_id) == before


def test_judicial_commands_on_a_case_it_does_not_know_are_not_found(stack):
    response = stack.charges("00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404, response.text


def test_an_expiry_before_the_order_is_an_invalid_field(stack):
    case_id = stack.charged_case()
    ordered = stack.now() - HOUR
    before = stack.version(stack.judicial, case_id)

    response = stack.order_detention(case_id, ordered, expires_at=iso(ordered - HOUR))

    assert response.status_code == 422, response.text
    assert stack.version(stack.judicial, case_id) == before


def test_a_renewal_defaults_within_its_term(stack):
    ordered = stack.now() - HOUR
    case_id = stack.detained_case(ordered)

    renew(stack, case_id, stack.now())

    assert stack.view(stack.judicial, case_id)["pre_trial_detention"]["renewals"] == 1
    assert (
        timedelta(days=730)
        == datetime.fromisoformat(
            stack.view(stack.judicial, case_id)["pre_trial_detention"]["expires_at"]
        )
        - ordered
    )
