"""The read audit (SPEC §8): every guarded read of a service, in an append-only hash chain.

Each service keeps its log in its own schema (`read_audit`). An entry names the reader (the
token's `sub`, `agency` and `role`; for a refused token the identity it *claimed*, each marked
`unverified:`; `anonymous` without a token), the route, the case its path names, every case its
answer carried (`case_ids`), the purpose and the outcome. Entries are written once the answer is
known and before it is sent (`shared.kit.audit_capture`); auditors read them through
`shared.kit.audit_routes`.

Each entry's hash covers the previous one's. The ledger anchors the head of every service's chain
now and then (`services.ledger.anchors`, through `GET /audit/head`), so that whoever owns a
service's database cannot rewrite its audit without `caseline verify --all` showing it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.kit.auth import User
from shared.kit.clock import Clock
from shared.kit.i18n import translate
from shared.kit.pools import idle_checked_pool
from shared.kit.settings import Settings

__all__ = [
    "AUDIT_READERS",
    "COLUMNS",
    "GENESIS",
    "PURPOSE_HEADER",
    "AuditLog",
    "ChainCheck",
    "bounded_text",
    "check_chain",
    "entry_hash",
    "open_read_audit",
]

PURPOSE_HEADER = "caseline-purpose"
AUDIT_READERS = frozenset({"auditor"})
GENESIS = bytes(32)
COLUMNS = (
    "seq, at, actor, agency, role, case_id, route, purpose, outcome, case_ids, prev_hash, hash"
)
"""The columns of an entry, in the order `check_chain` takes them."""

_KEYS = ("seq", "at", "actor", "agency", "role", "case_id", "route", "purpose", "outcome")


def _create_sql(schema: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS "{schema}";
CREATE TABLE IF NOT EXISTS "{schema}".read_audit (
    seq bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    agency text NOT NULL,
    role text NOT NULL,
    case_id text,
    route text NOT NULL,
    purpose text,
    outcome text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);
ALTER TABLE "{schema}".read_audit ADD COLUMN IF NOT EXISTS case_ids text[];
CREATE INDEX IF NOT EXISTS read_audit_case ON "{schema}".read_audit (case_id, seq);
CREATE INDEX IF NOT EXISTS read_audit_case_ids ON "{schema}".read_audit USING gin (case_ids);
CREATE INDEX IF NOT EXISTS read_audit_actor ON "{schema}".read_audit (actor, seq);
CREATE OR REPLACE FUNCTION "{schema}".read_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the read audit is append-only: % refused', TG_OP;
END $$;
DROP TRIGGER IF EXISTS read_audit_append_only ON "{schema}".read_audit;
CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON "{schema}".read_audit
    FOR EACH ROW EXECUTE FUNCTION "{schema}".read_audit_append_only();
DROP TRIGGER IF EXISTS read_audit_no_truncate ON "{schema}".read_audit;
CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON "{schema}".read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".read_audit_append_only();
"""


# --- the chain ---------------------------------------------------------------------------------


def bounded_text(value: str | None, limit: int = 500) -> str | None:
    """Text as PostgreSQL and the hash can take it: bounded, no NUL, no lone surrogate."""
    if value is None:
        return None
    bounded = value[:limit].replace("\x00", "\ufffd")
    return bounded.encode("utf-8", "replace").decode("utf-8")


def _fields(row: Sequence[Any]) -> list[Any]:
    """What an entry's hash covers. Entries written before `case_ids` existed (NULL there) are
    hashed as they were; every later one with its list, empty or not."""
    seq, at, actor, agency, role, case_id, route, purpose, outcome, case_ids = row[:10]
    fields = [seq, at.astimezone(UTC).isoformat(), actor, agency, role, case_id, route, purpose,
              outcome]  # fmt: skip
    if case_ids is not None:
        fields.append(list(case_ids))
    return fields


def entry_hash(prev: bytes, row: Sequence[Any]) -> bytes:
    """SHA-256(prev ‖ the entry's fields as compact JSON)."""
    text = json.dumps(_fields(row), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev + text.encode()).digest()


@dataclass
class ChainCheck:
    """One log's chain recomputed (and held against anchored hashes, when there are some)."""

    entries: int = 0
    anchors_held: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None

    def fail(self, seq: int, reason: str) -> ChainCheck:
        self.first_bad_seq, self.reason = seq, reason
        return self


def check_chain(
    rows: Iterable[Sequence[Any]], anchors: Mapping[int, bytes] | None = None
) -> ChainCheck:
    """Recompute a chain from its rows (`COLUMNS`, in `seq` order) and, at each anchored `seq`,
    compare with the hash anchored then.

    An entry changed in place breaks its own link and is named. A rewrite whose author recomputed
    every later hash keeps the chain whole; only an anchor shows it, and the first rewritten entry
    then lies after the last anchor that still holds, at or before the first that does not.
    """
    anchors = anchors or {}
    check, prev, held = ChainCheck(), GENESIS, 0
    for row in rows:
        seq = int(row[0])
        expected = check.entries + 1
        if seq != expected:
            return check.fail(expected, translate("entry {seq} is missing", seq=expected))
        check.entries = seq
        if bytes(row[10]) != prev:
            return check.fail(
                seq,
                translate("entry {seq}: its prev_hash is not the previous entry's hash", seq=seq),
            )
        digest = entry_hash(prev, row)
        if digest != bytes(row[11]):
            return check.fail(
                seq, translate("entry {seq}: its fields do not match its hash", seq=seq)
            )
        anchored = anchors.get(seq)
        if anchored is not None:
            if anchored != digest:
                return check.fail(
                    held + 1,
                    translate(
                        "entry {seq} is not the one anchored in the ledger: the log was rewritten"
                        " from entry {first} (the last anchor that holds is entry {held}) to entry"
                        " {seq} at the latest",
                        seq=seq,
                        first=held + 1,
                        held=held,
                    ),
                )
            held = seq
            check.anchors_held += 1
        prev = digest
    cut = max((s for s in anchors if s > check.entries), default=None)
    if cut is not None:
        first = check.entries + 1
        if cut == first:
            gone = translate(
                "entry {seq} is missing: the log was cut after the ledger anchored it", seq=first
            )
        else:
            gone = translate(
                "entries {first} to {last} are missing: the log was cut after the ledger anchored"
                " it",
                first=first,
                last=cut,
            )
        return check.fail(first, gone)
    return check


