"""The shape every service process has: application + relay + reactions + HTTP.

`service_app` builds the FastAPI app of a service from its application class, routers, reactions
and background work (the ledger's too, without the parts of a service with events of its own);
`every` is the shape of periodic background work; `serve` runs a service under uvicorn (the
services' `__main__`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from nats.js.api import ConsumerConfig

from shared.events import by_type
from shared.kit.access_facts import ACCESS_TYPES, access_ops
from shared.kit.bus import Bus
from shared.kit.clock import Clock
from shared.kit.http import create_service_app
from shared.kit.i18n import translate
from shared.kit.lifecycle import ServiceParts
from shared.kit.migrations import open_migrated
from shared.kit.observability import configure_logging, configure_tracing
from shared.kit.origins import origin_keys
from shared.kit.recorder import Op
from shared.kit.relay import Relay
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication
from shared.kit.subscriber import (
    ACK,
    BATCH,
    Consumer,
    Dead,
    Delivery,
    Outcome,
    Retry,
    Subscriber,
    check_envelope,
    durable_config,
)

__all__ = [
    "DEFAULT_PORTS",
    "RECORDED",
    "AccessFacts",
    "ConsumerPlan",
    "access_reactions",
    "application",
    "consumer_configs",
    "durable_name",
    "every",
    "serve",
    "service_app",
    "service_consumers",
]

log = logging.getLogger("caseline.runtime")

DEFAULT_PORTS = {
    "intake": 8001,
    "assessment": 8002,
    "programmes": 8003,
    "judicial": 8004,
    "ledger": 8005,
}


async def application(request: Request) -> Any:
    """FastAPI dependency: the service's application object (async: no thread hop for it)."""
    return request.app.state.parts.application


RECORDED: dict[int | str, dict[str, Any]] = {
    201: {"description": "Recorded: `{case_id, event_id, version}` and the id of anything new"}
}
"""The documented answer of every command route."""


