"""Logs and traces of a service process: JSON log lines (structlog) carrying `correlationid` and
`traceparent`, and OpenTelemetry spans across HTTP and NATS, off unless `CASELINE_TRACING` is set.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.events.envelope import is_traceparent

__all__ = [
    "configure_logging",
    "configure_tracing",
    "consumer_span",
    "current_traceparent",
    "log_context",
    "new_traceparent",
    "producer_span",
    "server_span",
    "tracing_enabled",
    "use_tracer_provider",
]

_PROPAGATOR = TraceContextTextMapPropagator()
_HANDLER_NAME = "caseline-json"


class _State:
    tracer: Tracer | None = None


_state = _State()


# --- logs -----------------------------------------------------------------------------------


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def configure_logging(
    level: str = "INFO", fmt: str = "json", stream: IO[str] | None = None
) -> logging.Handler:
    """Route every log record (ours, uvicorn's, libraries') through structlog to one handler.

    Records carry the context bound with `log_context` (the request's or the message's
    `correlationid` and `traceparent`). Calling it again replaces the previous handler.
    """
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return handler


@contextlib.contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind values (those not None) to every log line written inside the block."""
    bound = {k: str(v) for k, v in values.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**bound):
        yield


# --- traces ---------------------------------------------------------------------------------


def configure_tracing(mode: str, service: str) -> None:
    """Install a tracer provider for this process: `off` (nothing), `console` or `otlp`."""
    if mode == "off":
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if mode == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:  # pragma: no cover - depends on the installed extra
            raise RuntimeError("CASELINE_TRACING=otlp needs `pip install caseline[otlp]`") from exc
        exporter = OTLPSpanExporter()
    elif mode == "console":
        exporter = ConsoleSpanExporter()
    else:
        raise ValueError(f"unknown tracing mode {mode!r}")
    provider = SdkTracerProvider(resource=Resource.create({"service.name": f"caseline-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _state.tracer = provider.get_tracer("caseline")


@contextlib.contextmanager
def use_tracer_provider(provider: TracerProvider | None) -> Iterator[None]:
    """Trace with `provider` inside the block (tests; None turns tracing off)."""
    previous = _state.tracer
    _state.tracer = provider.get_tracer("caseline") if provider is not None else None
    try:
        yield
    finally:
        _state.tracer = previous


def tracing_enabled() -> bool:
    return _state.tracer is not None


def _parent(traceparent: str | None) -> otel_context.Context | None:
    # Only version 00 with real ids: anything else starts a new trace, as the catalogue would
    # refuse it on an event (the propagator alone lets later versions and extra fields through).
    if not is_traceparent(traceparent):
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None when not tracing."""
    if _state.tracer is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def new_traceparent() -> str:
    """A `traceparent` starting a new trace, for a request whose own was malformed when this
    process does not trace (sampled, so that the services that do record the rest)."""
    while not is_traceparent(value := f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"):
        pass  # all-zero ids: one chance in 2**64 or less
    return value


_NO_SPAN = contextlib.nullcontext()


@contextlib.contextmanager
def _span(name: str, kind: SpanKind, parent: str | None, **attributes: Any) -> Iterator[Any]:
    if _state.tracer is None:
        yield None
        return
    attrs = {k.replace("_", "."): v for k, v in attributes.items() if v is not None}
    with _state.tracer.start_as_current_span(
        name, context=_parent(parent), kind=kind, attributes=attrs
    ) as span:
        yield span


def server_span(
    method: str, route: str, headers: Mapping[str, str]
) -> contextlib.AbstractContextManager[Any]:
    """A SERVER span for one HTTP request, child of the caller's `traceparent` if sent (name it
    by the matched route once known: the path holds ids)."""
    return _span(
        f"{method} {route}", SpanKind.SERVER, headers.get("traceparent"), http_method=method
    )


def producer_span(subject: str, traceparent: str | None) -> contextlib.AbstractContextManager[Any]:
    """A PRODUCER span for publishing one event, child of the context that recorded it; named by
    the subject less its last token (the case id stays out of span names)."""
    if _state.tracer is None:
        return _NO_SPAN  # once per published event: not even a generator when not tracing
    destination = subject.rsplit(".", 1)[0]
    return _span(
        f"publish {destination}",
        SpanKind.PRODUCER,
        traceparent,
        messaging_system="nats",
        messaging_destination=destination,
    )


def consumer_span(
    name: str, traceparent: str | None = None, links: list[str | None] | None = None
) -> contextlib.AbstractContextManager[Any]:
    """A CONSUMER span: for one message (child of its `traceparent`) or a batch (linked to each)."""
    if _state.tracer is None or not links:
        return _span(name, SpanKind.CONSUMER, traceparent, messaging_system="nats")
    span_links = [
        Link(trace.get_current_span(ctx).get_span_context())
        for tp in links
        if (ctx := _parent(tp)) is not None
    ]
    return _state.tracer.start_as_current_span(name, kind=SpanKind.CONSUMER, links=span_links)
