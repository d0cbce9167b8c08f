"""What programmes knows of one person's case, and the case's own entries in this service.

Facts learnt over the bus from intake and assessment (facility, release, risk, placement) are
internal events of `CaseFile`; referrals, reintegration plans and follow-ups are catalogue events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.programmes.domain.errors import (
    AlreadyVoidedError,
    DuplicateReferralError,
    FollowUpBeforeReleaseError,
    NotVoidableError,
    PlanAfterReleaseError,
    ReferralAnsweredError,
    ReferralRevokedError,
)
from services.programmes.domain.programme import CaseFacts
from shared.events import (
    FollowUpRecorded,
    ProgrammesEntryVoided,
    ReferralAccepted,
    ReferralDeclined,
    ReferralMade,
    ReintegrationPlanAgreed,
    RiskLevel,
)
from shared.kit.domain import Meta, VoidableEntries
from shared.kit.errors import NotFoundError

__all__ = ["ACCEPTED", "DECLINED", "PENDING", "REVOKED", "CaseFile", "Referral"]

PENDING, ACCEPTED, DECLINED, REVOKED = "pending", "accepted", "declined", "revoked"
_ANSWERS = ("ReferralAccepted", "ReferralDeclined")


@dataclass
class Referral:
    """A referral of the person to another agency and what became of it."""

    id: UUID
    to_agency: str
    from_agency: str
    reason: str
    consent: str
    legal_basis: str | None
    made_event: UUID
    status: str = PENDING
    answer_event: UUID | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def _history_line(name: str, meta: Meta, **extra: Any) -> dict[str, Any]:
    return {
        "event": name,
        "event_id": str(meta.event_id),
        "recorded_at": meta.recorded_at.isoformat(),
        "actor": meta.actor,
        "agency": meta.agency,
        **extra,
    }


class CaseFile(Aggregate, VoidableEntries[tuple[str, UUID | None, str]]):
    """One person as programmes knows them. Invariant: follow-up only after release.

    Its log holds the case's own entries: each one's kind, referral (if any) and agency.
    """

    unknown_entry_error = NotVoidableError
    voided_twice_error = AlreadyVoidedError
    not_voidable_error = NotVoidableError

    @staticmethod
    def create_id(case_id: UUID, **_: object) -> UUID:
        return case_id

    @event("CaseFileOpened")
    def __init__(self, case_id: UUID, opened_at: datetime) -> None:
        self.full_name: str | None = None
        self.noted: set[UUID] = set()
        self.voided_facts: set[UUID] = set()
        self.locations: list[tuple[UUID, str]] = []
        self.releases: list[tuple[UUID, datetime]] = []
        self.submissions: dict[UUID, tuple[UUID, str]] = {}
        self.countersignatures: list[tuple[UUID, UUID]] = []
        self.placements: list[tuple[UUID, list[UUID]]] = []
        self.referrals: dict[UUID, Referral] = {}
        self.plans: list[tuple[UUID, ReintegrationPlanAgreed, Meta]] = []
        self.follow_ups: list[tuple[UUID, FollowUpRecorded, Meta]] = []
        self.minority: tuple[UUID, datetime] | None = None
        self._open_log()

    # --- facts from other services ---------------------------------------------------------

    def knows(self, event_id: UUID) -> bool:
        return event_id in self.noted

    def note_name(self, event_id: UUID, full_name: str) -> None:
        self._name_noted(event_id=event_id, full_name=full_name)

    class NameNoted(Aggregate.Event):
        """The person's name, learnt from intake's arrest record (sealed under the case's key)."""

        personal_attributes: ClassVar[tuple[str, ...]] = ("full_name",)
        event_id: UUID
        full_name: str

    @event(NameNoted)
    def _name_noted(self, event_id: UUID, full_name: str) -> None:
        self.noted.add(event_id)
        self.full_name = full_name

    def note_minority(self, event_id: UUID, arrested_at: datetime) -> None:
        """Intake found the person a minor at the arrest: a child-protection referral is due."""
        self._minority_noted(event_id=event_id, arrested_at=arrested_at)

    @event("MinorityNoted")
    def _minority_noted(self, event_id: UUID, arrested_at: datetime) -> None:
        self.noted.add(event_id)
        self.minority = (event_id, arrested_at)

    def note_location(self, event_id: UUID, facility: str, at: datetime) -> None:
        self._location_noted(event_id=event_id, facility=facility, at=at)

    @event("LocationNoted")
    def _location_noted(self, event_id: UUID, facility: str, at: datetime) -> None:
        self.noted.add(event_id)
        self.locations.append((event_id, facility))

    def note_release(self, event_id: UUID, released_at: datetime) -> None:
        self._release_noted(event_id=event_id, released_at=released_at)

    @event("ReleaseNoted")
    def _release_noted(self, event_id: UUID, released_at: datetime) -> None:
        self.noted.add(event_id)
        self.releases.append((event_id, released_at))

    def note_submission(self, event_id: UUID, assessment_id: UUID, risk: str) -> None:
        self._risk_submitted(event_id=event_id, assessment_id=assessment_id, risk=str(risk))

    @event("RiskSubmitted")
    def _risk_submitted(self, event_id: UUID, assessment_id: UUID, risk: str) -> None:
        self.noted.add(event_id)
        self.submissions[assessment_id] = (event_id, risk)

    def note_countersignature(self, event_id: UUID, assessment_id: UUID) -> None:
        self._risk_countersigned(event_id=event_id, assessment_id=assessment_id)

    @event("RiskCountersigned")
    def _risk_countersigned(self, event_id: UUID, assessment_id: UUID) -> None:
        self.noted.add(event_id)
        self.countersignatures.append((event_id, assessment_id))

    def note_placement(self, event_id: UUID, keep_separate_from: Iterable[UUID]) -> None:
        self._placement_noted(event_id=event_id, keep_separate_from=list(keep_separate_from))

    @event("PlacementNoted")
    def _placement_noted(self, event_id: UUID, keep_separate_from: list[UUID]) -> None:
        self.noted.add(event_id)
        self.placements.append((event_id, list(keep_separate_from)))

    def note_voided(self, event_id: UUID) -> bool:
        """Forget a fact whose entry its service voided; False when it was none of ours."""
        if event_id not in self.noted or event_id in self.voided_facts:
            return False
        self._fact_voided(event_id=event_id)
        return True

    @event("FactVoided")
    def _fact_voided(self, event_id: UUID) -> None:
        self.voided_facts.add(event_id)

    # --- what the facts say now ------------------------------------------------------------

    @property
    def facility(self) -> str | None:
        valid = [f for e, f in self.locations if e not in self.voided_facts]
        return valid[-1] if valid else None

    @property
    def released_at(self) -> datetime | None:
        valid = [at for e, at in self.releases if e not in self.voided_facts]
        return valid[-1] if valid else None

    @property
    def risk(self) -> RiskLevel | None:
        """The risk of the latest countersignature of a known, standing submission."""
        for event_id, assessment_id in reversed(self.countersignatures):
            submitted = self.submissions.get(assessment_id)
            if event_id in self.voided_facts or submitted is None:
                continue
            if submitted[0] not in self.voided_facts:
                return RiskLevel(submitted[1])
        return None

    @property
    def keep_separate_from(self) -> frozenset[UUID]:
        valid = [k for e, k in self.placements if e not in self.voided_facts]
        return frozenset(valid[-1]) if valid else frozenset()

    def facts(self, also_apart: Iterable[UUID] = ()) -> CaseFacts:
        """Eligibility facts; `also_apart` are cases whose placement keeps them from this one."""
        return CaseFacts(
            risk=self.risk,
            facility=self.facility,
            released_at=self.released_at,
            keep_apart=self.keep_separate_from | frozenset(also_apart),
        )

    # --- referrals -------------------------------------------------------------------------

    def referral(self, referral_id: UUID) -> Referral:
        found = self.referrals.get(referral_id)
        if found is None:
            raise NotFoundError(
                "no referral {referral_id} of case {id}", referral_id=referral_id, id=self.id
            )
        return found

    def refer(self, data: ReferralMade, meta: Meta) -> None:
        """Refer the person; one pending referral per receiving agency at a time."""
        if self._waiting(data.to_agency):
            raise DuplicateReferralError(
                "a referral to {to_agency} is already waiting for an answer",
                to_agency=data.to_agency,
            )
        self._referred(data=data, meta=meta)

    @event("ReferralMade")
    def _referred(self, data: ReferralMade, meta: Meta) -> None:
        self.referrals[data.referral_id] = Referral(
            id=data.referral_id,
            to_agency=data.to_agency,
            from_agency=meta.agency,
            reason=data.reason,
            consent=data.consent.value,
            legal_basis=data.legal_basis,
            made_event=meta.event_id,
            history=[_history_line("ReferralMade", meta, reason=data.reason)],
        )
        self._log_entry(meta.event_id, ("ReferralMade", data.referral_id, meta.agency))

    def answer(self, data: ReferralAccepted | ReferralDeclined, meta: Meta) -> None:
        """The receiving agency accepts or declines a pending referral, once."""
        r = self.referral(data.referral_id)
        if r.status == REVOKED:
            raise ReferralRevokedError("the referral was revoked by its referrer")
        if r.status != PENDING:
            raise ReferralAnsweredError("the referral was already {status}", status=r.status)
        if isinstance(data, ReferralAccepted):
            self._accepted(data=data, meta=meta)
        else:
            self._declined(data=data, meta=meta)

    @event("ReferralAccepted")
    def _accepted(self, data: ReferralAccepted, meta: Meta) -> None:
        self._answered(ACCEPTED, "ReferralAccepted", data, meta)

    @event("ReferralDeclined")
    def _declined(self, data: ReferralDeclined, meta: Meta) -> None:
        self._answered(DECLINED, "ReferralDeclined", data, meta)

    def _answered(
        self, status: str, name: str, data: ReferralAccepted | ReferralDeclined, meta: Meta
    ) -> None:
        r = self.referrals[data.referral_id]
        r.status, r.answer_event = status, meta.event_id
        r.history.append(_history_line(name, meta, reason=data.reason))
        self._log_entry(meta.event_id, (name, data.referral_id, meta.agency))

    # --- reintegration ---------------------------------------------------------------------

    def agree_plan(self, data: ReintegrationPlanAgreed, meta: Meta) -> None:
        """Record a reintegration plan, agreed before or at release; a later one supersedes it."""
        released, agreed = self.released_at, data.agreed_at or meta.recorded_at
        if released is not None and agreed > released:
            raise PlanAfterReleaseError(
                "the person was released at {released}: a reintegration plan is agreed before or "
                "at release",
                released=released.isoformat(),
            )
        self._plan_agreed(data=data, meta=meta)

    @event("ReintegrationPlanAgreed")
    def _plan_agreed(self, data: ReintegrationPlanAgreed, meta: Meta) -> None:
        self.plans.append((meta.event_id, data, meta))
        self._log_entry(meta.event_id, ("ReintegrationPlanAgreed", None, meta.agency))

    @property
    def plan(self) -> tuple[UUID, ReintegrationPlanAgreed, Meta] | None:
        valid = [p for p in self.plans if not self.is_voided(p[0])]
        return valid[-1] if valid else None

    def follow_up(self, data: FollowUpRecorded, meta: Meta) -> None:
        """Record how a released person is doing."""
        released = self.released_at
        if released is None:
            raise FollowUpBeforeReleaseError(
                "the person has not been released: follow-up is recorded after release"
            )
        if data.at < released:
            raise FollowUpBeforeReleaseError(
                "the follow-up is dated before the release ({released})",
                released=released.isoformat(),
            )
        self._followed_up(data=data, meta=meta)

    @event("FollowUpRecorded")
    def _followed_up(self, data: FollowUpRecorded, meta: Meta) -> None:
        self.follow_ups.append((meta.event_id, data, meta))
        self._log_entry(meta.event_id, ("FollowUpRecorded", None, meta.agency))

    # --- voiding ---------------------------------------------------------------------------

    def entry(self, event_id: UUID) -> tuple[str, Referral | None, str]:
        """One of this case's entries: its kind, its referral if any, the recording agency."""
        kind, referral_id, agency = self.entry_log[event_id]
        return kind, self.referrals[referral_id] if referral_id else None, agency

    def void(self, data: ProgrammesEntryVoided, meta: Meta) -> None:
        """Void a mistaken entry; a referral is revocable (voidable) until it is accepted."""
        self.voidable(data.voided_event_id)
        kind, referral, _ = self.entry(data.voided_event_id)
        if referral is not None and referral.status == REVOKED:
            raise NotVoidableError("the referral was revoked: its entries are settled")
        if kind == "ReferralMade" and referral is not None and referral.status == ACCEPTED:
            raise NotVoidableError("the referral was accepted: it can no longer be revoked")
        if kind in _ANSWERS and referral is not None and self._waiting(referral.to_agency):
            raise NotVoidableError(
                "another referral to {to_agency} is waiting for an answer: voiding this answer "
                "would leave two waiting",
                to_agency=referral.to_agency,
            )
        self._entry_voided(data=data, meta=meta)

    def _waiting(self, to_agency: str) -> bool:
        return any(
            r.status == PENDING and r.to_agency == to_agency for r in self.referrals.values()
        )

    @event("EntryVoided")
    def _entry_voided(self, data: ProgrammesEntryVoided, meta: Meta) -> None:
        target = data.voided_event_id
        kind, referral_id, _ = self.entry_log[target]
        self._log_voiding(target, meta.event_id, ("EntryVoided", None, meta.agency))
        if referral_id is None:
            return
        r = self.referrals[referral_id]
        r.history.append(_history_line("EntryVoided", meta, reason=data.reason, voided=kind))
        if kind == "ReferralMade":
            r.status = REVOKED
        else:
            r.status, r.answer_event = PENDING, None
