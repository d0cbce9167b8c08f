"""Judicial's `Case`, built directly and driven by random command sequences (no store, no server).

A plain model predicts whether the rules allow each command. After every step the case agrees
with it and keeps what the domain promises: the deadlines are the jurisdiction's (a first term,
renewals one term at a time, within the maximum, alerts a review window ahead), a breach is
recorded once per limit and only once it was passed, a verdict once and only on charges, a
sentence only after a conviction, an acquittal orders the release, a sealed case takes no new
entry, a voided entry no longer counts, each event's `after` is the read models' snapshot of the
case, and replay rebuilds the same case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.judicial.domain import Case
from services.judicial.domain.errors import JudicialError
from services.judicial.domain.state import snapshot
from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
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
from shared.kit.errors import NotFoundError
from shared.kit.jurisdiction import Jurisdiction, load_jurisdiction
from shared.kit.settings import Settings
from tests.unit.machines import T0, Events, attempt, meta

RULES = {
    code: load_jurisdiction(Settings(environment="test", jurisdiction=code))
    for code in ("mali", "niger")
}
FINAL = {
    VerdictOutcome.ACQUITTED: ReleaseKind.ACQUITTAL,
    VerdictOutcome.DISMISSED: ReleaseKind.DISMISSAL,
}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@dataclass
class Detention:
    event_id: UUID
    ordered_at: datetime
    expires_at: datetime
    rules: dict[str, Any]
    renewals: list[tuple[UUID, datetime]] = field(default_factory=list)

    @property
    def expires(self) -> datetime:
        return self.renewals[-1][1] if self.renewals else self.expires_at


@dataclass
class Order:
    event_id: UUID
    kind: ReleaseKind
    effective_at: datetime
    caused_by: UUID | None = None


@dataclass
class Model:
    """What the rules say the case is, from the commands that were allowed."""

    custody: tuple[datetime, datetime, int] | None = None
    """Custody learnt from intake: started at, expires at (latest extension), alert hours."""
    admitted_at: datetime | None = None
    released: tuple[datetime, UUID] | None = None
    charges: list[tuple[UUID, str]] = field(default_factory=list)
    detention: Detention | None = None
    hearings: dict[UUID, tuple[UUID, UUID | None]] = field(default_factory=dict)
    """Live hearings: scheduled event, the event that held or adjourned it (if any)."""
    verdict: tuple[UUID, VerdictOutcome, datetime] | None = None
    sentence: tuple[UUID, date] | None = None
    orders: dict[UUID, Order] = field(default_factory=dict)
    breaches: dict[UUID, tuple[str, datetime]] = field(default_factory=dict)
    sealed: tuple[UUID, bool] | None = None
    entries: list[tuple[UUID, str, Any]] = field(default_factory=list)
    """Judicial's own entries, voided or not: (event id, name, what it concerns)."""
    voided: set[UUID] = field(default_factory=set)

    def custody_ended_at(self) -> datetime | None:
        ends = [self.admitted_at, self.released[0] if self.released else None]
        ends += [self.detention.ordered_at if self.detention else None]
        ends += [self.verdict[2] if self.verdict else None]
        return min((e for e in ends if e is not None), default=None)

    def pre_trial_ended_at(self) -> datetime | None:
        ends = [
            self.released[0] if self.released else None,
            self.verdict[2] if self.verdict else None,
        ]
        return min((e for e in ends if e is not None), default=None)

    def limit(self, kind: str) -> tuple[datetime, datetime | None] | None:
        """A limit's expiry and end, if it exists."""
        if kind == "custody" and self.custody is not None:
            return self.custody[1], self.custody_ended_at()
        if kind == "pre_trial" and self.detention is not None:
            return self.detention.expires, self.pre_trial_ended_at()
        return None


