"""Referrals between agencies: made by social workers with consent or a legal basis, answered only
by the agency referred to, revocable (voided) by the referrer until accepted, seen by both.
"""

from __future__ import annotations

import psycopg

from tests.programmes.conftest import NGO, link_organisation, rule_of, unique
from tests.support import auth

MENTAL_HEALTH = "Centre de santé mentale, Bamako"


def _refer(client, headers, case_id, **overrides):
    body = {"to_agency": NGO, "reason": "Vocational mentoring after release", "consent": "given"}
    body.update(overrides)
    return client.post(f"/cases/{case_id}/referrals", json=body, headers=headers)


def _answer(client, headers, case_id, referral_id, answer, **body):
    return client.post(
        f"/cases/{case_id}/referrals/{referral_id}/{answer}", json=body, headers=headers
    )


def _ngo(settings, agency=NGO):
    return auth(settings, "civil_society", sub="fatou", agency=agency)


def test_a_referral_needs_the_persons_consent_or_a_stated_legal_basis(client, feed, social_worker):
    case_id = feed.case()

    unstated = _refer(client, social_worker, case_id, consent="legal_basis")
    stated = _refer(
        client,
        social_worker,
        case_id,
        consent="legal_basis",
        legal_basis="Art. 12 of the 2008 counter-terrorism law: court-ordered follow-up",
    )

    assert unstated.status_code == 422
    assert "legal_basis" in unstated.text
    assert stated.status_code == 201, stated.text
    assert stated.headers["location"].endswith(stated.json()["referral_id"])


def test_only_a_social_worker_makes_a_referral(client, feed, settings):
    case_id = feed.case()

    refused = _refer(client, _ngo(settings), case_id)

    assert refused.status_code == 403


def test_only_the_agency_referred_to_may_accept(client, feed, settings, social_worker):
    case_id = feed.case()
    referral_id = _refer(client, social_worker, case_id).json()["referral_id"]
    # Another organisation working with the person sees the case, yet may not answer for NGO.
    another = unique("NGO")
    link_organisation(client, social_worker, another, case_id)

    by_another = _answer(client, _ngo(settings, another), case_id, referral_id, "acceptance")
    by_stranger = _answer(client, _ngo(settings, "Other NGO"), case_id, referral_id, "acceptance")
    by_referrer = _answer(client, social_worker, case_id, referral_id, "acceptance")
    by_recipient = _answer(client, _ngo(settings), case_id, referral_id, "acceptance")

    assert by_another.status_code == 403
    assert by_stranger.status_code == 404
    assert by_referrer.status_code == 403
    assert by_recipient.status_code == 201, by_recipient.text
    history = client.get(f"/cases/{case_id}/referrals/{referral_id}", headers=social_worker)
    assert [h["event"] for h in history.json()["history"]] == ["ReferralMade", "ReferralAccepted"]


def test_a_declined_referral_is_no_longer_the_decliners_to_read_or_answer(
    client, feed, settings, social_worker
):
    case_id = feed.case()
    referral_id = _refer(client, social_worker, case_id).json()["referral_id"]
    ngo = _ngo(settings)
    path = f"/cases/{case_id}/referrals/{referral_id}"

    declined = _answer(client, ngo, case_id, referral_id, "declination", reason="No places")
    read_after = client.get(path, headers=ngo)
    incoming = client.get("/referrals", params={"direction": "incoming"}, headers=ngo)
    accepted = _answer(client, ngo, case_id, referral_id, "acceptance")
    # Linked to the person some other way later, the organisation finds the referral answered.
    link_organisation(client, social_worker, NGO, case_id)
    accepted_later = _answer(client, ngo, case_id, referral_id, "acceptance")

    assert declined.status_code == 201
    # Need-to-know: having declined, the organisation no longer reads the referral's reasons.
    assert read_after.status_code == 404
    assert referral_id not in incoming.text
    assert accepted.status_code == 404
    assert accepted_later.status_code == 409
    assert rule_of(accepted_later) == "referral-answered"
    assert client.get(path, headers=social_worker).json()["status"] == "declined"