class AccessFacts:
    """The durable consumer `<service>-access`: the access facts of the other services' events
    (`shared.kit.access_facts`), a batch noted in one transaction.

    Only the types that change who may see a case, and only the other services' (a service's
    own events write their rows in the command's transaction): each envelope is validated and
    its origin checked as any reaction's, and recorded exactly once (`inbound`).
    """

    consumer = "access"
    batch = BATCH

    def __init__(self, app: CaselineApplication, service: str | None = None) -> None:
        self.app = app
        self.service = service
        self.keys = origin_keys(app.settings)

    def subjects(self) -> list[str]:
        types = (by_type(t) for t in sorted(ACCESS_TYPES))
        return [
            f"caseline.{m.service}.{m.event_name}.*" for m in types if m.service != self.service
        ]

    def __call__(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        noted: list[tuple[UUID, list[Op]]] = []
        prefix = self.app.settings.subject_prefix
        for delivery in deliveries:
            checked = check_envelope(delivery, prefix, self.keys)
            if isinstance(checked, Dead):
                outcomes.append(checked)
                continue
            envelope, event = checked
            try:
                ops = access_ops(
                    envelope.type, str(envelope.subject), envelope.id, envelope.agency, event
                )
            except Exception as exc:  # this message's own fault: never the batch's
                outcomes.append(Dead(f"no access facts could be made of it: {exc!r:.500}"))
                continue
            noted.append((UUID(str(envelope.id)), ops))
            outcomes.append(ACK)
        try:
            self.app.record_inbound_batch(self.consumer, noted)
        except Exception as exc:
            return [Retry(f"the access facts were not recorded: {exc!r}") for _ in deliveries]
        return outcomes


def access_reactions(app: CaselineApplication, service: str | None = None) -> AccessFacts:
    """Every event-sourced service learns the access facts of the others' events from the bus
    (`service`: the one whose own events are left out)."""
    return AccessFacts(app, service)


def service_consumers(
    app: Any,
    service: str,
    reactions: Callable[[Any], Sequence[Consumer]] | None,
    *,
    own_events: bool = True,
) -> list[Consumer]:
    """The durable consumers a service runs: its reactions, and with events of its own, the
    others' access facts."""
    consumers = list(reactions(app)) if reactions else []
    if own_events:
        consumers.append(access_reactions(app, service))
    return consumers


class ConsumerPlan:
    """Stands in for a service's application where only what its consumers are is read (their
    names, subjects and batches): what `ops` makes ahead of the services (`caseline
    nats-stream`, `consumer_configs`). Its handlers do nothing, and are never run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _never_run


def _never_run(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("a consumer plan's handler was run")


def consumer_configs(
    settings: Settings,
    service: str,
    reactions: Callable[[Any], Sequence[Consumer]] | None,
    *,
    own_events: bool = True,
) -> list[ConsumerConfig]:
    """The configuration of each durable consumer of `service`, as its subscriber runs it."""
    plan = ConsumerPlan(settings)
    return [
        durable_config(
            durable_name(service, consumer),
            [settings.subject_prefix + s for s in consumer.subjects()],
            consumer.batch,
        )
        for consumer in service_consumers(plan, service, reactions, own_events=own_events)
    ]


def durable_name(service: str, consumer: Consumer) -> str:
    """The durable consumer's name: `<service>-<consumer>`, or the ledger's `ledger`."""
    return f"{service}-{consumer.consumer}" if consumer.consumer else service


def service_app(
    service: str,
    application_class: Callable[[Settings, Clock | None], Any],
    routers: Sequence[APIRouter],
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    reactions: Callable[[Any], Sequence[Consumer]] | None = None,
    background: Callable[[ServiceParts], Sequence[Coroutine[Any, Any, None]]] | None = None,
    own_events: bool = True,
    description: str = "",
) -> FastAPI:
    """The FastAPI app of one service: its application, routes, consumers and background work.

    `reactions(app)` gives the service's consumers (its `inbound.reactions`); `background(parts)`
    its own long-running work, built before anything starts (a part that cannot be built stops
    the start with nothing running). A service with events of its own (`own_events`, all but the
    ledger) also gets the relay of its outbox, the consumer of the others' access facts and, with
    a ledger configured, reconciliation against it.
    """
    settings = settings or Settings()

    async def start(parts: ServiceParts) -> None:
        app = await asyncio.to_thread(
            open_migrated, settings, service, lambda: application_class(settings, clock)
        )
        parts.application = app
        parts.access = app.access
        bus = Bus(settings, service)
        bus.start()
        parts.bus = bus
        work = list(background(parts)) if background else []
        consumers = service_consumers(app, service, reactions, own_events=own_events)
        relay: Relay | None = None
        if own_events:
            relay = Relay(
                app,
                bus,
                parts.metrics,
                batch=settings.relay_batch,
                poll_seconds=settings.relay_poll_seconds,
            )
            app.listeners.append(relay.wake)
            parts.relay = relay
            parts.tasks.append(asyncio.create_task(relay.run(), name=f"{service}-relay"))
        for consumer in consumers:
            durable = durable_name(service, consumer)
            subscriber = Subscriber(
                bus, durable, consumer.subjects(), consumer, parts.metrics, batch=consumer.batch
            )
            parts.tasks.append(asyncio.create_task(subscriber.run(), name=durable))
        for coroutine in work:
            name = f"{service}-{getattr(coroutine, '__qualname__', 'background')}"
            parts.tasks.append(asyncio.create_task(coroutine, name=name))
        if own_events and settings.ledger_url and settings.reconcile_seconds > 0:
            from shared.kit.reconcile import HttpLedger, Reconciler

            reconciler = Reconciler(
                app, bus, HttpLedger(settings, service),
                margin_seconds=settings.reconcile_margin_seconds, metrics=parts.metrics,
            )  # fmt: skip
            task = reconciler.run_forever(settings.reconcile_seconds)
            parts.tasks.append(asyncio.create_task(task, name=f"{service}-reconcile"))

        async def database() -> str | None:
            try:
                await asyncio.to_thread(app.ping)
            except Exception:
                return translate("the database is unreachable", context="not-ready")
            return None

        parts.readiness += [database, bus.readiness, *([relay.readiness] if relay else [])]

    return create_service_app(
        service, settings, routers=routers, start=start, description=description
    )


async def every(seconds: float, step: Callable[[], None], what: str) -> None:
    """Background work: `step` (synchronous, in a worker thread) at once, then every `seconds`;
    a failure is logged and tried again at the next interval."""
    while True:
        try:
            await asyncio.to_thread(step)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed, retrying at the next interval: %s", what, exc)
        await asyncio.sleep(seconds)


def serve(service: str, create_app: Callable[[], FastAPI]) -> None:
    """Run a service under uvicorn on its configured (or default) port."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings.tracing, service)
    app = create_app()
    # The ~90,000 objects the imports made live as long as the process: kept out of every
    # collection, a full one (otherwise ~60 ms, at any moment) no longer stalls a request.
    gc.collect()
    gc.freeze()
    with _profiled(service):
        _run(app, settings, service)


def _run(app: FastAPI, settings: Settings, service: str) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port or DEFAULT_PORTS[service],
        log_level="warning",
        log_config=None,  # uvicorn's records go through our JSON handler
        # The C HTTP parser rather than h11, and uvloop (both dependencies; uvloop where it
        # exists, asyncio's own loop elsewhere): 6-20 % less CPU per command in the bench, now
        # that the relay and consumers no longer use nats-py's request-reply (bench/RESULTS.md).
        loop="auto",
        http="httptools",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@contextlib.contextmanager
def _profiled(service: str) -> Iterator[None]:
    """With `CASELINE_PROFILE_DIR` set (and yappi installed, a tool, not a dependency): the CPU
    time of every thread of the process, written at its end to `<dir>/<service>.prof` (pstats),
    the way the bench's profiles in `bench/RESULTS.md` were taken."""
    folder = os.environ.get("CASELINE_PROFILE_DIR")
    if not folder:
        yield
        return
    import yappi  # type: ignore[import-not-found,import-untyped,unused-ignore]

    # uvicorn ends by raising the SIGTERM it stopped on again: this handler, which it restores
    # before, lets the profile be written instead of the process dying at once.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    try:
        yield
    finally:
        yappi.stop()
        Path(folder).mkdir(parents=True, exist_ok=True)
        yappi.get_func_stats().save(str(Path(folder) / f"{service}.prof"), type="pstat")
