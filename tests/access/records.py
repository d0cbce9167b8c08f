"""The records the read matrices read, built once per world through the services' APIs.

Every reader of the matrices works for `READ_AGENCY` (prison staff at `TEST_FACILITY`, their
tokens' facility). `own` is a person linked to them as the scoping rules say: arrested by police
of that agency, held at that facility, referred to that organisation and accepted by it, enrolled
in one of its programmes. `other` is linked the same way to another agency, facility and
organisation; `sealed` is linked like `own`, then sealed by a judge. Each has an entry of every
kind a service lists (custody and detention deadlines, a countersigned assessment due for review,
needs, a placement, a referral, an enrolment); `own`'s placement keeps the person apart from
`sealed`'s. `other_out` and `sealed_out` were released and followed up (sealed_out sealed after).

Free-text fields carry markers (`MARKS`): a marker may reach only the roles whose visibility
table shows its event type and does not redact its field.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.permissions import CASE_SCOPE, REDACTED_FIELDS, SEALED_CASE_READERS, may_see
from tests.access.care import ASSESSOR, MINISTRY, instrument, programme, started
from tests.access.world import HOUR, World, ago
from tests.support import TEST_FACILITY, admission_payload, arrest_payload, eventually

__all__ = [
    "ELSEWHERE",
    "HERE",
    "KINDS",
    "MARKS",
    "OTHER_AGENCY",
    "OTHER_FACILITY",
    "READ_AGENCY",
    "Link",
    "Record",
    "Records",
    "hidden_marks",
    "linked_case",
    "records_of",
]

READ_AGENCY = "ONG Lecture et Avenir"
"""The agency of every reader in the read matrices (its police, its organisation's staff)."""
OTHER_AGENCY = "ONG Autre Horizon"
OTHER_FACILITY = "Maison d'Arrêt de Mopti"

KINDS = ("own", "other", "sealed", "unknown")
"""The cases a read names: linked to the reader, linked to another agency, sealed, never seen."""

_SERVICES_LEARNING = ("judicial", "assessment", "programmes", "ledger")


@dataclass(frozen=True)
class Link:
    """Whom a person is linked to: the agency whose police arrested them and whose organisation
    accepted their referral (and runs their programme), and the facility that holds them."""

    agency: str
    facility: str


HERE = Link(READ_AGENCY, TEST_FACILITY)
ELSEWHERE = Link(OTHER_AGENCY, OTHER_FACILITY)


def _t(service: str, name: str) -> str:
    return f"caseline.{service}.{name}.v1"


def _mark(what: str) -> str:
    return f"mk-{what}-x"


MARKS: dict[tuple[str, str], str] = {
    (_t("intake", "ArrestRecorded"), "grounds"): _mark("arrest-grounds"),
    (_t("intake", "ArrestRecorded"), "location"): _mark("arrest-location"),
    (_t("intake", "ArrestRecorded"), "arresting_unit"): _mark("arrest-unit"),
    (_t("intake", "ArrestRecorded"), "report_ref"): _mark("arrest-report"),
    (_t("intake", "CustodyStarted"), "legal_basis"): _mark("custody-basis"),
    (_t("intake", "EvidenceLogged"), "description"): _mark("evidence-item"),
    (_t("intake", "EvidenceLogged"), "storage_location"): _mark("evidence-store"),
    (_t("intake", "DetaineeAdmitted"), "health_screening"): _mark("admission-health"),
    (_t("intake", "FamilyContactRecorded"), "with_whom"): _mark("family-whom"),
    (_t("intake", "FamilyContactRecorded"), "note"): _mark("family-note"),
    (_t("intake", "DetaineeReleased"), "destination"): _mark("release-destination"),
    (_t("judicial", "ChargesFiled"), "offences.description"): _mark("charge-offence"),
    (_t("judicial", "PreTrialDetentionOrdered"), "legal_basis"): _mark("detention-basis"),
    (_t("judicial", "HearingScheduled"), "purpose"): _mark("hearing-purpose"),
    (_t("assessment", "IndicatorRated"), "evidence_note"): _mark("rating-note"),
    (_t("assessment", "AssessmentSubmitted"), "rationale"): _mark("risk-rationale"),
    (_t("assessment", "NeedsAssessed"), "family_situation"): _mark("needs-family"),
    (_t("assessment", "NeedsAssessed"), "health_needs"): _mark("needs-health"),
    (_t("assessment", "PlacementDecided"), "rationale"): _mark("placement-rationale"),
    (_t("assessment", "PlacementDecided"), "housing_unit"): _mark("placement-unit"),
    (_t("programmes", "ReferralMade"), "reason"): _mark("referral-reason"),
    (_t("programmes", "ReferralMade"), "legal_basis"): _mark("referral-basis"),
    (_t("programmes", "FollowUpRecorded"), "note"): _mark("follow-up-note"),
}
"""(event type, dotted field) → the text the records put in it."""


def _m(service: str, name: str, dotted: str) -> str:
    return MARKS[(_t(service, name), dotted)]


def hidden_marks(role: str) -> list[str]:
    """The markers `role` must never be served: of event types it may not see, or of fields
    the table removes for it."""
    redacted = REDACTED_FIELDS.get(role, {})
    return sorted(
        text
        for (event, dotted), text in MARKS.items()
        if not may_see(role, event) or dotted in redacted.get(event, ())
    )


@dataclass
class Record:
    """One person's case and the ids of what the read routes name besides it."""

    case_id: str
    assessment_id: str = ""
    referral_id: str = ""
    programme_id: str = ""
    event_ids: list[str] = field(default_factory=list)
    seal_event_id: str = ""


@dataclass(frozen=True)
class Records:
    own: Record
    other: Record
    sealed: Record
    other_out: Record
    sealed_out: Record

    def of(self, kind: str) -> Record | None:
        return None if kind == "unknown" else getattr(self, kind)  # type: ignore[no-any-return]

    def forbidden(self, role: str) -> set[str]:
        """The case ids `role` may find in no answer: another agency's (for a role scoped to its
        own) and sealed ones (for all but their readers)."""
        ids: set[str] = set()
        if role in CASE_SCOPE:
            ids |= {self.other.case_id, self.other_out.case_id}
        if role not in SEALED_CASE_READERS:
            ids |= {self.sealed.case_id, self.sealed_out.case_id}
        return ids


# --- building a record ---------------------------------------------------------------------


class _Builder:
    """Records the commands of one person's case, keeping the ids of its events."""

    def __init__(self, world: World, link: Link) -> None:
        self.world = world
        self.link = link
        self.record = Record(case_id="")

    def post(self, service: str, path: str, body: dict[str, Any], role: str, **who: Any) -> Any:
        answer = self.world.recorded(service, path, body, role, **who)
        self.record.event_ids += answer.get("event_ids") or [answer["event_id"]]
        return answer

    def settled(self, service: str, path: str, body: dict[str, Any], role: str, **who: Any) -> Any:
        answer = self.world.settled(service, path, body, role, **who)
        self.record.event_ids += answer.get("event_ids") or [answer["event_id"]]
        return answer

    def case(self, suffix: str) -> str:
        return f"/cases/{self.record.case_id}/{suffix}"

    def police(self, path: str, body: dict[str, Any]) -> Any:
        return self.post("intake", path, body, "police", agency=self.link.agency)

    def prison(self, service: str, path: str, body: dict[str, Any], role: str) -> Any:
        return self.settled(service, path, body, role, facility=self.link.facility)


def _arrested(b: _Builder) -> None:
    body = arrest_payload(
        arrested_at=ago(timedelta(days=3)),
        grounds=_m("intake", "ArrestRecorded", "grounds"),
        location=_m("intake", "ArrestRecorded", "location"),
        arresting_unit=_m("intake", "ArrestRecorded", "arresting_unit"),
        report_ref=_m("intake", "ArrestRecorded", "report_ref"),
    )
    b.record.case_id = str(b.police("/cases", body)["case_id"])
    custody = {
        "started_at": ago(3 * HOUR),
        "legal_basis": _m("intake", "CustodyStarted", "legal_basis"),
    }
    b.police(b.case("custody"), custody)
    evidence = {
        "item_id": f"S-{uuid.uuid4().hex[:6]}",
        "description": _m("intake", "EvidenceLogged", "description"),
        "collected_by": "Adjudant Keita",
        "collected_at": ago(2 * HOUR),
        "storage_location": _m("intake", "EvidenceLogged", "storage_location"),
    }
    b.police(b.case("evidence"), evidence)
    b.world.known_everywhere(b.record.case_id, _SERVICES_LEARNING)


def _admitted(b: _Builder) -> None:
    body = admission_payload(
        facility=b.link.facility,
        admitted_at=ago(HOUR),
        health_screening=_m("intake", "DetaineeAdmitted", "health_screening"),
    )
    b.prison("intake", b.case("admission"), body, "prison_registry")


def _visited(b: _Builder) -> None:
    body = {
        "kind": "visit",
        "with_whom": _m("intake", "FamilyContactRecorded", "with_whom"),
        "relationship": "sister",
        "at": ago(HOUR / 2),
        "note": _m("intake", "FamilyContactRecorded", "note"),
    }
    b.prison("intake", b.case("family-contacts"), body, "prison_registry")


def _judged(b: _Builder) -> None:
    offence = {
        "code": "TERR-1",
        "description": _m("judicial", "ChargesFiled", "offences.description"),
        "law_ref": "Loi n° 2008-025 art. 3",
    }
    charges = {"offences": [offence], "prosecutor": "Procureur du pôle", "filed_at": ago(HOUR)}
    b.post("judicial", b.case("charges"), charges, "prosecutor")
    order = {
        "ordered_by": "Juge d'instruction",
        "ordered_at": ago(HOUR / 2),
        "legal_basis": _m("judicial", "PreTrialDetentionOrdered", "legal_basis"),
    }
    b.post("judicial", b.case("detention-orders"), order, "judge")
    hearing = {
        "court": "Pôle judiciaire spécialisé, Bamako",
        "scheduled_for": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "purpose": _m("judicial", "HearingScheduled", "purpose"),
    }
    b.post("judicial", b.case("hearings"), hearing, "judge")


def _assessed(b: _Builder, keep_apart: list[str]) -> None:
    assessment_id = started(b.world, b.record.case_id)
    b.record.assessment_id = assessment_id
    path = b.case(f"assessments/{assessment_id}")
    rating = {
        "indicator_id": "I1",
        "rating": 2,
        "evidence_note": _m("assessment", "IndicatorRated", "evidence_note"),
    }
    b.post("assessment", f"{path}/ratings", rating, "assessor", sub=ASSESSOR)
    submission = {
        "overall_risk": "moderate",
        "rationale": _m("assessment", "AssessmentSubmitted", "rationale"),
        "next_review_by": (datetime.now(UTC) + timedelta(days=180)).isoformat(),
    }
    b.post("assessment", f"{path}/submission", submission, "assessor", sub=ASSESSOR)
    # Four eyes: the director of the facility holding the person countersigns.
    b.prison("assessment", f"{path}/countersignature", {}, "prison_director")
    needs = {
        "literacy": "basic",
        "languages": ["Fulfulde"],
        "education_level": "koranic",
        "vocational_interests": ["tailoring"],
        "skills": ["herding"],
        "family_situation": _m("assessment", "NeedsAssessed", "family_situation"),
        "health_needs": _m("assessment", "NeedsAssessed", "health_needs"),
    }
    b.post("assessment", b.case("needs"), needs, "assessor")
    placement = {
        "security_level": "high",
        "rationale": _m("assessment", "PlacementDecided", "rationale"),
        "housing_unit": _m("assessment", "PlacementDecided", "housing_unit"),
        "keep_separate_from": keep_apart,
    }
    b.prison("assessment", b.case("placement"), placement, "prison_director")


def _referred(b: _Builder) -> None:
    body = {
        "to_agency": b.link.agency,
        "reason": _m("programmes", "ReferralMade", "reason"),
        "consent": "given",
        "legal_basis": _m("programmes", "ReferralMade", "legal_basis"),
    }
    answer = b.post("programmes", b.case("referrals"), body, "social_worker", agency=MINISTRY)
    b.record.referral_id = str(answer["referral_id"])
    path = b.case(f"referrals/{b.record.referral_id}/acceptance")
    b.post("programmes", path, {}, "civil_society", agency=b.link.agency)


def _enrolled(b: _Builder) -> None:
    b.record.programme_id = programme(b.world, b.link.agency)
    body = {"case_id": b.record.case_id, "enrolled_at": ago(HOUR / 6)}
    path = f"/programmes/{b.record.programme_id}/enrolments"
    b.post("programmes", path, body, "social_worker", agency=MINISTRY)


def _released(b: _Builder) -> None:
    order = {"kind": "bail", "effective_at": ago(HOUR / 4)}
    answer = b.post("judicial", b.case("release-orders"), order, "judge")
    order_id = str(answer["release_order_id"])
    b.world.until(lambda: _knows_order(b.world, b.record.case_id, order_id))
    body = {
        "released_at": ago(HOUR / 6),
        "release_order_id": order_id,
        "destination": _m("intake", "DetaineeReleased", "destination"),
    }
    b.prison("intake", b.case("release"), body, "prison_registry")
    b.world.until(lambda: b.world.view("programmes", f"/cases/{b.record.case_id}")["released_at"])
    follow_up = {
        "at": ago(HOUR / 12),
        "status": "on_track",
        "note": _m("programmes", "FollowUpRecorded", "note"),
    }
    b.settled("programmes", b.case("follow-ups"), follow_up, "civil_society", agency=b.link.agency)


def _knows_order(world: World, case_id: str, order_id: str) -> bool:
    orders = world.view("intake", f"/cases/{case_id}")["release_orders"]
    return any(o["release_order_id"] == order_id for o in orders)


def linked_case(world: World, link: Link, keep_apart: list[str] | None = None) -> Record:
    """A person linked to `link` with an entry of every kind the services list."""
    b = _Builder(world, link)
    _arrested(b)
    _admitted(b)
    _visited(b)
    _judged(b)
    _assessed(b, keep_apart or [])
    _referred(b)
    _enrolled(b)
    return b.record


def released_case(world: World, link: Link) -> Record:
    """A person linked to `link`, released and followed up by its organisation."""
    b = _Builder(world, link)
    _arrested(b)
    _admitted(b)
    _referred(b)
    _released(b)
    return b.record


def seal(world: World, record: Record) -> None:
    body = {"reason": "Acquitted: sealed by order of the court"}
    answer = world.recorded("judicial", f"/cases/{record.case_id}/seal", body, "judge")
    record.seal_event_id = str(answer["event_id"])
    record.event_ids.append(record.seal_event_id)


# --- settling ------------------------------------------------------------------------------


def _quietly(predicate: Callable[[], Any]) -> None:
    """Wait for a state the matrices then check themselves: a service that never reaches it
    fails their cells, not the building of the records."""
    with contextlib.suppress(AssertionError):
        eventually(predicate, timeout=20)


def _in_ledger(world: World, record: Record) -> bool:
    response = world.get("ledger", f"/cases/{record.case_id}/timeline", "auditor", sub="probe")
    if response.status_code != 200:
        return False
    held = {e["event"]["id"] for e in response.json()["entries"]}
    return set(record.event_ids) <= held


def _learnt(world: World, record: Record, link: Link, keep_apart: list[str]) -> bool:
    """Every service knows where the person is held, and programmes the placement."""
    case = f"/cases/{record.case_id}"
    for service in ("judicial", "assessment"):
        if world.view(service, case).get("facility") != link.facility:
            return False
    view = world.view("programmes", case)
    return view.get("facility") == link.facility and set(
        view.get("keep_separate_from", keep_apart)
    ) == set(keep_apart)


def _hidden(world: World, service: str, path: str) -> bool:
    return bool(world.get(service, path, "admin", sub="seal-watch").status_code == 404)


def _settle(world: World, records: Records) -> None:
    """Wait until every service has learnt what the others recorded of the records, so that
    answers do not change while the matrices read them."""
    for record in (
        records.own,
        records.other,
        records.sealed,
        records.other_out,
        records.sealed_out,
    ):
        world.until(lambda r=record: _in_ledger(world, r))
    for record, link, apart in (
        (records.own, HERE, [records.sealed.case_id]),
        (records.other, ELSEWHERE, []),
    ):
        world.until(lambda r=record, k=link, a=apart: _learnt(world, r, k, a))
    for record in (records.sealed, records.sealed_out):
        for service in ("intake", "judicial", "assessment", "programmes"):
            _quietly(lambda s=service, c=record.case_id: _hidden(world, s, f"/cases/{c}"))
        _quietly(lambda c=record.case_id: _hidden(world, "ledger", f"/cases/{c}/timeline"))


def records_of(world: World) -> Records:
    """The matrices' records, built once per world."""
    if "records" not in world.shared:
        instrument(world)
        sealed = linked_case(world, HERE)
        own = linked_case(world, HERE, keep_apart=[sealed.case_id])
        other = linked_case(world, ELSEWHERE)
        other_out, sealed_out = released_case(world, ELSEWHERE), released_case(world, HERE)
        for record in (sealed, sealed_out):
            seal(world, record)
        records = Records(own, other, sealed, other_out, sealed_out)
        _settle(world, records)
        world.shared["records"] = records
    return world.shared["records"]  # type: ignore[no-any-return]
