"""Cases are scoped to the agencies linked to them, and sealing is one state everywhere (issue 13,
points 3 and 4), over the five running services:

- prison staff see the detainees of their own facility only; a person transferred out (or
  released) is gone from the former facility, but for a history line in intake's list;
- an organisation acts only on the people referred to it and accepted (or enrolled with it): it
  cannot enrol any case id, and what it is refused reveals nothing of a person it may not see;
- commands on a sealed case are 404 on every service for all but judges, and voiding the seal
  reopens the case on every service and in the ledger's feed, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.kit.auth import mint_token
from shared.permissions import SERVICE_READERS
from tests.access.care import (
    ASSESSOR,
    MINISTRY,
    agency_of,
    instrument,
    programme,
    referral,
    started,
)
from tests.access.routes import READ_SERVICES
from tests.access.sweep import carried, guarded_routes, listed, pages, path_params, query_names
from tests.access.world import HOUR, World, ago
from tests.support import admission_payload

PRISON_ROLES = ("prison_registry", "prison_director")
CASE_SERVICES = ("intake", "judicial", "assessment", "programmes")


def case_path(service: str, case_id: str) -> str:
    return f"/cases/{case_id}" + ("/timeline" if service == "ledger" else "")


def status_of(world: World, service: str, case_id: str, role: str, **who: Any) -> int:
    response = world.get(service, case_path(service, case_id), role, sub=f"{role}-s", **who)
    assert response.status_code < 500, response.text
    return int(response.status_code)


def sees(world: World, service: str, case_id: str, role: str, **who: Any) -> bool:
    return status_of(world, service, case_id, role, **who) == 200


def list_routes(role: str) -> list[tuple[str, str]]:
    """The lists of people and their deadlines that `role` reads (not the audit's or the
    ledger's proofs, nor the person registry's search, a query with a name that
    `tests/integration/test_person_registry.py` scopes): guarded routes naming no id."""
    return [
        (s, r)
        for s, r in guarded_routes()
        if not path_params(r)
        and role in SERVICE_READERS[s]
        and not r.startswith(("/audit", "/checkpoints", "/proofs", "/persons"))
    ]


def lists_text(world: World, role: str, facility: str, also: str, skip: tuple = ()) -> str:
    """Every list `role` reads (but `skip`), as it comes and filtered for the facility `also`
    (a filter is no way out of the scope)."""
    texts = []
    for service, route in list_routes(role):
        if (service, route) in skip:
            continue
        queries = [{}, {"facility": also}] if "facility" in query_names(service, route) else [{}]
        for query in queries:
            for page in pages(world, service, route, role, query, sub="lister", facility=facility):
                assert page.status_code == 200, (service, route, page.text[:300])
                texts.append(page.text)
    return "\n".join(texts)


# --- prisons -----------------------------------------------------------------------------


def prison(name: str) -> str:
    return f"Prison {name} {uuid.uuid4().hex[:6]}"


def admitted(world: World, facility: str) -> str:
    """A fresh case admitted at `facility` by its registry."""
    case_id = world.fresh_case()
    body = admission_payload(facility=facility, admitted_at=ago(2 * HOUR))
    path = f"/cases/{case_id}/admission"
    world.recorded("intake", path, body, "prison_registry", facility=facility)
    return case_id


def held_everywhere(world: World, case_id: str, facility: str) -> None:
    """Wait until every service lets the facility's staff read the person's case."""
    for service in READ_SERVICES:
        world.until(lambda s=service: sees(world, s, case_id, "prison_director", facility=facility))


@pytest.fixture(scope="module")
def two_prisons(world: World) -> dict[str, Any]:
    a, b = prison("A"), prison("B")
    x, y = admitted(world, a), admitted(world, b)
    held_everywhere(world, x, a)
    held_everywhere(world, y, b)
    return {"a": a, "b": b, "x": x, "y": y}


@pytest.mark.parametrize("service", READ_SERVICES)
@pytest.mark.parametrize("role", PRISON_ROLES)
def test_prison_staff_do_not_see_another_facilitys_detainee(world, two_prisons, service, role):
    p = two_prisons

    assert sees(world, service, p["x"], role, facility=p["a"])
    assert status_of(world, service, p["y"], role, facility=p["a"]) == 404
    assert status_of(world, service, p["x"], role, facility=p["b"]) == 404


@pytest.mark.parametrize("role", PRISON_ROLES)
def test_no_list_names_another_facilitys_detainee_even_when_asked_for_that_facility(
    world, two_prisons, role
):
    p = two_prisons

    text = lists_text(world, role, p["a"], also=p["b"])

    assert carried(text, {p["y"]}, []) == []
    assert carried(text, {p["x"]}, []) == [p["x"]]


def test_a_prison_token_without_a_facility_sees_no_detainee(world, two_prisons):
    token = mint_token(world.settings, sub="registrar", agency="prison", role="prison_registry")

    response = world.clients["intake"].get(
        f"/cases/{two_prisons['x']}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 404, response.text


def _transferred(world: World, case_id: str, source: str, target: str) -> None:
    body = {
        "from_facility": source,
        "to_facility": target,
        "reason": "Space",
        "transferred_at": ago(HOUR),
    }
    path = f"/cases/{case_id}/transfers"
    world.recorded("intake", path, body, "prison_registry", facility=source)


def _released(world: World, case_id: str, facility: str) -> None:
    answer = world.recorded(
        "judicial",
        f"/cases/{case_id}/release-orders",
        {"kind": "bail", "effective_at": ago(HOUR)},
        "judge",
    )
    order_id = str(answer["release_order_id"])
    world.until(
        lambda: any(
            o["release_order_id"] == order_id
            for o in world.view("intake", f"/cases/{case_id}")["release_orders"]
        )
    )
    body = {"released_at": ago(HOUR / 2), "release_order_id": order_id}
    world.recorded(
        "intake", f"/cases/{case_id}/release", body, "prison_registry", facility=facility
    )


@pytest.fixture(scope="module")
def departures(world: World) -> dict[str, Any]:
    """At prison A: one person transferred to B, one released."""
    a, b = prison("A"), prison("B")
    moved, freed = admitted(world, a), admitted(world, a)
    for case_id in (moved, freed):
        held_everywhere(world, case_id, a)
    _transferred(world, moved, a, b)
    _released(world, freed, a)
    held_everywhere(world, moved, b)
    return {"a": a, "b": b, "moved": moved, "freed": freed}


@pytest.mark.parametrize("service", READ_SERVICES)
@pytest.mark.parametrize("who", ["moved", "freed"])
def test_a_detainee_who_left_a_facility_is_gone_from_it_on_every_service(
    world, departures, service, who
):
    d = departures

    world.until(
        lambda: status_of(world, service, d[who], "prison_registry", facility=d["a"]) == 404
    )

    for role in PRISON_ROLES:
        assert status_of(world, service, d[who], role, facility=d["a"]) == 404


def test_the_new_facility_sees_a_transferred_detainee(world, departures):
    for service in READ_SERVICES:
        assert sees(
            world, service, departures["moved"], "prison_registry", facility=departures["b"]
        )


def test_the_former_facility_keeps_a_history_line_only(world, departures):
    d = departures
    left = (d["moved"], d["freed"])
    for service in READ_SERVICES:
        for case_id in left:
            world.until(
                lambda s=service, c=case_id: (
                    status_of(world, s, c, "prison_registry", facility=d["a"]) == 404
                )
            )

    items = listed(world, "intake", "/cases", "prison_registry", sub="lister", facility=d["a"])
    others = lists_text(world, "prison_registry", d["a"], d["b"], skip=(("intake", "/cases"),))

    lines = [i for i in items if i["case_id"] in left]
    assert sorted(i["case_id"] for i in lines) == sorted(left)
    for line in lines:
        assert (line["history"], line["status"]) == (True, "left_facility")
        assert set(line) <= {"case_id", "full_name", "status", "history"}
    assert carried(others, set(left), []) == []


def test_the_former_facility_cannot_learn_where_the_person_went_by_filtering(world, departures):
    d = departures
    world.until(
        lambda: status_of(world, "intake", d["moved"], "prison_registry", facility=d["a"]) == 404
    )

    for asked in (d["b"], d["a"], "Nowhere"):
        query = {"facility": asked, "limit": 500}
        for page in pages(world, "intake", "/cases", "prison_registry", query, facility=d["a"]):
            assert page.status_code == 200, page.text[:300]
            assert d["moved"] not in page.text, asked


# --- commands ----------------------------------------------------------------------------


def _evidence(s: dict[str, Any]) -> dict[str, Any]:
    item = f"S-{uuid.uuid4().hex[:6]}"
    return {"item_id": item, "description": "Phone", "collected_by": "Keita", "collected_at": ago()}


def _family(s: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "visit", "with_whom": "Awa", "relationship": "sister", "at": ago()}


def _charges(s: dict[str, Any]) -> dict[str, Any]:
    offence = {"code": "T-1", "description": "Membership", "law_ref": "Art. 3"}
    return {"offences": [offence], "prosecutor": "Procureur", "filed_at": ago()}


def _hearing(s: dict[str, Any] | None = None) -> dict[str, Any]:
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    return {"court": "Pôle judiciaire", "scheduled_for": when, "purpose": "Review"}


def _needs(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "literacy": "basic",
        "languages": ["Bambara"],
        "education_level": "primary",
        "vocational_interests": ["tailoring"],
        "skills": ["herding"],
    }


def _session(s: dict[str, Any]) -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    return {"session_date": today, "facilitator": "Imam Cissé", "attendees": [s["case"]]}


def _start(s: dict[str, Any]) -> dict[str, Any]:
    return {"instrument_id": s["instrument"]}


def _placement(s: dict[str, Any]) -> dict[str, Any]:
    return {"security_level": "high", "rationale": "Risk"}


def _referral(s: dict[str, Any]) -> dict[str, Any]:
    return {"to_agency": "ONG Tisser", "reason": "Work", "consent": "given"}


def _plan(s: dict[str, Any]) -> dict[str, Any]:
    return {"goals": ["Work"], "community_contact": "Village chief"}


def _follow_up(s: dict[str, Any]) -> dict[str, Any]:
    return {"at": ago(), "status": "on_track", "note": "Fine"}


def _completion(s: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": s["case"], "completed_at": ago()}


def _withdrawal(s: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": s["case"], "withdrawn_at": ago(), "reason": "Moved"}


@dataclass(frozen=True)
class Command:
    """A command on a person's case `s` (its ids), by a role that may record it and is linked
    to the person; `who` is `ministry` or `org` for a user of that agency."""

    service: str
    path: str
    role: str
    body: Callable[[dict[str, Any]], dict[str, Any]]
    who: str = ""

    def send(self, world: World, s: dict[str, Any]) -> Any:
        agency = {"ministry": MINISTRY, "org": s["org"]}.get(self.who)
        return world.post(
            self.service, self.path.format(**s), self.body(s), self.role, agency=agency
        )

    def version(self, world: World, s: dict[str, Any]) -> Any:
        """The version of what the command would change (the case, or the programme)."""
        if self.path.startswith("/programmes"):
            return world.view("programmes", f"/programmes/{s['programme']}")["version"]
        return world.view(self.service, f"/cases/{s['case']}")["version"]

    def __str__(self) -> str:
        return f"{self.service}-{self.path.strip('/').replace('/', '.')}-{self.role}"


# --- organisations -----------------------------------------------------------------------


def _risk(world: World, case_id: str, level: str) -> None:
    """A countersigned risk assessment of `level` (the person is held at the test facility)."""
    assessment_id = started(world, case_id)
    path = f"/cases/{case_id}/assessments/{assessment_id}"
    world.recorded(
        "assessment",
        f"{path}/ratings",
        {"indicator_id": "I1", "rating": 2},
        "assessor",
        sub=ASSESSOR,
    )
    review = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    body = {"overall_risk": level, "rationale": "Recruiter.", "next_review_by": review}
    world.recorded("assessment", f"{path}/submission", body, "assessor", sub=ASSESSOR)
    world.recorded("assessment", f"{path}/countersignature", {}, "prison_director")


def _accepted(world: World, case_id: str, org: str) -> None:
    referral_id = referral(world, case_id, org)["referral_id"]
    path = f"/cases/{case_id}/referrals/{referral_id}/acceptance"
    world.recorded("programmes", path, {}, "civil_society", agency=org)


def _own_programme(world: World, org: str, **rules: Any) -> str:
    body = {
        "kind": "vocational",
        "title": "Tailoring",
        "provider_agency": org,
        "capacity": 10,
        **rules,
    }
    return str(
        world.recorded("programmes", "/programmes", body, "civil_society", agency=org)[
            "programme_id"
        ]
    )


@pytest.fixture(scope="module")
def organisation(world: World) -> dict[str, Any]:
    """An organisation with three programmes (low risk only; at another prison; open), `ours`
    referred to it and accepted and enrolled in the open one, and `stranger`, held here, of high
    risk, kept apart from `ours`, whom the organisation never had."""
    instrument(world)
    org = agency_of("civil_society")
    ours, stranger, pending = world.held_case(), world.held_case(), world.fresh_case()
    _accepted(world, ours, org)
    referral(world, pending, org)
    _risk(world, stranger, "high")
    placement = {"security_level": "high", "rationale": "Recruiter.", "keep_separate_from": [ours]}
    world.recorded("assessment", f"/cases/{stranger}/placement", placement, "prison_director")
    programmes = {
        "risky": _own_programme(world, org, max_risk_level="low"),
        "far": _own_programme(world, org, facility="Prison de Kayes"),
        "open": _own_programme(world, org),
    }
    path = f"/programmes/{programmes['open']}/enrolments"
    world.recorded(
        "programmes", path, {"case_id": ours, "enrolled_at": ago()}, "civil_society", agency=org
    )
    # Programmes knows the stranger's risk and placement (so a rule could tell them, if asked).
    world.until(
        lambda: (
            world.view("programmes", f"/cases/{stranger}").get("keep_separate_from", [ours])
            == [ours]
        )
    )
    return {"org": org, "ours": ours, "stranger": stranger, "pending": pending, **programmes}


_REVEALING = (
    "risk",
    "high",
    "Kayes",
    "facility",
    "Bamako",
    "apart",
    "placement",
    "separate",
    "order",
    "released",
)


def _enrol(world: World, o: dict[str, Any], programme_key: str, case_id: str) -> Any:
    path = f"/programmes/{o[programme_key]}/enrolments"
    body = {"case_id": case_id, "enrolled_at": ago()}
    return world.post("programmes", path, body, "civil_society", agency=o["org"])


@pytest.mark.parametrize("programme_key", ["risky", "far", "open"])
def test_an_organisation_cannot_enrol_a_person_it_was_never_given(
    world, organisation, programme_key
):
    o = organisation
    before = world.view("programmes", f"/programmes/{o[programme_key]}")["version"]

    response = _enrol(world, o, programme_key, o["stranger"])

    assert response.status_code == 404, response.text
    detail = response.json().get("detail", "")
    assert [w for w in _REVEALING if w.lower() in detail.lower()] == [], detail
    assert world.view("programmes", f"/programmes/{o[programme_key]}")["version"] == before


def test_nor_a_person_whose_referral_it_has_not_accepted(world, organisation):
    response = _enrol(world, organisation, "open", organisation["pending"])

    assert response.status_code == 404, response.text


def test_nor_an_unknown_case_id(world, organisation):
    response = _enrol(world, organisation, "open", str(uuid.uuid4()))

    assert response.status_code == 404, response.text


@pytest.mark.parametrize(("programme_key", "status"), [("risky", 409), ("far", 409)])
def test_its_own_person_meets_the_rules_that_the_stranger_was_not_told_of(
    world, organisation, programme_key, status
):
    response = _enrol(world, organisation, programme_key, organisation["ours"])

    assert response.status_code == status, response.text


ORG_COMMANDS = [
    Command("programmes", "/programmes/{programme}/sessions", "civil_society", _session, "org"),
    Command(
        "programmes", "/programmes/{programme}/completions", "civil_society", _completion, "org"
    ),
    Command(
        "programmes", "/programmes/{programme}/withdrawals", "civil_society", _withdrawal, "org"
    ),
]


@pytest.mark.parametrize("command", ORG_COMMANDS, ids=str)
def test_an_organisation_records_nothing_of_a_person_not_its_own(world, organisation, command):
    o = organisation
    s = {"case": o["stranger"], "programme": o["open"], "org": o["org"]}
    before = command.version(world, s)

    response = command.send(world, s)

    assert response.status_code == 404, response.text
    assert command.version(world, s) == before


# --- sealing -----------------------------------------------------------------------------


_ORDER = "8e7d6c5b-4a3f-4e2d-9c1b-0a9f8e7d6c5b"


def _erasure_request() -> dict[str, Any]:
    return {"erasure_order_id": _ORDER, "reason": "Judge's order"}


SEALED_COMMANDS = [
    Command("intake", "/cases/{case}/evidence", "police", _evidence),
    Command("intake", "/cases/{case}/family-contacts", "prison_registry", _family),
    Command("intake", "/cases/{case}/family-contacts", "social_worker", _family),
    Command("intake", "/cases/{case}/erasure-requests", "admin", lambda s: _erasure_request()),
    Command("intake", "/cases/{case}/erasure", "admin", lambda s: {"erasure_order_id": _ORDER}),
    Command("intake", "/entries/{evidence}/void", "police", lambda s: {"reason": "Wrong case"}),
    Command("judicial", "/cases/{case}/charges", "prosecutor", _charges),
    Command("assessment", "/cases/{case}/assessments", "assessor", _start),
    Command("assessment", "/cases/{case}/needs", "social_worker", _needs),
    Command("assessment", "/cases/{case}/placement", "prison_director", _placement),
    Command("programmes", "/cases/{case}/referrals", "social_worker", _referral, "ministry"),
    Command("programmes", "/cases/{case}/reintegration-plan", "social_worker", _plan, "ministry"),
    Command("programmes", "/cases/{case}/follow-ups", "civil_society", _follow_up, "org"),
    Command("programmes", "/programmes/{programme}/sessions", "civil_society", _session, "org"),
    Command(
        "programmes", "/programmes/{programme}/sessions", "religious_counsellor", _session, "org"
    ),
    Command(
        "programmes", "/programmes/{programme}/withdrawals", "civil_society", _withdrawal, "org"
    ),
]
"""Commands on a sealed case, each by a role that may record it and is linked to the person."""


def _sealed_case(world: World) -> dict[str, Any]:
    """A person everyone may act on — held at the test facility, arrested by the default police
    agency, referred to an organisation and accepted, enrolled in its programme — with evidence
    logged, then sealed by a judge and hidden by every service."""
    org = agency_of("civil_society")
    case_id = world.held_case()
    _accepted(world, case_id, org)
    programme_id = programme(world, org)
    enrolment = {"case_id": case_id, "enrolled_at": ago()}
    path = f"/programmes/{programme_id}/enrolments"
    world.recorded("programmes", path, enrolment, "social_worker", agency=MINISTRY)
    evidence = world.recorded("intake", f"/cases/{case_id}/evidence", _evidence({}), "police")
    seal = world.recorded("judicial", f"/cases/{case_id}/seal", {"reason": "Acquitted"}, "judge")
    for service in READ_SERVICES:
        world.until(lambda s=service: status_of(world, s, case_id, "admin") == 404)
    return {
        "case": case_id,
        "org": org,
        "programme": programme_id,
        "evidence": str(evidence["event_id"]),
        "seal": str(seal["event_id"]),
        "instrument": instrument(world),
    }


@pytest.fixture(scope="module")
def sealed(world: World) -> dict[str, Any]:
    return _sealed_case(world)


@pytest.mark.parametrize("command", SEALED_COMMANDS, ids=str)
def test_a_command_on_a_sealed_case_is_404_for_all_but_judges(world, sealed, command):
    before = command.version(world, sealed)

    response = command.send(world, sealed)

    assert response.status_code == 404, response.text
    assert command.version(world, sealed) == before


def test_a_judge_is_told_the_case_is_sealed_not_that_it_does_not_exist(world, sealed):
    body = _hearing()

    response = world.post("judicial", f"/cases/{sealed['case']}/hearings", body, "judge")

    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/case-sealed")


@pytest.fixture(scope="module")
def reopened(world: World) -> dict[str, Any]:
    """A sealed case whose seal a judge then voided."""
    s = _sealed_case(world)
    path = f"/entries/{s['seal']}/void"
    voiding = world.recorded("judicial", path, {"reason": "Sealed by mistake"}, "judge")
    return {**s, "voiding": str(voiding["event_id"])}


REOPENED_READERS = [
    (service, role)
    for service in READ_SERVICES
    for role in ("police", "prison_registry", "civil_society", "social_worker", "admin")
    if role in SERVICE_READERS[service]
]


@pytest.mark.parametrize(("service", "role"), REOPENED_READERS)
def test_voiding_the_seal_reopens_the_case_on_every_service(world, reopened, service, role):
    who = {"agency": reopened["org"]} if role == "civil_society" else {}

    assert world.until(lambda: sees(world, service, reopened["case"], role, **who))


@pytest.mark.parametrize("service", CASE_SERVICES)
def test_the_reopened_case_is_listed_once(world, reopened, service):
    world.until(lambda: sees(world, service, reopened["case"], "admin"))

    items = listed(world, service, "/cases", "admin", sub="lister")

    assert [i["case_id"] for i in items].count(reopened["case"]) == 1


def test_the_ledger_holds_the_seal_and_its_voiding_once_and_in_order(world, reopened):
    r = reopened
    world.until(lambda: sees(world, "ledger", r["case"], "police"))

    entries = world.view("ledger", f"/cases/{r['case']}/timeline")["entries"]
    # The voiding is a judicial entry: a prosecutor's feed has it; the police's has the case again.
    court = [e["event"]["id"] for e in listed(world, "ledger", "/events", "prosecutor", sub="f")]
    police = [e["event"] for e in listed(world, "ledger", "/events", "police", sub="feeder")]

    seals = [e for e in entries if e["event"]["type"] == "caseline.judicial.CaseSealed.v1"]
    voidings = [e for e in entries if e["event"]["id"] == r["voiding"]]
    assert [e["event"]["id"] for e in seals] == [r["seal"]]
    assert len(voidings) == 1 and voidings[0]["event"]["data"]["voided_event_id"] == r["seal"]
    assert seals[0]["ledger_seq"] < voidings[0]["ledger_seq"]
    assert court.count(r["voiding"]) == 1
    ours = [e["id"] for e in police if e["subject"] == r["case"]]
    assert ours and len(ours) == len(set(ours))


REOPENED_COMMANDS = [
    Command("intake", "/cases/{case}/evidence", "police", _evidence),
    Command("judicial", "/cases/{case}/charges", "prosecutor", _charges),
    Command("assessment", "/cases/{case}/needs", "social_worker", _needs),
    Command("programmes", "/cases/{case}/referrals", "social_worker", _referral, "ministry"),
    Command("programmes", "/programmes/{programme}/sessions", "civil_society", _session, "org"),
]


@pytest.mark.parametrize("command", REOPENED_COMMANDS, ids=str)
def test_a_reopened_case_takes_commands_again(world, reopened, command):
    world.until(lambda: sees(world, command.service, reopened["case"], "admin"))

    response = command.send(world, reopened)

    assert response.status_code == 201, response.text
