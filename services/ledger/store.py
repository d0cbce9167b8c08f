"""The ledger's append-only, hash-chained store of every event, in PostgreSQL.

Each entry's canonical bytes (RFC 8785 JSON of ledger position, case, case position, type and the
envelope as received) are fixed at append time and stored; `hash = SHA-256(prev_hash ‖ canonical)`
chains the entries of one case. Verifying reads stored bytes and never re-canonicalises.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import rfc8785
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.kit.settings import Settings

__all__ = ["GENESIS", "Appendable", "LedgerStore", "Verification", "entry_hash"]

GENESIS = bytes(32)
SCHEMA = "ledger"
_APPEND_LOCK = zlib.crc32(b"caseline-ledger-append")


def entry_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev_hash + canonical).digest()


@dataclass(frozen=True)
class Appendable:
    """One valid envelope to append: its id, case (subject), type, times and parsed JSON."""

    event_id: str
    case_id: str
    type: str
    time: datetime
    recordedtime: datetime
    envelope: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    head_hash: str | None
    first_bad_seq: int | None
    reason: str | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


_CREATE = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
    ledger_seq bigint PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    case_id text NOT NULL,
    case_seq integer NOT NULL,
    type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_recorded_at timestamptz NOT NULL,
    appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    canonical bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    UNIQUE (case_id, case_seq)
);
CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END $$;
DROP TRIGGER IF EXISTS entries_append_only ON {SCHEMA}.entries;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.entries
    FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change();
DROP TRIGGER IF EXISTS entries_no_truncate ON {SCHEMA}.entries;
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON {SCHEMA}.entries
    FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
"""


