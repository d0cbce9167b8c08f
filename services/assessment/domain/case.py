"""The assessment record of one case: risk assessments with four eyes, needs, placement, dues.

Invariants: only a countersigned assessment sets the current risk; a countersignature is by
another person than the assessor, of a submitted assessment whose every indicator is rated on
its scale; a countersigned assessment stands (it is superseded, never voided).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.assessment.domain.errors import (
    AlreadyCountersignedError,
    AlreadyVoidedError,
    AssessmentClosedError,
    CountersignedEntryError,
    EntryNotVoidableError,
    FourEyesError,
    InstrumentKindError,
    NotSubmittedError,
    NotTheAssessorError,
    RatingOutOfScaleError,
    ReviewDateError,
    SelfSeparationError,
    UnknownIndicatorError,
    UnratedIndicatorsError,
)
from services.assessment.domain.instrument import InstrumentVersion
from services.assessment.domain.state import (
    AssessmentRecord,
    CaseEntry,
    Decision,
    Due,
    Rating,
)
from shared.events.assessment import (
    AssessmentCountersigned,
    AssessmentDue,
    AssessmentKind,
    AssessmentStarted,
    AssessmentSubmitted,
    IndicatorRated,
    NeedsAssessed,
    PlacementDecided,
    RiskLevel,
)
from shared.events.voiding import AssessmentEntryVoided
from shared.kit.domain import Meta, VoidableEntries
from shared.kit.errors import NotFoundError

__all__ = ["Case"]


class Case(Aggregate, VoidableEntries[CaseEntry]):
    """What the assessment service holds about one case (the id is intake's `case_id`)."""

    unknown_entry_error = NotFoundError
    voided_twice_error = AlreadyVoidedError
    not_voidable_error = EntryNotVoidableError

    @staticmethod
    def create_id(case_id: UUID, **_: object) -> UUID:
        return case_id

    @event("CaseOpened")
    def __init__(
        self, case_id: UUID, opened_at: datetime, cause: UUID | None, minor_at_facts: bool = False
    ) -> None:
        self.opened_at = opened_at
        self.minor_at_facts = minor_at_facts
        self.status = "arrested"
        self.facility: str | None = None
        self.quarter: str | None = None
        self.released_at: datetime | None = None
        self.assessments: dict[UUID, AssessmentRecord] = {}
        self.countersigned: list[UUID] = []
        self.dues: list[Due] = []
        self.needs: list[Decision] = []
        self.placements: list[Decision] = []
        self._open_log()

    # --- what intake tells us -------------------------------------------------------------

    def note_custody(
        self,
        status: str,
        facility: str | None,
        at: datetime,
        cause: UUID | None,
        quarter: str | None = None,
    ) -> None:
        """Where the person is held now (from intake's admission, transfer, release), and whom
        that facility or wing holds (adults, minors; None when intake was not told)."""
        self._custody_noted(status=status, facility=facility, at=at, cause=cause, quarter=quarter)

    @event("CustodyNoted")
    def _custody_noted(
        self,
        status: str,
        facility: str | None,
        at: datetime,
        cause: UUID | None,
        quarter: str | None = None,
    ) -> None:
        self.status = status
        if facility is not None:
            self.facility = facility
            self.quarter = quarter
        if status == "released":
            self.released_at = at

    def schedule(self, data: AssessmentDue, meta: Meta) -> None:
        """An assessment falls due (automatic: admission, or the next review)."""
        self._due(data=data, meta=meta)

    @event("AssessmentDue")
    def _due(self, data: AssessmentDue, meta: Meta) -> None:
        self.dues.append(
            Due(
                event_id=meta.event_id,
                kind=data.assessment_kind.value,
                due_by=data.due_by,
                trigger=data.trigger,
                recorded_at=meta.recorded_at,
                cause=meta.causation_id,
            )
        )
        self._log_entry(meta.event_id, CaseEntry("AssessmentDue"))

    # --- risk assessments -----------------------------------------------------------------

    def assessment(self, assessment_id: UUID) -> AssessmentRecord:
        found = self.assessments.get(assessment_id)
        if found is None:
            raise NotFoundError(
                "no assessment {assessment_id} in case {id}",
                assessment_id=assessment_id,
                id=self.id,
            )
        return found

    def start(self, data: AssessmentStarted, instrument: InstrumentVersion, meta: Meta) -> None:
        if instrument.kind is AssessmentKind.NEEDS:
            raise InstrumentKindError("a risk assessment needs a risk instrument, not a needs one")
        self._started(data=data, meta=meta, scales=instrument.scales)

    @event("AssessmentStarted")
    def _started(self, data: AssessmentStarted, meta: Meta, scales: dict[str, list[int]]) -> None:
        self.assessments[data.assessment_id] = AssessmentRecord(
            assessment_id=data.assessment_id,
            instrument_id=data.instrument_id,
            instrument_version=data.instrument_version,
            assessor=data.assessor,
            started_at=data.started_at or meta.recorded_at,
            started_event=meta.event_id,
            scales=dict(scales),
        )
        self._log_entry(meta.event_id, CaseEntry("AssessmentStarted", data.assessment_id))

    def _open_for(self, assessment_id: UUID, by: str) -> AssessmentRecord:
        record = self.assessment(assessment_id)
        if record.assessor != by:
            raise NotTheAssessorError(
                "only the assessor ({assessor}) may do this", assessor=record.assessor
            )
        if record.status != "in_progress":
            raise AssessmentClosedError(
                "the assessment is {status}", status=record.status.replace("_", " ")
            )
        return record

    def rate(self, data: IndicatorRated, by: str, meta: Meta) -> None:
        record = self._open_for(data.assessment_id, by)
        scale = record.scales.get(data.indicator_id)
        if scale is None:
            raise UnknownIndicatorError(
                "indicator {indicator_id!r} is not in version {instrument_version} of the "
                "instrument this assessment uses",
                indicator_id=data.indicator_id,
                instrument_version=record.instrument_version,
            )
        if not scale[0] <= data.rating <= scale[1]:
            raise RatingOutOfScaleError(
                "indicator {indicator_id!r} is rated from {low} to {high}, not {rating}",
                indicator_id=data.indicator_id,
                low=scale[0],
                high=scale[1],
                rating=data.rating,
            )
        self._rated(data=data, meta=meta)

    @event("IndicatorRated")
    def _rated(self, data: IndicatorRated, meta: Meta) -> None:
        rating = Rating(data.rating, data.evidence_note, meta.event_id, meta.recorded_at)
        self.assessments[data.assessment_id].ratings.setdefault(data.indicator_id, []).append(
            rating
        )
        self._log_entry(meta.event_id, CaseEntry("IndicatorRated", data.assessment_id))

    def submit(self, data: AssessmentSubmitted, by: str, meta: Meta) -> None:
        record = self._open_for(data.assessment_id, by)
        unrated = record.unrated()
        if unrated:
            shown = ", ".join(unrated[:10]) + (" …" if len(unrated) > 10 else "")
            raise UnratedIndicatorsError(
                "{count} indicator(s) not rated yet: {shown}; rate every indicator first",
                count=len(unrated),
                shown=shown,
            )
        submitted = data.submitted_at or meta.recorded_at
        if data.next_review_by <= submitted:
            raise ReviewDateError("next_review_by must fall after the submission")
        self._submitted(data=data, meta=meta)

    @event("AssessmentSubmitted")
    def _submitted(self, data: AssessmentSubmitted, meta: Meta) -> None:
        record = self.assessments[data.assessment_id]
        record.submission = data
        record.submitted_event = meta.event_id
        record.submitted_at = data.submitted_at or meta.recorded_at
        self._log_entry(meta.event_id, CaseEntry("AssessmentSubmitted", data.assessment_id))

    def countersign(self, data: AssessmentCountersigned, meta: Meta, review_meta: Meta) -> None:
        """Countersign (four eyes); the next review then falls due at `next_review_by`."""
        record = self.assessment(data.assessment_id)
        if record.status == "countersigned":
            raise AlreadyCountersignedError("the assessment is already countersigned")
        if record.status != "submitted" or record.submission is None:
            raise NotSubmittedError(
                "the assessment is {status}, not submitted", status=record.status.replace("_", " ")
            )
        if data.countersigned_by == record.assessor:
            raise FourEyesError("the assessor cannot countersign their own assessment")
        self._countersigned(data=data, meta=meta, overall_risk=record.submission.overall_risk.value)
        review = AssessmentDue(
            assessment_kind=AssessmentKind.RISK,
            due_by=record.submission.next_review_by,
            trigger="review",
        )
        self._due(data=review, meta=review_meta)

    @event("AssessmentCountersigned")
    def _countersigned(self, data: AssessmentCountersigned, meta: Meta, overall_risk: str) -> None:
        record = self.assessments[data.assessment_id]
        record.countersigned_by = data.countersigned_by
        record.countersigned_at = meta.recorded_at
        record.countersigned_event = meta.event_id
        self.countersigned.append(data.assessment_id)
        for due in self.dues:
            if due.kind == AssessmentKind.RISK.value and due.satisfied_by is None:
                due.satisfied_by = data.assessment_id
        self._log_entry(meta.event_id, CaseEntry("AssessmentCountersigned", data.assessment_id))

    @property
    def current_assessment(self) -> AssessmentRecord | None:
        """The latest countersigned assessment: the only one that sets the case's risk."""
        return self.assessments[self.countersigned[-1]] if self.countersigned else None

    @property
    def current_risk(self) -> RiskLevel | None:
        current = self.current_assessment
        return current.submission.overall_risk if current and current.submission else None

    def reviews(self, now: datetime, soon: timedelta) -> list[tuple[Due, str]]:
        return [(d, d.status(now, soon)) for d in self.dues if not self.is_voided(d.event_id)]

    # --- needs and placement --------------------------------------------------------------

    def record_needs(self, data: NeedsAssessed, meta: Meta) -> None:
        self._needs_assessed(data=data, meta=meta)

    @event("NeedsAssessed")
    def _needs_assessed(self, data: NeedsAssessed, meta: Meta) -> None:
        self.needs.append(Decision(meta.event_id, data, meta.actor, meta.recorded_at))
        self._log_entry(meta.event_id, CaseEntry("NeedsAssessed"))

    def decide_placement(self, data: PlacementDecided, meta: Meta) -> None:
        if self.id in data.keep_separate_from:
            raise SelfSeparationError("a person cannot be kept apart from themselves")
        self._placed(data=data, meta=meta)

    @event("PlacementDecided")
    def _placed(self, data: PlacementDecided, meta: Meta) -> None:
        self.placements.append(Decision(meta.event_id, data, meta.actor, meta.recorded_at))
        self._log_entry(meta.event_id, CaseEntry("PlacementDecided"))

    @property
    def current_needs(self) -> Decision | None:
        return next((d for d in reversed(self.needs) if not d.voided), None)

    @property
    def current_placement(self) -> Decision | None:
        return next((d for d in reversed(self.placements) if not d.voided), None)

    # --- voiding --------------------------------------------------------------------------

    def void(self, data: AssessmentEntryVoided, by: str, meta: Meta) -> None:
        """Void a mistaken entry; what it decided no longer counts (SPEC §5)."""
        entry = self.voidable(data.voided_event_id)
        if entry.type == "AssessmentDue":
            raise EntryNotVoidableError(
                "a due date set by the service cannot be voided; it is met by an assessment"
            )
        if entry.assessment_id is not None:
            self._check_assessment_voidable(entry, entry.assessment_id, by)
        self._voided(data=data, meta=meta)

    def _check_assessment_voidable(self, entry: CaseEntry, assessment_id: UUID, by: str) -> None:
        record = self.assessments[assessment_id]
        if record.status == "countersigned" or entry.type == "AssessmentCountersigned":
            raise CountersignedEntryError(
                "a countersigned assessment stands; record a new assessment to supersede it"
            )
        if record.assessor != by:
            raise NotTheAssessorError(
                "only the assessor ({assessor}) may void this entry", assessor=record.assessor
            )
        if record.abandoned:
            raise AssessmentClosedError("the assessment was already abandoned")
        if entry.type == "IndicatorRated" and record.status == "submitted":
            raise AssessmentClosedError("void the submission before voiding one of its ratings")

    @event("EntryVoided")
    def _voided(self, data: AssessmentEntryVoided, meta: Meta) -> None:
        entry = self.entry_log[data.voided_event_id]
        record = self.assessments.get(entry.assessment_id) if entry.assessment_id else None
        if record is not None and entry.type == "AssessmentStarted":
            record.abandoned = True
        elif record is not None and entry.type == "AssessmentSubmitted":
            record.submission, record.submitted_event, record.submitted_at = None, None, None
        elif record is not None and entry.type == "IndicatorRated":
            for history in record.ratings.values():
                history[:] = [r for r in history if r.event_id != data.voided_event_id]
        for decision in (*self.needs, *self.placements):
            if decision.event_id == data.voided_event_id:
                decision.voided = True
        self._log_voiding(data.voided_event_id, meta.event_id, CaseEntry("EntryVoided"))
