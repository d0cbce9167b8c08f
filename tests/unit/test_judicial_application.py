"""Judicial's application on in-memory persistence: what it learns of intake's record, and the
limits it computes from the jurisdiction's rules when the court leaves them out.

The deadline sweep and the sealing sweep read the deadlines and register views, and voiding finds
its entry in the entry index: the real-server tier (`tests/judicial`) covers them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.judicial.application import JudicialApplication
from services.judicial.domain import Case
from services.judicial.domain.errors import FactNotYetLearntError, InvalidFieldsError
from services.judicial.inbound import reactions
from shared.events import CatalogueEvent
from shared.events.intake import ArrestRecorded, CustodyStarted
from shared.events.judicial import VerdictDelivered, VerdictOutcome
from shared.kit.memory import NoViewsError
from shared.kit.store import CommandContext
from tests.support import arrest_payload
from tests.support.bus import envelope_of

JUDGE = CommandContext(actor="judge-1", agency="tribunal")
ARRESTED = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
CHARGES = {
    "offences": [{"code": "T1", "description": "Terrorism", "law_ref": "Loi 2008-025"}],
    "prosecutor": "Pôle judiciaire spécialisé",
    "filed_at": ARRESTED + timedelta(days=2),
}


def learn(app: JudicialApplication, event: CatalogueEvent, case_id: UUID) -> None:
    envelope = envelope_of(event, case_id)
    (handle,) = [r.handlers[type(event)] for r in reactions(app) if type(event) in r.handlers]
    handle(envelope, event, ("intake-record", UUID(str(envelope.id))))


def opened(app: JudicialApplication) -> UUID:
    case_id = uuid4()
    learn(app, ArrestRecorded.model_validate(arrest_payload()), case_id)
    return case_id


def limits(app: JudicialApplication, case_id: UUID) -> Any:
    return app.load(Case, case_id).state()


def test_a_case_opens_once_from_intakes_arrest(judicial: JudicialApplication) -> None:
    case_id = opened(judicial)

    learn(judicial, ArrestRecorded.model_validate(arrest_payload()), case_id)

    case = judicial.load(Case, case_id)
    assert (case.version, case.state().arrested_at) == (1, ARRESTED)


def test_a_fact_about_a_case_not_learnt_yet_waits(judicial: JudicialApplication) -> None:
    custody = CustodyStarted(started_at=ARRESTED, legal_basis="CPP", max_hours=48)

    with pytest.raises(FactNotYetLearntError):
        learn(judicial, custody, uuid4())


def test_the_custody_deadline_alerts_the_jurisdictions_hours_ahead(
    judicial: JudicialApplication,
) -> None:
    case_id = opened(judicial)

    learn(judicial, CustodyStarted(started_at=ARRESTED, legal_basis="CPP", max_hours=48), case_id)

    custody = limits(judicial, case_id).custody
    alert = timedelta(hours=judicial.rules.custody.alert_hours_before)
    assert custody.expires_at == ARRESTED + timedelta(hours=48)
    assert custody.alert_from == custody.expires_at - alert


def test_detention_defaults_to_the_offence_class_first_term_then_one_renewal_term(
    judicial: JudicialApplication,
) -> None:
    case_id = opened(judicial)
    judicial.file_charges(case_id, CHARGES, "delit", JUDGE)
    rules = judicial.rules.pre_trial.classes["delit"]
    ordered = ARRESTED + timedelta(days=3)

    judicial.order_detention(
        case_id, {"ordered_by": "Juge", "ordered_at": ordered, "legal_basis": "CPP"}, JUDGE
    )
    first = limits(judicial, case_id).pre_trial.expires_at
    judicial.renew_detention(
        case_id, {"renewed_by": "Juge", "renewed_at": first - timedelta(days=5)}, JUDGE
    )

    pre_trial = limits(judicial, case_id).pre_trial
    assert first == ordered + timedelta(days=rules.initial_term_days)
    renewed = min(
        first + timedelta(days=rules.renewal_term_days),
        ordered + timedelta(days=rules.max_total_days),
    )
    assert (pre_trial.expires_at, pre_trial.renewals) == (renewed, 1)
    assert pre_trial.alert_from == renewed - timedelta(days=rules.review_window_days)
    assert pre_trial.legal_source == rules.source


def test_an_offence_class_the_jurisdiction_lacks_is_refused(judicial: JudicialApplication) -> None:
    case_id = opened(judicial)

    with pytest.raises(InvalidFieldsError, match="no offence class 'felony'"):
        judicial.file_charges(case_id, CHARGES, "felony", JUDGE)

    assert limits(judicial, case_id).charges == []


def test_a_sentence_ends_after_its_term_less_the_time_served(judicial: JudicialApplication) -> None:
    case_id = opened(judicial)
    judicial.file_charges(case_id, CHARGES, None, JUDGE)
    verdict = VerdictDelivered(
        outcome=VerdictOutcome.CONVICTED,
        court="TGI Bamako",
        delivered_at=ARRESTED + timedelta(days=90),
    )
    judicial.deliver_verdict(case_id, verdict, JUDGE)

    judicial.impose_sentence(
        case_id,
        {"term_days": 1000, "starts_on": date(2027, 2, 1), "credit_for_time_served_days": 90},
        JUDGE,
    )

    sentence = limits(judicial, case_id).sentence
    assert sentence.data.release_date == date(2027, 2, 1) + timedelta(days=910)


def test_an_acquittal_answers_with_the_release_it_orders(judicial: JudicialApplication) -> None:
    case_id = opened(judicial)
    judicial.file_charges(case_id, CHARGES, None, JUDGE)
    verdict = VerdictDelivered(
        outcome=VerdictOutcome.ACQUITTED,
        court="TGI Bamako",
        delivered_at=ARRESTED + timedelta(days=90),
    )

    recorded = judicial.deliver_verdict(case_id, verdict, JUDGE)

    orders = limits(judicial, case_id).orders
    assert list(orders) == [recorded.ids["release_order_id"]]
    assert orders[recorded.ids["release_order_id"]].kind == "acquittal"
    assert len(recorded.event_ids) == 2


def test_the_sweeps_need_their_views(judicial: JudicialApplication) -> None:
    opened(judicial)

    with pytest.raises(NoViewsError):
        judicial.detect_breaches()
    with pytest.raises(NoViewsError):
        judicial.seal_due_cases()