# --- the log -----------------------------------------------------------------------------------


class AuditLog:
    """The read-audit log of one service, in its own schema."""

    def __init__(self, settings: Settings, schema: str, clock: Callable[[], datetime]) -> None:
        self.schema = schema
        self.table = f'"{schema}".read_audit'
        self.clock = clock
        self.lock_key = zlib.crc32(f"caseline-read-audit:{schema}".encode())
        self.pool: ConnectionPool[psycopg.Connection[Any]] = idle_checked_pool(
            settings.database.conninfo(),
            min_size=1,
            max_size=4,
            kwargs={"row_factory": tuple_row},
            open=True,
            timeout=5,
        )

    def create(self) -> None:
        """Create (or bring up to date) the tables, unless the owner has already."""
        with self.pool.connection() as conn:
            # Made by the owner already: a role that may only insert and read runs no DDL.
            if self._up_to_date(conn):
                return
            conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
            try:
                conn.execute(_create_sql(self.schema))
                conn.commit()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
                conn.commit()

    def _up_to_date(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND EXISTS ("
            " SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s)"
            " AND attname = 'case_ids' AND NOT attisdropped)",
            (self.table, self.table),
        ).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self.pool.close()

    def record(
        self,
        user: User,
        case_id: str | None,
        route: str,
        purpose: str | None,
        outcome: str,
        case_ids: Sequence[str] = (),
    ) -> None:
        """Append one read to the chain (serialised per service, so the chain has one order)."""
        at = self.clock()
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            row = conn.execute(
                f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (int(row[0]) + 1, bytes(row[1])) if row else (1, GENESIS)
            entry = (seq, at, bounded_text(user.sub, 300), bounded_text(user.agency, 300),
                     bounded_text(user.role, 300), bounded_text(case_id, 100),
                     bounded_text(route), bounded_text(purpose), outcome,
                     sorted(set(case_ids)))  # fmt: skip
            conn.execute(
                f"INSERT INTO {self.table} ({COLUMNS}) VALUES"
                " (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (*entry, prev, entry_hash(prev, entry)),
            )

    def entries(
        self,
        case_id: str | None,
        actor: str | None,
        after: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Entries after `seq` `after`: of a case (named in the path or carried by the answer),
        of an actor, within a time."""
        clauses: list[str] = ["seq > %s"]
        params: list[Any] = [after]
        if case_id:
            clauses.append("(case_id = %s OR case_ids @> ARRAY[%s]::text[])")
            params += [case_id, case_id]
        if actor:
            clauses.append("actor = %s")
            params.append(bounded_text(actor))
        for bound, op in ((since, ">="), (until, "<=")):
            if bound is not None:
                clauses.append(f"at {op} %s")
                params.append(bound)
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM {self.table} WHERE {' AND '.join(clauses)}"
                " ORDER BY seq LIMIT %s",
                (*params, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def head(self, at: int | None = None) -> dict[str, Any]:
        """The last entry's `seq` and `hash` and, with `at`, those of the entry at that `seq`."""
        with self.pool.connection() as conn:
            last = conn.execute(
                f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            there = (
                conn.execute(f"SELECT seq, hash FROM {self.table} WHERE seq = %s", (at,)).fetchone()
                if at is not None
                else None
            )
        return {"head": _link(last), "at": _link(there)}

    def verify(self) -> dict[str, Any]:
        """Recompute the whole chain."""
        with self.pool.connection() as conn, conn.cursor(name="audit_verify") as cur:
            cur.execute(f"SELECT {COLUMNS} FROM {self.table} ORDER BY seq")
            check = check_chain(cur)
        out = {"ok": check.ok, "entries": check.entries, "first_bad_seq": check.first_bad_seq}
        return out | ({"reason": check.reason} if check.reason else {})


def _entry(row: Sequence[Any]) -> dict[str, Any]:
    at = row[1].astimezone(UTC).isoformat()
    return {**dict(zip(_KEYS, (row[0], at, *row[2:9]), strict=True)),
            "case_ids": list(row[9] or ()), "prev_hash": bytes(row[10]).hex(),
            "hash": bytes(row[11]).hex()}  # fmt: skip


def _link(row: Sequence[Any] | None) -> dict[str, Any] | None:
    return {"seq": int(row[0]), "hash": bytes(row[1]).hex()} if row else None


async def open_read_audit(parts: Any, service: str) -> None:
    """Create the service's read-audit log (in its schema) once its other parts are up."""
    audit = AuditLog(parts.settings, service, Clock(parts.settings.clock_offset_seconds).now)
    await asyncio.to_thread(audit.create)
    parts.audit = audit
