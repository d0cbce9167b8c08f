"""The intake record of one person: arrest, custody, evidence, transfers, admission, release.

`Case` is the aggregate; its id is the `case_id` every other service refers to. Commands check the
rules against the state folded from the live entries (`state.fold`), then record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.intake.domain.errors import (
    AdmissionAfterReleaseError,
    AlreadyAdmittedError,
    AlreadyErasedError,
    AlreadyReleasedError,
    BrokenChainOfCustodyError,
    CustodyAfterAdmissionError,
    CustodyAlreadyStartedError,
    CustodyBeforeArrestError,
    CustodyEndsBeforeStartError,
    CustodyExpiredError,
    CustodyExtensionLimitError,
    CustodyNotRunningError,
    EntryAlreadyVoidedError,
    EntryNotVoidableError,
    ErasureAlreadyRequestedError,
    ErasureByOnePersonError,
    ErasureInCustodyError,
    ErasureNotRequestedError,
    ErasureWithoutOrderError,
    EvidenceOutOfOrderError,
    ExtensionNotLaterError,
    ExtensionTooLongError,
    HandOverWithoutRecipientError,
    InvalidFieldsError,
    LinkOfErasedCaseError,
    NoCustodyError,
    PersonReleasedError,
    ReleaseBeforeOrderEffectiveError,
    ReleaseNotVoidableError,
    ReleaseWithoutOrderError,
    TransferFromWrongFacilityError,
    TransferToSameFacilityError,
    VoidLaterEntriesFirstError,
)
from services.intake.domain.links import PendingLink, check_answer, check_proposal
from services.intake.domain.state import (
    CaseState,
    Entry,
    ErasureOrder,
    ErasureRequest,
    ReleaseOrder,
    fold,
)
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
    PersonalDataErased,
    PersonLinkConfirmed,
    PersonLinkProposed,
    PersonLinkRejected,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.domain import Meta, VoidableEntries
from shared.kit.errors import NotFoundError

__all__ = ["Case"]


class Case(Aggregate, VoidableEntries[Entry]):
    """One person's case from arrest. Invariant: no release without a release order."""

    unknown_entry_error = NotFoundError
    voided_twice_error = EntryAlreadyVoidedError
    not_voidable_error = EntryNotVoidableError

    @staticmethod
    def create_id(case_id: UUID, **_: object) -> UUID:
        return case_id

    @event("ArrestRecorded")
    def __init__(self, case_id: UUID, data: ArrestRecorded, meta: Meta) -> None:
        self.arrest = data
        self._open_log()
        self._log(Entry(meta.event_id, "ArrestRecorded", data, meta.recorded_at))
        self.release_orders: dict[UUID, ReleaseOrder] = {}

    # --- reads ----------------------------------------------------------------------------

    def state(self, leaving_out: UUID | None = None) -> CaseState:
        """The state from the live entries (and without `leaving_out`, to preview a voiding)."""
        return fold(self.live_entries(leaving_out))

    def _live_with(self, entry: Entry) -> CaseState:
        return fold([*self.live_entries(), entry])

    def _log(self, entry: Entry) -> None:
        self._log_entry(entry.event_id, entry)

    # --- custody --------------------------------------------------------------------------

    def start_custody(self, data: CustodyStarted, meta: Meta, limits: dict[str, Any]) -> None:
        state = self.state()
        self._refuse_after_release(state)
        if state.custody is not None:
            raise CustodyAlreadyStartedError(
                "custody already started at {started_at}: record an extension to prolong it",
                started_at=state.custody.started_at.isoformat(),
            )
        if state.admitted_at is not None:
            raise CustodyAfterAdmissionError(
                "the person was already admitted to prison: police custody comes before admission"
            )
        if data.started_at < state.arrested_at:
            raise CustodyBeforeArrestError(
                "custody cannot start before the arrest ({arrested_at})",
                arrested_at=state.arrested_at.isoformat(),
            )
        # Folding computes the custody's legal end: a start too near the calendar's end raises here.
        self._live_with(Entry(meta.event_id, "CustodyStarted", data, meta.recorded_at, limits))
        self._custody_started(data=data, meta=meta, limits=limits)

    @event("CustodyStarted")
    def _custody_started(self, data: CustodyStarted, meta: Meta, limits: dict[str, Any]) -> None:
        self._log(Entry(meta.event_id, "CustodyStarted", data, meta.recorded_at, limits))

    def extend_custody(self, data: CustodyExtended, meta: Meta) -> None:
        custody = self.state().custody
        if custody is None:
            raise NoCustodyError("no custody has started: an extension needs a running custody")
        if custody.ended_at is not None:
            raise CustodyNotRunningError(
                "custody ended at {ended_at} (admission or release): it can no longer be extended",
                ended_at=custody.ended_at.isoformat(),
            )
        authorised_at = data.authorised_at or meta.recorded_at
        if authorised_at > custody.until:
            raise CustodyExpiredError(
                "custody ran out at {until}: an extension must be authorised while the custody "
                "runs",
                until=custody.until.isoformat(),
            )
        if len(custody.extensions) >= custody.max_extensions:
            raise CustodyExtensionLimitError(
                "the {regime} custody regime allows at most {max_extensions} extension(s) "
                "({source})",
                regime=custody.regime,
                max_extensions=custody.max_extensions,
                source=custody.source,
            )
        if data.extended_until <= custody.until:
            raise ExtensionNotLaterError(
                "an extension must end after the current end of custody, {until}",
                until=custody.until.isoformat(),
            )
        longest = custody.until + timedelta(hours=custody.extension_hours)
        if data.extended_until > longest:
            raise ExtensionTooLongError(
                "one extension adds at most {extension_hours} hours: custody may run until "
                "{longest} at the latest ({source})",
                extension_hours=custody.extension_hours,
                longest=longest.isoformat(),
                source=custody.source,
            )
        self._custody_extended(data=data, meta=meta)

    @event("CustodyExtended")
    def _custody_extended(self, data: CustodyExtended, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "CustodyExtended", data, meta.recorded_at))

    # --- evidence -------------------------------------------------------------------------

    def log_evidence(self, data: EvidenceLogged, meta: Meta) -> None:
        trail = self.state().evidence.get(data.item_id)
        if trail is not None:
            if data.handed_to is None:
                raise HandOverWithoutRecipientError(
                    "item {item_id} is already logged: a new entry for it is a hand-over and "
                    "must name handed_to",
                    item_id=data.item_id,
                )
            if data.collected_by != trail.holder:
                raise BrokenChainOfCustodyError(
                    "item {item_id} is held by {holder}, not {collected_by}: a hand-over names "
                    "who held it before",
                    item_id=data.item_id,
                    holder=trail.holder,
                    collected_by=data.collected_by,
                )
            if data.collected_at < trail.last_logged_at:
                raise EvidenceOutOfOrderError(
                    "item {item_id} was last logged at {last_logged_at}: a hand-over cannot be "
                    "earlier",
                    item_id=data.item_id,
                    last_logged_at=trail.last_logged_at.isoformat(),
                )
        self._evidence_logged(data=data, meta=meta)

    @event("EvidenceLogged")
    def _evidence_logged(self, data: EvidenceLogged, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "EvidenceLogged", data, meta.recorded_at))

    # --- where the person is --------------------------------------------------------------

    def transfer(self, data: DetaineeTransferred, meta: Meta) -> None:
        state = self.state()
        self._refuse_after_release(state)
        if data.to_facility == data.from_facility:
            raise TransferToSameFacilityError("a transfer must go to another facility")
        if state.facility is not None and data.from_facility != state.facility:
            raise TransferFromWrongFacilityError(
                "the person is held at {facility}, not {from_facility}",
                facility=state.facility,
                from_facility=data.from_facility,
            )
        self._transferred(data=data, meta=meta)

    @event("DetaineeTransferred")
    def _transferred(self, data: DetaineeTransferred, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "DetaineeTransferred", data, meta.recorded_at))

    def admit(self, data: DetaineeAdmitted, meta: Meta) -> None:
        state = self.state()
        if state.released_at is not None:
            raise AdmissionAfterReleaseError(
                "the person was released: record a new arrest before a new admission"
            )
        if state.admitted_at is not None:
            raise AlreadyAdmittedError(
                "the person was already admitted to {facility}: record a transfer instead",
                facility=state.facility,
            )
        _refuse_ending_custody_before_start(state, data.admitted_at, "admission")
        self._admitted(data=data, meta=meta)

    @event("DetaineeAdmitted")
    def _admitted(self, data: DetaineeAdmitted, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "DetaineeAdmitted", data, meta.recorded_at))

    def record_family_contact(self, data: FamilyContactRecorded, meta: Meta) -> None:
        self._refuse_after_release(self.state())
        self._family_contact(data=data, meta=meta)

    @event("FamilyContactRecorded")
    def _family_contact(self, data: FamilyContactRecorded, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "FamilyContactRecorded", data, meta.recorded_at))

    def _refuse_after_release(self, state: CaseState) -> None:
        if state.released_at is not None:
            raise PersonReleasedError(
                "the person was released at {released_at}: record a new arrest first",
                released_at=state.released_at.isoformat(),
            )

    # --- release --------------------------------------------------------------------------

    def release(self, data: DetaineeReleased, meta: Meta) -> None:
        order = self.release_orders.get(data.release_order_id)
        if order is None or order.withdrawn:
            raise ReleaseWithoutOrderError(
                "judicial has ordered no release {release_order_id} for this case: a release "
                "needs a release order",
                release_order_id=data.release_order_id,
            )
        state = self.state()
        if state.released_at is not None:
            raise AlreadyReleasedError(
                "the person was already released at {released_at}",
                released_at=state.released_at.isoformat(),
            )
        if data.released_at < order.effective_at:
            raise ReleaseBeforeOrderEffectiveError(
                "the release order takes effect at {effective_at}: the release cannot be earlier",
                effective_at=order.effective_at.isoformat(),
            )
        _refuse_ending_custody_before_start(state, data.released_at, "release")
        # The release executes the order: its entry is caused by the order's event.
        self._released(data=data, meta=replace(meta, causation_id=order.order_event_id))

    @event("DetaineeReleased")
    def _released(self, data: DetaineeReleased, meta: Meta) -> None:
        self._log(Entry(meta.event_id, "DetaineeReleased", data, meta.recorded_at))

    def note_release_order(
        self, release_order_id: UUID, kind: str, effective_at: datetime, order_event_id: UUID
    ) -> None:
        """What judicial ordered (learnt over the bus): the release it allows."""
        if release_order_id not in self.release_orders:
            self._release_order_noted(
                release_order_id=release_order_id,
                kind=kind,
                effective_at=effective_at,
                order_event_id=order_event_id,
            )

    @event("ReleaseOrderNoted")
    def _release_order_noted(
        self, release_order_id: UUID, kind: str, effective_at: datetime, order_event_id: UUID
    ) -> None:
        self.release_orders[release_order_id] = ReleaseOrder(
            release_order_id, kind, effective_at, order_event_id
        )

    def withdraw_release_order(self, order_event_id: UUID) -> bool:
        """Judicial voided the order's entry; returns whether it was one of ours."""
        for order in self.release_orders.values():
            if order.order_event_id == order_event_id and not order.withdrawn:
                self._release_order_withdrawn(release_order_id=order.release_order_id)
                return True
        return False

    @event("ReleaseOrderWithdrawn")
    def _release_order_withdrawn(self, release_order_id: UUID) -> None:
        order = self.release_orders[release_order_id]
        self.release_orders[release_order_id] = replace(order, withdrawn=True)

    # --- erasure (crypto-shredding, under a court order, four eyes) -----------------------
    # Aggregates recorded before these rules existed have none of these attributes: `getattr`.

    def erasure_orders(self) -> dict[UUID, ErasureOrder]:
        return dict(getattr(self, "_erasure_orders", {}))

    def note_erasure_order(
        self, erasure_order_id: UUID, order_reference: str, legal_basis: str, order_event_id: UUID
    ) -> None:
        """What judicial ordered (learnt over the bus): the erasure it allows."""
        if erasure_order_id not in self.erasure_orders():
            self._erasure_order_noted(
                erasure_order_id=erasure_order_id,
                order_reference=order_reference,
                legal_basis=legal_basis,
                order_event_id=order_event_id,
            )

    @event("ErasureOrderNoted")
    def _erasure_order_noted(
        self, erasure_order_id: UUID, order_reference: str, legal_basis: str, order_event_id: UUID
    ) -> None:
        order = ErasureOrder(erasure_order_id, order_reference, legal_basis, order_event_id)
        self._erasure_orders = {**self.erasure_orders(), erasure_order_id: order}

    def withdraw_erasure_order(self, order_event_id: UUID) -> bool:
        """Judicial voided the order's entry; returns whether it was one of ours."""
        for order in self.erasure_orders().values():
            if order.order_event_id == order_event_id and not order.withdrawn:
                self._erasure_order_withdrawn(erasure_order_id=order.erasure_order_id)
                return True
        return False

    @event("ErasureOrderWithdrawn")
    def _erasure_order_withdrawn(self, erasure_order_id: UUID) -> None:
        orders = self.erasure_orders()
        orders[erasure_order_id] = replace(orders[erasure_order_id], withdrawn=True)
        self._erasure_orders = orders
        request = self.erasure_request()
        if request is not None and request.erasure_order_id == erasure_order_id:
            self._erasure_request: ErasureRequest | None = None

    def erasure_request(self) -> ErasureRequest | None:
        return getattr(self, "_erasure_request", None)

    def request_erasure(self, erasure_order_id: UUID, reason: str, meta: Meta) -> None:
        """The first person asks to execute a judicial erasure order."""
        self._check_erasable(erasure_order_id)
        pending = self.erasure_request()
        if pending is not None:
            raise ErasureAlreadyRequestedError(
                "an erasure under order {erasure_order_id} was already requested by "
                "{requested_by}: a second person confirms it",
                erasure_order_id=pending.erasure_order_id,
                requested_by=pending.requested_by,
            )
        self._erasure_requested(
            erasure_order_id=erasure_order_id,
            reason=reason,
            requested_by=meta.actor,
            requested_at=meta.recorded_at,
        )

    @event("ErasureRequested")
    def _erasure_requested(
        self, erasure_order_id: UUID, reason: str, requested_by: str, requested_at: datetime
    ) -> None:
        self._erasure_request = ErasureRequest(erasure_order_id, reason, requested_by, requested_at)

    def erase_personal_data(self, erasure_order_id: UUID, meta: Meta) -> None:
        """The second person confirms the pending request: the erasure is recorded (the key is
        destroyed after, by the application)."""
        order = self._check_erasable(erasure_order_id)
        request = self.erasure_request()
        if request is None or request.erasure_order_id != erasure_order_id:
            raise ErasureNotRequestedError(
                "no erasure under order {erasure_order_id} was requested: one person requests "
                "it, a second confirms it",
                erasure_order_id=erasure_order_id,
            )
        if request.requested_by == meta.actor:
            raise ErasureByOnePersonError(
                "{actor} requested this erasure: a second, different person confirms it",
                actor=meta.actor,
            )
        data = PersonalDataErased(
            reason=request.reason,
            legal_basis=f"{order.order_reference}: {order.legal_basis}"[:500],
            erasure_order_id=erasure_order_id,
        )
        # The erasure executes the order: its entry is caused by the order's event.
        self._personal_data_erased(data=data, meta=replace(meta, causation_id=order.order_event_id))

    def _check_erasable(self, erasure_order_id: UUID) -> ErasureOrder:
        if getattr(self, "erased_at", None) is not None:
            raise AlreadyErasedError("the personal data of this case was already erased")
        order = self.erasure_orders().get(erasure_order_id)
        if order is None or order.withdrawn:
            raise ErasureWithoutOrderError(
                "judicial has ordered no erasure {erasure_order_id} for this case: an erasure "
                "needs a recorded judicial order",
                erasure_order_id=erasure_order_id,
            )
        if self.state().released_at is None:
            raise ErasureInCustodyError(
                "the person is in custody or detention until the release is recorded: "
                "no erasure before then"
            )
        return order

    @event("PersonalDataErased")
    def _personal_data_erased(self, data: PersonalDataErased, meta: Meta) -> None:
        self.erased_at = meta.recorded_at
        self._erasure_request = None

    # --- the person the case names (four eyes) --------------------------------------------
    # Aggregates recorded before persons had ids name the person whose id is the case's.

    @property
    def own_person_id(self) -> UUID:
        """The person of the arrest: a new person for each arrest."""
        return self.arrest.person_id or self.id

    @property
    def person_id(self) -> UUID:
        """The person the case names now (the arrest's, or the last confirmed link's)."""
        named: UUID | None = getattr(self, "_person_id", None)
        return named or self.own_person_id

    def person_links(self) -> dict[UUID, PendingLink | None]:
        """Every link proposed on the case: the pending ones, None once answered."""
        return dict(getattr(self, "_person_links", {}))

    def pending_link(self) -> PendingLink | None:
        return next((link for link in self.person_links().values() if link is not None), None)

    def propose_link(
        self,
        link_id: UUID,
        kind: LinkKind,
        person_id: UUID | None,
        reason: str,
        match_reasons: tuple[str, ...],
        meta: Meta,
        role: str,
    ) -> UUID:
        """A registrar proposes that the case names `person_id` (its own person for an unlink);
        returns the person it would name."""
        if getattr(self, "erased_at", None) is not None:
            raise LinkOfErasedCaseError("the personal data of this case was erased")
        target = self.own_person_id if kind is LinkKind.UNLINK else person_id
        if target is None:
            raise InvalidFieldsError("invalid fields: person_id: a link names the person")
        check_proposal(kind, target, self.person_id, self.own_person_id, self.pending_link())
        data = PersonLinkProposed(
            link_id=link_id,
            kind=kind,
            person_id=target,
            proposed_by=meta.actor,
            reason=reason,
            match_reasons=match_reasons,
        )
        self._link_proposed(data=data, meta=meta, role=role)
        return target

    @event("PersonLinkProposed")
    def _link_proposed(self, data: PersonLinkProposed, meta: Meta, role: str) -> None:
        link = PendingLink(data.link_id, data.kind, data.person_id, data.proposed_by, role)
        self._person_links = {**self.person_links(), data.link_id: link}
        self._log(Entry(meta.event_id, "PersonLinkProposed", data, meta.recorded_at))

    def confirm_link(self, link_id: UUID, meta: Meta, role: str) -> None:
        """A second person confirms: the case names the link's person from now on."""
        link = check_answer(link_id, self.person_links(), meta.actor, role, confirm=True)
        if getattr(self, "erased_at", None) is not None:
            raise LinkOfErasedCaseError("the personal data of this case was erased")
        check_proposal(link.kind, link.person_id, self.person_id, self.own_person_id, None)
        data = PersonLinkConfirmed(
            link_id=link_id, kind=link.kind, person_id=link.person_id, confirmed_by=meta.actor
        )
        self._link_confirmed(data=data, meta=meta)

    @event("PersonLinkConfirmed")
    def _link_confirmed(self, data: PersonLinkConfirmed, meta: Meta) -> None:
        self._person_links = {**self.person_links(), data.link_id: None}
        self._person_id = data.person_id
        self._log(Entry(meta.event_id, "PersonLinkConfirmed", data, meta.recorded_at))

    def reject_link(self, link_id: UUID, reason: str, meta: Meta, role: str) -> None:
        """The proposal is rejected (by its proposer too, withdrawing it): nothing changes."""
        check_answer(link_id, self.person_links(), meta.actor, role, confirm=False)
        data = PersonLinkRejected(link_id=link_id, rejected_by=meta.actor, reason=reason)
        self._link_rejected(data=data, meta=meta)

    @event("PersonLinkRejected")
    def _link_rejected(self, data: PersonLinkRejected, meta: Meta) -> None:
        self._person_links = {**self.person_links(), data.link_id: None}
        self._log(Entry(meta.event_id, "PersonLinkRejected", data, meta.recorded_at))

    # --- corrections ----------------------------------------------------------------------

    def void(self, data: IntakeEntryVoided, meta: Meta) -> None:
        target = self.voidable(data.voided_event_id)
        self._check_voidable(target)
        after = self.state(leaving_out=target.event_id)
        register = {"status": after.status, "facility": after.facility}
        self._entry_voided(
            data=data.model_copy(update={"voided_event_type": f"caseline.intake.{target.name}.v1"}),
            meta=meta,
            register=register,
        )

    def _check_voidable(self, target: Entry) -> None:
        if target.name == "ArrestRecorded":
            raise EntryNotVoidableError(
                "the arrest opens the case and cannot be voided; correct it with a new entry"
            )
        if target.name == "DetaineeReleased":
            raise ReleaseNotVoidableError("a release that happened cannot be voided")
        if target.name.startswith("PersonLink"):
            raise EntryNotVoidableError(
                "a person link is not voided: propose an unlink (or reject the proposal)"
            )
        state = self.state()
        later = _later_dependants(state, target)
        if later:
            raise VoidLaterEntriesFirstError(
                "void the later entries that build on this {entry} first: {entries}",
                entry=target.name,
                entries=", ".join(str(e) for e in later),
            )

    @event("EntryVoided")
    def _entry_voided(self, data: IntakeEntryVoided, meta: Meta, register: dict[str, Any]) -> None:
        entry = Entry(meta.event_id, "EntryVoided", data, meta.recorded_at)
        self._log_voiding(data.voided_event_id, meta.event_id, entry)


def _refuse_ending_custody_before_start(state: CaseState, at: datetime, what: str) -> None:
    """An admission or a release ends a running custody: never before the custody started."""
    custody = state.custody
    if custody is not None and custody.ended_at is None and at < custody.started_at:
        raise CustodyEndsBeforeStartError(
            "custody started at {started_at}: the {what} that ends it cannot be earlier",
            started_at=custody.started_at.isoformat(),
            what=what,
        )


def _later_dependants(state: CaseState, target: Entry) -> list[UUID]:
    """Live entries recorded after `target` that would lose their footing if it were voided."""
    chain: list[UUID] = []
    if target.name == "CustodyStarted" and state.custody is not None:
        chain = [state.custody.started_event_id, *state.custody.extensions]
    elif target.name == "CustodyExtended" and state.custody is not None:
        chain = state.custody.extensions
    elif target.name == "EvidenceLogged":
        item = target.data.item_id
        chain = state.evidence[item].entries if item in state.evidence else []
    elif target.name in ("DetaineeAdmitted", "DetaineeTransferred"):
        chain = state.placements
    if target.event_id not in chain:
        return []
    return chain[chain.index(target.event_id) + 1 :]