class LedgerStore:
    """Appends and reads ledger entries."""

    def __init__(self, settings: Settings, *, pool_size: int = 4) -> None:
        self.settings = settings
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            settings.database.conninfo(),
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": tuple_row},
            open=True,
            timeout=5,
        )

    def create(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock({_APPEND_LOCK})")
            try:
                conn.execute(_CREATE)  # type: ignore[arg-type]
                conn.commit()
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({_APPEND_LOCK})")
                conn.commit()

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            yield conn

    def ping(self) -> None:
        with self.pool.connection() as conn:
            conn.execute("SELECT 1")

    # --- append ---------------------------------------------------------------------------

    def append(self, items: Sequence[Appendable]) -> int:
        """Append the items not yet in the ledger, in order, in one transaction; returns how many."""
        if not items:
            return 0
        with self.pool.connection() as conn, conn.transaction():
            # One appender at a time, whatever the number of ledger processes.
            conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
            ids = [i.event_id for i in items]
            known = {
                str(r[0])
                for r in conn.execute(
                    f"SELECT event_id FROM {SCHEMA}.entries WHERE event_id = ANY(%s::uuid[])", (ids,)
                )
            }
            fresh: list[Appendable] = []
            for item in items:
                if item.event_id not in known:
                    known.add(item.event_id)
                    fresh.append(item)
            if not fresh:
                return 0
            cases = sorted({i.case_id for i in fresh})
            heads = {
                r[0]: (r[1], bytes(r[2]))
                for r in conn.execute(
                    f"SELECT DISTINCT ON (case_id) case_id, case_seq, hash FROM {SCHEMA}.entries"
                    " WHERE case_id = ANY(%s) ORDER BY case_id, case_seq DESC",
                    (cases,),
                )
            }
            row = conn.execute(f"SELECT coalesce(max(ledger_seq), 0) FROM {SCHEMA}.entries").fetchone()
            ledger_seq = int(row[0]) if row else 0
            rows = []
            for item in fresh:
                ledger_seq += 1
                case_seq, prev = heads.get(item.case_id, (0, GENESIS))
                case_seq += 1
                canonical = rfc8785.dumps(
                    {
                        "case_id": item.case_id,
                        "case_seq": case_seq,
                        "event": item.envelope,
                        "ledger_seq": ledger_seq,
                        "type": item.type,
                    }
                )
                digest = entry_hash(prev, canonical)
                heads[item.case_id] = (case_seq, digest)
                rows.append(
                    (ledger_seq, item.event_id, item.case_id, case_seq, item.type, item.time,
                     item.recordedtime, canonical, prev, digest)
                )  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {SCHEMA}.entries (ledger_seq, event_id, case_id, case_seq, type,"
                    " event_time, event_recorded_at, canonical, prev_hash, hash)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            return len(rows)

    # --- reads ----------------------------------------------------------------------------

    def timeline(
        self,
        case_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        as_of: datetime | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """The case's entries in ledger order, filtered as asked."""
        clauses, params = ["case_id = %s"], [case_id]
        if types:
            clauses.append("type = ANY(%s)")
            params.append(list(types))  # type: ignore[arg-type]
        if since is not None:
            clauses.append("event_time >= %s")
            params.append(since)  # type: ignore[arg-type]
        if until is not None:
            clauses.append("event_time <= %s")
            params.append(until)  # type: ignore[arg-type]
        if as_of is not None:
            clauses.append("appended_at <= %s")
            params.append(as_of)  # type: ignore[arg-type]
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT ledger_seq, case_seq, hash, prev_hash, appended_at, canonical"
                f" FROM {SCHEMA}.entries WHERE {' AND '.join(clauses)}"  # noqa: S608
                " ORDER BY ledger_seq LIMIT %s",
                (*params, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def feed(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Every entry after `after` in ledger order (the HTTP feed for partners)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT ledger_seq, case_seq, hash, prev_hash, appended_at, canonical"
                f" FROM {SCHEMA}.entries WHERE ledger_seq > %s ORDER BY ledger_seq LIMIT %s",
                (after, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def size(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.entries").fetchone()
        return int(row[0]) if row else 0

    def event_ids(self) -> set[str]:
        with self.pool.connection() as conn:
            return {str(r[0]) for r in conn.execute(f"SELECT event_id FROM {SCHEMA}.entries")}

    def verify(self, case_id: str) -> Verification:
        """Recompute the case's chain from the stored bytes."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT ledger_seq, case_seq, type, canonical, prev_hash, hash FROM {SCHEMA}.entries"
                " WHERE case_id = %s ORDER BY case_seq",
                (case_id,),
            ).fetchall()
        return verify_chain(case_id, rows)


def verify_chain(case_id: str, rows: Sequence[tuple[Any, ...]]) -> Verification:
    """Check a case's rows (ledger_seq, case_seq, type, canonical, prev_hash, hash) in order."""
    prev = GENESIS
    for expected_seq, (ledger_seq, case_seq, type_, canonical, prev_hash, digest) in enumerate(rows, 1):
        canonical, prev_hash, digest = bytes(canonical), bytes(prev_hash), bytes(digest)
        reason = None
        if case_seq != expected_seq:
            reason = f"entry {expected_seq} is missing or out of place"
        elif prev_hash != prev:
            reason = "prev_hash does not match the previous entry's hash"
        elif entry_hash(prev, canonical) != digest:
            reason = "the entry's bytes do not match its hash"
        else:
            try:
                parsed = json.loads(canonical)
            except ValueError:
                parsed = {}
            if (
                parsed.get("case_id") != case_id
                or parsed.get("case_seq") != case_seq
                or parsed.get("ledger_seq") != ledger_seq
                or parsed.get("type") != type_
            ):
                reason = "the stored columns differ from the hashed entry"
        if reason:
            return Verification(False, len(rows), prev.hex() if expected_seq > 1 else None, expected_seq, reason)
        prev = digest
    return Verification(True, len(rows), prev.hex() if rows else None, None)


def _entry(row: tuple[Any, ...]) -> dict[str, Any]:
    ledger_seq, case_seq, digest, prev_hash, appended_at, canonical = row
    entry = json.loads(bytes(canonical))
    return {
        "ledger_seq": ledger_seq,
        "case_seq": case_seq,
        "hash": bytes(digest).hex(),
        "prev_hash": bytes(prev_hash).hex(),
        "appended_at": appended_at.isoformat(),
        "event": entry["event"],
    }
