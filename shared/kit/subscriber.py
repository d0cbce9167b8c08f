"""Durable JetStream pull consumers: reactions between services, and the ledger's intake.

A batch is fetched, handled strictly in stream order in a worker thread, and only then acked, so
a redelivery never slips behind a later success. A message that can never be handled goes to
`caseline.deadletter.<consumer>` with the reason and is terminated; one that failed for a passing
reason (the database is down) is redelivered after a delay, with everything after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.events import (
    CatalogueEvent,
    Envelope,
    EnvelopeError,
    load_envelope,
    validate_envelope,
)
from shared.kit.bus import Bus
from shared.kit.errors import RuleViolation
from shared.kit.metrics import Metrics
from shared.kit.observability import consumer_span, log_context
from shared.kit.origins import OriginKeys, origin_keys, origin_problem
from shared.kit.pull import fetch
from shared.kit.store import CaselineApplication, IntegrityError

__all__ = [
    "ACK",
    "BATCH",
    "Consumer",
    "ConsumerMissingError",
    "Dead",
    "Delivery",
    "Handler",
    "Reactions",
    "Retry",
    "Subscriber",
    "check_envelope",
    "durable_config",
]

log = logging.getLogger("caseline.subscriber")


@dataclass(frozen=True)
class Delivery:
    """One message as a handler sees it."""

    subject: str
    data: bytes
    headers: dict[str, str]
    msg: Any = field(repr=False, compare=False)  # its JetStream metadata is read only when needed

    @property
    def stream_seq(self) -> int:
        return int(self.msg.metadata.sequence.stream)

    @property
    def num_delivered(self) -> int:
        return int(self.msg.metadata.num_delivered)


@dataclass(frozen=True)
class Dead:
    reason: str
    origin: bool = False  # refused because it did not truly come from the owner of its type


@dataclass(frozen=True)
class Retry:
    reason: str


ACK = "ack"
Outcome = str | Dead | Retry
BatchHandler = Callable[[Sequence[Delivery]], list[Outcome]]

MAX_ATTEMPTS = 8
BATCH = 256
"""Messages a consumer fetches (and keeps in flight) at a time, unless it says otherwise."""
TRANSACTION_REACTIONS = 24
TRANSACTION_SECONDS = 0.05
"""Reactions share a transaction (one commit) up to so many, or for so long: it holds the events
table lock from its first write, and the service's commands wait for it meanwhile. Each reaction
that writes takes two subtransactions (savepoints): PostgreSQL keeps up to 64 a transaction in
shared memory, beyond which every session's snapshots slow down."""


def durable_config(
    durable: str, filter_subjects: Sequence[str], batch: int = BATCH, ack_wait: float = 60.0
) -> ConsumerConfig:
    """A durable pull consumer of the stream as the kit runs it (made by the service, or ahead
    of it by `ops`: `caseline nats-stream`); `filter_subjects` prefixed already."""
    return ConsumerConfig(
        durable_name=durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=-1,
        # No more in flight than one batch: after a crash or a NAK, later messages would
        # otherwise be delivered before the unacknowledged ones (tests/faults shows it).
        max_ack_pending=batch,
        filter_subjects=list(filter_subjects) if len(filter_subjects) > 1 else None,
        filter_subject=filter_subjects[0] if len(filter_subjects) == 1 else None,
    )


def _filters(config: ConsumerConfig) -> list[str]:
    return sorted(
        config.filter_subjects or ([config.filter_subject] if config.filter_subject else [])
    )


class ConsumerMissingError(Exception):
    """The durable consumer `ops` makes is not there (yet)."""


