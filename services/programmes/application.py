"""The programmes application: the write side of the catalogue, enrolment and attendance,
referrals, reintegration plans and follow-up, one method per command; what it notes of other
services' events (`on_<event>`, the handlers `inbound.py` registers). The reads are in `queries.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.programmes.domain import CaseFile, Programme
from services.programmes.domain.errors import FutureTimeError, NotVoidableError
from services.programmes.views import CaseRegister, Catalogue, FollowUps, Participation, Referrals
from shared.events import (
    ArrestRecorded,
    AssessmentCountersigned,
    AssessmentSubmitted,
    CatalogueEvent,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    Envelope,
    FollowUpRecorded,
    ParticipantCompleted,
    ParticipantEnrolled,
    ParticipantWithdrawn,
    PlacementDecided,
    ProgrammeCreated,
    ProgrammesEntryVoided,
    ReferralAccepted,
    ReferralDeclined,
    ReferralMade,
    ReintegrationPlanAgreed,
    SessionAttended,
)
from shared.events.personal import reveal
from shared.events.voiding import EntryVoided
from shared.kit.clock import Clock
from shared.kit.errors import ForbiddenError, NotFoundError
from shared.kit.jurisdiction import load_jurisdiction
from shared.kit.kept import project
from shared.kit.keystore import CaseKeyCipher
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication, CommandContext, IntegrityError, Recorded

__all__ = ["AGENCY_BOUND_ROLES", "ProgrammesApplication"]

AGENCY_BOUND_ROLES = frozenset({"civil_society", "religious_counsellor"})
"""Roles that act only for their own organisation: its programmes, its referrals, its people."""

_RACE_RETRIES = 60
_CLOCK_SKEW = timedelta(minutes=5)


class ProgrammesApplication(CaselineApplication):
    """Programmes, enrolments and attendance; referrals, reintegration plans and follow-up."""

    service = "programmes"
    name = "programmes"
    views = (Catalogue, Participation, CaseRegister, FollowUps, Referrals)
    # A programme's log grows with every participant's enrolment, sessions and exit.
    kept_aggregates = (Programme,)

    def __init__(
        self, settings: Settings, clock: Clock | None = None, *, in_memory: bool = False
    ) -> None:
        # The jurisdiction's calendar: session dates are local dates there.
        self.rules = load_jurisdiction(settings)
        super().__init__(settings, clock, in_memory=in_memory)

    # --- the catalogue ---------------------------------------------------------------------

    def create_programme(self, fields: dict[str, Any], ctx: CommandContext) -> Recorded:
        programme_id = uuid4()
        data = ProgrammeCreated.model_validate({**fields, "programme_id": programme_id})
        if ctx.role in AGENCY_BOUND_ROLES and data.provider_agency != ctx.agency:
            raise ForbiddenError(
                "agency {agency!r} may create only its own programmes", agency=ctx.agency
            )
        programme = Programme(
            programme_id=programme_id, data=data, meta=self.meta(ctx, programme_id)
        )
        return self.commit(ctx, programme, case_id=None, ids={"programme_id": programme_id})

    # --- participants ----------------------------------------------------------------------

    def enrol(
        self, programme_id: UUID, case_id: UUID, enrolled_at: datetime | None, ctx: CommandContext
    ) -> Recorded:
        at = self._past(enrolled_at, "the enrolment")
        data = ParticipantEnrolled(programme_id=programme_id, enrolled_at=at)

        def attempt() -> Recorded:
            programme = self._programme(programme_id, ctx)
            facts = self._case(case_id).facts(also_apart=self._kept_apart_by_others(case_id))
            programme.enrol(case_id, data, facts, self.meta(ctx, case_id))
            return self.commit(ctx, programme, case_id=case_id, ids={"programme_id": programme_id})

        return self._race(ctx, attempt)

    def record_session(
        self,
        programme_id: UUID,
        attendees: tuple[UUID, ...],
        fields: dict[str, Any],
        ctx: CommandContext,
    ) -> Recorded:
        session_day: date = fields["session_date"]
        # The day as the jurisdiction counts it (Niamey is an hour ahead of UTC).
        if session_day > self.rules.local_date(self.clock.now()):
            raise FutureTimeError(
                "the session of {session_day} has not happened yet", session_day=session_day
            )
        session_id = fields.get("session_id") or uuid4()
        data = SessionAttended.model_validate(
            {**fields, "programme_id": programme_id, "session_id": session_id}
        )

        def attempt() -> Recorded:
            programme = self._programme(programme_id, ctx)
            lines = [(c, data, self.meta(ctx, c, index=i)) for i, c in enumerate(attendees)]
            programme.attend(lines, self.rules.zone)
            case_id = attendees[0] if len(attendees) == 1 else None
            return self.commit(ctx, programme, case_id=case_id, ids={"session_id": session_id})

        return self._race(ctx, attempt)

    def complete(
        self, programme_id: UUID, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        at = self._past(fields.get("completed_at"), "the completion")
        data = ParticipantCompleted.model_validate(
            {**fields, "programme_id": programme_id, "completed_at": at}
        )
        return self._participant_command(
            programme_id, case_id, ctx, lambda p, m: p.complete(case_id, data, m)
        )

    def withdraw(
        self, programme_id: UUID, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        at = self._past(fields.get("withdrawn_at"), "the withdrawal")
        data = ParticipantWithdrawn.model_validate(
            {**fields, "programme_id": programme_id, "withdrawn_at": at}
        )
        return self._participant_command(
            programme_id, case_id, ctx, lambda p, m: p.withdraw(case_id, data, m)
        )

    def _participant_command(
        self,
        programme_id: UUID,
        case_id: UUID,
        ctx: CommandContext,
        act: Callable[[Programme, Any], None],
    ) -> Recorded:
        def attempt() -> Recorded:
            programme = self._programme(programme_id, ctx)
            act(programme, self.meta(ctx, case_id))
            return self.commit(ctx, programme, case_id=case_id, ids={"programme_id": programme_id})

        return self._race(ctx, attempt)

    # --- referrals -------------------------------------------------------------------------

    def refer(self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext) -> Recorded:
        referral_id = uuid4()
        data = ReferralMade.model_validate({**fields, "referral_id": referral_id})
        case = self._case(case_id, ctx)
        case.refer(data, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"referral_id": referral_id})

    def answer_referral(
        self,
        case_id: UUID,
        referral_id: UUID,
        accept: bool,
        reason: str | None,
        ctx: CommandContext,
    ) -> Recorded:
        case = self._case(case_id, ctx)
        referral = case.referral(referral_id)
        if ctx.agency != referral.to_agency:
            raise ForbiddenError(
                "only the agency referred to ({to_agency}) may accept or decline",
                to_agency=referral.to_agency,
            )
        model = ReferralAccepted if accept else ReferralDeclined
        data = model(referral_id=referral_id, by_agency=ctx.agency, reason=reason)
        case.answer(data, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"referral_id": referral_id})

    # --- reintegration ---------------------------------------------------------------------

    def agree_plan(
        self, case_id: UUID, data: ReintegrationPlanAgreed, ctx: CommandContext
    ) -> Recorded:
        agreed = self._past(data.agreed_at, "the plan's agreement")
        case = self._case(case_id, ctx)
        case.agree_plan(data.model_copy(update={"agreed_at": agreed}), self.meta(ctx, case_id))
        return self.commit(ctx, case)

    def record_follow_up(
        self, case_id: UUID, data: FollowUpRecorded, ctx: CommandContext
    ) -> Recorded:
        self._past(data.at, "the follow-up")
        case = self._case(case_id, ctx)
        if ctx.role in AGENCY_BOUND_ROLES and not self._works_with(case_id, ctx):
            raise ForbiddenError(
                "{agency} records follow-up only of people it works with: enrolled in its "
                "programme, or referred to it",
                agency=ctx.agency,
            )
        case.follow_up(data, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    # --- voiding ---------------------------------------------------------------------------

    def void(self, event_id: UUID, reason: str, ctx: CommandContext) -> Recorded:
        """Void a mistaken entry of this service (a referral's voiding is its revocation)."""
        entry = self.entry_to_void(event_id, ctx)
        if entry.type.split(".")[2] == "EntryVoided":
            raise NotVoidableError("a voiding is final: record the right entry anew instead")
        data = ProgrammesEntryVoided(
            voided_event_id=event_id, reason=reason, voided_event_type=entry.type
        )

        def attempt() -> Recorded:
            # The entry index holds this service's entries only: of a programme or a case file.
            target: Programme | CaseFile = self.repository.get(
                entry.aggregate_id, projector_func=project
            )
            if isinstance(target, Programme):
                self._check_provider(ctx, target)
            else:
                self._check_case_entry_agency(ctx, target, event_id)
            target.void(data, self.meta(ctx, entry.subject))
            ids: dict[str, UUID | str] = {"voided_event_id": event_id}
            if isinstance(target, Programme) and event_id == target.created_event:
                ids["programme_id"] = target.id
            return self.commit(ctx, target, case_id=entry.subject, ids=ids)

        return self._race(ctx, attempt)

    @staticmethod
    def _check_case_entry_agency(ctx: CommandContext, case: CaseFile, event_id: UUID) -> None:
        if event_id not in case.entry_log:
            return
        kind, referral, agency = case.entry(event_id)
        if kind == "ReferralMade" and referral is not None:
            if ctx.agency != referral.from_agency:
                raise ForbiddenError("only the referring agency may revoke a referral")
        elif referral is not None:
            if ctx.agency != referral.to_agency:
                raise ForbiddenError("only the agency referred to may void its answer")
        elif ctx.role in AGENCY_BOUND_ROLES and ctx.agency != agency:
            raise ForbiddenError("an organisation may void only its own entries")

    # --- what other services tell us (the handlers `inbound.py` registers) -------------------

    def on_arrest_recorded(
        self, envelope: Envelope, event: ArrestRecorded, inbound: tuple[str, UUID]
    ) -> None:
        """The person's name (it arrives sealed under the case's key, and stays sealed here), and
        whether they were a minor at the arrest (a child-protection referral is then proposed)."""
        self._note(envelope, event, inbound, _note_arrest)

    def on_detainee_admitted(
        self, envelope: Envelope, event: DetaineeAdmitted, inbound: tuple[str, UUID]
    ) -> None:
        """Where the person is held."""
        self._note(
            envelope, event, inbound, lambda c, i, e: c.note_location(i, e.facility, e.admitted_at)
        )

    def on_detainee_transferred(
        self, envelope: Envelope, event: DetaineeTransferred, inbound: tuple[str, UUID]
    ) -> None:
        """Where the person is held now."""
        self._note(
            envelope,
            event,
            inbound,
            lambda c, i, e: c.note_location(i, e.to_facility, e.transferred_at),
        )

    def on_detainee_released(
        self, envelope: Envelope, event: DetaineeReleased, inbound: tuple[str, UUID]
    ) -> None:
        """The person was released: follow-up is due from now on."""
        self._note(envelope, event, inbound, lambda c, i, e: c.note_release(i, e.released_at))

    def on_assessment_submitted(
        self, envelope: Envelope, event: AssessmentSubmitted, inbound: tuple[str, UUID]
    ) -> None:
        """A submitted risk level (it counts once the assessment is countersigned)."""
        self._note(
            envelope,
            event,
            inbound,
            lambda c, i, e: c.note_submission(i, e.assessment_id, e.overall_risk),
        )

    def on_assessment_countersigned(
        self, envelope: Envelope, event: AssessmentCountersigned, inbound: tuple[str, UUID]
    ) -> None:
        """The assessment's risk level now counts."""
        self._note(
            envelope, event, inbound, lambda c, i, e: c.note_countersignature(i, e.assessment_id)
        )

    def on_placement_decided(
        self, envelope: Envelope, event: PlacementDecided, inbound: tuple[str, UUID]
    ) -> None:
        """Whom the person must be kept apart from."""
        self._note(
            envelope, event, inbound, lambda c, i, e: c.note_placement(i, e.keep_separate_from)
        )

    def on_entry_voided(
        self, envelope: Envelope, event: EntryVoided, inbound: tuple[str, UUID]
    ) -> None:
        """Intake or assessment voided an entry: a fact noted from it is forgotten (nothing if it
        was not one of ours)."""
        case_id = _case_id(envelope)
        if case_id is None:
            self.record_inbound_only(*inbound, [])
            return
        ctx = CommandContext.system(envelope, purpose="forget")
        try:
            case = self.load(CaseFile, case_id)
        except NotFoundError:
            self.record_inbound_only(*inbound, [])
            return
        if not case.note_voided(event.voided_event_id):
            self.record_inbound_only(*inbound, [])
            return
        self.commit(ctx, case, inbound=inbound)

    def _note(
        self,
        envelope: Envelope,
        event: CatalogueEvent,
        inbound: tuple[str, UUID],
        note: Callable[[CaseFile, UUID, Any], None],
    ) -> None:
        """Record what another service's event says of a case, exactly once."""
        case_id, event_id = _case_id(envelope), UUID(str(envelope.id))
        if case_id is None:  # not about a case: nothing programmes needs
            self.record_inbound_only(*inbound, [])
            return
        ctx = CommandContext.system(envelope, purpose="note")
        # The name arrives sealed under the case's key: programmes keeps it sealed in turn.
        fact, _ = reveal(
            event, envelope.personaldata, envelope.subject, str(event_id), CaseKeyCipher(self.keys)
        )
        try:
            case = self.load(CaseFile, case_id)
        except NotFoundError:
            case = CaseFile(case_id=case_id, opened_at=self.clock.now())
        if case.knows(event_id):
            self.record_inbound_only(*inbound, [])
            return
        note(case, event_id, fact)
        self.commit(ctx, case, inbound=inbound)

    # --- helpers ---------------------------------------------------------------------------

    def _programme(self, programme_id: UUID, ctx: CommandContext) -> Programme:
        programme = self.load(Programme, programme_id, ctx)
        self._check_provider(ctx, programme)
        return programme

    @staticmethod
    def _check_provider(ctx: CommandContext, programme: Programme) -> None:
        agency = programme.info.provider_agency
        if ctx.role in AGENCY_BOUND_ROLES and ctx.agency != agency:
            raise ForbiddenError(
                "only {agency} records the participants of this programme", agency=agency
            )

    def _case(self, case_id: UUID, ctx: CommandContext | None = None) -> CaseFile:
        try:
            return self.load(CaseFile, case_id, ctx)
        except NotFoundError:
            raise NotFoundError("no case {case_id} known to programmes", case_id=case_id) from None

    def _works_with(self, case_id: UUID, ctx: CommandContext) -> bool:
        return ctx.scope is None or self.access.visible(ctx.scope, str(case_id))

    def _kept_apart_by_others(self, case_id: UUID) -> set[UUID]:
        rows = self.fetch(
            "SELECT case_id FROM {schema}.case_register WHERE %s = ANY(keep_separate_from)",
            (case_id,),
        )
        return {r[0] for r in rows}

    def _past(self, at: datetime | None, what: str) -> datetime:
        """`at`, or now when not given; refused when it lies in the future."""
        now = self.clock.now()
        if at is None:
            return now
        if at > now + _CLOCK_SKEW:
            raise FutureTimeError(
                "{what} is dated {at}, in the future", what=what, at=at.isoformat()
            )
        return at

    def _race(self, ctx: CommandContext, attempt: Callable[[], Recorded]) -> Recorded:
        """Run a command on a busy aggregate, reloading after each lost race.

        Many writers on one programme (the capacity invariant) lose races often; each retry
        reloads, so the loser then sees the new state and answers by the rules (e.g. capacity).
        """
        for tries in range(_RACE_RETRIES):
            try:
                return attempt()
            except IntegrityError:
                last = tries == _RACE_RETRIES - 1
                if last or ctx.expected_version is not None or self._replayable(ctx):
                    raise
                time.sleep(random.uniform(0, 0.002 * (tries + 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _replayable(self, ctx: CommandContext) -> bool:
        key = ctx.idempotency_key
        return bool(key) and self.replayed_response(key or "", ctx.fingerprint) is not None


def _case_id(envelope: Envelope) -> UUID | None:
    try:
        return UUID(envelope.subject)
    except ValueError:
        return None


def _note_arrest(case: CaseFile, event_id: UUID, arrest: ArrestRecorded) -> None:
    case.note_name(event_id, arrest.person.full_name)
    if arrest.minor_at_facts:
        case.note_minority(event_id, arrest.arrested_at)
