"""Per-agency deliveries over JetStream: each appended entry, as each registered agency may see it.

The ledger tails its own entries by `ledger_seq` and publishes, for every agency of the registry
(`shared.agencies`), the entries that agency's `GET /events` feed would show it — by type, by case
(sealed, or not linked to it), fields removed, other cases unnamed — on
`deliver.<agency>.caseline.<service>.<EventName>.<case_id>` into the stream `CASELINE_DELIVERIES`,
with the entry's `ledger_seq` and hash in headers and `Nats-Msg-Id` `<agency>.<ledger_seq>`. Only
appended entries are delivered, so never an event the ledger refused; an entry's access facts are
written in its append's own transaction, so a sealing or a link in the same batch already counts.

Personal fields are never delivered: they stay `[encrypted]` placeholders (the ciphertext is left
out, `personaldata: "withheld"`), and an agency resolves them through the ledger's timeline with
its token, an audited read that answers `[erased]` once the case's key is destroyed
(docs/agencies.md). So the stream never holds what an erasure must remove.

The ledger makes the stream and one durable pull consumer per agency (`agency-<id>`), with a
back-off and `max_deliver`; a message delivered that many times unacked is parked: the server's
advisory becomes a row of `delivery_parked`, which an operator lists and delivers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from prometheus_client import Gauge

from services.ledger.schema import SCHEMA
from services.ledger.store import feed_on
from services.ledger.visibility import feed_view
from shared.agencies import (
    DELIVERY_BACKOFF,
    DELIVERY_MAX_DELIVER,
    DELIVERY_PREFIX,
    DELIVERY_STREAM_SUFFIX,
    Agency,
    delivery_subject,
)
from shared.events import by_type, subject_for
from shared.kit.bus import Bus
from shared.kit.scope import CaseAccess

if TYPE_CHECKING:
    import psycopg
    from nats.js import JetStreamContext

    from services.ledger.application import LedgerApplication
    from shared.kit.metrics import Metrics

__all__ = ["Deliveries", "agency_view", "delivery_consumer", "delivery_stream"]

log = logging.getLogger("caseline.ledger.deliveries")

SEQ_HEADER = "Caseline-Ledger-Seq"
HASH_HEADER = "Caseline-Entry-Hash"
WITHHELD = "withheld"
_PUBLISH_SECONDS = 30.0
_IN_FLIGHT = 256
_WATCH_SECONDS = 5.0

Message = tuple[str, bytes, dict[str, str]]


def agency_view(
    agency: Agency, entries: Sequence[dict[str, Any]], access: CaseAccess
) -> list[dict[str, Any]]:
    """What `agency` may see of these entries, redacted, in their order: its role's types and
    fields, its cases only, no other case named, personal fields withheld (placeholders)."""
    own = [{**e, "event": _withheld(e["event"])} for e in entries]
    return feed_view(agency.user, own, access, None)


def _withheld(event: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its own copy of `data` (fields are removed from it) and no ciphertext."""
    shown = {**event, "data": copy.deepcopy(event.get("data") or {})}
    if isinstance(event.get("personaldata"), dict):
        shown["personaldata"] = WITHHELD
    return shown


def delivery_stream(bus: Bus) -> StreamConfig:
    """`CASELINE_DELIVERIES`: file storage, `deliver.>`, kept 30 days and
    `CASELINE_DELIVERY_STREAM_MAX_BYTES` (10 GiB) at most, the oldest going first; an agency away
    longer catches up from `GET /events`."""
    return StreamConfig(
        name=bus.settings.stream + DELIVERY_STREAM_SUFFIX,
        subjects=[bus.prefixed(f"{DELIVERY_PREFIX}>")],
        storage=StorageType.FILE,
        duplicate_window=float(bus.settings.duplicate_window_seconds),
        num_replicas=bus.settings.stream_replicas,
        max_age=30 * 24 * 3600.0,
        max_bytes=bus.settings.delivery_stream_max_bytes,
    )


def delivery_consumer(
    agency: Agency,
    bus: Bus,
    backoff: Sequence[float] = DELIVERY_BACKOFF,
    max_deliver: int = DELIVERY_MAX_DELIVER,
) -> ConsumerConfig:
    """The agency's durable pull consumer: its own subjects, explicit acks, back-off, parking."""
    return ConsumerConfig(
        durable_name=agency.durable,
        filter_subject=bus.prefixed(agency.subjects),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=backoff[0],
        backoff=list(backoff),
        max_deliver=max_deliver,
        # One in flight: a message retried holds back the ones after it, so an agency receives
        # each case's entries in ledger order even across a disconnection (docs/agencies.md).
        max_ack_pending=1,
    )


