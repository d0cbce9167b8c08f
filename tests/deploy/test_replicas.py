"""Several replicas of a service are safe: two intake apps take commands, one relay publishes
(PostgreSQL advisory lock), two assessment apps and two ledgers share their durable consumers, so
every event reaches the stream and the ledger exactly once and every reaction happens once."""

from __future__ import annotations

import asyncio
from collections import Counter

import psycopg
import pytest

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from tests.support import admission_payload, arrest_payload, auth, eventually, running
from tests.support.bus import stream_messages

pytestmark = pytest.mark.timeout(120)

CASES = 6


def _ledger_types(settings) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with psycopg.connect(settings.database.conninfo()) as conn:
        rows = conn.execute("SELECT event_id, case_id, type FROM ledger.entries").fetchall()
    return [(str(e), c, t) for e, c, t in rows]


def test_two_replicas_of_intake_and_of_assessment_record_and_react_exactly_once(settings):
    police, registry = auth(settings, "police"), auth(settings, "prison_registry")
    recorded: list[str] = []
    cases: list[str] = []
    due = "caseline.assessment.AssessmentDue.v1"

    with (
        running(intake_app(settings)) as intake_a,
        running(intake_app(settings)) as intake_b,
        running(assessment_app(settings)),
        running(assessment_app(settings)),
        running(ledger_app(settings)),
        running(ledger_app(settings)) as ledger_b,
    ):
        for i in range(CASES):
            first, second = (intake_a, intake_b) if i % 2 else (intake_b, intake_a)
            opened = first.post("/cases", json=arrest_payload(), headers=police).json()
            admitted = second.post(f"/cases/{opened['case_id']}/admission",
                                   json=admission_payload(), headers=registry).json()  # fmt: skip
            recorded += [opened["event_id"], admitted["event_id"]]
            cases.append(opened["case_id"])
        eventually(lambda: sum(t == due for *_, t in _ledger_types(settings)) >= CASES, timeout=40)
        relays = [app.app.state.parts.relay.published for app in (intake_a, intake_b)]
        auditor = auth(settings, "auditor")
        verified = [ledger_b.get(f"/cases/{c}/verify", headers=auditor).json() for c in cases]

    entries = _ledger_types(settings)
    assert all(v["ok"] and v["events"] == 3 for v in verified), verified
    assert sorted(relays) == [0, 2 * CASES]  # one relay published everything, the other waited
    assert Counter(e for e, *_ in entries).most_common(1)[0][1] == 1
    assert {e for e, *_ in entries} >= set(recorded)
    assert sorted(Counter(c for _, c, t in entries if t == due).values()) == [1] * CASES
    stream = asyncio.run(stream_messages(settings.nats_url, settings.stream))
    ids = [msg_id for _, msg_id in stream]
    assert len(ids) == len(set(ids)) == len(entries)
