"""Prometheus metrics of one service process (one registry per process, so tests can run many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    """The metrics catalogue; names are documented in docs/operations.md."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.commands = Counter(
            "caseline_commands_total",
            "Commands by event type and result",
            ["type", "result"],
            registry=self.registry,
        )
        self.events_recorded = Counter(
            "caseline_events_recorded_total",
            "Events recorded in this service's store",
            registry=self.registry,
        )
        self.requests = Histogram(
            "caseline_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.relay_published = Counter(
            "caseline_relay_published_total",
            "Events the relay published to JetStream",
            registry=self.registry,
        )
        self.events_published = Counter(
            "caseline_events_published_total",
            "Events the relay published, by event name",
            ["type"],
            registry=self.registry,
        )
        self.relay_refused = Counter(
            "caseline_relay_refused_total",
            "Stored events the relay refused to publish (the catalogue refuses their envelope)",
            registry=self.registry,
        )
        self.relay_stuck_position = Gauge(
            "caseline_relay_stuck_position",
            "Notification id of the event the relay refuses and stopped at; 0 when none",
            registry=self.registry,
        )
        self.relay_lag_events = Gauge(
            "caseline_relay_lag_events",
            "Events recorded but not yet published",
            registry=self.registry,
        )
        self.relay_lag_seconds = Gauge(
            "caseline_relay_lag_seconds",
            "Age of the oldest unpublished event",
            registry=self.registry,
        )
        self.consumed = Counter(
            "caseline_consumer_processed_total",
            "Inbound events processed",
            ["consumer"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "caseline_consumer_lag_events",
            "Messages pending for a consumer",
            ["consumer"],
            registry=self.registry,
        )
        self.deadletters = Counter(
            "caseline_deadletters_total",
            "Messages sent to a dead-letter subject",
            ["consumer"],
            registry=self.registry,
        )
        self.origin_refused = Counter(
            "caseline_origin_refused_total",
            "Events dead-lettered because they were not signed by the service owning their type,"
            " or came on another subject than their type's",
            ["consumer"],
            registry=self.registry,
        )
        self.deadline_breaches = Counter(
            "caseline_deadline_breaches_total",
            "Detention deadline breaches recorded",
            registry=self.registry,
        )
        self.reconcile_republished = Counter(
            "caseline_reconcile_republished_total",
            "Events the ledger lacked that reconciliation published again",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
