"""The judicial application: the write side of charges, detention orders and deadlines, hearings,
verdict, sentence, release orders and sealing, one method per command; what it notes of intake's
record (`on_<event>`, the handlers `inbound.py` registers); the deadline checker.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from pydantic import ValidationError

from services.judicial.domain import Case
from services.judicial.domain.errors import (
    FactNotYetLearntError,
    InvalidFieldsError,
    within_calendar,
)
from services.judicial.domain.state import release_date
from services.judicial.views import DeadlineBoard, JudicialRegister
from shared.events import CatalogueEvent, Envelope
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
)
from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
    ErasureOrdered,
    HearingAdjourned,
    HearingHeld,
    HearingScheduled,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseOrdered,
    SentenceImposed,
    VerdictDelivered,
)
from shared.events.voiding import EntryVoided, JudicialEntryVoided
from shared.kit.clock import Clock
from shared.kit.errors import NotFoundError
from shared.kit.jurisdiction import load_jurisdiction
from shared.kit.problems import field_message
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication, CommandContext, IntegrityError, Recorded

__all__ = ["JudicialApplication"]

log = logging.getLogger("caseline.judicial")
M = TypeVar("M", bound=CatalogueEvent)
_CHECK_BATCH = 500


def build(model: type[M], **fields: Any) -> M:
    """The catalogue payload from a request and what the service filled in; 422 if invalid."""
    try:
        return model(**fields)
    except ValidationError as exc:
        named = ", ".join(
            sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
        )
        # Pydantic's words, in the language of the request (by each error's type).
        detail = "; ".join(field_message(e) for e in exc.errors())
        raise InvalidFieldsError(
            "invalid fields: {named}: {reason}", named=named, reason=detail
        ) from None


class JudicialApplication(CaselineApplication):
    """Follows each case from intake's record; the courts' commands; legal deadlines."""

    service = "judicial"
    name = "judicial"
    views = (JudicialRegister, DeadlineBoard)

    def __init__(
        self, settings: Settings, clock: Clock | None = None, *, in_memory: bool = False
    ) -> None:
        # Rules first: a malformed rules file stops start-up before anything is touched.
        self.rules = load_jurisdiction(settings)
        super().__init__(settings, clock, in_memory=in_memory)

    def guarded(
        self, do: Callable[[CommandContext], Recorded]
    ) -> Callable[[CommandContext], Recorded]:
        """A date pushed past the calendar by a legal term is an invalid field, not a fault."""
        return within_calendar(do)

    def _run(
        self, case_id: UUID, ctx: CommandContext, act: Any, ids: dict[str, Any] | None = None
    ) -> Recorded:
        case = self.load(Case, case_id, ctx)
        act(case, self.meta(ctx, case_id))
        return self.commit(ctx, case, ids=ids)

    # --- charges and detention ------------------------------------------------------------

    def file_charges(
        self, case_id: UUID, fields: dict[str, Any], offence_class: str | None, ctx: CommandContext
    ) -> Recorded:
        classes = self.rules.pre_trial.classes
        name = offence_class or self.rules.pre_trial.default_class
        if name not in classes:
            raise InvalidFieldsError(
                "invalid fields: offence_class: {code} has no offence class {name!r} (classes: "
                "{items})",
                code=self.rules.code,
                name=name,
                items=", ".join(sorted(classes)),
            )
        data = build(ChargesFiled, **fields)
        return self._run(case_id, ctx, lambda case, meta: case.file_charges(data, meta, name))

    def order_detention(
        self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        """A first detention order; its term defaults to the offence class's initial term (the
        juvenile term when the person was a minor at the facts)."""
        case = self.load(Case, case_id, ctx)
        state = case.state()
        name = state.offence_class
        if name not in self.rules.pre_trial.classes:
            name = self.rules.pre_trial.default_class
        rules = self.rules.pre_trial.classes[name]
        juveniles = self.rules.juveniles
        if state.minor_at_facts and juveniles is not None:
            rules = juveniles.pre_trial[name]
        limits = {"offence_class": name, "juvenile": state.minor_at_facts, **rules.model_dump()}
        if fields.get("expires_at") is None:
            fields = {
                **fields,
                "expires_at": fields["ordered_at"] + timedelta(days=rules.initial_term_days),
            }
        data = build(PreTrialDetentionOrdered, **fields)
        case.order_detention(data, self.meta(ctx, case_id), limits)
        return self.commit(ctx, case)

    def renew_detention(
        self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        """A renewal; its expiry defaults to one renewal term, within the legal maximum."""
        case = self.load(Case, case_id, ctx)
        state = case.state()
        if fields.get("expires_at") is None and state.pre_trial and state.detention:
            term = timedelta(days=int(state.detention.limits["renewal_term_days"]))
            maximum = state.detention.ordered_at + timedelta(
                days=int(state.detention.limits["max_total_days"])
            )
            fields = {**fields, "expires_at": min(state.pre_trial.expires_at + term, maximum)}
        elif fields.get("expires_at") is None:
            fields = {**fields, "expires_at": fields["renewed_at"] + timedelta(days=1)}
        data = build(PreTrialDetentionRenewed, **fields)
        case.renew_detention(data, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    # --- hearings, verdict, sentence ------------------------------------------------------

    def schedule_hearing(
        self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        hearing_id = uuid4()
        data = build(HearingScheduled, hearing_id=hearing_id, **fields)
        return self._run(
            case_id,
            ctx,
            lambda case, meta: case.schedule_hearing(data, meta),
            {"hearing_id": hearing_id},
        )

    def hold_hearing(
        self, case_id: UUID, hearing_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        data = build(HearingHeld, hearing_id=hearing_id, **fields)
        return self._run(case_id, ctx, lambda case, meta: case.hold_hearing(data, meta))

    def adjourn_hearing(
        self, case_id: UUID, hearing_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        data = build(HearingAdjourned, hearing_id=hearing_id, **fields)
        return self._run(case_id, ctx, lambda case, meta: case.adjourn_hearing(data, meta))

    def deliver_verdict(
        self, case_id: UUID, data: VerdictDelivered, ctx: CommandContext
    ) -> Recorded:
        """The verdict; an acquittal or dismissal also orders release (`release_order_id`)."""
        case = self.load(Case, case_id, ctx)
        order_id = uuid4()
        ordered = case.deliver_verdict(
            data, self.meta(ctx, case_id), order_id, self.meta(ctx, case_id, index=1)
        )
        return self.commit(ctx, case, ids={"release_order_id": order_id} if ordered else None)

    def impose_sentence(
        self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext
    ) -> Recorded:
        """The sentence, with its release date computed from term, start and credit."""
        ends = release_date(
            fields["starts_on"], fields["term_days"], fields["credit_for_time_served_days"]
        )
        data = build(SentenceImposed, **fields, release_date=ends)
        return self._run(case_id, ctx, lambda case, meta: case.impose_sentence(data, meta))

    def order_release(self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext) -> Recorded:
        order_id = uuid4()
        data = build(ReleaseOrdered, release_order_id=order_id, **fields)
        return self._run(
            case_id,
            ctx,
            lambda case, meta: case.order_release(data, meta, self.rules.zone),
            {"release_order_id": order_id},
        )

    def order_erasure(self, case_id: UUID, fields: dict[str, Any], ctx: CommandContext) -> Recorded:
        """A court's order to erase the person's personal data; intake executes it."""
        order_id = uuid4()
        data = build(ErasureOrdered, erasure_order_id=order_id, **fields)
        return self._run(
            case_id,
            ctx,
            lambda case, meta: case.order_erasure(data, meta),
            {"erasure_order_id": order_id},
        )

    def seal(self, case_id: UUID, reason: str, sealed_by: str, ctx: CommandContext) -> Recorded:
        data = build(CaseSealed, reason=reason, sealed_by=sealed_by)
        return self._run(case_id, ctx, lambda case, meta: case.seal(data, meta))

    # --- corrections ----------------------------------------------------------------------

    def void(self, event_id: UUID, reason: str, ctx: CommandContext) -> Recorded:
        entry = self.entry_to_void(event_id, ctx)
        data = JudicialEntryVoided(voided_event_id=event_id, reason=reason)
        return self._run(entry.aggregate_id, ctx, lambda case, meta: case.void(data, meta))

    # --- what intake recorded (the handlers `inbound.py` registers) ------------------------

    def on_arrest_recorded(
        self, envelope: Envelope, event: ArrestRecorded, inbound: tuple[str, UUID]
    ) -> None:
        """Open the case from intake's arrest record (once)."""
        case_id = UUID(envelope.subject)
        ctx = CommandContext.system(envelope, purpose="intake-record")
        if self.exists(case_id):
            self.record_inbound_only(*inbound, [])
            return
        case = Case.open(
            case_id,
            UUID(str(envelope.id)),
            event.arrested_at,
            self.clock.now(),
            minor_at_facts=bool(event.minor_at_facts),
        )
        self.commit(ctx, case, inbound=inbound)

    def on_custody_started(
        self, envelope: Envelope, event: CustodyStarted, inbound: tuple[str, UUID]
    ) -> None:
        """Custody began: its legal limit starts to run (and its alert before it)."""
        alert = self.rules.custody.alert_hours_before
        fields = {"started_at": event.started_at, "max_hours": event.max_hours}
        self._note(envelope, inbound, "CustodyNoted", {**fields, "alert_hours": alert})

    def on_custody_extended(
        self, envelope: Envelope, event: CustodyExtended, inbound: tuple[str, UUID]
    ) -> None:
        """Custody was extended: its limit moves."""
        self._note(
            envelope, inbound, "CustodyExtensionNoted", {"extended_until": event.extended_until}
        )

    def on_detainee_admitted(
        self, envelope: Envelope, event: DetaineeAdmitted, inbound: tuple[str, UUID]
    ) -> None:
        """The person was admitted to a prison: where they are, under which register number."""
        admitted = {"facility": event.facility, "admitted_at": event.admitted_at}
        self._note(
            envelope,
            inbound,
            "AdmissionNoted",
            {**admitted, "register_number": event.register_number},
        )

    def on_detainee_transferred(
        self, envelope: Envelope, event: DetaineeTransferred, inbound: tuple[str, UUID]
    ) -> None:
        """The person was moved: where they are now."""
        fields = {"to_facility": event.to_facility, "transferred_at": event.transferred_at}
        self._note(envelope, inbound, "TransferNoted", fields)

    def on_detainee_released(
        self, envelope: Envelope, event: DetaineeReleased, inbound: tuple[str, UUID]
    ) -> None:
        """The person was released: the limits that ran end."""
        fields = {"released_at": event.released_at, "release_order_id": event.release_order_id}
        self._note(envelope, inbound, "ReleaseNoted", fields)

    def on_intake_entry_voided(
        self, envelope: Envelope, event: EntryVoided, inbound: tuple[str, UUID]
    ) -> None:
        """Intake voided an entry: what judicial noted of it no longer counts."""
        voided = {"voided_event_id": event.voided_event_id}
        self._note(
            envelope,
            inbound,
            "EntryVoided",
            {**voided, "voided_event_type": event.voided_event_type},
        )

    def _note(
        self, envelope: Envelope, inbound: tuple[str, UUID], fact: str, fields: dict[str, Any]
    ) -> None:
        """Note one fact of intake's record on its case, once."""
        case_id, source = UUID(envelope.subject), UUID(str(envelope.id))
        ctx = CommandContext.system(envelope, purpose="intake-record")
        now = self.clock.now()
        try:
            case = self.load(Case, case_id)
        except NotFoundError:
            # Another replica may hold the arrest still: retried, then dead-lettered if never.
            raise FactNotYetLearntError(f"case {case_id} not learnt yet") from None
        if not case.note(fact, source, now, fields):
            self.record_inbound_only(*inbound, [])
            return
        self.commit(ctx, case, inbound=inbound)

    # --- the deadline checker -------------------------------------------------------------

    def detect_breaches(self) -> list[UUID]:
        """Record each limit passed with no renewal, verdict or release, once; returns the cases."""
        now = self.clock.now()
        rows = self.fetch(
            "SELECT case_id, kind FROM {schema}.deadlines WHERE breach_detected_at IS NULL"
            " AND expires_at < COALESCE(ended_at, %s) ORDER BY expires_at LIMIT %s",
            (now, _CHECK_BATCH),
        )
        recorded = []
        for case_id, kind in rows:
            ctx = CommandContext.system()
            # Another process recording the same breach makes ours conflict: it is then on record.
            with contextlib.suppress(IntegrityError):
                case = self.load(Case, case_id)
                if case.record_breach(kind, now, self.meta(ctx, case_id)):
                    self.commit(ctx, case)
                    recorded.append(case_id)
                    log.warning("detention deadline breached: case %s, %s", case_id, kind)
        return recorded

    def seal_due_cases(self) -> list[UUID]:
        """Seal the cases whose acquittal or dismissal became final; returns them."""
        now = self.clock.now()
        days = self.rules.appeal.period_days
        rows = self.fetch(
            "SELECT case_id FROM {schema}.judicial_cases WHERE NOT sealed"
            " AND verdict_outcome IN ('acquitted', 'dismissed') AND verdict_at <= %s"
            " ORDER BY verdict_at LIMIT %s",
            (now - timedelta(days=days), _CHECK_BATCH),
        )
        sealed = []
        for (case_id,) in rows:
            ctx = CommandContext.system()
            with contextlib.suppress(IntegrityError):
                case = self.load(Case, case_id)
                if case.seal_if_final(now, days, self.meta(ctx, case_id), self.rules.zone):
                    self.commit(ctx, case)
                    sealed.append(case_id)
        return sealed
