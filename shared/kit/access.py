"""Need-to-know on reads (SPEC §8): who may read a service, sealed cases, and the read audit.

Every `GET` of a service passes `ReadGuard`: it checks the caller's role may read this service,
hides sealed cases from all but auditors and judges (404, as if they did not exist), requires a
`Caseline-Purpose` when configured, and writes an entry to the service's append-only,
hash-chained read-audit log before any data is returned — a read that cannot be audited is refused.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Query, Request
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.kit.auth import User, current_user
from shared.kit.errors import CaselineError, ForbiddenError, NotFoundError, UnavailableError
from shared.kit.settings import Settings
from shared.permissions import SEALED_CASE_READERS, SERVICE_READERS

__all__ = [
    "PURPOSE_HEADER",
    "AuditLog",
    "ReadGuard",
    "audit_read",
    "audit_router",
    "open_read_audit",
    "seal_op",
    "sealing_reactions",
]

PURPOSE_HEADER = "caseline-purpose"
_UNGUARDED = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
_GENESIS = bytes(32)


class PurposeRequiredError(CaselineError):
    status = 400
    title = "Purpose required"
    slug = "purpose-required"


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
CREATE INDEX IF NOT EXISTS read_audit_case ON "{schema}".read_audit (case_id, seq);
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
CREATE TABLE IF NOT EXISTS "{schema}".sealed_cases (
    case_id text PRIMARY KEY,
    sealed_at timestamptz NOT NULL,
    event_id uuid NOT NULL
);
"""


class AuditLog:
    """The read-audit log of one service, in its own schema."""

    def __init__(self, settings: Settings, schema: str, clock: Callable[[], datetime]) -> None:
        self.schema = schema
        self.clock = clock
        self.lock_key = zlib.crc32(f"caseline-read-audit:{schema}".encode())
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            settings.database.conninfo(),
            min_size=1,
            max_size=4,
            kwargs={"row_factory": tuple_row},
            open=True,
            timeout=5,
        )

    def create(self) -> None:
        with self.pool.connection() as conn:
            # Made by the owner already: a role that may only insert and read runs no DDL.
            names = [f'"{self.schema}".read_audit', f'"{self.schema}".sealed_cases']
            row = conn.execute(
                "SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest(%s::text[]) AS n", (names,)
            ).fetchone()
            if row and row[0]:
                return
            conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
            try:
                conn.execute(_create_sql(self.schema))  # type: ignore[arg-type]
                conn.commit()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))
                conn.commit()

    def close(self) -> None:
        self.pool.close()

    def record(
        self, user: User, case_id: str | None, route: str, purpose: str | None, outcome: str
    ) -> None:
        """Append one read to the chain (serialised per service, so the chain has one order)."""
        at = self.clock()
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            row = conn.execute(
                f'SELECT seq, hash FROM "{self.schema}".read_audit ORDER BY seq DESC LIMIT 1'
            ).fetchone()
            seq, prev = (int(row[0]) + 1, bytes(row[1])) if row else (1, _GENESIS)
            fields = [
                seq,
                at.isoformat(),
                user.sub,
                user.agency,
                user.role,
                case_id,
                route,
                purpose,
                outcome,
            ]
            digest = hashlib.sha256(prev + _canonical(fields)).digest()
            conn.execute(
                f'INSERT INTO "{self.schema}".read_audit (seq, at, actor, agency, role, case_id,'
                " route, purpose, outcome, prev_hash, hash) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    seq,
                    at,
                    user.sub,
                    user.agency,
                    user.role,
                    case_id,
                    route,
                    purpose,
                    outcome,
                    prev,
                    digest,
                ),
            )

    def entries(
        self, case_id: str | None, actor: str | None, after: int, limit: int
    ) -> list[dict[str, Any]]:
        clauses, params = ["seq > %s"], [after]
        if case_id:
            clauses.append("case_id = %s")
            params.append(case_id)  # type: ignore[arg-type]
        if actor:
            clauses.append("actor = %s")
            params.append(actor)  # type: ignore[arg-type]
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT seq, at, actor, agency, role, case_id, route, purpose, outcome, prev_hash, hash"
                f' FROM "{self.schema}".read_audit WHERE {" AND ".join(clauses)} ORDER BY seq LIMIT %s',
                (*params, limit),
            ).fetchall()
        keys = ("seq", "at", "actor", "agency", "role", "case_id", "route", "purpose", "outcome")
        return [
            {**dict(zip(keys, (r[0], r[1].isoformat(), *r[2:9]), strict=True)),
             "prev_hash": bytes(r[9]).hex(), "hash": bytes(r[10]).hex()}
            for r in rows
        ]  # fmt: skip

    def verify(self) -> dict[str, Any]:
        """Recompute the whole chain."""
        prev, count = _GENESIS, 0
        with self.pool.connection() as conn, conn.cursor(name="audit_verify") as cur:
            cur.execute(
                f"SELECT seq, at, actor, agency, role, case_id, route, purpose, outcome, prev_hash, hash"
                f' FROM "{self.schema}".read_audit ORDER BY seq'
            )
            for row in cur:
                count += 1
                seq, at, *rest = row[:9]
                fields = [seq, at.isoformat(), *rest]
                if seq != count or bytes(row[9]) != prev:
                    return {"ok": False, "entries": count, "first_bad_seq": count}
                prev = hashlib.sha256(prev + _canonical(fields)).digest()
                if prev != bytes(row[10]):
                    return {"ok": False, "entries": count, "first_bad_seq": count}
        return {"ok": True, "entries": count, "first_bad_seq": None}

    # --- sealing --------------------------------------------------------------------------

    def is_sealed(self, case_id: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                f'SELECT 1 FROM "{self.schema}".sealed_cases WHERE case_id = %s',
                (case_id,),
            ).fetchone()
        return row is not None


