"""The services' read audits anchored in the ledger, so that rewriting one shows.

Each service keeps its read audit in its own schema, which its own database role owns: that
owner could turn the append-only triggers off, rewrite entries and recompute every later hash,
and the log's own chain would still verify. So the ledger holds, now and then, each log's head.

How the ledger gets them (decided here): **the ledger pulls**. Every
`CASELINE_AUDIT_ANCHOR_SECONDS` it asks each service in `CASELINE_SERVICE_URLS` for
`GET /audit/head?seq=<the last seq it anchored>` (as itself: a service token of its own signing
key, good for that call only, `shared.kit.service_auth`) and reads its own log directly. The
alternative — each service publishing its head as an event the ledger chains — would need a
catalogue type, subjects and permissions for something that is no fact about a case, and a service
whose owner stops publishing would simply fall silent; a service that stops answering the ledger is
seen at once (logged each round).

Anchors go into `ledger.audit_anchors`: append-only like every ledger table (triggers, and the
ledger's role may only insert), and hash-chained row to row, so that a changed or removed anchor
breaks that chain too. Each round also checks that the entry at the last anchored `seq` still has
its anchored hash, and logs an error at once when it does not; `caseline verify --all`
(`check_read_audits`) recomputes every service's chain and holds it against every anchor.

A rewrite that recomputed the chain can only be placed between the last anchor that still holds
and the first that does not; the more often the ledger anchors, the closer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import psycopg

from services.ledger.schema import SCHEMA
from services.ledger.store import LedgerStore
from shared.events.registry import SERVICES
from shared.kit.audit import COLUMNS, GENESIS, AuditLog, ChainCheck, check_chain
from shared.kit.clients import async_client
from shared.kit.i18n import translate
from shared.kit.service_auth import mint_service_token
from shared.kit.settings import Settings

__all__ = [
    "Anchor",
    "AnchorStore",
    "Anchorer",
    "AuditCheck",
    "anchorer_for",
    "check_read_audits",
]

log = logging.getLogger("caseline.ledger.anchors")
_LOCK = zlib.crc32(b"caseline-audit-anchors")
_ANCHOR_COLUMNS = "anchor_seq, service, audit_seq, audit_hash, anchored_at, prev_hash, hash"
PURPOSE = "anchoring the read audit in the ledger"


@dataclass(frozen=True)
class Anchor:
    """One service's read-audit head as the ledger saw it, chained to the anchor before."""

    anchor_seq: int
    service: str
    audit_seq: int
    audit_hash: bytes
    anchored_at: datetime
    prev_hash: bytes
    hash: bytes

    @classmethod
    def of(cls, row: Sequence[Any]) -> Anchor:
        seq, service, audit_seq, audit_hash, at, prev, digest = row
        return cls(int(seq), service, int(audit_seq), bytes(audit_hash), at, bytes(prev),
                   bytes(digest))  # fmt: skip

    def expected_hash(self, prev: bytes) -> bytes:
        return anchor_hash(
            prev, self.anchor_seq, self.service, self.audit_seq, self.audit_hash, self.anchored_at
        )


def anchor_hash(
    prev: bytes, seq: int, service: str, audit_seq: int, audit_hash: bytes, at: datetime
) -> bytes:
    fields = [seq, service, audit_seq, audit_hash.hex(), at.astimezone(UTC).isoformat()]
    return hashlib.sha256(prev + json.dumps(fields, separators=(",", ":")).encode()).digest()


