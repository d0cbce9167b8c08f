"""The intake application: the write side of the case record, one method per command, and what it
does with judicial's orders (`on_<event>`, the handlers `inbound.py` registers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from services.intake.domain import Case
from services.intake.domain.errors import (
    FactNotYetLearntError,
    InvalidFieldsError,
    UnknownPersonError,
    within_calendar,
)
from services.intake.views import CaseRegister, PendingErasures, PersonIndex
from shared.events import Envelope
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    EvidenceLogged,
    FamilyContactRecorded,
    LinkKind,
)
from shared.events.judicial import ErasureOrdered, ReleaseOrdered
from shared.events.voiding import EntryVoided, IntakeEntryVoided
from shared.kit.clock import Clock
from shared.kit.domain import Meta
from shared.kit.errors import NotFoundError
from shared.kit.jurisdiction import load_jurisdiction
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication, CommandContext, Recorded

__all__ = ["IntakeApplication"]


class IntakeApplication(CaselineApplication):
    """Owns the case: it opens with an arrest and follows the person to release."""

    service = "intake"
    name = "intake"
    views = (CaseRegister, PendingErasures, PersonIndex)

    def __init__(
        self, settings: Settings, clock: Clock | None = None, *, in_memory: bool = False
    ) -> None:
        # Rules first: a malformed rules file stops start-up before anything is touched.
        self.rules = load_jurisdiction(settings)
        super().__init__(settings, clock, in_memory=in_memory)
        # An erasure on record whose key a crash left alive is finished before anything else
        # (its pending row is a view: in memory there is none, and no crash to recover from).
        if not in_memory:
            self.finish_erasures()

    def guarded(
        self, do: Callable[[CommandContext], Recorded]
    ) -> Callable[[CommandContext], Recorded]:
        """A date pushed past the calendar by a legal limit is an invalid field, not a fault."""
        return within_calendar(do)

    def record_arrest(self, data: ArrestRecorded, ctx: CommandContext) -> Recorded:
        """Open the case of a new person (the client never chooses one); whether the person was
        a minor at the arrest is intake's to say."""
        data = data.model_copy(update={"minor_at_facts": self.minor_at_facts(data)})
        case_id = uuid4()
        data = data.model_copy(update={"person_id": uuid4()})
        case = Case(case_id=case_id, data=data, meta=self.meta(ctx, case_id))
        return self.commit(ctx, case, ids={"person_id": case.person_id})

    # --- the person a case names (four eyes) ------------------------------------------------

    def propose_link(
        self,
        case_id: UUID,
        kind: LinkKind,
        person_id: UUID | None,
        reason: str,
        match_reasons: tuple[str, ...],
        ctx: CommandContext,
    ) -> Recorded:
        """A registrar proposes the person the case names; a second person confirms."""
        if (
            kind is LinkKind.LINK
            and person_id is not None
            and not self._known_person(person_id, ctx)
        ):
            raise UnknownPersonError(
                "no person {person_id} among the cases you may see: link to a candidate's person",
                person_id=person_id,
            )
        link_id = uuid4()
        case = self.load(Case, case_id, ctx)
        target = case.propose_link(
            link_id, kind, person_id, reason, match_reasons, self.meta(ctx, case_id), ctx.role
        )
        return self.commit(ctx, case, ids={"link_id": link_id, "person_id": target})

    def _known_person(self, person_id: UUID, ctx: CommandContext) -> bool:
        """A person some case names, one of them a case the caller may see."""
        cases = [str(r[0]) for r in self.view_object(PersonIndex).cases_of(self, [person_id])]
        return bool(cases) and (
            ctx.scope is None or bool(self.access.visible_set(ctx.scope, cases))
        )

    def confirm_link(self, case_id: UUID, link_id: UUID, ctx: CommandContext) -> Recorded:
        """A second person confirms the pending link: the case names its person from now on."""
        return self._on_case(
            case_id, ctx, lambda case, meta: case.confirm_link(link_id, meta, ctx.role)
        )

    def reject_link(
        self, case_id: UUID, link_id: UUID, reason: str, ctx: CommandContext
    ) -> Recorded:
        """The pending link is rejected: the case's person does not change."""
        return self._on_case(
            case_id, ctx, lambda case, meta: case.reject_link(link_id, reason, meta, ctx.role)
        )

    def minor_at_facts(self, data: ArrestRecorded) -> bool | None:
        """Under age at the arrest, from the date of birth (estimated or not), else as declared;
        None when nothing is known of the person's age."""
        person = data.person
        if person.date_of_birth is not None:
            return self.rules.minor_at(person.date_of_birth, data.arrested_at)
        return person.minor

    def start_custody(
        self, case_id: UUID, fields: dict[str, Any], regime: str | None, ctx: CommandContext
    ) -> Recorded:
        """Custody under `regime` (the jurisdiction's default if None); its limit from the rules.
        A minor at the facts is held under the juvenile regime whatever regime is asked for."""
        custody_rules = self.rules.custody
        name = regime or custody_rules.default_regime
        rules = custody_rules.regimes.get(name)
        juveniles = self.rules.juveniles
        if juveniles is not None and self.load(Case, case_id, ctx).arrest.minor_at_facts:
            name, rules = "juvenile", juveniles.custody
        if rules is None:
            known = ", ".join(sorted(custody_rules.regimes))
            raise InvalidFieldsError(
                "invalid fields: regime: {code} has no custody regime {name!r} (regimes: {known})",
                code=self.rules.code,
                name=name,
                known=known,
            )
        data = CustodyStarted(**fields, max_hours=rules.initial_hours)
        limits = {
            "regime": name,
            "extension_hours": rules.extension_hours,
            "max_extensions": rules.max_extensions,
            "source": rules.source,
        }
        return self._on_case(
            case_id, ctx, lambda case, meta: case.start_custody(data, meta, limits)
        )

    def _on_case(
        self, case_id: UUID, ctx: CommandContext, act: Callable[[Case, Meta], None]
    ) -> Recorded:
        """Load the case (404, 412), let `act` record on it, and commit."""
        case = self.load(Case, case_id, ctx)
        act(case, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    def extend_custody(self, case_id: UUID, data: CustodyExtended, ctx: CommandContext) -> Recorded:
        return self._on_case(case_id, ctx, lambda case, meta: case.extend_custody(data, meta))

    def log_evidence(self, case_id: UUID, data: EvidenceLogged, ctx: CommandContext) -> Recorded:
        return self._on_case(case_id, ctx, lambda case, meta: case.log_evidence(data, meta))

    def transfer(self, case_id: UUID, data: DetaineeTransferred, ctx: CommandContext) -> Recorded:
        return self._on_case(case_id, ctx, lambda case, meta: case.transfer(data, meta))

    def admit(self, case_id: UUID, data: DetaineeAdmitted, ctx: CommandContext) -> Recorded:
        return self._on_case(case_id, ctx, lambda case, meta: case.admit(data, meta))

    def record_family_contact(
        self, case_id: UUID, data: FamilyContactRecorded, ctx: CommandContext
    ) -> Recorded:
        return self._on_case(
            case_id, ctx, lambda case, meta: case.record_family_contact(data, meta)
        )

    def release(self, case_id: UUID, data: DetaineeReleased, ctx: CommandContext) -> Recorded:
        return self._on_case(case_id, ctx, lambda case, meta: case.release(data, meta))

    def request_erasure(
        self, case_id: UUID, erasure_order_id: UUID, reason: str, ctx: CommandContext
    ) -> Recorded:
        """The first of four eyes: ask to execute a judicial erasure order (nothing erased)."""
        return self._on_case(
            case_id, ctx, lambda case, meta: case.request_erasure(erasure_order_id, reason, meta)
        )

    def erase_personal_data(
        self, case_id: UUID, erasure_order_id: UUID, ctx: CommandContext
    ) -> Recorded:
        """The second person confirms: the erasure is recorded, then the case's key destroyed."""
        recorded = self._on_case(
            case_id, ctx, lambda case, meta: case.erase_personal_data(erasure_order_id, meta)
        )
        # Only once the erasure is on record; a crash here leaves its pending row for the restart.
        self.finish_erasures()
        return recorded

    def finish_erasures(self) -> list[str]:
        """Destroy the key of every erasure on record whose key still exists; the cases."""
        rows = self.fetch("SELECT case_id FROM {schema}.pending_erasures ORDER BY recorded_at")
        finished = []
        for (case_id,) in rows:
            self.keys.erase(str(case_id))
            with self.cursor() as curs:
                curs.execute(
                    self.store.fmt("DELETE FROM {schema}.pending_erasures WHERE case_id = %s"),
                    (case_id,),
                )
                curs.connection.commit()
            finished.append(str(case_id))
        return finished

    def void(self, event_id: UUID, reason: str, ctx: CommandContext) -> Recorded:
        entry = self.entry_to_void(event_id, ctx)
        case = self.load(Case, entry.aggregate_id, ctx)
        data = IntakeEntryVoided(voided_event_id=event_id, reason=reason)
        case.void(data, self.meta(ctx, case.id))
        return self.commit(ctx, case)

    # --- reactions to judicial ------------------------------------------------------------

    def on_release_ordered(
        self, envelope: Envelope, event: ReleaseOrdered, inbound: tuple[str, UUID]
    ) -> None:
        """Judicial ordered a release: from now on intake may record it."""
        self._note_from_judicial(
            envelope,
            inbound,
            "release-order",
            lambda case, cause: case.note_release_order(
                event.release_order_id, event.kind.value, event.effective_at, cause
            ),
        )

    def on_erasure_ordered(
        self, envelope: Envelope, event: ErasureOrdered, inbound: tuple[str, UUID]
    ) -> None:
        """Judicial ordered an erasure: from now on intake may execute it (four eyes)."""
        self._note_from_judicial(
            envelope,
            inbound,
            "erasure-order",
            lambda case, cause: case.note_erasure_order(
                event.erasure_order_id, event.order_reference, event.legal_basis, cause
            ),
        )

    def _note_from_judicial(
        self,
        envelope: Envelope,
        inbound: tuple[str, UUID],
        purpose: str,
        note: Callable[[Case, UUID], None],
    ) -> None:
        """Note an order learnt from judicial on its case, once (nothing for an unknown case)."""
        try:
            case = self.load(Case, UUID(envelope.subject))
        except NotFoundError:
            self.record_inbound_only(*inbound, [])
            return
        note(case, UUID(str(envelope.id)))
        self.commit(CommandContext.system(envelope, purpose=purpose), case, inbound=inbound)

    def on_judicial_entry_voided(
        self, envelope: Envelope, event: EntryVoided, inbound: tuple[str, UUID]
    ) -> None:
        """Judicial voided an entry: if it was a release order, that order no longer counts."""
        try:
            case = self.load(Case, UUID(envelope.subject))
        except NotFoundError:
            self.record_inbound_only(*inbound, [])
            return
        known = any(
            o.order_event_id == event.voided_event_id for o in case.release_orders.values()
        ) or any(o.order_event_id == event.voided_event_id for o in case.erasure_orders().values())
        orders = (ReleaseOrdered.type_name(), ErasureOrdered.type_name())
        if not known and event.voided_event_type in orders:
            # The order itself may still be on its way (replicas consume in parallel).
            raise FactNotYetLearntError(f"order {event.voided_event_id} not learnt yet")
        withdrawn = case.withdraw_release_order(event.voided_event_id)
        if not (withdrawn or case.withdraw_erasure_order(event.voided_event_id)):
            self.record_inbound_only(*inbound, [])
            return
        ctx = CommandContext.system(envelope, purpose="release-order-voided")
        self.commit(ctx, case, inbound=inbound)
