"""Observability: JSON log lines carry the request's correlationid and traceparent; OpenTelemetry
spans follow a command from HTTP through NATS to the ledger and to a reaction (and nothing is
traced by default); consumer lag is sampled from JetStream."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.assessment.service import create_app as assessment_app
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.bus import Bus
from shared.kit.metrics import Metrics
from shared.kit.observability import configure_logging, current_traceparent, use_tracer_provider
from shared.kit.subscriber import ACK, Subscriber
from tests.support import admission_payload, arrest_payload, auth, eventually, running

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_SPAN}-01"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    handler = configure_logging("INFO", "json", stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        assert root.handlers == handlers
        structlog.reset_defaults()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with use_tracer_provider(provider):
        yield exporter
    provider.shutdown()


def _timeline(ledger, settings, case_id: str, count: int) -> list[dict]:  # type: ignore[no-untyped-def]
    auditor = auth(settings, "auditor")
    body = eventually(
        lambda: (
            (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
            and len(r.json()["entries"]) >= count
            and r.json()
        ),
        timeout=30,
    )
    return [entry["event"] for entry in body["entries"]]


def test_a_requests_log_line_is_json_with_its_correlationid_and_traceparent(settings, log_lines):
    correlation = str(uuid4())
    headers = {**auth(settings, "police"), "Caseline-Correlation-Id": correlation,
               "traceparent": TRACEPARENT}  # fmt: skip

    with running(intake_app(settings)) as intake:
        response = intake.post("/cases", json=arrest_payload(), headers=headers)

    assert response.status_code == 201
    assert response.headers["Caseline-Correlation-Id"] == correlation
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    request = next(x for x in lines if x.get("event") == "request" and x["route"] == "/cases")
    assert request["correlationid"] == correlation
    assert request["traceparent"] == TRACEPARENT
    assert request["status"] == 201
    assert request["level"] == "info"
    assert request["time"].endswith("Z")


def test_nothing_is_traced_by_default_and_the_callers_traceparent_is_recorded_as_sent(settings):
    headers = {**auth(settings, "police"), "traceparent": TRACEPARENT}

    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        case_id = intake.post("/cases", json=arrest_payload(), headers=headers).json()["case_id"]
        events = _timeline(ledger, settings, case_id, 1)

    assert current_traceparent() is None
    assert events[0]["traceparent"] == TRACEPARENT


def test_a_trace_follows_a_command_over_http_and_nats_to_the_ledger_and_a_reaction(settings, spans):
    police, registry = auth(settings, "police"), auth(settings, "prison_registry")

    with (
        running(intake_app(settings)) as intake,
        running(assessment_app(settings)),
        running(ledger_app(settings)) as ledger,
    ):
        case_id = intake.post("/cases", json=arrest_payload(), headers=police).json()["case_id"]
        intake.post(f"/cases/{case_id}/admission", json=admission_payload(),
                    headers={**registry, "traceparent": TRACEPARENT})  # fmt: skip
        events = _timeline(ledger, settings, case_id, 3)

    finished = spans.get_finished_spans()
    server = next(s for s in finished if s.name == "POST /cases/{case_id}/admission")
    assert server.kind == SpanKind.SERVER
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert f"{server.parent.span_id:016x}" == CLIENT_SPAN
    admitted = next(e for e in events if e["type"].endswith("DetaineeAdmitted.v1"))
    assert admitted["traceparent"] == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"
    in_trace = [s for s in finished if f"{s.context.trace_id:032x}" == TRACE_ID]
    kinds = {s.kind for s in in_trace}
    assert {SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER} <= kinds
    due = next(e for e in events if e["type"].endswith("AssessmentDue.v1"))
    consumers = {f"{s.context.span_id:016x}" for s in in_trace if s.kind == SpanKind.CONSUMER}
    _, due_trace, due_span, _ = due["traceparent"].split("-")
    assert due_trace == TRACE_ID
    assert due_span in consumers  # recorded inside the NATS consumer's span
    linked = [s for s in finished if any(f"{x.context.trace_id:032x}" == TRACE_ID for x in s.links)]
    assert linked  # the ledger's batch span links to the event's trace


async def test_consumer_lag_is_sampled_from_jetstream_while_messages_wait(settings):
    bus = Bus(settings, "lag-test")
    bus.start()
    js = await bus.jetstream()
    for i in range(5):
        await js.publish(bus.prefixed(f"caseline.intake.ArrestRecorded.case-{i}"), b"{}")
    release = threading.Event()

    def handle(deliveries):  # type: ignore[no-untyped-def]
        release.wait(20)
        return [ACK] * len(deliveries)

    metrics = Metrics("test")
    subscriber = Subscriber(
        bus, "lag-probe", ["caseline.intake.>"], handle, metrics, lag_interval=0.1
    )
    task = asyncio.create_task(subscriber.run())

    def lag() -> float | None:
        return metrics.registry.get_sample_value(
            "caseline_consumer_lag_events", {"consumer": "lag-probe"}
        )

    try:
        waiting = await _until(lambda: lag() == 5)
        release.set()
        caught_up = await _until(lambda: subscriber.processed == 5 and lag() == 0)
    finally:
        release.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()

    assert waiting
    assert caught_up


async def _until(predicate, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False
