"""The outbox relay: publishes a service's recorded events to JetStream, in order, exactly once.

It follows the store's notification log from its recorded position, publishes each event with
`Nats-Msg-Id` = event id, a batch at a time (the kit's `BatchPublisher`), waits for every ack, and
only then records the new position. A crash between publishing and recording re-publishes the same
ids, which JetStream de-duplicates (and the ledger, being idempotent on event id, ignores past the
window). Only one relay per service publishes at a time (a PostgreSQL advisory lock), so replicas
are safe.

Each envelope is validated against the catalogue before it leaves: a stored event the ledger would
refuse is not published, and since order must hold, neither is anything after it. The relay stops
there and says so — an error log naming the event, `caseline_relay_refused_total`, the gauge
`caseline_relay_stuck_position` and `/readyz` — until the event is dealt with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import psycopg

from shared.kit.bus import Bus
from shared.kit.i18n import translate
from shared.kit.metrics import Metrics
from shared.kit.observability import current_traceparent, producer_span
from shared.kit.outgoing import Outgoing, RefusedEventError, outgoing, outgoing_all
from shared.kit.publish import BatchPublisher
from shared.kit.store import CaselineApplication

__all__ = ["Outgoing", "Refusal", "RefusedEventError", "Relay", "outgoing"]

log = logging.getLogger("caseline.relay")

REFUSED_RETRY_SECONDS = 5.0
"""How often a relay stopped at an event it refuses reads it again."""


async def _to_the_end(work: Callable[[], Any]) -> Any:
    """`work` in a thread; when cancelled meanwhile (stopping), wait for it (for a while) first,
    so that the pool is not closed under it (the library would retry against it for seconds)."""
    future = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait({future}, timeout=10)
        raise


class Refusal(NamedTuple):
    """Where the relay stopped: the notification it will not publish, its event and why."""

    position: int
    event_id: str
    reason: str


Batch = list[tuple[int, str, bytes, dict[str, str]]]
"""Notifications as (id, subject, body, headers); an internal one has no subject."""


POSITION_EVERY = 0.5
"""Seconds between two records of the relay's position while it publishes without pause."""