class Consumer(Protocol):
    """What a service's durable consumer is made of: its name, subjects and batch handler.

    The durable is `<service>-<consumer>`; the ledger's one consumer of everything, whose
    `consumer` is empty, is `ledger`. `Reactions` is one; the ledger's intake is the other.
    """

    consumer: str
    batch: int

    def subjects(self) -> list[str]: ...

    def __call__(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...


class Subscriber:
    """One durable pull consumer on the stream, feeding batches to a synchronous handler."""

    def __init__(
        self,
        bus: Bus,
        durable: str,
        filter_subjects: Sequence[str],
        handle: BatchHandler,
        metrics: Metrics | None = None,
        *,
        batch: int = BATCH,
        ack_wait: float = 60.0,
        lag_interval: float = 5.0,
    ) -> None:
        self.bus = bus
        self.durable = durable
        self.filter_subjects = [bus.prefixed(s) for s in filter_subjects]
        self.handle = handle
        self.metrics = metrics
        self.batch = batch
        self.ack_wait = ack_wait
        self.lag_interval = lag_interval
        self.processed = 0

    async def _subscription(self) -> Any:
        js = await self.bus.jetstream()
        stream = self.bus.settings.stream
        config = durable_config(self.durable, self.filter_subjects, self.batch, self.ack_wait)
        try:
            info = await js.consumer_info(stream, self.durable)
            if self.bus.provisioned:
                if _filters(info.config) != _filters(config):
                    log.warning(
                        "consumer %s filters %s, not %s: run `caseline nats-stream`",
                        self.durable, _filters(info.config), _filters(config),
                    )  # fmt: skip
            else:
                # pull_subscribe ignores a changed config for an existing consumer: creating it
                # again with the same name updates what the server lets change (filters, limits).
                try:
                    await js.add_consumer(stream, config)
                except NatsError as exc:
                    log.warning("consumer %s keeps its old configuration: %r", self.durable, exc)
            if info.num_ack_pending:
                # Messages handed to a process that died come back only after ack_wait; a fetch
                # now would let later messages overtake them (tests/faults shows it).
                log.warning("consumer %s waits for unacknowledged messages", self.durable)
                await asyncio.sleep(self.ack_wait + 0.5)
        except NotFoundError:
            if self.bus.provisioned:
                # `ops` makes the consumers (the generated permissions let no service do it).
                raise ConsumerMissingError(
                    f"consumer {self.durable} is not in place: run `caseline nats-stream`"
                ) from None
            await js.add_consumer(stream, config)
        return await js.pull_subscribe_bind(self.durable, stream=stream)

    async def run(self) -> None:
        backoff = 0.2
        sub: Any = None
        while True:
            try:
                sub = await self._subscription()
                backoff = 0.2
                sampled = 0.0
                while True:
                    if self.metrics and time.monotonic() - sampled >= self.lag_interval:
                        sampled = time.monotonic()
                        await self._sample_lag(sub)
                    try:
                        msgs = await fetch(sub, self.batch, 1.0)
                    except TimeoutError:
                        continue
                    await self._process(msgs)
            except asyncio.CancelledError:
                # A pull answered after the fetch was cancelled stays queued, and the bus's drain
                # would wait for it until its timeout: drop the subscription first.
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(sub.unsubscribe(), timeout=2)
                raise
            except Exception as exc:
                log.warning("consumer %s waits: %s", self.durable, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _sample_lag(self, sub: Any) -> None:
        """Consumer lag as the server counts it: messages not yet delivered or not yet acked."""
        try:
            info = await sub.consumer_info()
        except Exception as exc:
            log.debug("consumer %s: no consumer info: %s", self.durable, exc)
            return
        if self.metrics:
            lag = (info.num_pending or 0) + (info.num_ack_pending or 0)
            self.metrics.consumer_lag.labels(self.durable).set(lag)

    async def _process(self, msgs: list[Any]) -> None:
        deliveries = [_delivery(m) for m in msgs]
        traces = [d.headers.get("traceparent") for d in deliveries]
        with consumer_span(f"{self.durable} batch", links=traces):
            work = asyncio.ensure_future(asyncio.to_thread(self.handle, deliveries))
            try:
                outcomes = await asyncio.shield(work)
            except asyncio.CancelledError:
                # Stopping: let the batch in hand finish (for a while) before the pool closes under
                # it, where its commit would retry for seconds; unacked, it is redelivered anyway.
                await asyncio.wait({work}, timeout=10)
                raise
        failed = False
        backoff = 0.0
        for msg, delivery, outcome in zip(msgs, deliveries, outcomes, strict=True):
            if failed or isinstance(outcome, Retry):
                if not failed and isinstance(outcome, Retry):
                    log.warning(
                        "consumer %s retries %s: %s", self.durable, delivery.subject, outcome.reason
                    )
                    backoff = min(30.0, 0.5 * delivery.num_delivered)
                failed = True
                # At once, not with a delay: a delayed message is overtaken by later ones
                # (tests/faults); the wait before the next fetch is ours, below.
                await msg.nak()
                continue
            if isinstance(outcome, Dead):
                if outcome.origin and self.metrics:
                    self.metrics.origin_refused.labels(self.durable).inc()
                await self.dead_letter(delivery, outcome.reason)
                await msg.term()
                continue
            await msg.ack()
            self.processed += 1
            if self.metrics:
                self.metrics.consumed.labels(self.durable).inc()
        if backoff:
            await asyncio.sleep(backoff)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        js = await self.bus.jetstream()
        headers = {
            "Caseline-Deadletter-Reason": reason[:1000],
            "Caseline-Original-Subject": delivery.subject,
            "Nats-Msg-Id": f"dead:{self.durable}:{delivery.stream_seq}",
        }
        await js.publish(
            self.bus.prefixed(f"caseline.deadletter.{self.durable}"), delivery.data, headers=headers
        )
        if self.metrics:
            self.metrics.deadletters.labels(self.durable).inc()
        log.warning("dead-lettered %s from %s: %s", delivery.subject, self.durable, reason)


def _delivery(msg: Any) -> Delivery:
    return Delivery(subject=msg.subject, data=msg.data, headers=msg.headers or {}, msg=msg)


Handler = Callable[[Envelope, Any, tuple[str, UUID]], None]
"""A reaction: gets the envelope, its payload (the catalogue model of the type it is registered
for) and the `inbound` record to commit with; in practice a method `on_<event>` of the application.
"""


class Reactions:
    """A service's reactions to other services' events, each processed exactly once.

    Handlers record through `app.commit(..., inbound=(consumer, envelope.id))`, so the record
    that the event was processed is written in the same transaction as what it caused. Reactions
    in a row share a transaction (`app.batch()`), each in a savepoint of its own, committed
    before their outcomes are returned (and acked): when that commit fails, all are retried.
    """

    batch = BATCH
    transaction_reactions = TRANSACTION_REACTIONS
    transaction_seconds = TRANSACTION_SECONDS

    def __init__(
        self, app: CaselineApplication, consumer: str, handlers: dict[type[CatalogueEvent], Handler]
    ):
        self.app = app
        self.consumer = consumer
        self.handlers = handlers
        self.keys = origin_keys(app.settings)
        self._done: set[UUID] | None = None
        """While a batch is handled: the ids of its events processed before or within it."""

    def subjects(self) -> list[str]:
        return [f"caseline.{m.service}.{m.event_name}.*" for m in self.handlers]

    def __call__(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        # Which of the batch were processed before, in one query (a redelivery after a crash);
        # those processed within the batch are added as it goes.
        self._done = self._processed(deliveries)
        try:
            return self._handle_all(deliveries, outcomes)
        finally:
            self._done = None

    def _handle_all(self, deliveries: Sequence[Delivery], outcomes: list[Outcome]) -> list[Outcome]:
        # A batch delivered again goes one reaction a transaction: one whose commit always fails
        # then fails alone, and is dead-lettered in the end, as any reaction that always fails.
        alone = bool(deliveries) and _attempts(deliveries[0]) > 1
        stopped = False
        while not stopped and len(outcomes) < len(deliveries):
            handled: list[Outcome] = []
            try:
                with self.app.batch():
                    stopped = self._handle_some(deliveries[len(outcomes) :], handled, alone)
            except Exception as exc:
                log.warning("%s: a batch of reactions was not committed: %r", self.consumer, exc)
                attempts = _attempts(deliveries[len(outcomes)])
                if alone and len(handled) == 1 and attempts >= MAX_ATTEMPTS:
                    handled = [Dead(f"not committed {attempts} times: {exc!r}")]
                else:
                    handled = [Retry(f"not committed: {exc!r}") for _ in handled]
                stopped = True
            outcomes.extend(handled)
        outcomes.extend(
            Retry("an earlier message must go first") for _ in deliveries[len(outcomes) :]
        )
        return outcomes

    def _handle_some(
        self, deliveries: Sequence[Delivery], outcomes: list[Outcome], alone: bool
    ) -> bool:
        """Handle deliveries in order, as many as one transaction takes (one when `alone`);
        whether one must be retried (and everything after it)."""
        started = time.monotonic()
        for delivery in deliveries:
            traceparent = delivery.headers.get("traceparent")
            correlation = delivery.headers.get("Caseline-Correlation-Id")
            with (
                consumer_span(f"{self.consumer} process", traceparent),
                log_context(correlationid=correlation, traceparent=traceparent),
            ):
                outcome = self.handle_one(delivery)
            outcomes.append(outcome)
            if isinstance(outcome, Retry):
                return True
            if (
                alone
                or len(outcomes) >= self.transaction_reactions
                or time.monotonic() - started >= self.transaction_seconds
            ):
                break
        return False

    def _processed(self, deliveries: Sequence[Delivery]) -> set[UUID]:
        ids = [i for d in deliveries if (i := _message_id(d)) is not None]
        try:
            return self.app.processed_among(self.consumer, ids)
        except Exception as exc:  # the database is down: each message finds out for itself
            log.debug("%s: no inbound look-up for the batch: %r", self.consumer, exc)
            return set()

    def handle_one(self, delivery: Delivery) -> Outcome:
        checked = check_envelope(delivery, self.app.settings.subject_prefix, self.keys)
        if isinstance(checked, Dead):
            return checked
        envelope, event = checked
        handler = self.handlers.get(type(event))
        if handler is None:
            return ACK
        event_id = UUID(str(envelope.id))
        done = self._done
        try:
            if done is not None and event_id in done:
                return ACK
            with self.app.savepoint():  # in a batch, what fails here is undone alone
                # Looked up alone when the batch's look-up could not know it (by its message id).
                if (done is None or _message_id(delivery) != event_id) and self.app.has_processed(
                    self.consumer, event_id
                ):
                    return ACK
                handler(envelope, event, (self.consumer, event_id))
        except RuleViolation as exc:
            # The reaction is refused by our own rules: nothing recorded, nothing to retry.
            log.info("%s: %s refused: %s", self.consumer, envelope.type, exc.detail)
            return ACK
        except IntegrityError:
            return Retry("concurrent change or already processed")
        except Exception as exc:
            if delivery.num_delivered >= MAX_ATTEMPTS:
                return Dead(f"failed {delivery.num_delivered} times: {exc!r}")
            return Retry(repr(exc))
        if done is not None:
            done.add(event_id)
        return ACK


def _attempts(delivery: Delivery) -> int:
    """How many times the message was delivered, this time included (1 when not told)."""
    try:
        return delivery.num_delivered
    except AttributeError:
        return 1


def _message_id(delivery: Delivery) -> UUID | None:
    """The event id the relay put in `Nats-Msg-Id` (the envelope's own id is checked against it
    where it matters); None when absent or not an id."""
    msg_id = delivery.headers.get("Nats-Msg-Id")
    if msg_id is None:
        return None
    try:
        return UUID(msg_id)
    except ValueError:
        return None


def check_envelope(
    delivery: Delivery, prefix: str, keys: OriginKeys
) -> Dead | tuple[Envelope, CatalogueEvent]:
    """The delivery's envelope and payload, validated against the catalogue and its origin
    (signed by the service owning its type, on that type's subject), or why it is refused.

    Whatever checking one message raises refuses that message: nothing in it is a passing
    failure, and a retry would stall every message behind it."""
    try:
        document = load_envelope(delivery.data)
        envelope, event = validate_envelope(document)
        forged = origin_problem(document, envelope, delivery.subject, prefix, keys)
    except EnvelopeError as exc:
        return Dead(exc.reason)
    except Exception as exc:
        reason = f"the envelope could not be checked: {exc!r:.500}"
        log.error("%s: %s", delivery.subject, reason)
        return Dead(reason)
    if forged is not None:
        return Dead(forged, origin=True)
    return envelope, event
