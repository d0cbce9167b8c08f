"""Per-agency deliveries on NATS: each appended entry, as each registered agency may see it.

The ledger tails its own entries by `ledger_seq` and publishes, for every agency of the registry
(`shared.agencies`), the entries that agency's `GET /events` feed would show it — by type, by case
(sealed, or not linked to it), fields removed, other cases unnamed — on
`deliver.<agency>.caseline.<service>.<EventName>.<case_id>`, with the entry's `ledger_seq` and
hash in headers. Only appended entries are delivered, so never an event the ledger refused.

Delivery is live, with core NATS (at most once for an agency not listening). A batch is published
and flushed before the position moves, in one transaction that locks the position, so one ledger
process delivers at a time; a batch is sent again only when its publication failed or the ledger
stopped mid-batch, and the `Caseline-Ledger-Seq` header lets an agency drop a repeat.

An entry's access facts (who may see its case) are applied after its append, in a transaction of
their own (`LedgerIntake`): an entry is delivered only once the intake has noted them, which it
records here (`delivery_noted`) — else a sealing, or a link just made, would not yet count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.ledger.schema import SCHEMA
from services.ledger.store import feed_on
from services.ledger.visibility import feed_view
from shared.agencies import Agency, delivery_subject
from shared.events import by_type, subject_for
from shared.kit.bus import Bus
from shared.kit.scope import CaseAccess
from shared.kit.subscriber import ACK, BatchHandler, Delivery, Outcome, Retry

if TYPE_CHECKING:
    import psycopg

    from services.ledger.application import LedgerApplication

__all__ = ["Deliveries", "NotingIntake"]

log = logging.getLogger("caseline.ledger.deliveries")

SEQ_HEADER = "Caseline-Ledger-Seq"
HASH_HEADER = "Caseline-Entry-Hash"
_PUBLISH_SECONDS = 30.0
_STUCK_SECONDS = 60.0

Message = tuple[str, bytes, dict[str, str]]


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
    ) -> None:
        self.ledger = ledger
        self.bus = bus
        self.agencies = tuple(agencies)
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.published = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_since: float | None = None

    # --- what the intake tells it ---------------------------------------------------------

    def noting(self, intake: BatchHandler) -> NotingIntake:
        return NotingIntake(intake, self)

    def noted(self, deliveries: Sequence[Delivery]) -> None:
        """Record that the entries of these messages are appended with their access facts."""
        ids = [i for i in (_event_id(d) for d in deliveries) if i is not None]
        if not ids:
            return
        with self.ledger.store.connection() as conn, conn.transaction():
            seqs = [
                int(r[0])
                for r in conn.execute(
                    f"SELECT ledger_seq FROM {SCHEMA}.entries WHERE event_id = ANY(%s::uuid[])"
                    " ORDER BY ledger_seq",
                    (ids,),
                )
            ]
            for first, last in _runs(seqs):
                conn.execute(
                    f"INSERT INTO {SCHEMA}.delivery_noted (first_seq, last_seq) VALUES (%s, %s)"
                    " ON CONFLICT (first_seq) DO UPDATE"
                    " SET last_seq = GREATEST(delivery_noted.last_seq, EXCLUDED.last_seq)",
                    (first, last),
                )
        self.wake()

    def wake(self) -> None:
        """Deliver now rather than at the next poll (safe from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- the task -------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.2
        while True:
            try:
                await asyncio.to_thread(self._start_position)
                break
            except Exception as exc:
                log.warning("deliveries wait for the database: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        while True:
            try:
                if await self.step():
                    backoff = 0.2
                    continue
            except Exception as exc:
                log.warning("deliveries wait: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def step(self) -> bool:
        """Deliver the next batch of noted entries; False when there was none (or no NATS)."""
        await self.bus.jetstream()  # connected once
        if not self.bus.connected:
            return False
        loop = asyncio.get_running_loop()
        work = asyncio.ensure_future(asyncio.to_thread(self._deliver_batch, loop))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Stopping: let the batch in hand end (its publication needs this loop) before the
            # pool closes under it; unfinished, it is delivered again after the restart.
            await asyncio.wait({work}, timeout=10)
            raise

    # --- one batch, in a worker thread ----------------------------------------------------

    def _start_position(self) -> None:
        """From the first start on, agencies receive what is appended from then on."""
        with self.ledger.store.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.delivery_position (delivered_seq)"
                f" SELECT coalesce(max(ledger_seq), 0) FROM {SCHEMA}.entries"
                " ON CONFLICT DO NOTHING"
            )
            conn.commit()

    def _deliver_batch(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Publish the next noted entries and move the position; False when there were none."""
        with self.ledger.store.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT delivered_seq FROM {SCHEMA}.delivery_position FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:  # another ledger process is delivering
                return False
            delivered = int(row[0])
            bound = _noted_bound(conn, delivered)
            if bound <= delivered:
                self._note_idle(conn, delivered)
                return False
            self._idle_since = None
            limit = min(self.batch, bound - delivered)
            entries = [e for e in feed_on(conn, delivered, limit) if e["ledger_seq"] <= bound]
            upto = entries[-1]["ledger_seq"] if len(entries) == limit else bound
            messages = self.messages(entries, CaseAccess(_fetch_on(conn)))
            if messages:
                future = asyncio.run_coroutine_threadsafe(self._publish(messages), loop)
                try:
                    future.result(timeout=_PUBLISH_SECONDS)
                except BaseException:
                    future.cancel()
                    raise
            conn.execute(f"UPDATE {SCHEMA}.delivery_position SET delivered_seq = %s", (upto,))
            conn.execute(f"DELETE FROM {SCHEMA}.delivery_noted WHERE last_seq <= %s", (upto,))
        self.published += len(messages)
        return True

    def messages(self, entries: Sequence[dict[str, Any]], access: CaseAccess) -> list[Message]:
        """Every agency's deliveries of these entries: subject, JSON body, headers."""
        out: list[Message] = []
        if not entries:
            return out
        cipher = self.ledger.cipher
        for agency in self.agencies:
            for entry in feed_view(agency.user, entries, access, cipher):
                subject = self._subject(agency, entry["event"])
                if subject is None:
                    continue
                headers = {SEQ_HEADER: str(entry["ledger_seq"]), HASH_HEADER: entry["hash"]}
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
        nc = self.bus.nc
        if nc is None or not nc.is_connected:
            raise ConnectionError("NATS is not connected")
        for subject, body, headers in messages:
            await nc.publish(subject, body, headers=headers)
        await nc.flush(timeout=10)

    def _note_idle(self, conn: psycopg.Connection[Any], delivered: int) -> None:
        """Say so when entries wait for a noting that does not come (a ledger process of an
        older version appended them): an operator moves `delivery_position` past them."""
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
            return
        if now - self._idle_since < _STUCK_SECONDS:
            return
        self._idle_since = now
        row = conn.execute(f"SELECT max(ledger_seq) FROM {SCHEMA}.entries").fetchone()
        if row and row[0] and int(row[0]) > delivered:
            log.warning(
                "deliveries wait at ledger_seq %d: entry %d is not noted as appended by the intake",
                delivered,
                delivered + 1,
            )


class NotingIntake:
    """The ledger's intake, then the note that its appended entries may now be delivered."""

    def __init__(self, intake: BatchHandler, deliveries: Deliveries) -> None:
        self.intake = intake
        self.deliveries = deliveries

    def __call__(self, batch: Sequence[Delivery]) -> list[Outcome]:
        outcomes = self.intake(batch)
        appended = [d for d, o in zip(batch, outcomes, strict=True) if o == ACK]
        try:
            self.deliveries.noted(appended)
        except Exception as exc:
            # Redelivered, the batch is known and noted again: nothing is delivered unnoted.
            return [Retry(f"deliveries could not note the batch: {exc!r}") for _ in batch]
        return outcomes


def _noted_bound(conn: psycopg.Connection[Any], delivered: int) -> int:
    """The end of the run of noted entries that starts right after `delivered`."""
    bound = delivered
    for first, last in conn.execute(
        f"SELECT first_seq, last_seq FROM {SCHEMA}.delivery_noted WHERE last_seq > %s"
        " ORDER BY first_seq",
        (delivered,),
    ):
        if first > bound + 1:
            break
        bound = max(bound, int(last))
    return bound


def _fetch_on(conn: psycopg.Connection[Any]) -> Any:
    """`CaseAccess`'s reads on the batch's own connection (the ledger's `fetch`, unpooled)."""

    def fetch(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(conn.execute(statement.replace("{schema}", SCHEMA), params).fetchall())

    return fetch


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive positions as (first, last) runs: each is noted as a whole or not at all."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        elif not runs or seq > runs[-1][1]:
            runs.append((seq, seq))
    return runs


def _event_id(delivery: Delivery) -> str | None:
    """The event id of a message (its `Nats-Msg-Id`, which the intake checked, or its body's)."""
    candidate: Any = delivery.headers.get("Nats-Msg-Id")
    if candidate is None:
        with contextlib.suppress(ValueError, AttributeError):
            candidate = json.loads(delivery.data).get("id")
    try:
        return str(UUID(str(candidate)))
    except ValueError:
        return None


def _json(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()


# --- The same selection for the agencies' other channels (services/ledger/webhooks.py) ---------


def appended_bound(conn: psycopg.Connection[Any]) -> int:
    """The last `ledger_seq` up to which every entry is appended with its access facts: what
    the NATS deliveries have passed, then the run of noted entries after it."""
    row = conn.execute(f"SELECT delivered_seq FROM {SCHEMA}.delivery_position").fetchone()
    return _noted_bound(conn, int(row[0]) if row else 0)


def agency_view(
    agency: Agency, entries: Sequence[dict[str, Any]], conn: psycopg.Connection[Any], cipher: Any
) -> list[dict[str, Any]]:
    """What `agency` may see of these entries, as its NATS deliveries carry them."""
    return feed_view(agency.user, entries, CaseAccess(_fetch_on(conn)), cipher)
