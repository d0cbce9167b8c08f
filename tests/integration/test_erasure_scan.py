"""Erasure across all five services: one case records a distinct value of every kind of personal
field the catalogue declares; after the legal erasure flow, no store, view, read, log, stream or
bundle of any service holds one of them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from services.programmes.service import create_app as programmes_app
from shared.events.personal import PERSONAL_FIELDS
from shared.kit.keystore import _CACHE_SECONDS
from tests.integration.test_erasure import (
    _database_dump,
    _erase,
    _leaks,
    _raw_files,
    _released_with_erasure_order,
    _stream_bytes,
)
from tests.support import admission_payload, arrest_payload, auth, eventually, running

MARKERS = {
    "name": "Shredscan-Fullname Kadidia",
    "alias": "Shredscan-Alias Umm",
    "date_of_birth": "1931-07-29",
    "nationality": "Shredscan-Nationality",
    "place_of_origin": "Shredscan-Origin village",
    "identity_document": "Shredscan-Passport 77Q",
    "father_name": "Shredscan-Father Alhousseini",
    "mother_name": "Shredscan-Mother Tahara",
    "grounds": "Shredscan-Grounds narrative",
    "evidence": "Shredscan-Evidence telephone",
    "custody_extension": "Shredscan-Extension reason",
    "next_of_kin": "Shredscan-Kin Oumar",
    "health_screening": "Shredscan-Health asthma",
    "injuries": "Shredscan-Injuries bruise",
    "offence": "Shredscan-Offence description",
    "hearing_outcome": "Shredscan-Hearing outcome",
    "evidence_note": "Shredscan-Indicator note",
    "rationale": "Shredscan-Assessment rationale",
    "family_situation": "Shredscan-Family situation",
    "health_needs": "Shredscan-Health needs",
    "referral_reason": "Shredscan-Referral reason",
    "plan_goal": "Shredscan-Plan goal",
    "community_contact": "Shredscan-Community contact",
    "follow_up_note": "Shredscan-Follow-up note",
    "hearing_purpose": "Shredscan-Hearing purpose",
    "release_condition": "Shredscan-Release condition",
    "void_reason": "Shredscan-Correction reason",
}
"""One marker per kind of personal field; each is declared in `PERSONAL_FIELDS`."""

NGO = "shredscan-ngo"


def _at(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """Post a command, retried while the service has not yet learnt the case (404/409)."""
    deadline = time.monotonic() + 30
    while True:
        response = client.post(path, json=body, headers=headers)
        if response.status_code == 201 or time.monotonic() > deadline:
            assert response.status_code == 201, f"{path}: {response.text}"
            return response.json()
        assert response.status_code in (404, 409), f"{path}: {response.text}"
        time.sleep(0.2)


def _intake(settings, intake: Any) -> str:
    arrest = arrest_payload(grounds=MARKERS["grounds"], arrested_at=_at(30))
    arrest["person"] = {
        **arrest["person"],
        "full_name": MARKERS["name"],
        "aliases": [MARKERS["alias"]],
        "date_of_birth": MARKERS["date_of_birth"],
        "nationality": MARKERS["nationality"],
        "place_of_origin": MARKERS["place_of_origin"],
        "identity_document": MARKERS["identity_document"],
        "father_name": MARKERS["father_name"],
        "mother_name": MARKERS["mother_name"],
    }
    police, prosecutor = auth(settings, "police"), auth(settings, "prosecutor")
    case_id = str(_post(intake, "/cases", arrest, police)["case_id"])
    path = f"/cases/{case_id}"
    _post(intake, f"{path}/custody", {"started_at": _at(29.9), "legal_basis": "CPP art. 76"},
          police)  # fmt: skip
    _post(intake, f"{path}/custody/extensions",
          {"extended_until": _at(27), "authorised_by": "Procureur", "authorised_at": _at(29),
           "reason": MARKERS["custody_extension"]}, prosecutor)  # fmt: skip
    _post(intake, f"{path}/evidence",
          {"item_id": "SCEL-SHRED-1", "description": MARKERS["evidence"],
           "collected_by": "Adjudant", "collected_at": _at(29.95)}, police)  # fmt: skip
    mistaken = _post(intake, f"{path}/evidence",
                     {"item_id": "SCEL-SHRED-2", "description": "Logged on the wrong case",
                      "collected_by": "Adjudant", "collected_at": _at(29.95)}, police)  # fmt: skip
    _post(intake, f"/entries/{mistaken['event_id']}/void", {"reason": MARKERS["void_reason"]},
          police)  # fmt: skip
    admission = admission_payload(
        admitted_at=_at(28),
        next_of_kin=[{"full_name": MARKERS["next_of_kin"], "relationship": "brother"}],
        health_screening=MARKERS["health_screening"],
        injuries_observed=MARKERS["injuries"],
    )
    _post(intake, f"{path}/admission", admission, auth(settings, "prison_registry"))
    return case_id


def _judicial(settings, judicial: Any, case_id: str) -> None:
    path = f"/cases/{case_id}"
    charges = {"offences": [{"code": "TERR-1", "description": MARKERS["offence"],
                             "law_ref": "Loi 2008-025"}],
               "prosecutor": "Procureur", "filed_at": _at(27.5)}  # fmt: skip
    _post(judicial, f"{path}/charges", charges, auth(settings, "prosecutor"))
    judge = auth(settings, "judge")
    hearing = _post(judicial, f"{path}/hearings",
                    {"court": "Pôle spécialisé", "scheduled_for": _at(20),
                     "purpose": MARKERS["hearing_purpose"]},
                    judge)  # fmt: skip
    _post(judicial, f"{path}/hearings/{hearing['hearing_id']}/held",
          {"held_at": _at(20), "outcome_summary": MARKERS["hearing_outcome"]}, judge)  # fmt: skip


def _assessment(settings, assessment: Any, case_id: str) -> None:
    assessor = auth(settings, "assessor")
    instrument = eventually(
        lambda: assessment.get("/instruments", headers=assessor).json()["items"]
    )[0]
    version = assessment.get(
        f"/instruments/{instrument['instrument_id']}/versions/{instrument['latest_version']}",
        headers=assessor,
    ).json()
    started = _post(assessment, f"/cases/{case_id}/assessments", {"started_at": _at(25)}, assessor)
    path = f"/cases/{case_id}/assessments/{started['assessment_id']}"
    indicators = [i for domain in version["domains"] for i in domain["indicators"]]
    for n, indicator in enumerate(indicators):
        rating = {"indicator_id": indicator["id"], "rating": indicator["scale"]["min"]}
        if n == 0:
            rating["evidence_note"] = MARKERS["evidence_note"]
        _post(assessment, f"{path}/ratings", rating, assessor)
    _post(assessment, f"{path}/submission",
          {"overall_risk": "low", "rationale": MARKERS["rationale"],
           "next_review_by": _at(-150), "submitted_at": _at(24)}, assessor)  # fmt: skip
    _post(assessment, f"{path}/countersignature", {}, auth(settings, "prison_director"))
    _post(assessment, f"/cases/{case_id}/needs",
          {"literacy": "basic", "languages": ["Songhai"], "education_level": "primary",
           "vocational_interests": ["tailoring"], "skills": ["sewing"],
           "family_situation": MARKERS["family_situation"],
           "health_needs": MARKERS["health_needs"]}, assessor)  # fmt: skip


def _programmes(settings, programmes: Any, case_id: str) -> None:
    social = auth(settings, "social_worker")
    path = f"/cases/{case_id}"
    referral = _post(programmes, f"{path}/referrals",
                     {"to_agency": NGO, "reason": MARKERS["referral_reason"], "consent": "given"},
                     social)  # fmt: skip
    ngo = auth(settings, "civil_society", sub="shredscan-ngo-worker", agency=NGO)
    _post(programmes, f"{path}/referrals/{referral['referral_id']}/acceptance", {}, ngo)
    _post(programmes, f"{path}/reintegration-plan",
          {"goals": [MARKERS["plan_goal"]], "community_contact": MARKERS["community_contact"],
           "agreed_at": _at(1)}, social)  # fmt: skip


def _reads(settings, apps: dict[str, Any], case_id: str) -> dict[str, bytes]:
    """Everything an auditor may read of the case from each service, by route."""
    auditor = {**auth(settings, "auditor"), "Caseline-Purpose": "erasure check"}
    routes = {
        "intake": ["/cases", f"/cases/{case_id}"],
        "judicial": ["/cases", f"/cases/{case_id}", "/deadlines"],
        "assessment": ["/cases", f"/cases/{case_id}", "/reviews", "/placements/conflicts"],
        "programmes": ["/cases", f"/cases/{case_id}", "/follow-ups", "/referrals"],
        "ledger": [f"/cases/{case_id}/timeline", f"/cases/{case_id}/export",
                   "/events?limit=1000"],
    }  # fmt: skip
    reads = {}
    for service, paths in routes.items():
        for path in paths:
            response = apps[service].get(path, headers=auditor)
            assert response.status_code == 200, f"{service} {path}: {response.status_code}"
            reads[f"{service} {path}"] = response.content
    return reads


def _snapshot_tables(settings) -> list[str]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_name LIKE '%snapshots'"
        ).fetchall()
    return [r[0] for r in rows]


def test_every_declared_kind_of_personal_field_is_a_marker_here():
    declared = {field for fields in PERSONAL_FIELDS.values() for field in fields}

    expected = {
        "person.full_name", "person.aliases", "person.date_of_birth", "person.nationality",
        "person.place_of_origin", "person.identity_document", "grounds", "description",
        "reason", "next_of_kin", "health_screening", "injuries_observed",
        "offences[].description", "outcome_summary", "evidence_note", "rationale",
        "family_situation", "health_needs", "goals", "community_contact", "note", "purpose",
        "conditions",
    }  # fmt: skip

    assert expected <= declared


def test_after_erasure_no_marker_is_left_in_any_service_store_stream_or_bundle(settings, servers):
    with running(intake_app(settings)) as intake, running(judicial_app(settings)) as judicial, \
            running(assessment_app(settings)) as assessment, \
            running(programmes_app(settings)) as programmes, \
            running(ledger_app(settings)) as ledger:  # fmt: skip
        apps = {"intake": intake, "judicial": judicial, "assessment": assessment,
                "programmes": programmes, "ledger": ledger}  # fmt: skip
        case_id = _intake(settings, intake)
        _judicial(settings, judicial, case_id)
        _assessment(settings, assessment, case_id)
        _programmes(settings, programmes, case_id)
        order_id = _released_with_erasure_order(
            settings, intake, judicial, case_id, conditions=(MARKERS["release_condition"],)
        )
        _post(programmes, f"/cases/{case_id}/follow-ups",
              {"at": _at(0.001), "status": "on_track", "note": MARKERS["follow_up_note"]},
              auth(settings, "civil_society", sub="shredscan-ngo-worker", agency=NGO))  # fmt: skip
        auditor = {**auth(settings, "auditor"), "Caseline-Purpose": "erasure check"}
        named = eventually(lambda: (v := programmes.get(f"/cases/{case_id}", headers=auditor)
                                    .json()).get("full_name") == MARKERS["name"] and v)  # fmt: skip
        seen = eventually(lambda: (t := str(ledger.get(f"/cases/{case_id}/timeline",
                                                       headers=auditor).json()))
                          and MARKERS["follow_up_note"] in t and t, timeout=20)  # fmt: skip
        before = _leaks(seen.encode(), MARKERS)

        digests = _digests(intake, case_id)
        erased = _erase(settings, intake, case_id, order_id)
        assert erased.status_code == 201, erased.text
        digests_left = _digests_left(intake, digests)
        eventually(lambda: "PersonalDataErased" in str(
            ledger.get(f"/cases/{case_id}/timeline", headers=auditor).json()))  # fmt: skip
        time.sleep(_CACHE_SECONDS + 0.5)  # each service's key store caches a key that long
        reads = _reads(settings, apps, case_id)
        stream = _stream_bytes(settings)

    dump = _database_dump(settings)
    snapshot_tables = _snapshot_tables(settings)
    raw = _raw_files(settings, servers)
    assert named["full_name"] == MARKERS["name"]  # programmes learnt the name before the erasure
    assert sorted(before) == sorted(MARKERS)  # the auditor saw every marker before the erasure
    assert {route: _leaks(body, MARKERS) for route, body in reads.items()} == {
        route: [] for route in reads
    }
    assert _leaks(stream, MARKERS) == []
    assert _leaks(dump, MARKERS) == []
    assert _leaks(raw, MARKERS) == []  # personal values never reach the disk in clear
    # Snapshots would hold an aggregate's whole state, revealed: no service may take them.
    assert snapshot_tables == []
    assert not raw or b"Maison Centrale" in raw  # the scan does see what is stored in clear
    # The blind index forgets the identity with its key: no digest of it is left.
    assert digests
    assert digests_left == 0


def _digests(intake: Any, case_id: str) -> list[str]:
    app = intake.app.state.parts.application
    rows = app.fetch("SELECT digest FROM {schema}.person_index WHERE case_id = %s", (case_id,))
    return [str(r[0]) for r in rows]


def _digests_left(intake: Any, digests: list[str]) -> int:
    app = intake.app.state.parts.application
    rows = app.fetch(
        "SELECT count(*) FROM {schema}.person_index WHERE digest = ANY(%s)", (digests,)
    )
    return int(rows[0][0])
