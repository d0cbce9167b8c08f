"""Nothing invalid leaves a service: a malformed trace header starts a new trace instead of being
stored, and the relay refuses (and reports) a stored event the ledger would refuse, publishing
nothing after it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.events import ArrestRecorded
from shared.events.envelope import is_traceparent
from shared.kit.observability import use_tracer_provider
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from tests.support import arrest_payload, eventually, running

TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
MALFORMED = [
    "not-a-trace-context",
    f"ff-{TRACE_ID}-{PARENT_ID}-01",
    f"00-{'0' * 32}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{'0' * 16}-01",
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{PARENT_ID}-01-extra",
]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with use_tracer_provider(provider):
        yield exporter
    provider.shutdown()


def _open_cases(settings: Settings, police: dict[str, str], auditor: dict[str, str]) -> list[Any]:
    """One case per malformed header, each arrest as the ledger holds it."""
    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        opened = [
            intake.post("/cases", json=arrest_payload(), headers={**police, "traceparent": sent})
            for sent in MALFORMED
        ]
        assert [r.status_code for r in opened] == [201] * len(MALFORMED), opened[0].text
        return [_ledger_entry(ledger, auditor, r.json()["case_id"]) for r in opened]


def _ledger_entry(ledger: Any, auditor: dict[str, str], case_id: str) -> dict[str, Any]:
    def first() -> Any:
        response = ledger.get(f"/cases/{case_id}/timeline", headers=auditor)
        return response.status_code == 200 and response.json()["entries"]

    return dict(eventually(first, timeout=30)[0]["event"])


def test_a_malformed_traceparent_is_recorded_under_a_new_trace_the_ledger_accepts(
    settings, police, auditor
):
    arrests = _open_cases(settings, police, auditor)

    traces = [arrest["traceparent"] for arrest in arrests]
    assert all(is_traceparent(trace) for trace in traces), traces
    assert not any(TRACE_ID in trace.lower() for trace in traces)
    assert len(set(traces)) == len(MALFORMED)  # each request its own new trace


def test_when_tracing_a_malformed_traceparent_starts_a_new_trace_at_the_server_span(
    settings, police, auditor, spans
):
    arrests = _open_cases(settings, police, auditor)

    servers = [s for s in spans.get_finished_spans() if s.name == "POST /cases"]
    assert len(servers) == len(MALFORMED)
    assert all(s.parent is None for s in servers)  # roots: the callers' headers were dropped
    started = {f"00-{s.context.trace_id:032x}-{s.context.span_id:016x}" for s in servers}
    assert {arrest["traceparent"][:-3] for arrest in arrests} == started  # less the flags


def test_a_valid_traceparent_is_recorded_as_sent(settings, police, auditor):
    sent = f"00-{TRACE_ID}-{PARENT_ID}-01"

    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        opened = intake.post(
            "/cases", json=arrest_payload(), headers={**police, "traceparent": sent}
        )
        arrest = _ledger_entry(ledger, auditor, opened.json()["case_id"])

    assert arrest["traceparent"] == sent


# --- the relay -------------------------------------------------------------------------------


def _stream_event_ids(settings: Settings) -> list[str]:
    """The `Nats-Msg-Id` of every message on the settings' stream, in stream order."""

    async def go() -> list[str]:
        nc = await nats.connect(settings.nats_url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(settings.stream)).state.last_seq
            messages = [await js.get_msg(settings.stream, seq) for seq in range(1, last + 1)]
            return [str((m.headers or {}).get("Nats-Msg-Id")) for m in messages]
        finally:
            await nc.close()

    return asyncio.run(go())


def _notification_of(application: Any, event_id: str) -> int:
    rows = application.store.select_states(1, 100)
    return next(nid for nid, state in rows if event_id.encode() in state)


def _record_with_stored_traceparent(application: Any, traceparent: str) -> str:
    """An arrest stored with a malformed trace context, as commands were before headers were
    checked: what such a store still holds."""
    ctx = CommandContext(actor="police-1", agency="police-agency", traceparent=traceparent)
    recorded = application.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx)
    return str(recorded.event_id)


def test_a_stored_event_the_ledger_would_refuse_stops_the_relay_and_is_reported(
    settings, police, caplog
):
    caplog.set_level(logging.ERROR, logger="caseline.relay")

    with running(intake_app(settings)) as intake:
        parts = intake.app.state.parts
        before = intake.post("/cases", json=arrest_payload(), headers=police).json()["event_id"]
        refused = _record_with_stored_traceparent(parts.application, "00-bad-trace-01")
        after = intake.post("/cases", json=arrest_payload(), headers=police).json()["event_id"]
        published_to = _notification_of(parts.application, before)
        stuck_at = _notification_of(parts.application, refused)
        eventually(lambda: parts.relay.refused and parts.relay.position() == published_to)
        ready = intake.get("/readyz")
        ready_fr = intake.get("/readyz", headers={"Accept-Language": "fr"})
        metrics = intake.get("/metrics").text

    assert _stream_event_ids(settings) == [before]
    assert after not in _stream_event_ids(settings)
    assert ready.status_code == 503
    assert refused in ready.json()["detail"]
    assert "traceparent" in ready.json()["detail"]
    assert ready_fr.headers["content-language"] == "fr"
    assert ready_fr.json()["detail"].startswith(f"le relais refuse l'événement {refused}")
    assert "caseline_relay_refused_total 1.0" in metrics
    assert f"caseline_relay_stuck_position {float(stuck_at)}" in metrics
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and refused in r.getMessage()]
    assert len(errors) == 1
    assert "traceparent" in errors[0].getMessage()
