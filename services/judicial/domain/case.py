"""The judicial record of one case: charges, detention and its deadlines, hearings, verdict,
sentence, release orders and sealing. `Case` is the aggregate (id = intake's `case_id`).

Commands check the rules against the state folded from the live entries (`state.fold`). Every
stored event carries `after`, the read models' snapshot of the case once it is applied.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.judicial.domain.errors import (
    CaseSealedError,
    ChargesAfterVerdictError,
    ChargesRequiredError,
    CreditExceedsTermError,
    EntryAlreadyVoidedError,
    EntryNotVoidableError,
    SentenceAlreadyImposedError,
    SentenceWithoutConvictionError,
    VerdictAlreadyDeliveredError,
)
from services.judicial.domain.rules import (
    check_detention_order,
    check_hearing_open,
    check_release_order,
    check_renewal,
    check_voidable,
    worth_noting,
)
from services.judicial.domain.state import CaseState, Entry, fold, snapshot
from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
    DetentionDeadlineBreached,
    ErasureOrdered,
    HearingAdjourned,
    HearingHeld,
    HearingScheduled,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseKind,
    ReleaseOrdered,
    SentenceImposed,
    VerdictDelivered,
    VerdictOutcome,
)
from shared.events.voiding import JudicialEntryVoided
from shared.kit.domain import Meta, VoidableEntries
from shared.kit.errors import NotFoundError

__all__ = ["Case"]

_FINAL_OUTCOMES = {
    VerdictOutcome.ACQUITTED: ReleaseKind.ACQUITTAL,
    VerdictOutcome.DISMISSED: ReleaseKind.DISMISSAL,
}


class Case(Aggregate, VoidableEntries[Entry]):
    """One case before the courts, as judicial follows it from intake's arrest record."""

    unknown_entry_error = NotFoundError
    voided_twice_error = EntryAlreadyVoidedError
    not_voidable_error = EntryNotVoidableError

    @staticmethod
    def create_id(case_id: UUID, **_: object) -> UUID:
        return case_id

    @classmethod
    def open(
        cls,
        case_id: UUID,
        source_event_id: UUID,
        arrested_at: datetime,
        at: datetime,
        *,
        minor_at_facts: bool = False,
    ) -> Case:
        """Open the case from intake's arrest record (learnt over the bus).

        Judicial keeps no personal data (erasable in intake's record): the case id, and the
        prison register number once admitted, identify the detainee; of the person's age only
        whether intake found them a minor at the arrest (juvenile detention terms apply).
        """
        fields: dict[str, Any] = {"arrested_at": arrested_at}
        if minor_at_facts:
            fields["minor_at_facts"] = True
        after = snapshot(fold([Entry(source_event_id, "CaseOpened", fields, at)]))
        return cls(
            case_id=case_id, source_event_id=source_event_id, fields=fields, at=at, after=after
        )

    @event("CaseOpened")
    def __init__(
        self,
        case_id: UUID,
        source_event_id: UUID,
        fields: dict[str, Any],
        at: datetime,
        after: dict[str, Any],
    ) -> None:
        self._open_log()
        self._log_entry(source_event_id, Entry(source_event_id, "CaseOpened", fields, at))

    # --- reads ----------------------------------------------------------------------------

    def state(self, leaving_out: UUID | None = None) -> CaseState:
        return fold(self.live_entries(leaving_out))

    def _may_void(self, entry: Entry) -> bool:
        # What was learnt from intake is intake's to void.
        return bool(entry.actor)

    def _open_state(self) -> CaseState:
        state = self.state()
        if state.sealed is not None:
            raise CaseSealedError("the case is sealed: it takes no new entry")
        return state

    # --- what intake recorded (learnt over the bus) ---------------------------------------

    def note(self, fact: str, source_event_id: UUID, at: datetime, fields: dict[str, Any]) -> bool:
        """Note a fact of intake's record once; returns whether it was new and followed."""
        if not worth_noting(self.entries, source_event_id, fact, fields):
            return False
        if fact == "EntryVoided":
            after = snapshot(fold(self.live_entries(leaving_out=fields["voided_event_id"])))
        else:
            after = snapshot(fold([*self.live_entries(), Entry(source_event_id, fact, fields, at)]))
        self._intake_record_noted(
            fact=fact, source_event_id=source_event_id, at=at, fields=fields, after=after
        )
        return True

    @event("IntakeRecordNoted")
    def _intake_record_noted(
        self,
        fact: str,
        source_event_id: UUID,
        at: datetime,
        fields: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        entry = Entry(source_event_id, fact, fields, at)
        if fact == "EntryVoided":
            self._log_voiding(fields["voided_event_id"], source_event_id, entry)
        else:
            self._log_entry(source_event_id, entry)

    # --- charges and detention ------------------------------------------------------------

    def file_charges(self, data: ChargesFiled, meta: Meta, offence_class: str) -> None:
        state = self._open_state()
        if state.verdict is not None:
            raise ChargesAfterVerdictError(
                "the verdict was delivered at {delivered_at}: charges come before it",
                delivered_at=state.verdict.data.delivered_at.isoformat(),
            )
        self._record("ChargesFiled", data, meta, {"offence_class": offence_class})

    def order_detention(
        self, data: PreTrialDetentionOrdered, meta: Meta, limits: dict[str, Any]
    ) -> None:
        check_detention_order(self._open_state(), data, limits)
        self._record("PreTrialDetentionOrdered", data, meta, limits)

    def renew_detention(self, data: PreTrialDetentionRenewed, meta: Meta) -> None:
        check_renewal(self._open_state(), data)
        self._record("PreTrialDetentionRenewed", data, meta, {})

    # --- hearings, verdict, sentence ------------------------------------------------------

    def schedule_hearing(self, data: HearingScheduled, meta: Meta) -> None:
        self._open_state()
        self._record("HearingScheduled", data, meta, {})

    def hold_hearing(self, data: HearingHeld, meta: Meta) -> None:
        check_hearing_open(self._open_state(), data.hearing_id)
        self._record("HearingHeld", data, meta, {})

    def adjourn_hearing(self, data: HearingAdjourned, meta: Meta) -> None:
        check_hearing_open(self._open_state(), data.hearing_id)
        self._record("HearingAdjourned", data, meta, {})

    def deliver_verdict(
        self, data: VerdictDelivered, meta: Meta, order_id: UUID, order_meta: Meta
    ) -> bool:
        """Record the verdict; an acquittal or dismissal also orders release (returns True)."""
        state = self._open_state()
        if state.verdict is not None:
            raise VerdictAlreadyDeliveredError(
                "the verdict was delivered at {delivered_at}: a verdict is delivered once "
                "(appeals are not modelled yet)",
                delivered_at=state.verdict.data.delivered_at.isoformat(),
            )
        if not state.charges:
            raise ChargesRequiredError("no verdict without charges")
        self._record("VerdictDelivered", data, meta, {})
        kind = _FINAL_OUTCOMES.get(data.outcome)
        if kind is None:
            return False
        order = ReleaseOrdered(
            release_order_id=order_id,
            kind=kind,
            effective_at=data.delivered_at,
            ordered_by=meta.actor,
            ordered_at=data.delivered_at,
        )
        # The order follows from the verdict: its causation is the verdict's event.
        self._record(
            "ReleaseOrdered",
            order,
            replace(order_meta, causation_id=meta.event_id),
            {"caused_by": meta.event_id},
        )
        return True

    def impose_sentence(self, data: SentenceImposed, meta: Meta) -> None:
        state = self._open_state()
        if state.verdict is None or state.verdict.data.outcome is not VerdictOutcome.CONVICTED:
            raise SentenceWithoutConvictionError("a sentence is imposed only after a conviction")
        if state.sentence is not None:
            raise SentenceAlreadyImposedError("a sentence was already imposed in this case")
        if data.credit_for_time_served_days > data.term_days:
            raise CreditExceedsTermError(
                "the credit for time served ({credit_for_time_served_days} days) exceeds the "
                "term ({term_days} days)",
                credit_for_time_served_days=data.credit_for_time_served_days,
                term_days=data.term_days,
            )
        self._record("SentenceImposed", data, meta, {})

    # --- release and sealing --------------------------------------------------------------

    def order_release(self, data: ReleaseOrdered, meta: Meta, zone: tzinfo = UTC) -> None:
        check_release_order(self._open_state(), data, zone)
        self._record("ReleaseOrdered", data, meta, {})

    def order_erasure(self, data: ErasureOrdered, meta: Meta) -> None:
        # A sealed case may still be erased: the seal hides it, the order ends the personal data.
        self._record("ErasureOrdered", data, meta, {})

    def seal(self, data: CaseSealed, meta: Meta) -> None:
        self._open_state()
        self._record("CaseSealed", data, meta, {"automatic": False})

    def seal_if_final(
        self, now: datetime, appeal_days: int, meta: Meta, zone: tzinfo = UTC
    ) -> bool:
        """Seal after an acquittal or dismissal became final; returns whether it did."""
        state = self.state()
        verdict = state.verdict
        if (
            state.sealed is not None
            or verdict is None
            or verdict.data.outcome not in _FINAL_OUTCOMES
        ):
            return False
        if now < verdict.data.delivered_at + timedelta(days=appeal_days):
            return False
        delivered = verdict.data.delivered_at.astimezone(zone).date().isoformat()
        data = CaseSealed(
            reason=f"the {verdict.data.outcome.value} of {delivered} became final: "
            f"the appeal period of {appeal_days} days passed",
            sealed_by="system",
        )
        self._record(
            "CaseSealed", data, replace(meta, causation_id=verdict.event_id), {"automatic": True}
        )
        return True

    # --- deadlines ------------------------------------------------------------------------

    def record_breach(self, kind: str, now: datetime, meta: Meta) -> bool:
        """Record that a limit was passed, once per limit; returns whether it recorded one."""
        state = self.state()
        limit = state.limit(kind)
        if limit is None or state.breach_of(limit) is not None or not state.overdue(limit, now):
            return False
        data = DetentionDeadlineBreached(
            deadline_kind=kind, expired_at=limit.expires_at, detected_at=max(now, limit.expires_at)
        )
        # Caused by the entry that set the limit (intake's custody record or a detention order).
        self._record(
            "DetentionDeadlineBreached", data, replace(meta, causation_id=limit.source_event_id), {}
        )
        return True

    # --- corrections ----------------------------------------------------------------------

    def void(self, data: JudicialEntryVoided, meta: Meta) -> None:
        target = self.voidable(data.voided_event_id)
        check_voidable(self.state(), target)
        voiding = data.model_copy(
            update={"voided_event_type": f"caseline.judicial.{target.name}.v1"}
        )
        self._record("EntryVoided", voiding, meta, {}, leaving_out=target.event_id)

    # --- recording ------------------------------------------------------------------------

    def _record(
        self,
        name: str,
        data: Any,
        meta: Meta,
        extras: dict[str, Any],
        leaving_out: UUID | None = None,
    ) -> None:
        entry = Entry(meta.event_id, name, data, meta.recorded_at, extras, meta.actor)
        after = snapshot(fold([*self.live_entries(leaving_out), entry]))
        getattr(self, _RECORDERS[name])(data=data, meta=meta, extras=extras, after=after)

    def _append(self, name: str, data: Any, meta: Meta, extras: dict[str, Any]) -> None:
        entry = Entry(meta.event_id, name, data, meta.recorded_at, extras, meta.actor)
        self._log_entry(meta.event_id, entry)

    @event("ChargesFiled")
    def _charges_filed(
        self, data: ChargesFiled, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("ChargesFiled", data, meta, extras)

    @event("PreTrialDetentionOrdered")
    def _detention_ordered(
        self,
        data: PreTrialDetentionOrdered,
        meta: Meta,
        extras: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        self._append("PreTrialDetentionOrdered", data, meta, extras)

    @event("PreTrialDetentionRenewed")
    def _detention_renewed(
        self,
        data: PreTrialDetentionRenewed,
        meta: Meta,
        extras: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        self._append("PreTrialDetentionRenewed", data, meta, extras)

    @event("DetentionDeadlineBreached")
    def _breached(
        self,
        data: DetentionDeadlineBreached,
        meta: Meta,
        extras: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        self._append("DetentionDeadlineBreached", data, meta, extras)

    @event("HearingScheduled")
    def _hearing_scheduled(
        self, data: HearingScheduled, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("HearingScheduled", data, meta, extras)

    @event("HearingHeld")
    def _hearing_held(
        self, data: HearingHeld, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("HearingHeld", data, meta, extras)

    @event("HearingAdjourned")
    def _hearing_adjourned(
        self, data: HearingAdjourned, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("HearingAdjourned", data, meta, extras)

    @event("VerdictDelivered")
    def _verdict(
        self, data: VerdictDelivered, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("VerdictDelivered", data, meta, extras)

    @event("SentenceImposed")
    def _sentence(
        self, data: SentenceImposed, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("SentenceImposed", data, meta, extras)

    @event("ReleaseOrdered")
    def _release_ordered(
        self, data: ReleaseOrdered, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("ReleaseOrdered", data, meta, extras)

    @event("CaseSealed")
    def _sealed(
        self, data: CaseSealed, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("CaseSealed", data, meta, extras)

    @event("ErasureOrdered")
    def _erasure_ordered(
        self, data: ErasureOrdered, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self._append("ErasureOrdered", data, meta, extras)

    @event("EntryVoided")
    def _entry_voided(
        self, data: JudicialEntryVoided, meta: Meta, extras: dict[str, Any], after: dict[str, Any]
    ) -> None:
        entry = Entry(meta.event_id, "EntryVoided", data, meta.recorded_at, extras, meta.actor)
        self._log_voiding(data.voided_event_id, meta.event_id, entry)


_RECORDERS = {
    "ChargesFiled": "_charges_filed",
    "PreTrialDetentionOrdered": "_detention_ordered",
    "PreTrialDetentionRenewed": "_detention_renewed",
    "DetentionDeadlineBreached": "_breached",
    "HearingScheduled": "_hearing_scheduled",
    "HearingHeld": "_hearing_held",
    "HearingAdjourned": "_hearing_adjourned",
    "VerdictDelivered": "_verdict",
    "SentenceImposed": "_sentence",
    "ReleaseOrdered": "_release_ordered",
    "CaseSealed": "_sealed",
    "ErasureOrdered": "_erasure_ordered",
    "EntryVoided": "_entry_voided",
}