class JudicialCase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.model = Model()
        self.clock = 0.0

    def meta(self, actor: str = "judge-k") -> Any:
        self.clock += 0.01
        return meta(actor, day(self.clock))

    def attempt(self, allowed: bool, command: Any, refusals: Any = JudicialError) -> bool:
        if not attempt(allowed, command, refusals):
            return False
        self.collected()
        return True

    def collected(self) -> None:
        """Collect the new events; the last one's `after` is the case as the views keep it."""
        self.events.collect(self.case)
        after = self.events.recorded[-1].after
        assert after == snapshot(self.case.state()), "the read models would keep another case"

    def own(self, made: Any, name: str, about: Any = None) -> None:
        self.model.entries.append((made.event_id, name, about))

    @property
    def open(self) -> bool:
        return self.model.sealed is None

    @initialize(
        jurisdiction=st.sampled_from(sorted(RULES)),
        custody_hours=st.integers(0, 12),
        offence_class=st.sampled_from(["delit_minor", "delit", "crime"]),
        story=st.sampled_from(["bare", "custody", "charged", "detained", "detained"]),
    )
    def open_case(
        self, jurisdiction: str, custody_hours: int, offence_class: str, story: str
    ) -> None:
        """Judicial opens the case from intake's arrest; in most stories custody is learnt next,
        charges are filed and detention ordered."""
        self.rules: Jurisdiction = RULES[jurisdiction]
        self.case = Case.open(uuid4(), uuid4(), T0, T0)
        self.events.collect(self.case)
        if story == "bare":
            return
        regime = self.rules.custody.regimes[self.rules.custody.default_regime]
        started = T0 + timedelta(hours=custody_hours)
        alert = self.rules.custody.alert_hours_before
        fields = {"started_at": started, "max_hours": regime.initial_hours, "alert_hours": alert}
        assert self.case.note("CustodyNoted", uuid4(), T0, fields)
        self.events.collect(self.case)
        self.model.custody = (started, started + timedelta(hours=regime.initial_hours), alert)
        if story in ("charged", "detained"):
            self.file_charges(offence_class)
        if story == "detained":
            self.order_detention(2, 0)

    # --- what intake recorded -------------------------------------------------------------

    def learn(self, fact: str, fields: dict[str, Any]) -> None:
        source = uuid4()
        assert self.case.note(fact, source, day(self.clock), fields)
        assert not self.case.note(fact, source, day(self.clock), fields), "a fact is noted once"
        self.collected()

    @precondition(lambda self: self.model.custody is not None)
    @rule(hours=st.integers(-24, 96))
    def learn_custody_extension(self, hours: int) -> None:
        assert self.model.custody is not None
        started, expires, alert = self.model.custody
        until = expires + timedelta(hours=hours)
        self.learn("CustodyExtensionNoted", {"extended_until": until})
        self.model.custody = (started, max(expires, until), alert)

    @precondition(lambda self: self.model.admitted_at is None)
    @rule(hours=st.integers(0, 200))
    def learn_admission(self, hours: int) -> None:
        admitted = T0 + timedelta(hours=hours)
        fields = {"facility": "Bamako", "admitted_at": admitted, "register_number": "E-1"}
        self.learn("AdmissionNoted", fields)
        self.model.admitted_at = admitted

    @precondition(lambda self: self.model.released is None)
    @rule(days=st.integers(0, 900), pick=st.integers(0, 9))
    def learn_release(self, days: int, pick: int) -> None:
        known = sorted(self.model.orders)
        order_id = known[pick % len(known)] if known and pick < 8 else uuid4()
        self.learn("ReleaseNoted", {"released_at": day(days), "release_order_id": order_id})
        self.model.released = (day(days), order_id)

    # --- charges and detention ------------------------------------------------------------

    @rule(offence_class=st.sampled_from(["delit_minor", "delit", "crime"]))
    def file_charges(self, offence_class: str) -> None:
        data = ChargesFiled(
            offences=[{"code": "T1", "description": "Terrorism", "law_ref": "Loi 2008-025"}],
            prosecutor="Pôle judiciaire spécialisé",
            filed_at=day(self.clock),
        )
        allowed = self.open and self.model.verdict is None
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.file_charges(data, made, offence_class)):
            self.model.charges.append((made.event_id, offence_class))
            self.own(made, "ChargesFiled")

    @rule(ordered=st.integers(0, 30), longer=st.integers(-20, 40))
    def order_detention(self, ordered: int, longer: int) -> None:
        """An order for the class of the latest charges, `longer` days off its first term."""
        m = self.model
        name = m.charges[-1][1] if m.charges else self.rules.pre_trial.default_class
        rules = self.rules.pre_trial.classes[name]
        limits = {"offence_class": name, **rules.model_dump()}
        ordered_at = day(ordered)
        expires = max(
            ordered_at + timedelta(days=rules.initial_term_days + longer),
            ordered_at + timedelta(days=1),
        )
        allowed = (
            self.open
            and bool(m.charges)
            and m.verdict is None
            and m.released is None
            and m.detention is None
            and expires <= ordered_at + timedelta(days=rules.initial_term_days)
        )
        data = PreTrialDetentionOrdered(
            ordered_by="Juge d'instruction",
            ordered_at=ordered_at,
            expires_at=expires,
            legal_basis="CPP",
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.order_detention(data, made, limits)):
            m.detention = Detention(made.event_id, ordered_at, expires, limits)
            self.own(made, "PreTrialDetentionOrdered")

    @rule(attempts=st.lists(st.tuples(st.integers(-10, 60), st.integers(-20, 400)), max_size=3))
    def renew_detention(self, attempts: list[tuple[int, int]]) -> None:
        """Renewals, each `early` days before the current expiry, moving it `longer` days."""
        for early, longer in attempts or [(1, 1)]:
            self._renew_detention(early, longer)

    def _renew_detention(self, early: int, longer: int) -> None:
        m, detention = self.model, self.model.detention
        current = detention.expires if detention else day(30)
        renewed_at = current - timedelta(days=early)
        expires = max(current + timedelta(days=longer), renewed_at + timedelta(days=1))
        allowed = detention is not None and self.open and m.verdict is None
        if detention is not None:
            rules = detention.rules
            allowed = (
                allowed
                and m.pre_trial_ended_at() is None
                and renewed_at <= current
                and rules["renewal_term_days"] > 0
                and (
                    rules["max_renewals"] is None or len(detention.renewals) < rules["max_renewals"]
                )
                and expires > current
                and expires <= detention.ordered_at + timedelta(days=rules["max_total_days"])
                and expires <= current + timedelta(days=rules["renewal_term_days"])
            )
        data = PreTrialDetentionRenewed(
            renewed_by="Juge", renewed_at=renewed_at, expires_at=expires
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.renew_detention(data, made)):
            assert detention is not None
            detention.renewals.append((made.event_id, expires))
            self.own(made, "PreTrialDetentionRenewed")

    # --- hearings, verdict, sentence ------------------------------------------------------

    @rule()
    def schedule_hearing(self) -> None:
        hearing_id = uuid4()
        data = HearingScheduled(
            hearing_id=hearing_id, court="TGI Bamako", scheduled_for=day(40), purpose="Trial"
        )
        made = self.meta()
        if self.attempt(self.open, lambda: self.case.schedule_hearing(data, made)):
            self.model.hearings[hearing_id] = (made.event_id, None)
            self.own(made, "HearingScheduled", hearing_id)

    @rule(pick=st.integers(0, 9), held=st.booleans())
    def close_hearing(self, pick: int, held: bool) -> None:
        m = self.model
        known = sorted(m.hearings)
        hearing_id = known[pick % len(known)] if known and pick < 8 else uuid4()
        hearing = m.hearings.get(hearing_id)
        allowed = self.open and hearing is not None and hearing[1] is None
        made = self.meta()
        if held:
            data: Any = HearingHeld(hearing_id=hearing_id, held_at=day(40), outcome_summary="Heard")
            command: Any = lambda: self.case.hold_hearing(data, made)  # noqa: E731
        else:
            data = HearingAdjourned(hearing_id=hearing_id, reason="Counsel absent")
            command = lambda: self.case.adjourn_hearing(data, made)  # noqa: E731
        refusals = (JudicialError, NotFoundError)
        if self.attempt(allowed and hearing_id in m.hearings, command, refusals):
            assert hearing is not None
            m.hearings[hearing_id] = (hearing[0], made.event_id)
            self.own(made, "HearingHeld" if held else "HearingAdjourned", hearing_id)

    @rule(outcome=st.sampled_from(VerdictOutcome), days=st.integers(1, 400))
    def deliver_verdict(self, outcome: VerdictOutcome, days: int) -> None:
        m = self.model
        allowed = self.open and m.verdict is None and bool(m.charges)
        data = VerdictDelivered(outcome=outcome, court="TGI Bamako", delivered_at=day(days))
        made, order_made, order_id = self.meta(), self.meta(), uuid4()
        ordered: list[bool] = []

        def command() -> None:
            ordered.append(self.case.deliver_verdict(data, made, order_id, order_made))

        if self.attempt(allowed, command):
            m.verdict = (made.event_id, outcome, day(days))
            self.own(made, "VerdictDelivered")
            assert ordered == [outcome in FINAL], "an acquittal or dismissal orders the release"
            if outcome in FINAL:
                m.orders[order_id] = Order(
                    order_made.event_id, FINAL[outcome], day(days), made.event_id
                )
                self.own(order_made, "ReleaseOrdered", order_id)
                assert self.events.recorded[-1].meta.causation_id == made.event_id

    @rule(term=st.integers(0, 2000), served=st.integers(-30, 400), starts=st.integers(0, 400))
    def impose_sentence(self, term: int, served: int, starts: int) -> None:
        """A sentence of `term` days, with credit for time served (`served` days short of it)."""
        m, credit = self.model, max(0, term - served)
        starts_on = day(starts).date()
        ends = starts_on + timedelta(days=max(0, term - credit))
        allowed = (
            self.open
            and m.verdict is not None
            and m.verdict[1] is VerdictOutcome.CONVICTED
            and m.sentence is None
            and credit <= term
        )
        data = SentenceImposed(
            term_days=term,
            starts_on=starts_on,
            credit_for_time_served_days=credit,
            release_date=ends,
        )
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.impose_sentence(data, made)):
            m.sentence = (made.event_id, ends)
            self.own(made, "SentenceImposed")

    # --- release, erasure and sealing -----------------------------------------------------

    @rule(kind=st.sampled_from(ReleaseKind), days=st.integers(0, 2500))
    def order_release(self, kind: ReleaseKind, days: int) -> None:
        m, order_id = self.model, uuid4()
        outcome = m.verdict[1] if m.verdict else None
        if kind in FINAL.values():
            fits = FINAL.get(outcome) is kind if outcome else False
            fits = fits and not any(o.kind is kind for o in m.orders.values())
        elif kind in (ReleaseKind.SENTENCE_SERVED, ReleaseKind.CONDITIONAL):
            fits = m.sentence is not None
            if kind is ReleaseKind.SENTENCE_SERVED and m.sentence is not None:
                fits = day(days).date() >= m.sentence[1]
        else:
            fits = m.verdict is None
        allowed = self.open and m.released is None and fits
        data = ReleaseOrdered(release_order_id=order_id, kind=kind, effective_at=day(days))
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.order_release(data, made)):
            m.orders[order_id] = Order(made.event_id, kind, day(days))
            self.own(made, "ReleaseOrdered", order_id)

    @rule()
    def order_erasure(self) -> None:
        data = ErasureOrdered(
            erasure_order_id=uuid4(),
            order_reference="TGI-9",
            legal_basis="Acquittal",
            ordered_by="Juge",
        )
        made = self.meta()
        assert self.attempt(True, lambda: self.case.order_erasure(data, made)), "even when sealed"
        self.own(made, "ErasureOrdered")

    @rule(now=st.integers(0, 3))
    def seal(self, now: int) -> None:
        """A judge seals the case (one time in four: a sealed case takes nothing more)."""
        if now:
            return
        data = CaseSealed(reason="Order of the court", sealed_by="Juge")
        made = self.meta()
        if self.attempt(self.open, lambda: self.case.seal(data, made)):
            self.model.sealed = (made.event_id, False)
            self.own(made, "CaseSealed")

    @rule(days=st.integers(0, 600))
    def seal_if_final(self, days: int) -> None:
        m, appeal = self.model, self.rules.appeal.period_days
        due = (
            self.open
            and m.verdict is not None
            and m.verdict[1] in FINAL
            and day(days) >= m.verdict[2] + timedelta(days=appeal)
        )
        made = self.meta("system")
        assert self.case.seal_if_final(day(days), appeal, made) is due
        if due:
            self.collected()
            m.sealed = (made.event_id, True)
            self.own(made, "CaseSealed")

    # --- deadlines ------------------------------------------------------------------------

    @rule(kind=st.sampled_from(["custody", "pre_trial"]), days=st.integers(0, 1200))
    def record_breach(self, kind: str, days: int) -> None:
        m, now = self.model, day(days)
        limit = m.limit(kind)
        due = (
            limit is not None
            and (kind, limit[0]) not in m.breaches.values()
            and limit[0] < (limit[1] or now)
        )
        made = self.meta("system")
        assert self.case.record_breach(kind, now, made) is due
        if due:
            assert limit is not None
            self.collected()
            m.breaches[made.event_id] = (kind, limit[0])
            self.own(made, "DetentionDeadlineBreached")

    # --- corrections ----------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.entries))
    @rule(pick=st.integers(0, 60))
    def void(self, pick: int) -> None:
        m = self.model
        target, name, about = m.entries[pick % len(m.entries)]
        allowed = (
            target not in m.voided
            and name != "EntryVoided"
            and (m.sealed is None or m.sealed[0] == target)
            and not (m.sealed is not None and m.sealed[0] == target and m.sealed[1])
            and not (name == "ReleaseOrdered" and m.released is not None and m.released[1] == about)
            and not self._built_on(target, name, about)
        )
        data = JudicialEntryVoided(voided_event_id=target, reason="Recorded by mistake")
        made = self.meta()
        if self.attempt(allowed, lambda: self.case.void(data, made)):
            m.voided.add(target)
            self._forget(target, name, about)
            self.own(made, "EntryVoided")

    def _built_on(self, target: UUID, name: str, about: Any) -> bool:
        m = self.model
        if name == "PreTrialDetentionOrdered":
            return bool(m.detention and m.detention.renewals)
        if name == "PreTrialDetentionRenewed":
            return bool(m.detention and m.detention.renewals[-1][0] != target)
        if name == "VerdictDelivered":
            return m.sentence is not None or any(o.caused_by == target for o in m.orders.values())
        if name == "ChargesFiled":
            only = [c[0] for c in m.charges] == [target]
            return only and (m.detention is not None or m.verdict is not None)
        if name == "HearingScheduled":
            return m.hearings[about][1] is not None
        return False

    def _forget(self, target: UUID, name: str, about: Any) -> None:
        m = self.model
        m.charges = [c for c in m.charges if c[0] != target]
        m.breaches.pop(target, None)
        if name == "PreTrialDetentionOrdered":
            m.detention = None
        elif name == "PreTrialDetentionRenewed" and m.detention is not None:
            m.detention.renewals = [r for r in m.detention.renewals if r[0] != target]
        elif name == "VerdictDelivered":
            m.verdict = None
        elif name == "SentenceImposed":
            m.sentence = None
        elif name == "ReleaseOrdered":
            m.orders.pop(about)
        elif name == "CaseSealed":
            m.sealed = None
        elif name == "HearingScheduled":
            m.hearings.pop(about)
        elif name in ("HearingHeld", "HearingAdjourned"):
            m.hearings[about] = (m.hearings[about][0], None)

    # --- what must hold after every step --------------------------------------------------

    @invariant()
    def agrees_with_the_model(self) -> None:
        m, state = self.model, self.case.state()
        assert state.charges == [c[0] for c in m.charges]
        assert state.offence_class == (m.charges[-1][1] if m.charges else None)
        assert (state.verdict.event_id if state.verdict else None) == (
            m.verdict[0] if m.verdict else None
        )
        assert (state.sentence.event_id if state.sentence else None) == (
            m.sentence[0] if m.sentence else None
        )
        assert {k: (o.event_id, o.kind.value) for k, o in m.orders.items()} == {
            k: (o.event_id, o.kind) for k, o in state.orders.items()
        }
        assert {
            h: (v.scheduled_event_id, v.closed_event_id) for h, v in state.hearings.items()
        } == m.hearings
        assert (state.sealed.event_id if state.sealed else None) == (
            m.sealed[0] if m.sealed else None
        )
        assert sorted(state.breaches) == sorted(m.breaches.values())
        for kind in ("custody", "pre_trial"):
            limit, expected = state.limit(kind), m.limit(kind)
            assert ((limit.expires_at, limit.ended_at) if limit else None) == expected

    @invariant()
    def deadlines_are_the_jurisdictions(self) -> None:
        state = self.case.state()
        custody, pre_trial, detention = state.custody, state.pre_trial, state.detention
        if custody is not None:
            alert = timedelta(hours=self.rules.custody.alert_hours_before)
            assert custody.alert_from == custody.expires_at - alert
        if pre_trial is None or detention is None:
            return
        rules = self.rules.pre_trial.classes[detention.limits["offence_class"]]
        assert pre_trial.legal_source == rules.source
        assert pre_trial.alert_from == pre_trial.expires_at - timedelta(
            days=rules.review_window_days
        )
        assert pre_trial.expires_at <= detention.ordered_at + timedelta(days=rules.max_total_days)
        most = rules.initial_term_days + rules.renewal_term_days * len(detention.renewals)
        assert pre_trial.expires_at <= detention.ordered_at + timedelta(days=most)
        assert len(detention.renewals) <= (
            rules.max_renewals if rules.max_renewals is not None else 100
        )
        if rules.renewal_term_days == 0:
            assert detention.renewals == []

    @invariant()
    def a_breach_follows_a_passed_limit(self) -> None:
        for (_, expired_at), detected_at in self.case.state().breaches.items():
            assert detected_at >= expired_at

    @invariant()
    def replay_rebuilds_the_same_case(self) -> None:
        self.events.assert_replay_equals(self.case)


TestJudicialCase = JudicialCase.TestCase
TestJudicialCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
