"""Agencies' deliveries over HTTPS webhooks: CloudEvents (structured JSON) signed by Standard
Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

What an agency receives is what its NATS deliveries carry (`deliveries.agency_view`), each entry
with its `ledgerseq` and `ledgerhash` as CloudEvents extensions. Entries are queued per agency in
ledger order once appended with their access facts; the body is made at each attempt, so a case
sealed or erased since is withheld rather than sent. Within a case an entry waits for the one
before it (a failing or parked entry holds its case back; other cases go on). A failure is
retried with exponential back-off and jitter until `webhook_park_after_seconds` (≥ 24 hours in
production) has passed since the first attempt, then parked: listed, and sent again on request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.ledger.deliveries import access_on, agency_view, appended_bound
from services.ledger.schema import SCHEMA
from services.ledger.store import STORED_COLUMNS, StoredEntry, feed_on
from shared.agencies import Agency
from shared.kit.clients import async_client
from shared.kit.errors import NotFoundError
from shared.kit.keystore import master_key, master_key_id, master_keys
from shared.kit.settings import Settings

if TYPE_CHECKING:
    import psycopg

    from services.ledger.application import LedgerApplication

__all__ = ["Attempt", "Webhooks", "new_secret", "signature_header"]

log = logging.getLogger("caseline.ledger.webhooks")

CONTENT_TYPE = "application/cloudevents+json"
_SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
_BATCH = 256
_CONCURRENCY = 16
_LEASE_SECONDS = 30.0


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return _SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(
    secret_list: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each secret, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secret_list:
        key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX))
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)


def _wrap(settings: Settings, agency: str, secret: str) -> tuple[str, bytes]:
    key = master_key(settings)
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), b"caseline webhook:" + agency.encode())
    return master_key_id(key), nonce + sealed


def _unwrap(settings: Settings, agency: str, kid: str, wrapped: bytes) -> str:
    keys = master_keys(settings)
    candidates = [keys[kid]] if kid in keys else list(keys.values())
    for key in candidates:
        with contextlib.suppress(InvalidTag):
            aad = b"caseline webhook:" + agency.encode()
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], aad).decode()
    raise RuntimeError(f"no configured master key opens the webhook secret of {agency}")


@dataclass(frozen=True)
class Attempt:
    """One delivery to try: where, signed with what, carrying which entry."""

    agency: str
    ledger_seq: int
    message_id: str
    url: str
    secrets: tuple[str, ...]
    body: bytes | None  # None: the agency may no longer see the entry


class Webhooks:
    """Endpoints, queues and the sending task (one per ledger process; rows are leased)."""

    def __init__(
        self, ledger: LedgerApplication, agencies: Sequence[Agency], settings: Settings
    ) -> None:
        self.ledger = ledger
        self.agencies = {a.id: a for a in agencies}
        self.settings = settings
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- registration (admin routes and CLI) ------------------------------------------------

    def agency(self, agency_id: str) -> Agency:
        try:
            return self.agencies[agency_id]
        except KeyError:
            raise NotFoundError("no registered agency {agency_id}", agency_id=agency_id) from None

    def set_endpoint(self, agency_id: str, url: str) -> str | None:
        """Register or move an agency's endpoint; the new secret when one was made (first time)."""
        self.agency(agency_id)
        with self.ledger.store.connection() as conn, conn.transaction():
            moved = conn.execute(
                f"UPDATE {SCHEMA}.webhook_endpoints SET url = %s, updated_at = clock_timestamp()"
                " WHERE agency = %s",
                (url, agency_id),
            ).rowcount
            if moved:
                return None
            secret = new_secret()
            kid, wrapped = _wrap(self.settings, agency_id, secret)
            # An endpoint receives what is appended from now on; history comes by replay.
            conn.execute(
                f"INSERT INTO {SCHEMA}.webhook_endpoints"
                " (agency, url, master_kid, secret, enqueued_seq) VALUES (%s, %s, %s, %s, %s)",
                (agency_id, url, kid, wrapped, appended_bound(conn)),
            )
        self.wake()
        return secret

    def show(self, agency_id: str) -> dict[str, Any]:
        """The endpoint and its queue, never its secrets."""
        self.agency(agency_id)
        with self.ledger.store.connection() as conn:
            row = conn.execute(
                f"SELECT url, enqueued_seq, updated_at, previous_until FROM {SCHEMA}.webhook_endpoints"
                " WHERE agency = %s",
                (agency_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    "agency {agency_id} has no webhook endpoint", agency_id=agency_id
                )
            counts = dict(
                conn.execute(
                    f"SELECT state, count(*) FROM {SCHEMA}.webhook_deliveries WHERE agency = %s"
                    " GROUP BY state",
                    (agency_id,),
                ).fetchall()
            )
            parked = [
                {"ledger_seq": int(r[0]), "attempts": int(r[1]), "last_error": r[2]}
                for r in conn.execute(
                    f"SELECT ledger_seq, attempts, last_error FROM {SCHEMA}.webhook_deliveries"
                    " WHERE agency = %s AND state = 'parked' ORDER BY ledger_seq LIMIT 100",
                    (agency_id,),
                )
            ]
        return {
            "agency": agency_id,
            "url": row[0],
            "enqueued_seq": int(row[1]),
            "updated_at": row[2].isoformat(),
            "previous_secret_until": row[3].isoformat() if row[3] else None,
            "deliveries": {s: int(counts.get(s, 0)) for s in ("pending", "delivered", "parked")},
            "parked": parked,
        }

    def rotate_secret(self, agency_id: str) -> str:
        """A new secret; the old one still signs (both signatures sent) for the overlap."""
        self.agency(agency_id)
        secret = new_secret()
        kid, wrapped = _wrap(self.settings, agency_id, secret)
        with self.ledger.store.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT master_kid, secret FROM {SCHEMA}.webhook_endpoints WHERE agency = %s"
                " FOR UPDATE",
                (agency_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    "agency {agency_id} has no webhook endpoint", agency_id=agency_id
                )
            # The previous secret is wrapped again under the current master, with the new one.
            _, old = _wrap(self.settings, agency_id, _unwrap(self.settings, agency_id, *row))
            conn.execute(
                f"UPDATE {SCHEMA}.webhook_endpoints SET master_kid = %s, secret = %s,"
                " previous_secret = %s,"
                " previous_until = clock_timestamp() + make_interval(secs => %s),"
                " updated_at = clock_timestamp() WHERE agency = %s",
                (kid, wrapped, old, self.settings.webhook_secret_overlap_seconds, agency_id),
            )
        return secret

    def replay(self, agency_id: str, from_seq: int) -> int:
        """Send again, as new messages, everything the agency may see from `from_seq` on (in
        ledger order, after what is queued for the same case); parked entries go again too."""
        agency = self.agency(agency_id)
        queued = 0
        with self.ledger.store.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT enqueued_seq FROM {SCHEMA}.webhook_endpoints WHERE agency = %s FOR UPDATE",
                (agency_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    "agency {agency_id} has no webhook endpoint", agency_id=agency_id
                )
            upto, after = int(row[0]), max(from_seq, 1) - 1
            while after < upto:
                entries = [e for e in feed_on(conn, after, _BATCH) if e["ledger_seq"] <= upto]
                if not entries:
                    break
                queued += self._queue(conn, agency, entries, again=True)
                after = entries[-1]["ledger_seq"]
        self.wake()
        return queued

    # --- the task ---------------------------------------------------------------------------

    def wake(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, poll_seconds: float = 1.0) -> None:
        self._loop = asyncio.get_running_loop()
        async with async_client(
            follow_redirects=False, timeout=self.settings.webhook_timeout_seconds
        ) as client:
            while True:
                busy = False
                try:
                    busy = await asyncio.to_thread(self.enqueue) > 0
                    busy = await self.send_due(client) > 0 or busy
                except Exception as exc:
                    log.warning("webhooks wait: %s", exc)
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        # Not `wait_for`, which may lose the cancellation that stops this (3.11).
                        async with asyncio.timeout(poll_seconds):
                            await self._wake.wait()
                    self._wake.clear()

    def enqueue(self) -> int:
        """Queue, for every endpoint, the appended entries its agency may see; how many."""
        queued = 0
        with self.ledger.store.connection() as conn, conn.transaction():
            bound = appended_bound(conn)
            rows = conn.execute(
                f"SELECT agency, enqueued_seq FROM {SCHEMA}.webhook_endpoints"
                " WHERE enqueued_seq < %s FOR UPDATE SKIP LOCKED",
                (bound,),
            ).fetchall()
            for agency_id, enqueued in rows:
                agency = self.agencies.get(agency_id)
                entries = [e for e in feed_on(conn, enqueued, _BATCH) if e["ledger_seq"] <= bound]
                if agency is None or not entries:
                    continue  # an endpoint of an agency no longer registered receives nothing
                queued += self._queue(conn, agency, entries)
                conn.execute(
                    f"UPDATE {SCHEMA}.webhook_endpoints SET enqueued_seq = %s WHERE agency = %s",
                    (entries[-1]["ledger_seq"], agency_id),
                )
        return queued

    def _queue(
        self,
        conn: psycopg.Connection[Any],
        agency: Agency,
        entries: Sequence[dict[str, Any]],
        *,
        again: bool = False,
    ) -> int:
        seen = agency_view(agency, entries, access_on(conn))
        on_conflict = (
            "DO UPDATE SET state = 'pending', attempts = 0, first_tried_at = NULL,"
            " next_at = clock_timestamp(), last_error = NULL, message_id = EXCLUDED.message_id"
            if again
            else "DO NOTHING"
        )
        for entry in seen:
            conn.execute(
                f"INSERT INTO {SCHEMA}.webhook_deliveries (agency, ledger_seq, case_id, message_id)"
                f" VALUES (%s, %s, %s, %s) ON CONFLICT (agency, ledger_seq) {on_conflict}",
                (agency.id, entry["ledger_seq"], _case_of(entry), f"msg_{uuid4().hex}"),
            )
        return len(seen)

    def claim(self) -> list[Attempt]:
        """The first open entry of each case whose turn has come, leased to this process."""
        with self.ledger.store.connection() as conn, conn.transaction():
            heads = conn.execute(
                f"SELECT d.agency, d.ledger_seq, d.message_id FROM ("
                f" SELECT DISTINCT ON (agency, case_id) agency, ledger_seq, state, next_at,"
                f" message_id FROM {SCHEMA}.webhook_deliveries"
                " WHERE state IN ('pending', 'parked') ORDER BY agency, case_id, ledger_seq) d"
                " WHERE d.state = 'pending' AND d.next_at <= clock_timestamp()"
                " ORDER BY d.ledger_seq LIMIT %s",
                (_BATCH,),
            ).fetchall()
            if not heads:
                return []
            lease = self.settings.webhook_timeout_seconds + _LEASE_SECONDS
            for agency_id, seq, _ in heads:
                conn.execute(
                    f"UPDATE {SCHEMA}.webhook_deliveries"
                    " SET next_at = clock_timestamp() + make_interval(secs => %s),"
                    " first_tried_at = coalesce(first_tried_at, clock_timestamp())"
                    " WHERE agency = %s AND ledger_seq = %s",
                    (lease, agency_id, seq),
                )
            return self._attempts(conn, heads)

    def _attempts(
        self, conn: psycopg.Connection[Any], heads: Sequence[tuple[str, int, str]]
    ) -> list[Attempt]:
        seqs = sorted({int(h[1]) for h in heads})
        entries = {
            e["ledger_seq"]: e
            for e in (
                StoredEntry(*r).as_dict()
                for r in conn.execute(
                    f"SELECT {STORED_COLUMNS} FROM {SCHEMA}.entries WHERE ledger_seq = ANY(%s)",
                    (seqs,),
                )
            )
        }
        endpoints = {
            r[0]: (r[1], self._secrets(r))
            for r in conn.execute(
                f"SELECT agency, url, master_kid, secret, previous_secret,"
                f" previous_until > clock_timestamp() FROM {SCHEMA}.webhook_endpoints"
            )
        }
        out = []
        for agency_id, seq, message_id in heads:
            url, secret_list = endpoints[agency_id]
            agency = self.agencies.get(agency_id)
            shown = agency_view(agency, [entries[seq]], access_on(conn)) if agency else []
            body = _cloudevent(shown[0]) if shown else None
            out.append(Attempt(agency_id, int(seq), message_id, url, secret_list, body))
        return out

    def _secrets(self, row: tuple[Any, ...]) -> tuple[str, ...]:
        agency, _, kid, secret, previous, overlapping = row
        out = [_unwrap(self.settings, agency, kid, bytes(secret))]
        if previous is not None and overlapping:
            out.append(_unwrap(self.settings, agency, kid, bytes(previous)))
        return tuple(out)

    async def send_due(self, client: httpx.AsyncClient) -> int:
        """Try every claimed entry (concurrently across cases), record each outcome; how many."""
        attempts = await asyncio.to_thread(self.claim)
        if not attempts:
            return 0
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def one(attempt: Attempt) -> str | None:
            async with limit:
                return await self.send(client, attempt)

        errors = await asyncio.gather(*(one(a) for a in attempts))
        await asyncio.to_thread(self._record, list(zip(attempts, errors, strict=True)))
        return len(attempts)

    async def send(self, client: httpx.AsyncClient, attempt: Attempt) -> str | None:
        """POST one entry; None when the endpoint took it (2xx), else why not."""
        if attempt.body is None:
            return None
        timestamp = int(time.time())
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": attempt.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                attempt.secrets, attempt.message_id, timestamp, attempt.body
            ),
        }
        try:
            response = await client.post(attempt.url, content=attempt.body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _record(self, outcomes: Sequence[tuple[Attempt, str | None]]) -> None:
        s = self.settings
        with self.ledger.store.connection() as conn, conn.transaction():
            for attempt, error in outcomes:
                key = (attempt.agency, attempt.ledger_seq)
                if error is None:
                    state = "delivered" if attempt.body is not None else "withheld"
                    conn.execute(
                        f"UPDATE {SCHEMA}.webhook_deliveries SET state = %s, attempts = attempts + 1,"
                        " delivered_at = clock_timestamp(), last_error = NULL"
                        " WHERE agency = %s AND ledger_seq = %s",
                        (state, *key),
                    )
                    continue
                row = conn.execute(
                    f"UPDATE {SCHEMA}.webhook_deliveries SET attempts = attempts + 1,"
                    " last_error = %s WHERE agency = %s AND ledger_seq = %s"
                    " RETURNING attempts,"
                    " extract(epoch FROM clock_timestamp() - first_tried_at)",
                    (error, *key),
                ).fetchone()
                attempts, elapsed = (int(row[0]), float(row[1] or 0)) if row else (1, 0.0)
                if elapsed >= s.webhook_park_after_seconds:
                    log.warning("webhook to %s parked at ledger_seq %d: %s", *key, error)
                    conn.execute(
                        f"UPDATE {SCHEMA}.webhook_deliveries SET state = 'parked'"
                        " WHERE agency = %s AND ledger_seq = %s",
                        key,
                    )
                    continue
                conn.execute(
                    f"UPDATE {SCHEMA}.webhook_deliveries"
                    " SET next_at = clock_timestamp() + make_interval(secs => %s)"
                    " WHERE agency = %s AND ledger_seq = %s",
                    (backoff(attempts, s.webhook_retry_base_seconds, s.webhook_retry_max_seconds),
                     *key),
                )  # fmt: skip


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential, capped, with jitter (half to all of it) so retries do not fall in step."""
    delay: float = min(cap, base * 2 ** min(attempts - 1, 40))
    return delay * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not a secret)


def _case_of(entry: dict[str, Any]) -> str:
    return str(entry["event"].get("subject"))


def _cloudevent(entry: dict[str, Any]) -> bytes:
    """The event as the agency may see it, with its place in the ledger as extensions."""
    event = dict(entry["event"])
    event["ledgerseq"] = entry["ledger_seq"]
    event["ledgerhash"] = entry["hash"]
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
