"""`caseline demo`: a realistic synthetic case recorded through the public HTTP APIs.

Everything here is fictional. One person's case runs from arrest through custody, charges,
detention, admission, a countersigned risk assessment, needs and placement, a vocational
programme, a referral to a civil-society organisation, verdict, sentence, release order, release
and follow-up after release — then the ledger shows the case's one timeline and verifies it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.kit.auth import mint_token
from shared.kit.i18n import current_language
from shared.kit.i18n import translate as _
from shared.kit.settings import Settings

__all__ = ["DemoError", "run_demo"]

NGO = "demo-ngo-sahel-avenir"
PRISON = "Maison Centrale d'Arrêt de Bamako"
_WAIT = 60.0


class DemoError(RuntimeError):
    """A step of the demo was refused, or a service did not catch up in time."""


class _Client:
    def __init__(self, urls: dict[str, str], settings: Settings, say: Callable[..., None]) -> None:
        self.urls, self.settings, self.say = urls, settings, say
        self.http = httpx.Client(timeout=15)

    def headers(
        self, role: str, agency: str | None = None, sub: str | None = None
    ) -> dict[str, str]:
        token = mint_token(
            self.settings,
            sub=sub or f"demo-{role}",
            agency=agency or f"demo-{role}-agency",
            role=role,
            # Prison officers see the detainees of their own facility (SPEC §8 scoping).
            facility=PRISON if role in ("prison_registry", "prison_director") else None,
        )
        return {
            "Authorization": f"Bearer {token}",
            "Caseline-Purpose": "demonstration",
            "Accept-Language": current_language(),
        }

    def post(
        self, service: str, path: str, role: str, body: dict[str, Any], **who: str
    ) -> dict[str, Any]:
        """Post a command; while another service has not yet learnt the case (404/409), retry."""
        deadline = time.monotonic() + _WAIT
        while True:
            response = self.http.post(
                self.urls[service] + path, json=body, headers=self.headers(role, **who)
            )
            if response.status_code == 201:
                recorded: dict[str, Any] = response.json()
                return recorded
            if response.status_code not in (404, 409) or time.monotonic() > deadline:
                raise DemoError(f"{service} POST {path}: {response.status_code} {response.text}")
            time.sleep(0.25)

    def get(self, service: str, path: str, role: str) -> httpx.Response:
        return self.http.get(self.urls[service] + path, headers=self.headers(role))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _legal_pathway(c: _Client, t0: datetime) -> str:
    arrest = {
        "person": {
            "full_name": "Demo Person Ag Example",
            "sex": "male",
            "nationality": "Mali",
            "languages": ["Tamasheq", "French"],
            "place_of_origin": "Ménaka region (fictional)",
        },
        "arrested_at": _iso(t0),
        "location": "Checkpoint on the Gao road (fictional)",
        "arresting_unit": "Gendarmerie, Gao company (fictional)",
        "grounds": "Suspected logistics support to an armed group (synthetic demo data)",
        "returning_foreign_fighter": True,
    }
    case_id = str(c.post("intake", "/cases", "police", arrest)["case_id"])
    c.say(_("arrest recorded: case {case_id}", case_id=case_id))
    c.post(
        "intake",
        f"/cases/{case_id}/custody",
        "police",
        {
            "started_at": _iso(t0 + timedelta(hours=1)),
            "legal_basis": "CPP art. 76 al. 3: terrorism",
        },
    )
    c.post(
        "intake",
        f"/cases/{case_id}/custody/extensions",
        "prosecutor",
        {
            "extended_until": _iso(t0 + timedelta(hours=97)),
            "authorised_by": "Procureur du pôle spécialisé",
            "reason": "Exploitation of seized telephones",
            "authorised_at": _iso(t0 + timedelta(hours=40)),
        },
    )
    c.post(
        "intake",
        f"/cases/{case_id}/evidence",
        "police",
        {
            "item_id": "SCELLE-DEMO-001",
            "description": "Mobile telephone, sealed bag",
            "collected_by": "Adjudant (fictional)",
            "collected_at": _iso(t0 + timedelta(minutes=30)),
        },
    )
    c.post(
        "intake",
        f"/cases/{case_id}/transfers",
        "police",
        {
            "from_facility": "Brigade de gendarmerie de Gao",
            "to_facility": "Pôle judiciaire spécialisé, Bamako",
            "transferred_at": _iso(t0 + timedelta(hours=50)),
            "reason": "Presentation to the specialised pole",
        },
    )
    c.post(
        "judicial",
        f"/cases/{case_id}/charges",
        "prosecutor",
        {
            "offences": [
                {
                    "code": "TERR-1",
                    "description": "Membership of a terrorist group",
                    "law_ref": "Loi n° 2008-025",
                }
            ],
            "prosecutor": "Procureur du pôle spécialisé",
            "filed_at": _iso(t0 + timedelta(hours=60)),
        },
    )
    c.post(
        "judicial",
        f"/cases/{case_id}/detention-orders",
        "judge",
        {
            "ordered_by": "Juge d'instruction du pôle",
            "ordered_at": _iso(t0 + timedelta(hours=70)),
            "legal_basis": "CPP art. 135",
        },
    )
    c.post(
        "intake",
        f"/cases/{case_id}/admission",
        "prison_registry",
        {
            "facility": PRISON,
            "admitted_at": _iso(t0 + timedelta(hours=72)),
            "warrant_ref": "DEMO-MD-0001",
        },
    )
    c.say(
        _("custody, extension, evidence, transfer, charges, detention order and admission recorded")
    )
    return case_id  # fmt: skip


def _assessment(c: _Client, case_id: str, t0: datetime) -> None:
    instruments = c.get("assessment", "/instruments", "assessor").json()["items"]
    instrument = instruments[0]
    version = c.get(
        "assessment",
        f"/instruments/{instrument['instrument_id']}/versions/{instrument['latest_version']}",
        "assessor",
    ).json()
    started = c.post("assessment", f"/cases/{case_id}/assessments", "assessor",
                     {"started_at": _iso(t0 + timedelta(days=10))}, sub="demo-psychologist")  # fmt: skip
    path = f"/cases/{case_id}/assessments/{started['assessment_id']}"
    for domain in version["domains"]:
        for indicator in domain["indicators"]:
            low = indicator["scale"]["min"]
            c.post("assessment", f"{path}/ratings", "assessor",
                   {"indicator_id": indicator["id"], "rating": low}, sub="demo-psychologist")  # fmt: skip
    c.post("assessment", f"{path}/submission", "assessor",
           {"overall_risk": "moderate", "rationale": "Coerced recruitment; family support; no stated intent.",
            "next_review_by": _iso(t0 + timedelta(days=190)), "submitted_at": _iso(t0 + timedelta(days=11))},
           sub="demo-psychologist")  # fmt: skip
    c.post("assessment", f"{path}/countersignature", "prison_director", {}, sub="demo-director")
    c.post("assessment", f"/cases/{case_id}/needs", "assessor",
           {"literacy": "basic", "languages": ["Tamasheq", "Bambara"], "education_level": "primary",
            "vocational_interests": ["mechanics"], "skills": ["driving"],
            "assessed_at": _iso(t0 + timedelta(days=12))}, sub="demo-psychologist")  # fmt: skip
    c.post("assessment", f"/cases/{case_id}/placement", "prison_director",
           {"security_level": "medium", "rationale": "Moderate risk; no conflicts known.",
            "decided_at": _iso(t0 + timedelta(days=13))})  # fmt: skip
    c.say(
        _(
            "risk assessment ({instrument}) countersigned; needs and placement recorded",
            instrument=instrument["title"],
        )
    )


def _programme(c: _Client, case_id: str, t0: datetime) -> None:
    created = c.post("programmes", "/programmes", "social_worker",
                     {"kind": "vocational", "title": "Motorcycle mechanics workshop (demo)",
                      "provider_agency": NGO, "capacity": 12, "facility": PRISON,
                      "max_risk_level": "moderate", "attendance_threshold": 2})  # fmt: skip
    pid = created["programme_id"]
    c.post(
        "programmes",
        f"/programmes/{pid}/enrolments",
        "social_worker",
        {"case_id": case_id, "enrolled_at": _iso(t0 + timedelta(days=20))},
    )
    ngo = {"agency": NGO, "sub": "demo-trainer"}
    for day in (25, 32):
        c.post("programmes", f"/programmes/{pid}/sessions", "civil_society",
               {"session_date": (t0 + timedelta(days=day)).date().isoformat(),
                "facilitator": "Trainer (fictional)", "attendees": [case_id]}, **ngo)  # fmt: skip
    c.post(
        "programmes",
        f"/programmes/{pid}/completions",
        "civil_society",
        {"case_id": case_id, "completed_at": _iso(t0 + timedelta(days=60))},
        **ngo,
    )
    referral = c.post(
        "programmes",
        f"/cases/{case_id}/referrals",
        "social_worker",
        {"to_agency": NGO, "reason": "Mentoring after release", "consent": "given"},
    )
    c.post("programmes", f"/cases/{case_id}/referrals/{referral['referral_id']}/acceptance",
           "civil_society", {}, **ngo)  # fmt: skip
    c.say(_("vocational programme completed; referral accepted by a civil-society organisation"))


def _trial_and_release(c: _Client, case_id: str, t0: datetime, now: datetime) -> None:
    c.post("judicial", f"/cases/{case_id}/verdict", "judge",
           {"outcome": "convicted", "court": "Cour d'assises spéciale", "delivered_at": _iso(t0 + timedelta(days=100)),
            "offences_proven": ["TERR-1"]})  # fmt: skip
    c.post("judicial", f"/cases/{case_id}/sentence", "judge",
           {"term_days": 365, "starts_on": t0.date().isoformat(), "credit_for_time_served_days": 0,
            "imposed_at": _iso(t0 + timedelta(days=100))})  # fmt: skip
    released_at = min(t0 + timedelta(days=366), now - timedelta(days=20))
    c.post("programmes", f"/cases/{case_id}/reintegration-plan", "social_worker",
           {"goals": ["Open a repair shop"], "employment": "Apprenticeship at a garage (fictional)",
            "community_contact": "Village council (fictional)",
            "agreed_at": _iso(released_at - timedelta(days=5))})  # fmt: skip
    order = c.post("judicial", f"/cases/{case_id}/release-orders", "judge",
                   {"kind": "sentence_served", "effective_at": _iso(released_at - timedelta(hours=2)),
                    "ordered_by": "Juge de l'application des peines"})  # fmt: skip
    c.post(
        "intake",
        f"/cases/{case_id}/release",
        "prison_registry",
        {"released_at": _iso(released_at), "release_order_id": order["release_order_id"]},
    )
    c.post("programmes", f"/cases/{case_id}/follow-ups", "civil_society",
           {"at": _iso(released_at + timedelta(days=10)), "status": "on_track",
            "note": "Working at the garage; family visits."}, agency=NGO, sub="demo-trainer")  # fmt: skip
    c.say(_("verdict, sentence, release order, release and a first follow-up recorded"))


def run_demo(urls: dict[str, str], settings: Settings, *, quiet: bool = False) -> dict[str, Any]:
    """Record the demo case through every service; return its verified timeline."""
    c = _Client(urls, settings, (lambda *_: None) if quiet else print)
    now = datetime.now(UTC)
    t0 = (now - timedelta(days=400)).replace(microsecond=0)
    case_id = _legal_pathway(c, t0)
    steps = 8
    if "assessment" in urls:
        _assessment(c, case_id, t0)
    if "programmes" in urls and "assessment" in urls:
        _programme(c, case_id, t0)
    if "judicial" in urls:
        _trial_and_release(c, case_id, t0, now)
    timeline = _wait_for_ledger(c, case_id, steps)
    verified = c.get("ledger", f"/cases/{case_id}/verify", "auditor").json()
    c.say("\n" + _("Timeline of case {case_id} in the ledger:", case_id=case_id))
    for first, count in _runs(timeline["entries"]):
        event = first["event"]
        times = f" ×{count}" if count > 1 else ""
        c.say(
            f"  {first['case_seq']:>3}  {event['time'][:19]}Z  {event['type']}{times}  {first['hash'][:12]}…"
        )
    c.say(
        _(
            "chain verified: {ok} ({events} events)",
            ok=_("yes") if verified.get("ok") else _("no"),
            events=verified.get("events"),
        )
    )
    if not verified.get("ok"):
        raise DemoError(_("the chain does not verify: {verified}", verified=verified))
    return {"case_id": case_id, "timeline": timeline, "verify": verified}


def _runs(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Consecutive entries of one type, as (first entry, count): 26 ratings read as one line."""
    runs: list[tuple[dict[str, Any], int]] = []
    for entry in entries:
        if runs and runs[-1][0]["event"]["type"] == entry["event"]["type"]:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((entry, 1))
    return runs


def _wait_for_ledger(c: _Client, case_id: str, at_least: int) -> dict[str, Any]:
    """The ledger's timeline once it holds every event recorded so far (it settles when stable)."""
    deadline, previous, stable = time.monotonic() + _WAIT, -1, 0
    timeline: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = c.get("ledger", f"/cases/{case_id}/timeline", "auditor")
        if response.status_code == 200:
            timeline = response.json()
            count = len(timeline["entries"])
            stable = stable + 1 if count == previous else 0
            previous = count
            if count >= at_least and stable >= 4:
                return timeline
        time.sleep(0.25)
    raise DemoError(
        _(
            "the ledger did not settle on case {case_id} within {seconds:.0f} s",
            case_id=case_id,
            seconds=_WAIT,
        )
    )