class Relay:
    """Publishes one service's notification log to the stream."""

    def __init__(
        self,
        app: CaselineApplication,
        bus: Bus,
        metrics: Metrics | None = None,
        *,
        batch: int = 1024,
        poll_seconds: float = 0.2,
        ack_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.bus = bus
        self.metrics = metrics
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.ack_timeout = ack_timeout
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock_conn: psycopg.Connection[Any] | None = None
        self._prefetched: tuple[int, asyncio.Future[Batch]] | None = None
        self._batches: BatchPublisher | None = None
        self._known: int | None = None  # the position this relay has published up to
        self._unsaved: int | None = None  # that position, when not yet saved
        self._saved_at = float("-inf")  # when the position was last saved (monotonic)
        self._led_at = float("-inf")  # when the lock was last seen held
        self._caught_up = False  # the last step's read found the log's end
        self.published = 0
        self.refused: Refusal | None = None  # the event the relay stopped at, if any

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
                    # The lock's connection is checked once a second, not once a batch. Should
                    # it die meanwhile, a replica taking over publishes the same ids in the same
                    # order for at most that second: the stream keeps each id once, in order.
                    if self._loop.time() - self._led_at > 1.0:
                        if not await asyncio.to_thread(self._hold_leadership):
                            await asyncio.sleep(1.0)
                            continue
                        self._led_at = self._loop.time()
                    moved = await self.step()
                    backoff = 0.1
                    if not moved or self._caught_up:
                        # Caught up. The position is recorded when it is `POSITION_EVERY` old,
                        # or once a whole poll passes with nothing new: not at every pause of
                        # a steady trickle (one transaction per command, else).
                        if time.monotonic() - self._saved_at >= POSITION_EVERY:
                            await self.save_position()
                        if not await self._idle():
                            await self.save_position()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._led_at = float("-inf")
                    log.warning("relay for %s waits: %s", self.app.service, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            await self._drop_prefetched()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.save_position()
            if self._batches is not None:
                with contextlib.suppress(Exception):
                    await self._batches.close()
            await asyncio.to_thread(self._release_leadership)

    async def _idle(self) -> bool:
        """Wait for a wake-up or the next poll; whether woken before it."""
        if self.refused is not None:
            # Stopped at an event it refuses: new events cannot go before it, so look again
            # only now and then (an operator may have mended the stored event meanwhile).
            await asyncio.sleep(REFUSED_RETRY_SECONDS)
            return False
        # Not cleared here but before each read (`_step`): a wake-up that came while the last
        # batch was published is for an event that read may not have seen.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_seconds):  # not `wait_for`: see `shared.kit.pull`
                await self._wake.wait()
                return True
        return False

    async def step(self) -> int:
        """Publish the next batch after the recorded position; returns how many were handled."""
        try:
            return await self._step()
        except BaseException:
            self._known = self._unsaved = None  # read the position again before the next batch
            raise

    async def save_position(self) -> None:
        """Record the position published up to, if it is not recorded yet."""
        position = self._unsaved
        if position is not None:
            await _to_the_end(lambda: self._save_position(position))
            self._saved_at = time.monotonic()
            if self._unsaved == position:
                self._unsaved = None

    async def _step(self) -> int:
        # Only the relay holding the lock writes the position: while it holds it, the position
        # it saved is the one recorded, and is read again only after a failure or a new lock.
        position = self._known if self._known is not None else await _to_the_end(self.position)
        # Every event saved from now on wakes the relay again, whether or not this read sees it.
        self._wake.clear()
        batch = await self._prefetched_batch(position)
        # A batch read now, short of full, is all there was: caught up, without reading again.
        self._caught_up = False
        if batch is None:
            batch = await _to_the_end(lambda: self._next_batch(position))
            self._caught_up = len(batch) < self.batch
        if not batch:
            if self.metrics and self.refused is None:
                self.metrics.relay_lag_events.set(0)
                self.metrics.relay_lag_seconds.set(0)
            return 0
        publishable = [item for item in batch if item[1]]
        if publishable:
            sending = await (await self._publisher()).batch()
            for _, subject, body, headers in publishable:
                # Sent one by one so the messages leave in log order; acks are awaited together.
                with producer_span(subject, headers.get("traceparent")):
                    if (traceparent := current_traceparent()) is not None:
                        headers = {**headers, "traceparent": traceparent}
                    await sending.send(subject, body, headers)
            if len(batch) == self.batch:  # a backlog: read the next batch while the acks come
                after = batch[-1][0]
                future = asyncio.ensure_future(asyncio.to_thread(self._next_batch, after))
                self._prefetched = (after, future)
            try:
                await sending.acked(self.ack_timeout)
            except BaseException:
                await self._drop_prefetched()
                raise
        # Recorded at most every `POSITION_EVERY` seconds while events keep coming, and once a
        # poll passes without any (`run`): a relay dying meanwhile makes its successor publish
        # those events again, which the stream drops as duplicates (`Nats-Msg-Id`, a window of
        # two minutes or more).
        self._known = self._unsaved = batch[-1][0]
        if time.monotonic() - self._saved_at >= POSITION_EVERY:
            await self.save_position()
        if self.refused is not None and self._known >= self.refused.position:
            self._resolved()
        self.published += len(publishable)
        if self.metrics:
            self.metrics.relay_published.inc(len(publishable))
            # caseline.<service>.<EventName>.<subject>: counted per event name, once a batch
            names = Counter(subject.split(".")[-2] for _, subject, _, _ in publishable)
            for name, count in names.items():
                self.metrics.events_published.labels(name).inc(count)
        return len(batch)

    async def _publisher(self) -> BatchPublisher:
        if self._batches is None:
            await self.bus.jetstream()  # connected, the stream in place
            self._batches = BatchPublisher(self.bus.nc)
        return self._batches

    async def _prefetched_batch(self, position: int) -> Batch | None:
        """The batch read ahead during the last step, if it follows `position` and is not empty."""
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is None:
            return None
        after, future = prefetched
        try:
            batch = await future
        except Exception:
            return None  # read again, the usual way
        return batch if after == position and batch else None

    async def _drop_prefetched(self) -> None:
        # Let a read in flight finish (for a while), so that the pool is not closed under it.
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None:
            await asyncio.wait({prefetched[1]}, timeout=10)
            if prefetched[1].done() and not prefetched[1].cancelled():
                prefetched[1].exception()  # retrieved: a failed read ahead is not worth a warning

    def _next_batch(self, position: int) -> Batch:
        """The notifications after `position` as (id, subject, body, headers); internal ones have
        no subject."""
        out: Batch = []
        rows = self.app.store.select_states(position + 1, self.batch)
        oldest: datetime | None = None
        # As stored: personal fields stay sealed on the bus (crypto-shredding). In order or not
        # at all: nothing after an event the catalogue refuses leaves before it.
        messages, refused = outgoing_all(self.bus, self.app.service, [row[1] for row in rows])
        for (notification_id, _), message in zip(rows, messages, strict=False):
            if message is None:
                out.append((notification_id, "", b"", {}))
                continue
            oldest = oldest or message.recorded_at
            out.append((notification_id, message.subject, message.body, message.headers))
        if refused is not None:
            self._refuse(rows[len(messages)][0], refused)
        if self.metrics and rows:
            # A batch short of full ends at the newest notification (as read): no query for it.
            full = len(rows) == self.batch
            max_id = (self.app.recorder.max_notification_id() or 0) if full else rows[-1][0]
            self.metrics.relay_lag_events.set(max(0, max_id - position))
            if oldest is not None:
                lag = (self.app.clock.now() - oldest).total_seconds()
                self.metrics.relay_lag_seconds.set(max(0.0, lag))
        return out

    def _refuse(self, position: int, refused: RefusedEventError) -> None:
        if self.refused is not None and self.refused.position == position:
            return  # reported when first met; the gauge and /readyz keep saying it
        self.refused = Refusal(position, refused.event_id, refused.reason)
        log.error(
            "relay for %s refuses to publish event %s (notification %d), which the ledger would "
            "refuse: %s; nothing after it is published until it is dealt with",
            self.app.service, refused.event_id, position, refused.reason,
            extra={"event_id": refused.event_id, "notification_id": position},
        )  # fmt: skip
        if self.metrics:
            self.metrics.relay_refused.inc()
            self.metrics.relay_stuck_position.set(position)

    def _resolved(self) -> None:
        if self.refused is not None:
            log.info("relay for %s published event %s", self.app.service, self.refused.event_id)
        self.refused = None
        if self.metrics:
            self.metrics.relay_stuck_position.set(0)

    async def readiness(self) -> str | None:
        """Why the service is not ready, from the relay's side: an event it refuses to publish."""
        refused = self.refused
        if refused is None:
            return None
        return translate(
            "the relay refuses event {event_id} (notification {position}): {reason}; nothing"
            " recorded after it is published",
            context="not-ready",
            event_id=refused.event_id,
            position=refused.position,
            reason=refused.reason,
        )

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
            self._known = None  # another relay may have moved it meanwhile
            return True
        conn.close()
        return False

    def _release_leadership(self) -> None:
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                self._lock_conn.close()
            self._lock_conn = None