class AnchorStore:
    """`ledger.audit_anchors`: append and read."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def latest(self, service: str) -> Anchor | None:
        with self.store.connection() as conn:
            row = conn.execute(
                f"SELECT {_ANCHOR_COLUMNS} FROM {SCHEMA}.audit_anchors WHERE service = %s"
                " ORDER BY anchor_seq DESC LIMIT 1",
                (service,),
            ).fetchone()
        return Anchor.of(row) if row else None

    def append(self, service: str, audit_seq: int, audit_hash: bytes) -> Anchor | None:
        """Anchor a head, unless it is the one last anchored for the service (then None)."""
        with self.store.connection() as conn, conn.transaction():
            # One writer at a time, whatever the number of ledger processes.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            same = conn.execute(
                f"SELECT audit_seq = %s AND audit_hash = %s FROM {SCHEMA}.audit_anchors"
                " WHERE service = %s ORDER BY anchor_seq DESC LIMIT 1",
                (audit_seq, audit_hash, service),
            ).fetchone()
            if same and same[0]:
                return None
            last = conn.execute(
                f"SELECT anchor_seq, hash, anchored_at FROM {SCHEMA}.audit_anchors"
                " ORDER BY anchor_seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (int(last[0]) + 1, bytes(last[1])) if last else (1, GENESIS)
            now = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
            at = max(now, last[2]) if last else now
            digest = anchor_hash(prev, seq, service, audit_seq, audit_hash, at)
            conn.execute(
                f"INSERT INTO {SCHEMA}.audit_anchors ({_ANCHOR_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (seq, service, audit_seq, audit_hash, at, prev, digest),
            )
        return Anchor(seq, service, audit_seq, audit_hash, at, prev, digest)

    def all(self) -> list[Anchor]:
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT {_ANCHOR_COLUMNS} FROM {SCHEMA}.audit_anchors ORDER BY anchor_seq"
            ).fetchall()
        return [Anchor.of(r) for r in rows]


# --- taking anchors ----------------------------------------------------------------------------


class HeadSource(Protocol):
    """Where a service's read-audit head is read: `{"head": {seq, hash}, "at": {seq, hash}}`."""

    async def head(self, at: int | None) -> dict[str, Any]: ...


class OwnAudit:
    """The ledger's own read audit, read directly."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit

    async def head(self, at: int | None) -> dict[str, Any]:
        return await asyncio.to_thread(self.audit.head, at)


class ServiceAudit:
    """Another service's read audit, asked over HTTP as the ledger."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.url = url

    def _token(self) -> str:
        return mint_service_token(self.settings, "ledger", "audit-head")

    async def head(self, at: int | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token()}", "Caseline-Purpose": PURPOSE}
        async with async_client(base_url=self.url, timeout=10) as client:
            response = await client.get(
                "/audit/head", params={} if at is None else {"seq": at}, headers=headers
            )
        response.raise_for_status()
        return dict(response.json())


class Anchorer:
    """Anchors each source's head in the ledger, now and then."""

    def __init__(self, anchors: AnchorStore, sources: dict[str, HeadSource]) -> None:
        self.anchors = anchors
        self.sources = sources

    async def run(self, seconds: float) -> None:
        while True:
            try:
                await self.round()
            except psycopg.Error as exc:  # the ledger's database: tried again next round
                log.warning("anchoring the read audits failed: %r", exc)
            await asyncio.sleep(seconds)

    async def round(self) -> dict[str, str]:
        """One pass over every source: service → what was done."""
        return {name: await self._anchor(name, source) for name, source in self.sources.items()}

    async def _anchor(self, service: str, source: HeadSource) -> str:
        last = await asyncio.to_thread(self.anchors.latest, service)
        try:
            answer = await source.head(last.audit_seq if last else None)
            head, there = _link(answer.get("head")), _link(answer.get("at"))
        except (
            httpx.HTTPError,
            psycopg.Error,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
        ) as exc:
            log.warning("the read audit of %s could not be anchored: %r", service, exc)
            return f"unanswered: {type(exc).__name__}"
        rewritten = last is not None and there != (last.audit_seq, last.audit_hash)
        if last is not None and rewritten:
            log.error(
                "the read audit of %s no longer holds entry %d as the ledger anchored it at %s:"
                " it was rewritten or cut",
                service, last.audit_seq, last.anchored_at.isoformat(),
            )  # fmt: skip
        # A rewritten log's new head is anchored too: the older anchors keep the evidence.
        anchored = head is not None and (
            await asyncio.to_thread(self.anchors.append, service, *head) is not None
        )
        if rewritten:
            return "rewritten"
        return "anchored" if anchored else ("empty" if head is None else "unchanged")


def _link(value: Any) -> tuple[int, bytes] | None:
    if value is None:
        return None
    return int(value["seq"]), bytes.fromhex(value["hash"])


