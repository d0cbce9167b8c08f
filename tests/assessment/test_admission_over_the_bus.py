"""An admission posted to intake reaches assessment over NATS and makes exactly one review due."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import nats

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from shared.kit.settings import Settings
from tests.support import admission_payload, arrest_payload, auth, eventually, running


async def _redeliver(settings: Settings, subject: str) -> int:
    """Publish the stored message again under another `Nats-Msg-Id`; returns its stream seq."""
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        original = await js.get_last_msg(settings.stream, subject)
        ack = await js.publish(
            subject, original.data, headers={"Nats-Msg-Id": f"again-{original.seq}"}
        )
        return int(ack.seq)
    finally:
        await nc.close()


async def _stream(settings: Settings, subject: str) -> tuple[int, dict[str, Any] | None, int]:
    """How many messages a subject holds, the last one's envelope, and the consumer's ack floor."""
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(settings.stream, subjects_filter=subject)
        count = (info.state.subjects or {}).get(subject, 0)
        last = json.loads((await js.get_last_msg(settings.stream, subject)).data) if count else None
        consumer = await js.consumer_info(settings.stream, "assessment-intake")
        return count, last, int(consumer.ack_floor.stream_seq)
    finally:
        await nc.close()


def test_an_admission_makes_assessment_due_exactly_once_even_when_redelivered(
    settings_factory: Any,
) -> None:
    settings = settings_factory(assessment_due_days=10)
    reader = auth(settings, "assessor")
    with (
        running(intake_app(settings)) as intake,
        running(assessment_app(settings, instrument_file=None)) as assessment,
    ):
        case_id = intake.post(
            "/cases", json=arrest_payload(), headers=auth(settings, "police")
        ).json()["case_id"]
        admitted = intake.post(
            f"/cases/{case_id}/admission",
            json=admission_payload(),
            headers=auth(settings, "prison_registry"),
        )
        admission_id = admitted.json()["event_id"]
        due_subject = f"{settings.subject_prefix}caseline.assessment.AssessmentDue.{case_id}"
        eventually(lambda: _count(settings, due_subject) == 1)
        seq = asyncio.run(
            _redeliver(
                settings, f"{settings.subject_prefix}caseline.intake.DetaineeAdmitted.{case_id}"
            )
        )
        eventually(lambda: asyncio.run(_stream(settings, due_subject))[2] >= seq)
        view = assessment.get(f"/cases/{case_id}", headers=reader).json()
        count, envelope, _ = asyncio.run(_stream(settings, due_subject))

    assert admitted.status_code == 201
    assert count == 1
    assert envelope is not None
    assert envelope["causationid"] == admission_id
    assert envelope["actor"] == "system"
    assert envelope["data"]["trigger"] == "admission"
    admitted_at = datetime.fromisoformat(admission_payload()["admitted_at"])
    assert datetime.fromisoformat(envelope["data"]["due_by"]) == admitted_at + timedelta(days=10)
    assert [r["caused_by"] for r in view["reviews"]] == [admission_id]
    assert view["facility"] == admission_payload()["facility"]
    assert view["status"] == "admitted"


def _count(settings: Settings, subject: str) -> int:
    return asyncio.run(_stream(settings, subject))[0]
