"""The outbox relay: publishes a service's recorded events to JetStream, in order, exactly once.

It follows the store's notification log from its recorded position, publishes each event with
`Nats-Msg-Id` = event id, waits for every ack, and only then records the new position. A crash
between publishing and recording re-publishes the same ids, which JetStream de-duplicates (and the
ledger, being idempotent on event id, ignores past the window). Only one relay per service publishes
at a time (a PostgreSQL advisory lock), so replicas are safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from shared.events import CLOUDEVENTS_JSON, CatalogueEvent, build_envelope
from shared.kit.bus import Bus
from shared.kit.metrics import Metrics
from shared.kit.observability import current_traceparent, producer_span
from shared.kit.store import CaselineApplication, Meta

__all__ = ["Outbound", "Relay", "default_outbound", "message_for"]

log = logging.getLogger("caseline.relay")

Outbound = Callable[[Any], tuple[CatalogueEvent, Meta] | None]
"""Maps a stored domain event to the catalogue event it publishes, or None for internal ones."""


def default_outbound(event: Any) -> tuple[CatalogueEvent, Meta] | None:
    data, meta = getattr(event, "data", None), getattr(event, "meta", None)
    if isinstance(data, CatalogueEvent) and isinstance(meta, Meta):
        return data, meta
    return None


def message_for(
    bus: Bus, data: CatalogueEvent, meta: Meta, personaldata: dict[str, Any] | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """The subject, CloudEvents body and headers (`Nats-Msg-Id` = event id) of one event.

    The relay and reconciliation both publish through it, so a re-published event is identical.
    """
    envelope = build_envelope(
        data,
        event_id=meta.event_id,
        subject=meta.subject,
        actor=meta.actor,
        agency=meta.agency,
        recorded_at=meta.recorded_at,
        causation_id=meta.causation_id,
        correlation_id=meta.correlation_id,
        traceparent=meta.traceparent,
        personaldata=personaldata,
    )
    headers = {"Nats-Msg-Id": str(meta.event_id), "Content-Type": CLOUDEVENTS_JSON}
    if meta.traceparent:
        headers["traceparent"] = meta.traceparent
    if meta.correlation_id:
        headers["Caseline-Correlation-Id"] = str(meta.correlation_id)
    return bus.subject(data, meta.subject), envelope.to_json_bytes(), headers


async def _to_the_end(work: Callable[[], Any]) -> Any:
    """`work` in a thread; when cancelled meanwhile (stopping), wait for it (for a while) first,
    so that the pool is not closed under it (the library would retry against it for seconds)."""
    future = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait({future}, timeout=10)
        raise


class Relay:
    """Publishes one service's notification log to the stream."""

    def __init__(
        self,
        app: CaselineApplication,
        bus: Bus,
        outbound: Outbound,
        metrics: Metrics | None = None,
        *,
        batch: int = 256,
        poll_seconds: float = 0.2,
        ack_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.bus = bus
        self.outbound = outbound
        self.metrics = metrics
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_conn: psycopg.Connection[Any] | None = None
        self.published = 0

    # -- called from any thread after the application saved events
    def wake(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.1
        try:
            while True:
                try:
                    if not await asyncio.to_thread(self._hold_leadership):
                        await asyncio.sleep(1.0)
                        continue
                    moved = await self.step()
                    backoff = 0.1
                    if not moved:
                        self._wake.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("relay for %s waits: %s", self.app.service, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            await asyncio.to_thread(self._release_leadership)

    async def step(self) -> int:
        """Publish the next batch after the recorded position; returns how many were handled."""
        batch = await _to_the_end(self._next_batch)
        if not batch:
            if self.metrics:
                self.metrics.relay_lag_events.set(0)
                self.metrics.relay_lag_seconds.set(0)
            return 0
        publishable = [item for item in batch if item[1]]
        if publishable:
            js = await self.bus.jetstream()
            futures = []
            for _, subject, body, headers in publishable:
                # Awaited one by one so the messages leave in log order; acks are awaited together.
                with producer_span(subject, headers.get("traceparent")):
                    if (traceparent := current_traceparent()) is not None:
                        headers = {**headers, "traceparent": traceparent}
                    futures.append(await js.publish_async(subject, body, headers=headers))
            await asyncio.wait_for(asyncio.gather(*futures), timeout=self.ack_timeout)
        await _to_the_end(lambda: self._save_position(batch[-1][0]))
        self.published += len(publishable)
        if self.metrics:
            self.metrics.relay_published.inc(len(publishable))
            for _, subject, _, _ in publishable:  # caseline.<service>.<EventName>.<subject>
                self.metrics.events_published.labels(subject.split(".")[-2]).inc()
        return len(batch)

    def _next_batch(self) -> list[tuple[int, str, bytes, dict[str, str]]]:
        """The next notifications as (id, subject, body, headers); internal ones have no subject."""
        position = self.position()
        out: list[tuple[int, str, bytes, dict[str, str]]] = []
        notifications = self.app.notifications(position + 1, self.batch)
        oldest: datetime | None = None
        for notification in notifications:
            # The sealed form: personal fields stay encrypted on the bus (crypto-shredding).
            event = self.app.decode_sealed(notification)
            mapped = self.outbound(event)
            if mapped is not None and mapped[0].service != self.app.service:
                mapped = None  # a service publishes only its own catalogue events
            if mapped is None:
                out.append((notification.id, "", b"", {}))
                continue
            data, meta = mapped
            oldest = oldest or meta.recorded_at
            personal = getattr(event, "personal", None)
            out.append((notification.id, *message_for(self.bus, data, meta, personal)))
        if self.metrics and notifications:
            max_id = self.app.recorder.max_notification_id() or 0
            self.metrics.relay_lag_events.set(max(0, max_id - position))
            if oldest is not None:
                lag = (self.app.clock.now() - oldest).total_seconds()
                self.metrics.relay_lag_seconds.set(max(0.0, lag))
        return out

    def position(self) -> int:
        rows = self.app.fetch("SELECT position FROM {schema}.relay_position WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def _save_position(self, position: int) -> None:
        with self.app.cursor() as curs:
            curs.execute(
                self.app.store.fmt(
                    "INSERT INTO {schema}.relay_position (id, position) VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET position = GREATEST("
                    "{schema}.relay_position.position, excluded.position), updated_at = now()"
                ),
                (position,),
            )
            curs.connection.commit()

    # -- leadership: one publishing relay per service, whatever the number of replicas
    def _hold_leadership(self) -> bool:
        conn = self._lock_conn
        if conn is not None and not conn.closed:
            try:
                conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                with contextlib.suppress(Exception):
                    conn.close()
                self._lock_conn = None
        conn = psycopg.connect(
            self.app.settings.database.conninfo(), autocommit=True, connect_timeout=5
        )
        key = zlib.crc32(f"caseline-relay:{self.app.service}".encode())
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if got and got[0]:
            self._lock_conn = conn
            return True
        conn.close()
        return False

    def _release_leadership(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.close()
            self._lock_conn = None