class Deliveries:
    """The ledger's tail of its entries, published per agency (one task per ledger process)."""

    def __init__(
        self,
        ledger: LedgerApplication,
        bus: Bus,
        agencies: Sequence[Agency],
        *,
        batch: int = 256,
        poll_seconds: float = 1.0,
        metrics: Metrics | None = None,
        backoff: Sequence[float] = DELIVERY_BACKOFF,
        max_deliver: int = DELIVERY_MAX_DELIVER,
    ) -> None:
        self.ledger = ledger
        self.bus = bus
        self.agencies = tuple(agencies)
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self.backoff = tuple(backoff)
        self.max_deliver = max_deliver
        self.stream = bus.settings.stream + DELIVERY_STREAM_SUFFIX
        self.published = 0
        self.last_read = 0  # entries the last batch read: as many as `batch` means more may wait
        self.last_delivery: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gauges = _gauges(metrics) if metrics is not None else None
        ledger.store.listeners.append(self.wake)

    def wake(self, appended: int = 0) -> None:
        """Deliver now rather than at the next poll (safe from any thread; called after each
        append with the number of entries it added)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- the task -------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._until(self._prepare)
        watch = asyncio.create_task(self._watch(), name="ledger-deliveries-watch")
        try:
            backoff = 0.2
            while True:
                # Cleared before the step, not after the wait: an append meanwhile wakes the next.
                self._wake.clear()
                try:
                    if await self.step():
                        backoff = 0.2
                        if self.last_read >= self.batch:
                            continue  # a backlog: its next batch at once
                except Exception as exc:
                    log.warning("deliveries wait: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                with contextlib.suppress(TimeoutError):
                    # Not `wait_for`, which may lose the cancellation that stops this (3.11).
                    async with asyncio.timeout(self.poll_seconds):
                        await self._wake.wait()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch

    async def _until(self, step: Any) -> None:
        backoff = 0.2
        while True:
            try:
                await step()
                return
            except Exception as exc:
                log.warning("deliveries wait to start: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _prepare(self) -> None:
        """The position (from the first start on, what is appended from then on), the stream,
        each agency's consumer, and the subscription to the server's parking advisories."""
        await asyncio.to_thread(self._start_position)
        js = await self.bus.jetstream()
        await self.ensure(js)
        nc = self.bus.nc
        assert nc is not None  # noqa: S101 (jetstream() returned: connected once)
        advisory = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.stream}.*"
        await nc.subscribe(advisory, cb=self._on_parked)

    async def ensure(self, js: JetStreamContext) -> None:
        """Make (or bring up to date) the stream and every registered agency's consumer."""
        if not self.agencies:  # delivering to no one: no stream to keep
            return
        config = delivery_stream(self.bus)
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(config)
        for agency in self.agencies:
            consumer = delivery_consumer(agency, self.bus, self.backoff, self.max_deliver)
            # Without an action the server creates the durable, or updates it to this config.
            await js.add_consumer(self.stream, consumer)

    async def step(self) -> bool:
        """Deliver the next batch of appended entries; False when there was none (or no NATS)."""
        await self.bus.jetstream()  # connected once
        if not self.bus.connected:
            return False
        loop = asyncio.get_running_loop()
        work = asyncio.ensure_future(asyncio.to_thread(self._deliver_batch, loop))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Stopping: let the batch in hand end (its publication needs this loop) before the
            # pool closes under it; unfinished, it is published again after the restart, and
            # the stream drops the repeats by their `Nats-Msg-Id`.
            await asyncio.wait({work}, timeout=10)
            raise

    # --- one batch, in a worker thread ----------------------------------------------------

    def _start_position(self) -> None:
        with self.ledger.store.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.delivery_position (delivered_seq)"
                f" SELECT coalesce(max(ledger_seq), 0) FROM {SCHEMA}.entries"
                " ON CONFLICT DO NOTHING"
            )
            conn.commit()

    def _deliver_batch(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Publish the next appended entries and move the position; False when there were none.

        Appends are serialised by one lock and commit in `ledger_seq` order, so every entry
        this reads is complete with its access facts, and none before it is still to come."""
        with self.ledger.store.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT delivered_seq FROM {SCHEMA}.delivery_position FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:  # another ledger process is delivering
                return False
            delivered = int(row[0])
            entries = feed_on(conn, delivered, self.batch)
            self.last_read = len(entries)
            if not entries:
                return False
            messages = self.messages(entries, CaseAccess(_fetch_on(conn)))
            if messages:
                future = asyncio.run_coroutine_threadsafe(self._publish(messages), loop)
                try:
                    future.result(timeout=_PUBLISH_SECONDS)
                except BaseException:
                    future.cancel()
                    raise
            upto = int(entries[-1]["ledger_seq"])
            conn.execute(f"UPDATE {SCHEMA}.delivery_position SET delivered_seq = %s", (upto,))
        self.published += len(messages)
        return True

    def messages(self, entries: Sequence[dict[str, Any]], access: CaseAccess) -> list[Message]:
        """Every agency's deliveries of these entries: subject, JSON body, headers."""
        out: list[Message] = []
        if not entries:
            return out
        for agency in self.agencies:
            for entry in agency_view(agency, entries, access):
                subject = self._subject(agency, entry["event"])
                if subject is None:
                    continue
                seq = str(entry["ledger_seq"])
                headers = {
                    SEQ_HEADER: seq,
                    HASH_HEADER: entry["hash"],
                    "Nats-Msg-Id": f"{agency.id}.{seq}",
                }
                out.append((subject, _json(entry), headers))
        return out

    def _subject(self, agency: Agency, event: dict[str, Any]) -> str | None:
        try:
            subject = subject_for(by_type(str(event.get("type"))), str(event.get("subject")))
        except (KeyError, ValueError) as exc:
            # Stored before the catalogue changed, or a subject no NATS token can carry.
            log.warning("no delivery subject for %s: %s", event.get("id"), exc)
            return None
        return self.bus.prefixed(delivery_subject(agency.id, subject))

    async def _publish(self, messages: Sequence[Message]) -> None:
        """Publish with up to `_IN_FLIGHT` acks awaited at once; every one stored, or raise."""
        js = await self.bus.jetstream()
        gate = asyncio.Semaphore(_IN_FLIGHT)

        async def one(subject: str, body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                await js.publish(subject, body, stream=self.stream, headers=headers)

        await asyncio.gather(*(one(*m) for m in messages))
        now = time.time()
        prefix = self.bus.prefixed(DELIVERY_PREFIX)
        for subject, _, _ in messages:
            self.last_delivery[subject.removeprefix(prefix).split(".", 1)[0]] = now

    # --- parking --------------------------------------------------------------------------

    async def _on_parked(self, msg: Any) -> None:
        """A message an agency did not ack `max_deliver` times: record it for the operators."""
        try:
            advisory = json.loads(msg.data)
            durable, stream_seq = str(advisory["consumer"]), int(advisory["stream_seq"])
            js = await self.bus.jetstream()
            stored = await js.get_msg(self.stream, stream_seq)
            headers = stored.headers or {}
            agency = durable.removeprefix("agency-")
            ledger_seq = int(headers.get(SEQ_HEADER, "0"))
            await asyncio.to_thread(self._park, agency, ledger_seq, stream_seq)
        except Exception as exc:
            log.warning("a parking advisory could not be recorded: %s", exc)
            return
        log.warning(
            "delivery %d to %s parked after %d attempts", ledger_seq, agency, self.max_deliver
        )

    def _park(self, agency: str, ledger_seq: int, stream_seq: int) -> None:
        with self.ledger.store.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.delivery_parked (agency, ledger_seq, stream_seq)"
                " VALUES (%s, %s, %s) ON CONFLICT (agency, ledger_seq) DO UPDATE"
                " SET stream_seq = EXCLUDED.stream_seq, parked_at = clock_timestamp(),"
                " redelivered_at = NULL",
                (agency, ledger_seq, stream_seq),
            )
            conn.commit()

    def parked(self) -> list[dict[str, Any]]:
        """The parked deliveries not delivered again since, oldest first."""
        rows = self.ledger.fetch(
            "SELECT agency, ledger_seq, stream_seq, parked_at FROM {schema}.delivery_parked"
            " WHERE redelivered_at IS NULL ORDER BY parked_at, agency, ledger_seq"
        )
        return [
            {"agency": a, "ledger_seq": int(q), "stream_seq": int(s), "parked_at": t.isoformat()}
            for a, q, s, t in rows
        ]

    async def redeliver(self, agency: str, ledger_seq: int) -> bool:
        """Deliver a parked message again (as a new message of the stream, so the consumer
        takes it with its whole back-off anew); False when no such parked message is held."""
        rows = await asyncio.to_thread(
            self.ledger.fetch,
            "SELECT stream_seq FROM {schema}.delivery_parked"
            " WHERE agency = %s AND ledger_seq = %s AND redelivered_at IS NULL",
            (agency, ledger_seq),
        )
        if not rows:
            return False
        js = await self.bus.jetstream()
        stored = await js.get_msg(self.stream, int(rows[0][0]))
        headers = {k: v for k, v in (stored.headers or {}).items() if k != "Nats-Msg-Id"}
        headers["Nats-Msg-Id"] = f"{agency}.{ledger_seq}.again-{time.time_ns()}"
        await js.publish(
            str(stored.subject), stored.data or b"", stream=self.stream, headers=headers
        )
        await asyncio.to_thread(self._redelivered, agency, ledger_seq)
        return True

    def _redelivered(self, agency: str, ledger_seq: int) -> None:
        with self.ledger.store.connection() as conn:
            conn.execute(
                f"UPDATE {SCHEMA}.delivery_parked SET redelivered_at = clock_timestamp()"
                " WHERE agency = %s AND ledger_seq = %s",
                (agency, ledger_seq),
            )
            conn.commit()

    # --- what operators see ---------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.observe()
            await asyncio.sleep(_WATCH_SECONDS)

    async def observe(self) -> dict[str, dict[str, float]]:
        """Per agency: messages not yet acked (`lag`), parked, and the last delivery's time."""
        js = await self.bus.jetstream()
        parked: dict[str, int] = {}
        for row in await asyncio.to_thread(self.parked):
            parked[row["agency"]] = parked.get(row["agency"], 0) + 1
        out: dict[str, dict[str, float]] = {}
        for agency in self.agencies:
            info = await js.consumer_info(self.stream, agency.durable)
            lag = float((info.num_pending or 0) + (info.num_ack_pending or 0))
            active = info.delivered.last_active if info.delivered else None
            last = active.timestamp() if isinstance(active, datetime) else 0.0
            out[agency.id] = {"lag": lag, "parked": float(parked.get(agency.id, 0)), "last": last}
        if self._gauges is not None:
            for agency_id, figures in out.items():
                for name, gauge in self._gauges.items():
                    gauge.labels(agency_id).set(figures[name])
        return out


def _gauges(metrics: Metrics) -> dict[str, Gauge]:
    """The ledger's delivery metrics (docs/operations.md), by agency."""
    return {
        "lag": Gauge(
            "caseline_delivery_lag_messages",
            "Deliveries an agency has not acked yet (pending and in flight)",
            ["agency"],
            registry=metrics.registry,
        ),
        "parked": Gauge(
            "caseline_delivery_parked_messages",
            "Deliveries parked after max_deliver attempts, not delivered again since",
            ["agency"],
            registry=metrics.registry,
        ),
        "last": Gauge(
            "caseline_delivery_last_timestamp_seconds",
            "When the agency's consumer last handed it a delivery (Unix time; 0: never)",
            ["agency"],
            registry=metrics.registry,
        ),
    }


def _fetch_on(conn: psycopg.Connection[Any]) -> Any:
    """`CaseAccess`'s reads on the batch's own connection (the ledger's `fetch`, unpooled)."""

    def fetch(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(conn.execute(statement.replace("{schema}", SCHEMA), params).fetchall())

    return fetch


def _json(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()


# --- The same selection for the agencies' other channels (services/ledger/webhooks.py) ---------


def appended_bound(conn: psycopg.Connection[Any]) -> int:
    """The last appended `ledger_seq`: every entry up to it is there with its access facts, which
    are written in its append's own transaction."""
    row = conn.execute(f"SELECT coalesce(max(ledger_seq), 0) FROM {SCHEMA}.entries").fetchone()
    return int(row[0]) if row else 0


def access_on(conn: psycopg.Connection[Any]) -> CaseAccess:
    """Who may see which case, read on `conn` (a batch's own connection)."""
    return CaseAccess(_fetch_on(conn))
