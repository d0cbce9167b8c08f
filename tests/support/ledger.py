"""Entries for the ledger: valid, signed intake envelopes about a case, ready to append."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.ledger.store import Appendable
from shared.events import build_envelope
from shared.events.intake import DetaineeAdmitted, FamilyContactRecorded
from tests.support.bus import signed_document

__all__ = ["BASE_TIME", "appendable"]

BASE_TIME = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def appendable(case_id: UUID, n: int) -> Appendable:
    """A valid intake envelope about `case_id`, the `n`-th of the test (an admission first)."""
    at = BASE_TIME + timedelta(days=n)
    event: Any
    if n == 0:
        event = DetaineeAdmitted.model_validate(
            {"facility": "MCA Bamako", "admitted_at": at.isoformat(), "warrant_ref": f"MD-{n}"}
        )
    else:
        event = FamilyContactRecorded.model_validate(
            {
                "kind": "visit",
                "with_whom": f"Visitor {n}",
                "relationship": "sister",
                "at": at.isoformat(),
            }
        )
    env = build_envelope(
        event, event_id=uuid4(), subject=case_id, actor="tester", agency="test", recorded_at=at
    )
    return Appendable(
        event_id=str(env.id),
        case_id=str(case_id),
        type=env.type,
        time=at,
        recordedtime=at,
        envelope=signed_document(env),
    )
