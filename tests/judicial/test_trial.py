"""Hearings are held or adjourned once; a verdict is delivered once and needs charges; a sentence
follows a conviction, once, with its release date computed from term, start and credit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.judicial.pathway import HOUR, assert_refused, iso


def schedule(stack, case_id: str) -> str:
    body = {
        "court": "Cour d'assises spéciale",
        "scheduled_for": iso(stack.now() + HOUR),
        "purpose": "Trial",
    }
    response = stack.post(stack.judicial, f"/cases/{case_id}/hearings", "prosecutor", body)
    assert response.status_code == 201, response.text
    return str(response.json()["hearing_id"])


def held(stack, case_id: str, hearing_id: str):
    body = {"held_at": iso(stack.now()), "outcome_summary": "Witnesses heard"}
    return stack.post(stack.judicial, f"/cases/{case_id}/hearings/{hearing_id}/held", "judge", body)


def adjourned(stack, case_id: str, hearing_id: str):
    body = {"reason": "Interpreter absent", "new_date": iso(stack.now() + 48 * HOUR)}
    return stack.post(
        stack.judicial, f"/cases/{case_id}/hearings/{hearing_id}/adjourned", "judge", body
    )


def test_a_scheduled_hearing_answers_its_id_and_is_held(stack):
    case_id = stack.charged_case()
    hearing_id = schedule(stack, case_id)

    response = held(stack, case_id, hearing_id)

    assert response.status_code == 201, response.text
    [hearing] = stack.view(stack.judicial, case_id)["hearings"]
    assert (hearing["hearing_id"], hearing["status"]) == (hearing_id, "held")


def test_a_hearing_is_held_once(stack):
    case_id = stack.charged_case()
    hearing_id = schedule(stack, case_id)
    held(stack, case_id, hearing_id)
    before = stack.version(stack.judicial, case_id)

    again = held(stack, case_id, hearing_id)
    then_adjourned = adjourned(stack, case_id, hearing_id)

    assert_refused(again, "hearing-closed", "already held", "once")
    assert_refused(then_adjourned, "hearing-closed", "already held", "once")
    assert stack.version(stack.judicial, case_id) == before


def test_an_adjourned_hearing_is_not_adjourned_again(stack):
    case_id = stack.charged_case()
    hearing_id = schedule(stack, case_id)
    adjourned(stack, case_id, hearing_id)
    before = stack.version(stack.judicial, case_id)

    response = adjourned(stack, case_id, hearing_id)

    assert_refused(response, "hearing-closed", "already adjourned")
    assert stack.version(stack.judicial, case_id) == before


def test_an_unknown_hearing_is_not_found(stack):
    case_id = stack.charged_case()

    response = held(stack, case_id, str(uuid.uuid4()))

    assert response.status_code == 404, response.text


def test_a_verdict_is_delivered_once(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.verdict(case_id, "acquitted")

    assert_refused(response, "verdict-already-delivered", "once")
    assert stack.version(stack.judicial, case_id) == before


def test_no_verdict_without_charges(stack):
    case_id = stack.case_in_custody()
    before = stack.version(stack.judicial, case_id)

    response = stack.verdict(case_id)

    assert_refused(response, "charges-required", "without charges")
    assert stack.version(stack.judicial, case_id) == before


def test_a_sentence_carries_its_computed_release_date(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    starts = (stack.now() - timedelta(days=10)).date()

    response = stack.sentence(
        case_id, term_days=1825, starts_on=starts.isoformat(), credit_for_time_served_days=400
    )

    assert response.status_code == 201, response.text
    sentence = stack.view(stack.judicial, case_id)["sentence"]
    assert sentence["release_date"] == (starts + timedelta(days=1425)).isoformat()


def test_a_sentence_needs_a_conviction(stack):
    acquitted = stack.charged_case()
    stack.verdict(acquitted, "acquitted")
    untried = stack.charged_case()
    before = (stack.version(stack.judicial, acquitted), stack.version(stack.judicial, untried))

    after_acquittal = stack.sentence(acquitted)
    before_verdict = stack.sentence(untried)

    assert_refused(after_acquittal, "sentence-without-conviction", "after a conviction")
    assert_refused(before_verdict, "sentence-without-conviction", "after a conviction")
    assert (
        stack.version(stack.judicial, acquitted),
        stack.version(stack.judicial, untried),
    ) == before


def test_a_sentence_is_imposed_once(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    stack.sentence(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.sentence(case_id)

    assert_refused(response, "sentence-already-imposed", "already imposed")
    assert stack.version(stack.judicial, case_id) == before


def test_the_credit_for_time_served_cannot_exceed_the_term(stack):
    case_id = stack.charged_case()
    stack.verdict(case_id)
    before = stack.version(stack.judicial, case_id)

    response = stack.sentence(case_id, term_days=100, credit_for_time_served_days=101)

    assert_refused(response, "credit-exceeds-term", "exceeds the term")
    assert stack.version(stack.judicial, case_id) == before
