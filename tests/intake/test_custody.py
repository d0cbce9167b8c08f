"""Police custody (garde à vue) in intake: its limit comes from the jurisdiction's rules, and it
is extended only while it runs, in the jurisdiction's blocks, up to its maximum."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.intake.service import create_app as intake_app
from tests.judicial.pathway import HOUR, assert_refused, iso
from tests.support import arrest_payload, auth, running


def extension(until: datetime, authorised_at: datetime | None = None) -> dict[str, str]:
    body = {
        "extended_until": iso(until),
        "authorised_by": "Procureur du pôle",
        "reason": "Investigation",
    }
    return {**body, "authorised_at": iso(authorised_at)} if authorised_at else body


def extend(stack, case_id: str, until: datetime, authorised_at: datetime | None = None):
    path = f"/cases/{case_id}/custody/extensions"
    return stack.post(stack.intake, path, "prosecutor", extension(until, authorised_at))


def test_custody_takes_its_limit_from_the_jurisdiction_rules(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR

    response = stack.custody(case_id, started)

    assert response.status_code == 201, response.text
    custody = stack.view(stack.intake, case_id)["custody"]
    assert custody["regime"] == "terrorism"
    assert datetime.fromisoformat(custody["until"]) == started + 48 * HOUR
    assert datetime.fromisoformat(custody["latest_until"]) == started + 144 * HOUR
    assert "art. 76" in custody["legal_source"]


def test_the_ordinary_regime_allows_one_extension_of_24_hours(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR

    stack.custody(case_id, started, regime="ordinary")

    custody = stack.view(stack.intake, case_id)["custody"]
    assert custody["max_extensions"] == 1
    assert datetime.fromisoformat(custody["latest_until"]) == started + 72 * HOUR


def test_an_unknown_custody_regime_is_an_invalid_field(stack):
    case_id = stack.open_case()
    before = stack.version(stack.intake, case_id)

    response = stack.custody(case_id, regime="martial")

    assert response.status_code == 422, response.text
    assert "regime" in response.json()["detail"]
    assert stack.version(stack.intake, case_id) == before


def test_another_jurisdiction_gives_its_own_custody_limit(settings_factory):
    settings = settings_factory(jurisdiction="niger")
    with running(intake_app(settings)) as intake:
        police = auth(settings, "police")
        case_id = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]
        body = {"started_at": "2026-11-01T07:00:00Z", "legal_basis": "CPP Niger, terrorism"}

        intake.post(f"/cases/{case_id}/custody", json=body, headers=police)

        custody = intake.get(f"/cases/{case_id}", headers=police).json()["custody"]
    assert custody["until"] == "2026-11-16T07:00:00+00:00"  # 360 hours


def test_custody_starts_once(stack):
    case_id = stack.open_case()
    stack.custody(case_id)
    before = stack.version(stack.intake, case_id)

    response = stack.custody(case_id)

    assert_refused(response, "custody-already-started", "extension")
    assert stack.version(stack.intake, case_id) == before


def test_custody_cannot_start_before_the_arrest(stack):
    case_id = stack.open_case()
    before = stack.version(stack.intake, case_id)

    response = stack.custody(case_id, stack.now() - 5 * HOUR)

    assert_refused(response, "custody-before-arrest", "before the arrest")
    assert stack.version(stack.intake, case_id) == before


def test_custody_cannot_start_after_admission_to_prison(stack):
    case_id = stack.open_case()
    stack.admit(case_id)
    before = stack.version(stack.intake, case_id)

    response = stack.custody(case_id)

    assert_refused(response, "custody-after-admission", "before admission")
    assert stack.version(stack.intake, case_id) == before


def test_an_extension_within_the_block_moves_the_end_of_custody(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)

    response = extend(stack, case_id, started + 96 * HOUR, stack.now() - HOUR)

    assert response.status_code == 201, response.text
    custody = stack.view(stack.intake, case_id)["custody"]
    assert (custody["until"], custody["extensions"]) == (iso(started + 96 * HOUR), 1)


def test_no_extension_without_custody(stack):
    case_id = stack.open_case()
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, stack.now() + 50 * HOUR)

    assert_refused(response, "no-custody", "no custody has started")
    assert stack.version(stack.intake, case_id) == before


def test_no_extension_once_custody_ended_with_admission(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    stack.admit(case_id)
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, started + 96 * HOUR)

    assert_refused(response, "custody-not-running", "ended")
    assert stack.version(stack.intake, case_id) == before


def test_an_extension_must_be_authorised_while_custody_runs(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, started + 96 * HOUR, authorised_at=started + 49 * HOUR)

    assert_refused(response, "custody-expired", "while the custody runs")
    assert stack.version(stack.intake, case_id) == before


def test_an_extension_adds_at_most_one_block(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, started + 97 * HOUR)

    assert_refused(response, "extension-too-long", "at most 48 hours")
    assert stack.version(stack.intake, case_id) == before


def test_an_extension_must_move_the_end_later(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, started + 40 * HOUR)

    assert_refused(response, "extension-not-later", "after the current end")
    assert stack.version(stack.intake, case_id) == before


def test_custody_is_extended_at_most_the_jurisdictions_number_of_times(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)
    for blocks in (2, 3):
        assert extend(stack, case_id, started + blocks * 48 * HOUR).status_code == 201
    before = stack.version(stack.intake, case_id)

    response = extend(stack, case_id, started + 4 * 48 * HOUR)

    assert_refused(response, "custody-extension-limit", "at most 2 extension", "art. 76")
    assert stack.version(stack.intake, case_id) == before


def test_the_judge_view_of_custody_follows_intake(stack):
    case_id = stack.open_case()
    started = stack.now() - 2 * HOUR
    stack.custody(case_id, started)

    extend(stack, case_id, started + 96 * HOUR)

    view = stack.judicial_learnt(case_id, lambda v: v["custody"] and v["custody"]["renewals"] == 1)
    assert view["custody"]["expires_at"] == iso(started + 96 * HOUR)


def test_custody_after_release_needs_a_new_arrest(stack):
    case_id, _ = stack.released_case()
    before = stack.version(stack.intake, case_id)

    response = stack.custody(case_id, stack.now() - timedelta(minutes=1))

    assert_refused(response, "person-released", "new arrest")
    assert stack.version(stack.intake, case_id) == before
