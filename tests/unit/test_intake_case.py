"""Intake's `Case`, built directly and driven by random command sequences (no store, no server).

A plain model of the record predicts, for every command, whether the rules allow it; after
every step the case must agree with the model and keep what the domain promises: custody never
starts before the arrest nor ends before it starts, stays within the jurisdiction's limits, a
release executes a standing order no earlier than it takes effect, an erasure needs a release,
an order and two people, a voided entry no longer counts, and replay rebuilds the same case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.intake.domain import Case
from services.intake.domain.errors import IntakeError
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    EvidenceLogged,
    FamilyContactRecorded,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.jurisdiction import load_jurisdiction
from shared.kit.settings import Settings
from tests.unit.machines import T0, Events, at, attempt, meta

RULES = {
    code: load_jurisdiction(Settings(environment="test", jurisdiction=code)).custody
    for code in ("mali", "niger")
}
FACILITIES = ("Bamako", "Koulikoro", "Mopti")
PEOPLE = ("officer-a", "officer-b", "clerk-c")
ITEMS = ("SEAL-1", "SEAL-2")


@dataclass
class Custody:
    started_event: UUID
    started_at: datetime
    initial_until: datetime
    extension_hours: int
    max_extensions: int
    extensions: list[tuple[UUID, datetime]] = field(default_factory=list)

    @property
    def until(self) -> datetime:
        return self.extensions[-1][1] if self.extensions else self.initial_until

    @property
    def latest_until(self) -> datetime:
        return self.initial_until + timedelta(hours=self.extension_hours * self.max_extensions)


@dataclass
class Model:
    """What the rules say the case is, from the commands that were allowed."""

    custody: Custody | None = None
    placements: list[tuple[UUID, str, str, datetime]] = field(default_factory=list)
    """Live admissions and transfers: (event id, kind, facility it leaves the person at, when)."""
    released_at: datetime | None = None
    evidence: dict[str, list[tuple[UUID, str, datetime]]] = field(default_factory=dict)
    """Each item's live entries: (event id, holder after it, when)."""
    family: list[UUID] = field(default_factory=list)
    entries: list[tuple[UUID, str]] = field(default_factory=list)
    """Every entry recorded, voided or not: (event id, name)."""
    voided: set[UUID] = field(default_factory=set)
    orders: dict[UUID, tuple[datetime, UUID, bool]] = field(default_factory=dict)
    """Release orders noted: effective at, the order's event, withdrawn."""
    erasure_orders: dict[UUID, tuple[UUID, bool]] = field(default_factory=dict)
    request: tuple[UUID, str] | None = None
    erased_by: tuple[str, str] | None = None
    """Who requested and who confirmed the erasure."""

    @property
    def admission(self) -> tuple[UUID, str, str, datetime] | None:
        return next((p for p in self.placements if p[1] == "admission"), None)

    @property
    def facility(self) -> str | None:
        return self.placements[-1][2] if self.placements else None

    @property
    def custody_ended_at(self) -> datetime | None:
        if self.custody is None:
            return None
        admission = self.admission
        return admission[3] if admission is not None else self.released_at


