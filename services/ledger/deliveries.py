"""Per-agency deliveries over JetStream: each appended entry, as each registered agency may see it.

The ledger tails its own entries by `ledger_seq` and publishes, for every agency of the registry
(`shared.agencies`), the entries that agency's `GET /events` feed would show it — by type, by case
(sealed, or not linked to it), fields removed, other cases unnamed — on
`deliver.<agency>.caseline.<service>.<EventName>.<case_id>` into the stream `CASELINE_DELIVERIES`,
with the entry's `ledger_seq` and hash in headers and `Nats-Msg-Id` `<agency>.<ledger_seq>`. Only
appended entries are delivered, so never an event the ledger refused; an entry's access facts are
written in its append's own transaction, so a sealing or a link in the same batch already counts.

A delivery the agency has not taken yet is withdrawn once the agency may no longer see its case:
the batch that appends a sealing, a transfer or a release of the person, or the voiding of an
entry that linked someone to the case, purges from the stream every message of that case to each
agency that no longer sees it (`deliver.<agency>.caseline.*.*.<case_id>`), after publishing the
batch and before moving the position. A parked message is delivered again only as its agency may
see the entry then, built anew as a first delivery is.

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
from uuid import UUID

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
from shared.events import (
    CaseSealed,
    DetaineeReleased,
    DetaineeTransferred,
    by_type,
    subject_for,
)
from shared.events.voiding import EVENTS as VOIDINGS
from shared.kit.access_facts import ACCESS_TYPES
from shared.kit.bus import Bus
from shared.kit.errors import RuleViolation
from shared.kit.scope import CaseAccess, scope_of

if TYPE_CHECKING:
    import psycopg
    from nats.js import JetStreamContext

    from services.ledger.application import LedgerApplication
    from shared.kit.metrics import Metrics

__all__ = [
    "Deliveries",
    "DeliveryWithdrawnError",
    "agency_view",
    "delivery_consumer",
    "delivery_stream",
]

log = logging.getLogger("caseline.ledger.deliveries")

SEQ_HEADER = "Caseline-Ledger-Seq"
HASH_HEADER = "Caseline-Entry-Hash"
WITHHELD = "withheld"
_PUBLISH_SECONDS = 30.0
_IN_FLIGHT = 256
_WATCH_SECONDS = 5.0

Message = tuple[str, bytes, dict[str, str]]

_TAKES_SIGHT = frozenset(m.type_name() for m in (CaseSealed, DetaineeTransferred, DetaineeReleased))
"""Types whose entry can take a case out of an agency's sight: sealed, or the person no longer at
the facility of a prison. The voidings (`_VOIDINGS`) of an entry that gave sight are the others."""

_VOIDINGS = frozenset(m.type_name() for m in VOIDINGS)
_NOT_A_TOKEN = frozenset(".*> \t\r\n")


class DeliveryWithdrawnError(RuleViolation):
    """The agency may no longer see a parked delivery's entry: it is not delivered again (409)."""


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
            access = CaseAccess(_fetch_on(conn))
            messages = self.messages(entries, access)
            if messages:
                _on_loop(self._publish(messages), loop)
            # After the publication, before the position: a crash repeats both (a purge again
            # removes nothing more), and this batch's own sealing already counts in `access`.
            if self.agencies and (cases := _sight_taken(conn, entries)):
                self._withdraw(cases, access, loop)
            upto = int(entries[-1]["ledger_seq"])
            conn.execute(f"UPDATE {SCHEMA}.delivery_position SET delivered_seq = %s", (upto,))
        self.published += len(messages)
        return True

    def messages(
        self,
        entries: Sequence[dict[str, Any]],
        access: CaseAccess,
        agencies: Sequence[Agency] | None = None,
    ) -> list[Message]:
        """Every agency's (or these agencies') deliveries of these entries: subject, JSON body,
        headers."""
        out: list[Message] = []
        if not entries:
            return out
        for agency in self.agencies if agencies is None else agencies:
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

    # --- withdrawing what an agency may no longer see ------------------------------------

    def _withdraw(
        self, cases: set[str], access: CaseAccess, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Purge from the stream the messages of `cases` to every agency that may not see them
        now. Only agencies with a message of the case in the stream are asked about (one request
        per case tells which); an agency no longer registered sees nothing."""
        held = _on_loop(self._holders(cases), loop)
        registered = {a.id: a for a in self.agencies}
        purge: list[tuple[str, str]] = []
        for agency_id, theirs in sorted(held.items()):
            agency = registered.get(agency_id)
            seen = access.visible_set(scope_of(agency.user), theirs) if agency else set()
            purge += [(agency_id, case) for case in sorted(theirs - seen)]
        if purge:
            _on_loop(self._purge(purge), loop)

    def _case_subjects(self, agency: str, case_id: str) -> str:
        """`deliver.<agency>.caseline.*.*.<case_id>` (`agency` may be `*`), prefixed."""
        return self.bus.prefixed(delivery_subject(agency, f"caseline.*.*.{case_id}"))

    async def _holders(self, cases: set[str]) -> dict[str, set[str]]:
        """Agency → those of `cases` it has messages of in the stream (taken or not)."""
        js = await self.bus.jetstream()
        prefix = self.bus.prefixed(DELIVERY_PREFIX)
        out: dict[str, set[str]] = {}
        for case_id in sorted(cases):
            info = await js.stream_info(
                self.stream, subjects_filter=self._case_subjects("*", case_id)
            )
            for stored in (info.state.subjects or {}) if info.state else {}:
                out.setdefault(stored.removeprefix(prefix).split(".", 1)[0], set()).add(case_id)
        return out

    async def _purge(self, purge: Sequence[tuple[str, str]]) -> None:
        js = await self.bus.jetstream()
        for agency_id, case_id in purge:
            await js.purge_stream(self.stream, subject=self._case_subjects(agency_id, case_id))
            log.info("deliveries of a case withdrawn from %s: it may no longer see it", agency_id)

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
        """Deliver a parked message again, built anew from its entry as the agency may see it
        now, as a new message of the stream (so the consumer takes it with its whole back-off
        anew); False when no such parked message is held. `DeliveryWithdrawnError` when the
        agency may no longer see the entry: nothing is published, and the parked row is closed."""
        loop = asyncio.get_running_loop()
        done = await asyncio.to_thread(self._redeliver, agency, ledger_seq, loop)
        if done is None:
            raise DeliveryWithdrawnError(
                "agency {agency} may no longer see entry {ledger_seq}: it was not delivered"
                " again, and the parked delivery is closed",
                agency=agency,
                ledger_seq=ledger_seq,
            )
        return done

    def _redeliver(
        self, agency_id: str, ledger_seq: int, loop: asyncio.AbstractEventLoop
    ) -> bool | None:
        """True: delivered again; False: nothing parked; None: withheld, the parked row closed."""
        with self.ledger.store.connection() as conn, conn.transaction():
            # The batches' lock: a batch being delivered ends first, and the next waits for this
            # one, so a sealing appended after this check purges this publication too.
            conn.execute(f"SELECT delivered_seq FROM {SCHEMA}.delivery_position FOR UPDATE")
            parked = conn.execute(
                f"SELECT 1 FROM {SCHEMA}.delivery_parked WHERE agency = %s AND ledger_seq = %s"
                " AND redelivered_at IS NULL FOR UPDATE",
                (agency_id, ledger_seq),
            ).fetchone()
            if parked is None:
                return False
            agency = next((a for a in self.agencies if a.id == agency_id), None)
            entries = [e for e in feed_on(conn, ledger_seq - 1, 1) if e["ledger_seq"] == ledger_seq]
            messages = []
            if agency is not None and entries:
                again = f"{agency_id}.{ledger_seq}.again-{time.time_ns()}"
                messages = [
                    (subject, body, {**headers, "Nats-Msg-Id": again})
                    for subject, body, headers in self.messages(
                        entries, CaseAccess(_fetch_on(conn)), (agency,)
                    )
                ]
            if messages:
                _on_loop(self._publish(messages), loop)
            else:
                log.warning(
                    "parked delivery %d to %s not delivered again: it may no longer see it",
                    ledger_seq,
                    agency_id,
                )
            conn.execute(
                f"UPDATE {SCHEMA}.delivery_parked SET redelivered_at = clock_timestamp()"
                " WHERE agency = %s AND ledger_seq = %s",
                (agency_id, ledger_seq),
            )
        return True if messages else None

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


def _on_loop(work: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """Run a coroutine on the deliveries' loop from a worker thread, bounded; its result."""
    future = asyncio.run_coroutine_threadsafe(work, loop)
    try:
        return future.result(timeout=_PUBLISH_SECONDS)
    except BaseException:
        future.cancel()
        raise


def _sight_taken(conn: psycopg.Connection[Any], entries: Sequence[dict[str, Any]]) -> set[str]:
    """The cases of which these entries may take an agency's sight: sealed, the person moved or
    released, an entry that gave sight (a link, a stay) voided. Empty for most batches, at the
    cost of a look at each entry's type."""
    cases: set[str] = set()
    voided: dict[str, str] = {}
    for entry in entries:
        event = entry["event"]
        kind = event.get("type")
        if kind in _TAKES_SIGHT:
            cases.add(str(event.get("subject")))
        elif kind in _VOIDINGS:
            target = (event.get("data") or {}).get("voided_event_id")
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                voided[str(UUID(str(target)))] = str(event.get("subject"))
    if voided:
        rows = conn.execute(
            f"SELECT event_id::text, case_id, type FROM {SCHEMA}.entries"
            " WHERE event_id = ANY(%s::uuid[])",
            (list(voided),),
        ).fetchall()
        found = {str(r[0]): (str(r[1]), str(r[2])) for r in rows}
        for event_id, subject in voided.items():
            case_id, kind = found.get(event_id, (subject, ""))
            # An entry the ledger does not hold (yet): its voiding's own case, to be safe.
            if kind in ACCESS_TYPES or event_id not in found:
                cases.add(case_id)
    return {c for c in cases if c and not _NOT_A_TOKEN.intersection(c)}


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
