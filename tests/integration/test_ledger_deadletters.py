"""What fails validation never enters the ledger: it is dead-lettered with the reason."""

from __future__ import annotations

import json
from uuid import uuid4

from services.ledger.service import create_app as ledger_app
from shared.events import DetaineeAdmitted
from tests.support import auth, eventually, running
from tests.support.bus import envelope_bytes, publish, read_subject, subject


def _admission() -> DetaineeAdmitted:
    return DetaineeAdmitted.model_validate(
        {"facility": "MCA Bamako", "admitted_at": "2026-11-03T10:00:00Z", "warrant_ref": "MD-1"}
    )


def test_invalid_messages_are_dead_lettered_and_the_consumer_keeps_going(settings):
    case_id = uuid4()
    good_id, good = envelope_bytes(_admission(), case_id)
    _, valid = envelope_bytes(_admission(), case_id)
    unknown = json.loads(valid)
    unknown.update(id=str(uuid4()), type="caseline.intake.DetaineeTeleported.v1")
    invalid = json.loads(valid)
    invalid.update(id=str(uuid4()))
    invalid["data"]["admitted_at"] = "2026-11-03T10:00:00"  # naive
    topic = subject(_admission(), case_id)
    auditor = auth(settings, "auditor")

    with running(ledger_app(settings)) as ledger:
        eventually(lambda: ledger.get("/readyz").status_code == 200)
        publish(
            settings,
            [
                (topic, json.dumps(unknown).encode(), {}),
                (topic, json.dumps(invalid).encode(), {}),
                (topic, b"\x00not json", {}),
                (topic, good, {"Nats-Msg-Id": good_id}),
            ],
        )
        timeline = eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and r.json()
            )
        )
        # The batch's good entry is in the ledger before its refusals are sent and counted.
        counted = 'caseline_deadletters_total{consumer="ledger"} 3.0'
        metrics = eventually(lambda: counted in (text := ledger.get("/metrics").text) and text)

    dead = read_subject(settings, "caseline.deadletter.ledger", expected=3)
    assert [e["event"]["id"] for e in timeline["entries"]] == [good_id], timeline
    reasons = [m.headers["Caseline-Deadletter-Reason"] for m in dead]
    assert len(reasons) == 3
    assert "unknown event type" in reasons[0]
    assert "admitted_at" in reasons[1]
    assert counted in metrics
