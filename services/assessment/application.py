"""The assessment application: the write side of instruments, assessments, needs, placement and
reviews, one method per command (each returns `Recorded`); what it learns of intake's record
(`on_<event>`, the handlers `inbound.py` registers). The reads are in `queries.py`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.assessment.domain import Case, Instrument
from services.assessment.domain.errors import (
    EntryNotVoidableError,
    SupersededInstrumentError,
    UnknownCaseError,
    UnknownInstrumentError,
)
from services.assessment.views import AssessedCases, InstrumentCatalogue, Placements, ReviewSchedule
from shared.events import Envelope
from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentDue,
    AssessmentKind,
    AssessmentStarted,
    AssessmentSubmitted,
    IndicatorRated,
    InstrumentPublished,
    NeedsAssessed,
    PlacementDecided,
)
from shared.events.intake import (
    ArrestRecorded,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
)
from shared.events.voiding import AssessmentEntryVoided
from shared.kit.errors import NotFoundError
from shared.kit.store import CaselineApplication, CommandContext, Recorded

__all__ = ["AssessmentApplication"]


class AssessmentApplication(CaselineApplication):
    """Holds each case's structured professional judgements and the instruments they use."""

    service = "assessment"
    name = "assessment"
    views = (AssessedCases, ReviewSchedule, Placements, InstrumentCatalogue)

    # --- instruments ----------------------------------------------------------------------

    def publish_instrument(
        self,
        fields: dict[str, Any],
        ctx: CommandContext,
        instrument_id: UUID | None = None,
        version: int | None = None,
    ) -> Recorded:
        """Publish a new instrument (version 1), or the next version of `instrument_id`."""
        existing = self._instrument(instrument_id) if instrument_id else None
        number = version or (existing.next_version() if existing else 1)
        payload = {**fields, "instrument_id": instrument_id or uuid4(), "version": number}
        return self.publish(InstrumentPublished.model_validate(payload), ctx)

    def publish(self, data: InstrumentPublished, ctx: CommandContext) -> Recorded:
        """Record one instrument version; a version already published is refused (immutable)."""
        meta = self.meta(ctx, data.instrument_id)
        if self.exists(data.instrument_id):
            instrument = self.load(Instrument, data.instrument_id, ctx)
            instrument.publish(data, meta)
        else:
            instrument = Instrument.first(data, meta)
        ids: dict[str, UUID | str] = {
            "instrument_id": data.instrument_id,
            "instrument_version": str(data.instrument_version),
        }
        return self.commit(ctx, instrument, case_id=None, ids=ids)

    def _instrument(self, instrument_id: UUID) -> Instrument | None:
        try:
            return self.load(Instrument, instrument_id)
        except NotFoundError:
            return None

    def latest_instrument_version(self, instrument_id: UUID) -> int | None:
        instrument = self._instrument(instrument_id)
        return instrument.latest if instrument else None

    def default_instrument(self) -> UUID | None:
        """The instrument in force: the one most recently published that is not a needs tool."""
        rows = self.fetch(
            "SELECT instrument_id FROM {schema}.instrument_versions"
            " WHERE kind IS DISTINCT FROM 'needs' ORDER BY published_at DESC, version DESC LIMIT 1"
        )
        return UUID(str(rows[0][0])) if rows else None

    # --- what intake tells us (the handlers `inbound.py` registers) ------------------------
    # Each commits with the `inbound` record and deterministic event ids, so a redelivered
    # message records nothing twice.

    def on_arrest_recorded(
        self, envelope: Envelope, event: ArrestRecorded, inbound: tuple[str, UUID]
    ) -> None:
        """A case opens on arrest."""
        ctx = CommandContext.system(envelope, purpose="case-opened")
        minor = bool(event.minor_at_facts)
        self.open_case(
            UUID(envelope.subject), event.arrested_at, ctx, inbound, minor_at_facts=minor
        )

    def on_detainee_admitted(
        self, envelope: Envelope, event: DetaineeAdmitted, inbound: tuple[str, UUID]
    ) -> None:
        """Where the person is held; an admission makes the first risk assessment due (SPEC §6)."""
        ctx = CommandContext.system(envelope, purpose="admission-review")
        case_id = UUID(envelope.subject)
        at, quarter = event.admitted_at, event.quarter.value if event.quarter else None
        self.note_custody(
            case_id,
            "admitted",
            event.facility,
            at,
            ctx,
            inbound,
            due_on_admission=True,
            quarter=quarter,
        )

    def on_detainee_transferred(
        self, envelope: Envelope, event: DetaineeTransferred, inbound: tuple[str, UUID]
    ) -> None:
        """Where the person is held now."""
        ctx = CommandContext.system(envelope, purpose="transfer")
        case_id, at = UUID(envelope.subject), event.transferred_at
        quarter = event.to_quarter.value if event.to_quarter else None
        self.note_custody(
            case_id, "transferred", event.to_facility, at, ctx, inbound, quarter=quarter
        )

    def on_detainee_released(
        self, envelope: Envelope, event: DetaineeReleased, inbound: tuple[str, UUID]
    ) -> None:
        """The person is no longer held: their reviews leave the lists."""
        ctx = CommandContext.system(envelope, purpose="release")
        self.note_custody(UUID(envelope.subject), "released", None, event.released_at, ctx, inbound)

    def open_case(
        self,
        case_id: UUID,
        opened_at: datetime,
        ctx: CommandContext,
        inbound: tuple[str, UUID] | None = None,
        *,
        minor_at_facts: bool = False,
    ) -> Recorded | None:
        """Learn of a case from its arrest (and whether intake found the person a minor at it);
        a case already known is left as it is."""
        if self.exists(case_id):
            if inbound is not None:
                self.record_inbound_only(*inbound, [])
            return None
        case = Case(
            case_id=case_id,
            opened_at=opened_at,
            cause=ctx.causation_id,
            minor_at_facts=minor_at_facts,
        )
        return self.commit(ctx, case, inbound=inbound)

    def note_custody(
        self,
        case_id: UUID,
        status: str,
        facility: str | None,
        at: datetime,
        ctx: CommandContext,
        inbound: tuple[str, UUID] | None = None,
        *,
        due_on_admission: bool = False,
        quarter: str | None = None,
    ) -> Recorded:
        """Where the person is held now; an admission makes the first risk assessment due."""
        case = self._case_or_open(case_id, at, ctx)
        case.note_custody(status, facility, at, ctx.causation_id, quarter)
        if due_on_admission:
            due = AssessmentDue(
                assessment_kind=AssessmentKind.RISK,
                due_by=at + timedelta(days=self.settings.assessment_due_days),
                trigger="admission",
            )
            case.schedule(due, self.meta(ctx, case_id))
        return self.commit(ctx, case, inbound=inbound)

    def _case_or_open(self, case_id: UUID, at: datetime, ctx: CommandContext) -> Case:
        # An intake event may be the first we hear of a case (e.g. a stream replayed from a
        # later point): the case is then opened by it rather than refused.
        try:
            return self.load(Case, case_id)
        except NotFoundError:
            return Case(case_id=case_id, opened_at=at, cause=ctx.causation_id)

    # --- risk assessments -----------------------------------------------------------------

    def start_assessment(
        self,
        case_id: UUID,
        ctx: CommandContext,
        instrument_id: UUID | None = None,
        instrument_version: int | None = None,
        started_at: datetime | None = None,
    ) -> Recorded:
        case = self.load(Case, case_id, ctx)
        version = self._version_for_new_assessment(instrument_id, instrument_version)
        assessment_id = uuid4()
        data = AssessmentStarted(
            assessment_id=assessment_id,
            instrument_id=version.instrument_id,
            instrument_version=version.version,
            assessor=ctx.actor,
            started_at=started_at,
        )
        case.start(data, version, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"assessment_id": assessment_id})

    def _version_for_new_assessment(self, instrument_id: UUID | None, number: int | None) -> Any:
        chosen = instrument_id or self.default_instrument()
        instrument = self._instrument(chosen) if chosen else None
        if instrument is None:
            if chosen is None:
                raise UnknownInstrumentError("no instrument is published yet")
            raise UnknownInstrumentError("no instrument {instrument_id}", instrument_id=chosen)
        if number is not None and number != instrument.latest:
            if number in instrument.versions:
                raise SupersededInstrumentError(
                    "version {number} is superseded: new assessments use version {latest}",
                    number=number,
                    latest=instrument.latest,
                )
            raise UnknownInstrumentError("this instrument has no version {number}", number=number)
        return instrument.version_of(instrument.latest)

    def rate(
        self, case_id: UUID, assessment_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        case = self.load(Case, case_id, ctx)
        data = IndicatorRated(assessment_id=assessment_id, **fields)
        case.rate(data, ctx.actor, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"assessment_id": assessment_id})

    def submit(
        self, case_id: UUID, assessment_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        case = self.load(Case, case_id, ctx)
        data = AssessmentSubmitted(assessment_id=assessment_id, **fields)
        case.submit(data, ctx.actor, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"assessment_id": assessment_id})

    def countersign(
        self, case_id: UUID, assessment_id: UUID, note: str | None, ctx: CommandContext
    ) -> Recorded:
        """Countersign (four eyes); the review it sets is caused by the countersignature."""
        case = self.load(Case, case_id, ctx)
        data = AssessmentCountersigned(
            assessment_id=assessment_id, countersigned_by=ctx.actor, note=note
        )
        meta = self.meta(ctx, case_id)
        review_meta = replace(self.meta(ctx, case_id, index=1), causation_id=meta.event_id)
        case.countersign(data, meta, review_meta)
        recorded = self.commit(ctx, case, ids={"assessment_id": assessment_id})
        # The answer names the countersignature, not the review it caused.
        recorded.event_id = meta.event_id
        return recorded

    # --- needs and placement --------------------------------------------------------------

    def record_needs(self, case_id: UUID, data: NeedsAssessed, ctx: CommandContext) -> Recorded:
        case = self.load(Case, case_id, ctx)
        case.record_needs(data, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    def decide_placement(
        self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        case = self.load(Case, case_id, ctx)
        data = PlacementDecided.model_validate({"decided_by": ctx.actor, **fields})
        others = [c for c in data.keep_separate_from if c != case_id]
        unknown = self._unknown_cases(others)
        if unknown:
            raise UnknownCaseError(
                "keep_separate_from names cases this service does not know: {cases}",
                cases=", ".join(str(c) for c in unknown[:5]),
            )
        case.decide_placement(data, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    def _unknown_cases(self, case_ids: list[UUID]) -> list[UUID]:
        if not case_ids:
            return []
        rows = self.fetch(
            "SELECT case_id FROM {schema}.assessed_cases WHERE case_id = ANY(%s)", [case_ids]
        )
        known = {r[0] for r in rows}
        return [c for c in case_ids if c not in known]

    # --- voiding --------------------------------------------------------------------------

    def void_entry(self, event_id: UUID, reason: str, ctx: CommandContext) -> Recorded:
        """Void a mistaken entry of this service (SPEC §5), within the rules of its kind."""
        entry = self.entry_to_void(event_id, ctx)
        if entry.type.endswith(".InstrumentPublished.v1"):
            raise EntryNotVoidableError(
                "a published instrument version is immutable; publish a new version instead"
            )
        case = self.load(Case, entry.aggregate_id, ctx)
        data = AssessmentEntryVoided(
            voided_event_id=event_id, reason=reason, voided_event_type=entry.type
        )
        case.void(data, ctx.actor, self.meta(ctx, case.id))
        return self.commit(ctx, case)