def seal_op(case_id: str, sealed_at: datetime, event_id: UUID) -> tuple[str, tuple[Any, ...]]:
    """The SQL that notes a sealed case (run with the inbound record of the CaseSealed event)."""
    return (
        "INSERT INTO {schema}.sealed_cases (case_id, sealed_at, event_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (case_id) DO NOTHING",
        (case_id, sealed_at, event_id),
    )


def sealing_reactions(app: Any) -> Any:
    """Every event-sourced service learns of sealed cases from judicial's `CaseSealed`."""
    from shared.events import CaseSealed
    from shared.kit.subscriber import Reactions

    def on_sealed(envelope: Any, event: Any, inbound: tuple[str, UUID]) -> None:
        op = seal_op(str(envelope.subject), envelope.time, UUID(str(envelope.id)))
        app.record_inbound_only(inbound[0], inbound[1], [op])

    return Reactions(app, "sealing", {CaseSealed: on_sealed})


def _canonical(fields: list[Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class PendingRead:
    """A guarded read, to be written to the read audit with its outcome."""

    log: AuditLog
    user: User
    case_id: str | None
    route: str
    purpose: str | None

    def record(self, status: int) -> None:
        outcome = "allowed" if status < 400 else f"refused:{status}"
        self.log.record(self.user, self.case_id, self.route, self.purpose, outcome)


async def audit_read(request: Request, response: Any) -> Any:
    """Write the pending read's audit entry; a read that cannot be audited is refused (503)."""
    import asyncio

    pending = getattr(request.state, "read_audit", None)
    if not isinstance(pending, PendingRead):
        return response
    try:
        await asyncio.to_thread(pending.record, response.status_code)
    except psycopg.Error:
        from shared.kit.http import problem

        return problem(
            503,
            "Service unavailable",
            "the read could not be audited, so it was refused",
            "unavailable",
        )
    return response


class ReadGuard:
    """The app-wide dependency that guards and audits every read of a service."""

    def __init__(
        self,
        service: str,
        audit: Callable[[], AuditLog | None],
        sealed: Callable[[str], bool] | None = None,
    ) -> None:
        self.service = service
        self.audit = audit
        self.sealed = sealed

    def __call__(self, request: Request) -> None:
        if request.method != "GET":
            return
        route = getattr(request.scope.get("route"), "path", "")
        if route in _UNGUARDED or route.startswith("/schemas"):
            return
        log = self.audit()
        if log is None:
            raise UnavailableError("the read audit is not available; the read was refused")
        user = current_user(request)
        case_id = request.path_params.get("case_id")
        purpose = request.headers.get(PURPOSE_HEADER)
        if purpose is not None:
            purpose = purpose.strip()[:500] or None
        refusal: CaselineError | None = None
        if purpose is None and request.app.state.settings.require_purpose:
            refusal = PurposeRequiredError(
                "reads must state a purpose in the Caseline-Purpose header"
            )
        elif user.role not in SERVICE_READERS.get(self.service, frozenset()):
            refusal = ForbiddenError(f"role {user.role!r} may not read the {self.service} record")
        elif case_id and user.role not in SEALED_CASE_READERS and self._is_sealed(log, case_id):
            refusal = NotFoundError(f"no case {case_id}")
        # The entry is written once the answer is known (by `audit_read`, in the HTTP middleware),
        # so a refusal by the route itself (an agency check, an unknown case) is audited as such.
        request.state.read_audit = PendingRead(log, user, case_id, f"GET {route}", purpose)
        if refusal is not None:
            raise refusal

    def _is_sealed(self, log: AuditLog, case_id: str) -> bool:
        if self.sealed is not None:
            return self.sealed(case_id)
        return log.is_sealed(case_id)


async def open_read_audit(parts: Any, service: str) -> None:
    """Create the service's read-audit log (in its schema) once its other parts are up."""
    import asyncio

    from shared.kit.clock import Clock

    audit = AuditLog(parts.settings, service, Clock(parts.settings.clock_offset_seconds).now)
    await asyncio.to_thread(audit.create)
    parts.audit = audit


audit_router = APIRouter(tags=["audit"])


def _audit_of(request: Request) -> AuditLog:
    audit = request.app.state.parts.audit
    if audit is None:
        raise UnavailableError("the read audit is not available")
    return audit  # type: ignore[no-any-return]


@audit_router.get("/audit")
def read_audit(
    request: Request,
    case_id: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who read which case of this service, when, and why (auditors only)."""
    user = current_user(request)
    if user.role not in AUDIT_READERS:
        raise ForbiddenError("only auditors read the read audit")
    entries = _audit_of(request).entries(case_id, actor, after, limit)
    return {"entries": entries, "next_after": entries[-1]["seq"] if entries else after}


@audit_router.get("/audit/verify")
def verify_read_audit(request: Request) -> dict[str, Any]:
    """Recompute the read audit's hash chain (auditors only)."""
    user = current_user(request)
    if user.role not in AUDIT_READERS:
        raise ForbiddenError("only auditors read the read audit")
    return _audit_of(request).verify()


AUDIT_READERS = frozenset({"auditor"})