class IntakeCase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.model = Model()
        self.clock = 0

    def meta(self, actor: str = "officer-a") -> Any:
        self.clock += 1
        return meta(actor, at(self.clock))

    def attempt(self, allowed: bool, command: Any) -> bool:
        """Run the command; the rules must allow it exactly when the model says so."""
        if not attempt(allowed, command, IntakeError):
            return False
        self.events.collect(self.case)
        return True

    @initialize(
        jurisdiction=st.sampled_from(sorted(RULES)),
        custody=st.none() | st.integers(0, 12),
        regime=st.sampled_from(["ordinary", "terrorism"]),
    )
    def arrest(self, jurisdiction: str, custody: int | None, regime: str) -> None:
        """The arrest opens the case; custody starts at once in most stories."""
        self.rules = RULES[jurisdiction]
        data = ArrestRecorded.model_validate(
            {
                "person": {"full_name": "Amadou Test", "sex": "male", "nationality": "ML"},
                "arrested_at": T0,
                "location": "Sévaré checkpoint",
                "arresting_unit": "Gendarmerie",
                "grounds": "Suspected membership of an armed group",
                "returning_foreign_fighter": False,
            }
        )
        first = meta("officer-a", T0)
        self.case = Case(case_id=uuid4(), data=data, meta=first)
        self.events.collect(self.case)
        self.model.entries.append((first.event_id, "ArrestRecorded"))
        if custody is not None:
            self.start_custody(custody, regime)

    # --- custody --------------------------------------------------------------------------

    @rule(hours=st.integers(-6, 60), regime=st.sampled_from(["ordinary", "terrorism"]))
    def start_custody(self, hours: int, regime: str) -> None:
        m, rules = self.model, self.rules.regimes[regime]
        started = at(hours)
        allowed = m.released_at is None and m.custody is None and m.admission is None and hours >= 0
        data = CustodyStarted(started_at=started, legal_basis="CPP", max_hours=rules.initial_hours)
        limits = {
            "regime": regime,
            "extension_hours": rules.extension_hours,
            "max_extensions": rules.max_extensions,
            "source": rules.source,
        }
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.start_custody(data, made, limits)):
            until = started + timedelta(hours=rules.initial_hours)
            m.custody = Custody(
                made.event_id, started, until, rules.extension_hours, rules.max_extensions
            )
            m.entries.append((made.event_id, "CustodyStarted"))

    @rule(attempts=st.lists(st.tuples(st.integers(-6, 60), st.integers(-6, 60)), max_size=3))
    def extend_custody(self, attempts: list[tuple[int, int]]) -> None:
        """Extensions, each authorised `before` hours ahead of the current end, moving it `more`
        hours (custody runs only until an admission or a release: several tries a step)."""
        for before, more in attempts or [(1, 1)]:
            self._extend_custody(before, more)

    def _extend_custody(self, before: int, more: int) -> None:
        m, custody = self.model, self.model.custody
        end = custody.until if custody else at(48)
        authorised = end - timedelta(hours=before)
        until = max(end + timedelta(hours=more), authorised + timedelta(hours=1))
        allowed = (
            custody is not None
            and m.custody_ended_at is None
            and authorised <= custody.until
            and len(custody.extensions) < custody.max_extensions
            and custody.until < until <= custody.until + timedelta(hours=custody.extension_hours)
        )
        data = CustodyExtended(
            extended_until=until,
            authorised_by="Prosecutor",
            reason="Inquiry",
            authorised_at=authorised,
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.extend_custody(data, made)):
            assert custody is not None
            custody.extensions.append((made.event_id, until))
            m.entries.append((made.event_id, "CustodyExtended"))

    # --- evidence -------------------------------------------------------------------------

    @rule(
        item=st.sampled_from(ITEMS),
        by=st.sampled_from(PEOPLE),
        to=st.none() | st.sampled_from(PEOPLE),
        hours=st.integers(0, 80),
    )
    def log_evidence(self, item: str, by: str, to: str | None, hours: int) -> None:
        trail = self.model.evidence.get(item) or []
        allowed = not trail or (to is not None and by == trail[-1][1] and at(hours) >= trail[-1][2])
        data = EvidenceLogged(
            item_id=item,
            description="Telephone",
            collected_by=by,
            collected_at=at(hours),
            handed_to=to,
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.log_evidence(data, made)):
            self.model.evidence.setdefault(item, []).append((made.event_id, to or by, at(hours)))
            self.model.entries.append((made.event_id, "EvidenceLogged"))

    # --- where the person is --------------------------------------------------------------

    @rule(source=st.sampled_from(FACILITIES), to=st.sampled_from(FACILITIES))
    def transfer(self, source: str, to: str) -> None:
        m = self.model
        allowed = (
            m.released_at is None and source != to and (m.facility is None or m.facility == source)
        )
        data = DetaineeTransferred(
            from_facility=source, to_facility=to, transferred_at=at(self.clock), reason="Security"
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.transfer(data, made)):
            m.placements.append((made.event_id, "transfer", to, at(self.clock)))
            m.entries.append((made.event_id, "DetaineeTransferred"))

    @rule(facility=st.sampled_from(FACILITIES), hours=st.integers(0, 120))
    def admit(self, facility: str, hours: int) -> None:
        m = self.model
        custody_running = m.custody is not None and m.custody_ended_at is None
        allowed = (
            m.released_at is None
            and m.admission is None
            and not (custody_running and m.custody is not None and at(hours) < m.custody.started_at)
        )
        data = DetaineeAdmitted(facility=facility, admitted_at=at(hours), warrant_ref="MD-1")
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.admit(data, made)):
            m.placements.append((made.event_id, "admission", facility, at(hours)))
            m.entries.append((made.event_id, "DetaineeAdmitted"))

    @rule()
    def record_family_contact(self) -> None:
        data = FamilyContactRecorded(
            kind="visit", with_whom="Fatoumata", relationship="sister", at=at(self.clock)
        )
        made = self.meta()
        if self.attempt(
            self.model.released_at is None, lambda: self.case.record_family_contact(data, made)
        ):
            self.model.family.append(made.event_id)
            self.model.entries.append((made.event_id, "FamilyContactRecorded"))

    # --- release --------------------------------------------------------------------------

    @rule(hours=st.integers(0, 120))
    def note_release_order(self, hours: int) -> None:
        self._note_release_order(hours)

    def _note_release_order(self, hours: int) -> UUID:
        order_id, order_event = uuid4(), uuid4()
        self.case.note_release_order(order_id, "bail", at(hours), order_event)
        self.case.note_release_order(order_id, "bail", at(hours), order_event)  # learnt twice
        self.events.collect(self.case)
        self.model.orders[order_id] = (at(hours), order_event, False)
        return order_id

    @precondition(lambda self: bool(self.model.orders))
    @rule(pick=st.integers(0, 20))
    def withdraw_release_order(self, pick: int) -> None:
        order_id = sorted(self.model.orders)[pick % len(self.model.orders)]
        effective, order_event, withdrawn = self.model.orders[order_id]
        assert self.case.withdraw_release_order(order_event) is not withdrawn
        self.events.collect(self.case)
        self.model.orders[order_id] = (effective, order_event, True)

    @rule(pick=st.integers(0, 20), late=st.integers(-3, 40))
    def release(self, pick: int, late: int) -> None:
        self._release(_known_or_not(self.model.orders, pick), late)

    def _release(self, order_id: UUID, late: int) -> None:
        m = self.model
        order = m.orders.get(order_id)
        hours = int((order[0] - T0) / timedelta(hours=1)) + late if order else late
        custody_running = m.custody is not None and m.custody_ended_at is None
        allowed = (
            order is not None
            and not order[2]
            and m.released_at is None
            and at(hours) >= order[0]
            and not (custody_running and m.custody is not None and at(hours) < m.custody.started_at)
        )
        data = DetaineeReleased(released_at=at(hours), release_order_id=order_id)
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.release(data, made)):
            m.released_at = at(hours)
            m.entries.append((made.event_id, "DetaineeReleased"))
            assert order is not None
            assert self.events.recorded[-1].meta.causation_id == order[1]

    @rule(hours=st.integers(0, 120), late=st.integers(-3, 40))
    def order_then_release(self, hours: int, late: int) -> None:
        """What happens most: judicial orders a release and the prison executes it."""
        self._release(self._note_release_order(hours), late)

    # --- erasure --------------------------------------------------------------------------

    @rule()
    def note_erasure_order(self) -> None:
        self._note_erasure_order()

    def _note_erasure_order(self) -> UUID:
        order_id, order_event = uuid4(), uuid4()
        self.case.note_erasure_order(order_id, "TGI-1", "Acquittal", order_event)
        self.events.collect(self.case)
        self.model.erasure_orders[order_id] = (order_event, False)
        return order_id

    @precondition(lambda self: bool(self.model.erasure_orders))
    @rule(pick=st.integers(0, 20))
    def withdraw_erasure_order(self, pick: int) -> None:
        m = self.model
        order_id = sorted(m.erasure_orders)[pick % len(m.erasure_orders)]
        order_event, withdrawn = m.erasure_orders[order_id]
        assert self.case.withdraw_erasure_order(order_event) is not withdrawn
        self.events.collect(self.case)
        m.erasure_orders[order_id] = (order_event, True)
        if m.request is not None and m.request[0] == order_id:
            m.request = None

    def _erasable(self, order_id: UUID) -> bool:
        m = self.model
        order = m.erasure_orders.get(order_id)
        return (
            m.erased_by is None and order is not None and not order[1] and m.released_at is not None
        )

    @rule(pick=st.integers(0, 20), by=st.sampled_from(PEOPLE))
    def request_erasure(self, pick: int, by: str) -> None:
        self._request_erasure(_known_or_not(self.model.erasure_orders, pick), by)

    def _request_erasure(self, order_id: UUID, by: str) -> None:
        allowed = self._erasable(order_id) and self.model.request is None
        made = self.meta(by)
        if self.attempt(allowed, lambda: self.case.request_erasure(order_id, "Court order", made)):
            self.model.request = (order_id, by)

    @rule(pick=st.integers(0, 20), by=st.sampled_from(PEOPLE))
    def erase_personal_data(self, pick: int, by: str) -> None:
        self._erase(_known_or_not(self.model.erasure_orders, pick), by)

    def _erase(self, order_id: UUID, by: str) -> None:
        m = self.model
        request = m.request
        allowed = (
            self._erasable(order_id)
            and request is not None
            and request[0] == order_id
            and request[1] != by
        )
        made = self.meta(by)
        if self.attempt(allowed, lambda: self.case.erase_personal_data(order_id, made)):
            assert request is not None
            m.erased_by, m.request = (request[1], by), None

    @rule(first=st.sampled_from(PEOPLE), second=st.sampled_from(PEOPLE))
    def order_then_erase(self, first: str, second: str) -> None:
        """Judicial orders an erasure, one person asks for it, another confirms it."""
        order_id = self._note_erasure_order()
        self._request_erasure(order_id, first)
        self._erase(order_id, second)

    # --- corrections ----------------------------------------------------------------------

    @rule(pick=st.integers(0, 40))
    def void(self, pick: int) -> None:
        m = self.model
        target, name = m.entries[pick % len(m.entries)]
        allowed = (
            target not in m.voided
            and name not in ("ArrestRecorded", "EntryVoided", "DetaineeReleased")
            and not self._builds_on(target, name)
        )
        data = IntakeEntryVoided(voided_event_id=target, reason="Recorded by mistake")
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.void(data, made)):
            self._forget(target, name)
            m.voided.add(target)
            m.entries.append((made.event_id, "EntryVoided"))

    def _builds_on(self, target: UUID, name: str) -> bool:
        """Whether a live entry recorded after `target` rests on it (then it is voided first)."""
        m = self.model
        chains: list[list[UUID]] = [[p[0] for p in m.placements]]
        chains += [[e[0] for e in trail] for trail in m.evidence.values()]
        if m.custody is not None:
            extensions = [e[0] for e in m.custody.extensions]
            chains += [[m.custody.started_event, *extensions], extensions]
        return any(target in chain and chain[-1] != target for chain in chains)

    def _forget(self, target: UUID, name: str) -> None:
        m = self.model
        m.placements = [p for p in m.placements if p[0] != target]
        m.family = [e for e in m.family if e != target]
        for trail in m.evidence.values():
            trail[:] = [e for e in trail if e[0] != target]
        m.evidence = {item: trail for item, trail in m.evidence.items() if trail}
        if m.custody is not None and m.custody.started_event == target:
            m.custody = None
        elif m.custody is not None:
            m.custody.extensions = [e for e in m.custody.extensions if e[0] != target]

    # --- what must hold after every step --------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        m, state = self.model, self.case.state()
        assert state.released_at == m.released_at
        assert state.facility == m.facility
        assert state.admitted_at == (m.admission[3] if m.admission else None)
        assert state.family_contacts == len(m.family)
        assert {i: (t.holder, t.entries) for i, t in state.evidence.items()} == {
            i: (trail[-1][1], [e[0] for e in trail]) for i, trail in m.evidence.items()
        }
        assert set(self.case.voided_by) == m.voided
        if m.custody is None:
            assert state.custody is None
        else:
            assert state.custody is not None
            assert state.custody.until == m.custody.until
            assert state.custody.extensions == [e[0] for e in m.custody.extensions]
            assert state.custody.ended_at == m.custody_ended_at
        assert (getattr(self.case, "erased_at", None) is not None) == (m.erased_by is not None)

    @invariant()
    def custody_lies_within_the_arrest_and_the_law(self) -> None:
        custody = self.case.state().custody
        if custody is None:
            return
        assert custody.started_at >= self.case.arrest.arrested_at
        assert custody.ended_at is None or custody.ended_at >= custody.started_at
        assert len(custody.extensions) <= custody.max_extensions
        assert custody.until <= custody.latest_until

    @invariant()
    def a_release_executes_a_standing_order_once_effective(self) -> None:
        state = self.case.state()
        if state.released_at is None:
            return
        assert state.release_order_id is not None
        order = self.case.release_orders[state.release_order_id]
        assert state.released_at >= order.effective_at

    @invariant()
    def an_erasure_took_two_people_after_release(self) -> None:
        if self.model.erased_by is not None:
            requested, confirmed = self.model.erased_by
            assert requested != confirmed
            assert self.case.state().released_at is not None

    @invariant()
    def replay_rebuilds_the_same_case(self) -> None:
        self.events.assert_replay_equals(self.case)


def _known_or_not(known: dict[UUID, Any], pick: int) -> UUID:
    """One of the known ids, now and then one nobody ordered."""
    return sorted(known)[pick % len(known)] if known and pick < 18 else uuid4()


TestIntakeCase = IntakeCase.TestCase
TestIntakeCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
