"""Reconciliation: what a service recorded but the ledger lacks is published again.

The defence against a broker that acknowledged a message and then lost it. A service walks its own
notification log from a watermark kept in its schema (`reconcile_position`), asks the ledger (the
authority) which of those event ids it lacks, and re-publishes them with the relay's own envelope
and `Nats-Msg-Id`. The watermark moves only over events the ledger has, or that were re-published
after the safety margin (younger ones may simply be in flight); an event the broker refuses as a
duplicate (its id is still in the duplicate window) is tried again on a later pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import httpx

from shared.kit.bus import Bus
from shared.kit.clients import async_client
from shared.kit.i18n import translate
from shared.kit.outgoing import Outgoing, RefusedEventError, outgoing, recorded
from shared.kit.service_auth import mint_service_token
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication

__all__ = [
    "HttpLedger",
    "LedgerQuery",
    "Published",
    "ReconcileReport",
    "Reconciler",
    "published_entries",
]

log = logging.getLogger("caseline.reconcile")

_CREATE = (
    "CREATE TABLE IF NOT EXISTS {schema}.reconcile_position ("
    " id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())"
)
MAX_IDS_PER_QUESTION = 1000


class LedgerQuery(Protocol):
    """Asks the ledger which of these event ids it does not hold."""

    async def missing(self, event_ids: Sequence[UUID]) -> set[UUID]: ...


class HttpLedger:
    """The ledger's `POST /reconcile/missing`, asked as the service itself
    (`shared.kit.service_auth`: a token of its own signing key, good for this call only)."""

    def __init__(self, settings: Settings, service: str, client: httpx.AsyncClient | None = None):
        if not settings.ledger_url:
            raise ValueError("CASELINE_LEDGER_URL is not set")
        self.settings = settings
        self.service = service
        self.client = client or async_client(base_url=settings.ledger_url, timeout=15)

    def _token(self) -> str:
        return mint_service_token(self.settings, self.service, "reconcile")

    async def missing(self, event_ids: Sequence[UUID]) -> set[UUID]:
        response = await self.client.post(
            "/reconcile/missing",
            json={"event_ids": [str(i) for i in event_ids]},
            headers={"Authorization": f"Bearer {self._token()}"},
        )
        response.raise_for_status()
        return {UUID(i) for i in response.json()["missing"]}

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass(frozen=True)
class Published:
    """One notification of the log: the event the relay publishes for it, if any, as stored."""

    notification_id: int
    event_id: UUID | None = None  # None: internal, or refused by the catalogue (never published)
    case: str | None = None
    recorded_at: datetime | None = None
    state: bytes = b""

    def message(self, app: CaselineApplication, bus: Bus) -> Outgoing | None:
        """What the relay publishes for it (built, validated and signed now), None if refused."""
        return _message(app, bus, self.notification_id, self.state)


def published_entries(app: CaselineApplication, start: int, limit: int = 500) -> list[Published]:
    """The notifications from `start`, each with the id of the event the relay publishes for it
    (none for an internal event or one the catalogue refuses)."""
    out = []
    for notification_id, state in app.store.select_states(start, limit):
        try:
            own = recorded(app.service, state)
        except RefusedEventError as refused:
            _refused(app, notification_id, refused)
            own = None
        if own is None:
            out.append(Published(notification_id))
        else:
            out.append(Published(notification_id, own.event_id, own.case, own.recorded_at, state))
    return out


def _message(
    app: CaselineApplication, bus: Bus, notification_id: int, state: bytes
) -> Outgoing | None:
    try:
        return outgoing(bus, app.service, state)
    except RefusedEventError as refused:
        _refused(app, notification_id, refused)
        return None


def _refused(app: CaselineApplication, notification_id: int, refused: RefusedEventError) -> None:
    # Published before the catalogue refused such envelopes: sent again, it would only be
    # dead-lettered again, on every pass. Said once, and left to an operator.
    log.error(
        "reconciliation of %s will not publish event %s again (notification %d): %s",
        app.service, refused.event_id, notification_id, refused.reason,
    )  # fmt: skip


@dataclass
class ReconcileReport:
    """One pass: events checked, missing from the ledger, re-published, left for a later pass."""

    service: str
    checked: int = 0
    missing: int = 0
    republished: int = 0
    deferred: int = 0
    watermark: int = 0

    def line(self) -> str:
        return translate(
            "{service:<11} checked {checked:>7}  missing {missing:>5}  republished"
            " {republished:>5}  deferred {deferred:>5}  watermark {watermark}",
            service=self.service,
            checked=self.checked,
            missing=self.missing,
            republished=self.republished,
            deferred=self.deferred,
            watermark=self.watermark,
        )


class Reconciler:
    """Compares one service's store with the ledger and re-publishes what the ledger lacks."""

    def __init__(
        self,
        app: CaselineApplication,
        bus: Bus,
        ledger: LedgerQuery,
        *,
        margin_seconds: float = 30.0,
        batch: int = 500,
        metrics: Any = None,
    ) -> None:
        self.app = app
        self.bus = bus
        self.ledger = ledger
        self.margin = timedelta(seconds=margin_seconds)
        self.batch = batch
        self.metrics = metrics

    async def run_forever(self, every_seconds: float) -> None:
        """A pass every `every_seconds`; a failed pass (ledger or NATS down) waits for the next."""
        try:
            while True:
                await asyncio.sleep(every_seconds)
                try:
                    report = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("reconciliation of %s waits: %r", self.app.service, exc)
                    continue
                if report.missing:
                    log.warning("reconciliation: %s", report.line())
        finally:
            closer = getattr(self.ledger, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

    async def run_once(self, *, from_start: bool = False) -> ReconcileReport:
        """One pass from the watermark (or from the first event) up to the relay's position."""
        report = ReconcileReport(self.app.service)
        watermark, published_up_to = await asyncio.to_thread(self._positions)
        position = 0 if from_start else watermark
        report.watermark = watermark
        following = True  # the watermark follows while every event so far is settled
        while position < published_up_to:
            entries = await asyncio.to_thread(published_entries, self.app, position + 1, self.batch)
            entries = [e for e in entries if e.notification_id <= published_up_to]
            if not entries:
                break
            settled = await self._settle(entries, report)
            for entry, ok in zip(entries, settled, strict=True):
                following = following and ok
                if following and entry.notification_id > report.watermark:
                    report.watermark = entry.notification_id
            position = entries[-1].notification_id
        if report.watermark > watermark:
            await asyncio.to_thread(self._save_watermark, report.watermark)
        return report

    async def _settle(self, entries: list[Published], report: ReconcileReport) -> list[bool]:
        """For each entry: is it settled (in the ledger, internal, or re-published now)?"""
        ids = [e.event_id for e in entries if e.event_id is not None]
        missing: set[UUID] = set()
        for i in range(0, len(ids), MAX_IDS_PER_QUESTION):
            missing |= await self.ledger.missing(ids[i : i + MAX_IDS_PER_QUESTION])
        report.checked += len(ids)
        cutoff = self.app.clock.now() - self.margin
        settled = []
        for entry in entries:
            if entry.event_id is None or entry.event_id not in missing:
                settled.append(True)
                continue
            report.missing += 1
            if entry.recorded_at is not None and entry.recorded_at > cutoff:
                report.deferred += 1  # may be in flight
                settled.append(False)
                continue
            message = entry.message(self.app, self.bus)
            if message is None:  # the catalogue refuses it now: said, and left to an operator
                settled.append(True)
                continue
            if not await self._republish(message):
                report.deferred += 1
                settled.append(False)
                continue
            report.republished += 1
            settled.append(True)
        return settled

    async def _republish(self, message: Outgoing) -> bool:
        """Publish again; False when the broker still remembers the id (within its window)."""
        js = await self.bus.jetstream()
        ack = await js.publish(message.subject, message.body, headers=message.headers, timeout=10)
        if ack.duplicate:
            return False
        log.warning("reconciliation re-published %s (%s)", message.event_id, message.subject)
        if self.metrics is not None and hasattr(self.metrics, "reconcile_republished"):
            self.metrics.reconcile_republished.inc()
        return True

    # -- the watermark, in the service's own schema
    def _positions(self) -> tuple[int, int]:
        with self.app.cursor() as curs:
            curs.execute(self.app.store.fmt(_CREATE))
            curs.execute(self.app.store.fmt("SELECT position FROM {schema}.reconcile_position"))
            row = curs.fetchone()
            curs.execute(self.app.store.fmt("SELECT position FROM {schema}.relay_position"))
            relay = curs.fetchone()
            curs.connection.commit()
        return (int(row[0]) if row else 0), (int(relay[0]) if relay else 0)

    def _save_watermark(self, position: int) -> None:
        with self.app.cursor() as curs:
            curs.execute(
                self.app.store.fmt(
                    "INSERT INTO {schema}.reconcile_position (id, position) VALUES (1, %s)"
                    " ON CONFLICT (id) DO UPDATE SET position = GREATEST("
                    "{schema}.reconcile_position.position, excluded.position), updated_at = now()"
                ),
                (position,),
            )
            curs.connection.commit()