def test_the_referrer_revokes_a_referral_by_voiding_it_until_it_is_accepted(
    client, feed, settings, social_worker
):
    case_id = feed.case()
    pending = _refer(client, social_worker, case_id).json()
    taken = _refer(client, social_worker, case_id, to_agency=MENTAL_HEALTH).json()
    clinic = _ngo(settings, MENTAL_HEALTH)
    assert _answer(client, clinic, case_id, taken["referral_id"], "acceptance").status_code == 201
    reason = {"reason": "The person withdrew consent"}

    revoked = client.post(
        f"/entries/{pending['event_id']}/void", json=reason, headers=social_worker
    )
    too_late = client.post(f"/entries/{taken['event_id']}/void", json=reason, headers=social_worker)
    # The revoked referral was the organisation's only link to the person: it no longer sees them.
    unlinked = _answer(client, _ngo(settings), case_id, pending["referral_id"], "acceptance")
    link_organisation(client, social_worker, NGO, case_id)
    answer = _answer(client, _ngo(settings), case_id, pending["referral_id"], "acceptance")

    assert revoked.status_code == 201, revoked.text
    assert too_late.status_code == 409
    assert rule_of(too_late) == "not-voidable"
    assert unlinked.status_code == 404
    assert answer.status_code == 409
    assert rule_of(answer) == "referral-revoked"
    statuses = {r["referral_id"]: r["status"] for r in feed.view(case_id)["referrals"]}
    assert statuses == {pending["referral_id"]: "revoked", taken["referral_id"]: "accepted"}


def test_only_the_referring_agency_may_revoke(client, feed, settings, social_worker):
    case_id = feed.case()
    made = _refer(client, social_worker, case_id).json()
    colleague = auth(settings, "social_worker", sub="oumar", agency="another ministry office")

    refused = client.post(
        f"/entries/{made['event_id']}/void", json={"reason": "Not mine"}, headers=colleague
    )

    assert refused.status_code == 403
    assert (
        client.get(
            f"/cases/{case_id}/referrals/{made['referral_id']}", headers=social_worker
        ).json()["status"]
        == "pending"
    )


def test_a_referrals_history_is_visible_to_both_agencies_and_to_no_other(
    client, feed, settings, social_worker
):
    case_id = feed.case()
    basis = "Art. 12 of the 2008 counter-terrorism law: court-ordered follow-up"
    made = _refer(client, social_worker, case_id, consent="legal_basis", legal_basis=basis)
    referral_id = made.json()["referral_id"]
    _answer(client, _ngo(settings), case_id, referral_id, "acceptance")
    path = f"/cases/{case_id}/referrals/{referral_id}"

    referrer = client.get(path, headers=social_worker)
    recipient = client.get(path, headers=_ngo(settings))
    stranger = client.get(path, headers=_ngo(settings, "Other NGO"))

    assert referrer.status_code == recipient.status_code == 200
    # The legal basis of a referral is not civil society's to see; all else is the same.
    shown = {k: v for k, v in referrer.json().items() if k != "legal_basis"}
    assert referrer.json()["legal_basis"] == basis
    assert recipient.json() == shown
    assert basis not in recipient.text
    assert [h["event"] for h in referrer.json()["history"]] == ["ReferralMade", "ReferralAccepted"]
    assert stranger.status_code == 404


def test_an_organisation_lists_the_referrals_waiting_for_its_answer(
    client, feed, settings, social_worker
):
    first, second = feed.case(), feed.case()
    agency, office = unique("NGO"), unique("Social services")
    worker = auth(settings, "social_worker", sub="aminata", agency=office)
    waiting = _refer(client, worker, first, to_agency=agency).json()["referral_id"]
    answered = _refer(client, worker, second, to_agency=agency).json()["referral_id"]
    ngo = _ngo(settings, agency)
    _answer(client, ngo, second, answered, "acceptance")

    inbox = client.get("/referrals", params={"status": "pending"}, headers=ngo).json()
    outbox = client.get("/referrals", params={"direction": "outgoing"}, headers=worker)

    assert [r["referral_id"] for r in inbox["items"]] == [waiting]
    assert {r["referral_id"] for r in outbox.json()["items"]} == {waiting, answered}


def test_a_referrals_reason_is_listed_in_clear_and_stored_only_encrypted(
    client, feed, settings, social_worker
):
    case_id, reason = feed.case(), "Reason Referral-Shredtest for the inbox"
    _refer(client, social_worker, case_id, reason=reason)

    outbox = client.get("/referrals", params={"direction": "outgoing"}, headers=social_worker)
    with psycopg.connect(settings.database.conninfo()) as conn:
        stored = conn.execute(
            "SELECT reason_ct FROM programmes.referrals WHERE case_id = %s", (case_id,)
        ).fetchone()

    assert [r["reason"] for r in outbox.json()["items"] if r["case_id"] == str(case_id)] == [reason]
    assert stored is not None and stored[0] is not None
    assert reason.encode() not in bytes(stored[0])