def anchorer_for(settings: Settings, store: LedgerStore, own: AuditLog | None) -> Anchorer:
    """The ledger's anchorer: its own log and each service with a URL in the settings."""
    sources: dict[str, HeadSource] = {}
    urls = settings.service_url_map()
    if not urls:
        log.info("no CASELINE_SERVICE_URLS: only the ledger's own read audit is anchored")
    for name in SERVICES:
        if name == "ledger" and own is not None:
            sources[name] = OwnAudit(own)
        elif name in urls:
            sources[name] = ServiceAudit(settings, urls[name])
        elif name != "ledger" and urls:
            log.warning(
                "no URL for %s in CASELINE_SERVICE_URLS: its read audit is not anchored", name
            )
    return Anchorer(AnchorStore(store), sources)


# --- checking them -----------------------------------------------------------------------------


@dataclass
class AuditCheck:
    """One service's read audit checked against its anchors (`caseline verify --all`)."""

    service: str
    anchors: int = 0
    present: bool = True
    check: ChainCheck | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and (self.check is None or self.check.ok)

    def line(self) -> str:
        """The service's line of `caseline verify --all`, in the command's language."""
        if self.problem:
            return translate(
                "{service}: FAILED: {reason}", service=self.service, reason=self.problem
            )
        if not self.present:
            return translate("{service}: no read audit in this database", service=self.service)
        if self.check is None:
            raise RuntimeError(f"{self.service}: a read audit present but not checked")
        if self.check.ok:
            return translate(
                "{service}: {entries:,} entries, {held} of {anchors} anchors hold: OK",
                service=self.service,
                entries=self.check.entries,
                held=self.check.anchors_held,
                anchors=self.anchors,
            )
        return translate(
            "{service}: FAILED at entry {seq}: {reason}",
            service=self.service,
            seq=self.check.first_bad_seq,
            reason=self.check.reason,
        )


def check_read_audits(
    store: LedgerStore, services: Iterable[str] = SERVICES
) -> tuple[str | None, list[AuditCheck]]:
    """The anchors' own chain (why it does not hold, if it does not) and each service's read
    audit recomputed and held against its anchors: the first rewritten entry, where one is."""
    try:
        anchors = AnchorStore(store).all()
    except psycopg.errors.UndefinedTable:
        anchors = []
    broken = _anchor_chain_problem(anchors)
    return broken, [_check_one(store, s, [a for a in anchors if a.service == s]) for s in services]


def _anchor_chain_problem(anchors: Sequence[Anchor]) -> str | None:
    prev = GENESIS
    for n, anchor in enumerate(anchors, 1):
        if anchor.anchor_seq != n:
            return translate("anchor {n} is missing", n=n)
        if anchor.prev_hash != prev or anchor.expected_hash(prev) != anchor.hash:
            return translate(
                "anchor {n} ({service}) was changed: its hash does not hold",
                n=n,
                service=anchor.service,
            )
        prev = anchor.hash
    return None


def _check_one(store: LedgerStore, service: str, anchors: Sequence[Anchor]) -> AuditCheck:
    result = AuditCheck(service, anchors=len(anchors))
    # The first hash anchored at a position is the one that stood then; a later, different one
    # (anchored after a rewrite) is itself a sign of the rewrite.
    held: dict[int, bytes] = {}
    for anchor in anchors:
        held.setdefault(anchor.audit_seq, anchor.audit_hash)
    table = f'"{service}".read_audit'
    try:
        with store.connection() as conn:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            if not (exists and exists[0]):
                result.present = False
                if anchors:
                    result.problem = translate(
                        "its read audit is gone, though {count} anchors hold it",
                        count=len(anchors),
                    )
                return result
            with conn.cursor(name=f"audit_{service}") as cur:
                cur.execute(f"SELECT {COLUMNS} FROM {table} ORDER BY seq")
                result.check = check_chain(cur, held)
    except psycopg.errors.InsufficientPrivilege:
        result.problem = (
            "its read audit may not be read with these credentials; verify as a role that may"
            " read every service's schema"
        )
    return result
