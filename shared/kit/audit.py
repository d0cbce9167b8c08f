"""The read audit (SPEC §8): every guarded read of a service, in an append-only hash chain.

Each service keeps its log in its own schema (`read_audit`). An entry names the reader (the
token's `sub`, `agency` and `role`; for a refused token the identity it *claimed*, each marked
`unverified:`; `anonymous` without a token), the route, the case its path names, every case its
answer carried (`case_ids`, read from the JSON answer itself, so that no list or feed can forget
to say which cases it showed), the purpose and the outcome. The entry is written once the answer
is known and before it is sent (`audit_read`, from the HTTP middleware); a read that cannot be
audited is refused (503).

Each entry's hash covers the previous one's. The ledger anchors the head of every service's chain
now and then (`services.ledger.anchors`, through `GET /audit/head`), so that whoever owns a
service's database cannot rewrite its audit without `caseline verify --all` showing it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Query, Request
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from shared.kit.auth import User, current_user
from shared.kit.errors import CaselineError, ForbiddenError, UnavailableError
from shared.kit.params import InstantQuery, query_text
from shared.kit.scope import canonical_id
from shared.kit.settings import Settings

__all__ = [
    "AUDIT_READERS",
    "PURPOSE_HEADER",
    "AuditLog",
    "ChainCheck",
    "PendingRead",
    "audit_read",
    "audit_router",
    "case_ids_in",
    "check_chain",
    "claimed_user",
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


def _text(value: str | None, limit: int = 500) -> str | None:
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
            return check.fail(expected, f"entry {expected} is missing")
        check.entries = seq
        if bytes(row[10]) != prev:
            return check.fail(seq, f"entry {seq}: its prev_hash is not the previous entry's hash")
        digest = entry_hash(prev, row)
        if digest != bytes(row[11]):
            return check.fail(seq, f"entry {seq}: its fields do not match its hash")
        anchored = anchors.get(seq)
        if anchored is not None:
            if anchored != digest:
                return check.fail(
                    held + 1,
                    f"entry {seq} is not the one anchored in the ledger: the log was rewritten"
                    f" from entry {held + 1} (the last anchor that holds is entry {held}) to"
                    f" entry {seq} at the latest",
                )
            held = seq
            check.anchors_held += 1
        prev = digest
    cut = max((s for s in anchors if s > check.entries), default=None)
    if cut is not None:
        first = check.entries + 1
        gone = f"entry {first} is" if cut == first else f"entries {first} to {cut} are"
        return check.fail(first, f"{gone} missing: the log was cut after the ledger anchored it")
    return check


# --- the log -----------------------------------------------------------------------------------


class AuditLog:
    """The read-audit log of one service, in its own schema."""

    def __init__(self, settings: Settings, schema: str, clock: Callable[[], datetime]) -> None:
        self.schema = schema
        self.table = f'"{schema}".read_audit'
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
        """Create (or bring up to date) the tables, unless the owner has already."""
        with self.pool.connection() as conn:
            # Made by the owner already: a role that may only insert and read runs no DDL.
            if self._up_to_date(conn):
                return
            conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
            try:
                conn.execute(_create_sql(self.schema))  # type: ignore[arg-type]
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
            entry = (seq, at, _text(user.sub, 300), _text(user.agency, 300),
                     _text(user.role, 300), _text(case_id, 100), _text(route), _text(purpose),
                     outcome, sorted(set(case_ids)))  # fmt: skip
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
        clauses, params = ["seq > %s"], [after]
        if case_id:
            clauses.append("(case_id = %s OR case_ids @> ARRAY[%s]::text[])")
            params += [case_id, case_id]  # type: ignore[list-item]
        if actor:
            clauses.append("actor = %s")
            params.append(_text(actor))  # type: ignore[arg-type]
        for bound, op in ((since, ">="), (until, "<=")):
            if bound is not None:
                clauses.append(f"at {op} %s")
                params.append(bound)  # type: ignore[arg-type]
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


# --- the cases an answer carries ---------------------------------------------------------------

# A key follows `{` or `,` (and white space) outside any string: inside one, every quote is
# escaped, so a match so preceded is a key of one of the answer's objects. The patterns begin with
# the key itself, which the regular expression engine finds fast in a large answer.
_CASE_ID = re.compile(rb'"case_id"\s*:\s*"([^"\\]{1,64})"')
_KEPT_APART = re.compile(rb'"keep_separate_from"\s*:\s*\[([^\]]{0,20000})\]')
_STRING = re.compile(rb'"([^"\\]{1,64})"')
_SUBJECT = re.compile(rb'"subject"\s*:\s*"([^"\\]{1,64})"')
_TYPE = re.compile(rb'"type"\s*:\s*"(caseline\.[^"\\]{1,120})"')
_ENVELOPE = b'"specversion"'
_BLANK = b" \t\r\n"


def _keyed(pattern: re.Pattern[bytes], body: bytes) -> set[bytes]:
    """The values of `pattern`'s key where it is a key (preceded by `{` or `,`)."""
    found = set()
    for match in pattern.finditer(body):
        at = match.start() - 1
        while at >= 0 and body[at] in _BLANK:
            at -= 1
        if at >= 0 and body[at] in b"{,":
            found.add(match.group(1))
    return found


@cache
def _other_subjects() -> frozenset[bytes]:
    """Event types whose envelope `subject` is not a case (a programme, an instrument)."""
    from shared.events import EVENT_TYPES

    return frozenset(m.type_name().encode() for m in EVENT_TYPES if m.subject_name != "case_id")


def case_ids_in(body: bytes) -> list[str]:
    """Every case a JSON answer carries, canonical and sorted: the values of keys `case_id`, the
    ids in `keep_separate_from`, and the `subject` of each event envelope whose subject is a case.
    """
    found: set[bytes | str] = set(_keyed(_CASE_ID, body))
    for kept in _keyed(_KEPT_APART, body):
        found.update(_STRING.findall(kept))
    if _ENVELOPE in body:
        found.update(_envelope_subjects(body))
    return sorted({c for raw in found if (c := _uuid(raw)) is not None})


def _envelope_subjects(body: bytes) -> Iterable[bytes | str]:
    if not _keyed(_TYPE, body) & _other_subjects():
        return _keyed(_SUBJECT, body)
    # Envelopes whose subject is not a case are among them: pair each subject with its type.
    try:
        return list(_case_subjects(json.loads(body)))
    except (ValueError, RecursionError):  # not JSON after all: every subject, rather than none
        return _keyed(_SUBJECT, body)


def _case_subjects(document: Any) -> Iterable[str]:
    others = {t.decode() for t in _other_subjects()}
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            subject, kind = node.get("subject"), node.get("type")
            if "specversion" in node and isinstance(subject, str) and kind not in others:
                yield subject
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _uuid(raw: bytes | str) -> str | None:
    try:
        return str(UUID(raw.decode("ascii") if isinstance(raw, bytes) else raw))
    except (ValueError, UnicodeDecodeError):
        return None


# --- writing an entry once the answer is known -------------------------------------------------


@dataclass(frozen=True)
class PendingRead:
    """A guarded read, to be written to the read audit with its outcome."""

    log: AuditLog
    user: User
    case_id: str | None
    route: str
    purpose: str | None

    def record(self, status: int, case_ids: Sequence[str] = ()) -> None:
        outcome = "allowed" if status < 400 else f"refused:{status}"
        self.log.record(self.user, self.case_id, self.route, self.purpose, outcome, case_ids)


ANONYMOUS = User(sub="anonymous", agency="anonymous", role="anonymous")
_MAX_TOKEN = 8192


def claimed_user(request: Request) -> User:
    """Who a refused request said it was: the claims of its bearer token, read without checking
    anything and each marked `unverified:`; `anonymous` without a bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return ANONYMOUS
    claims = _unverified_claims(token)
    sub, agency, role = (_claim(claims, name) for name in ("sub", "agency", "role"))
    return User(sub=f"unverified:{sub}", agency=f"unverified:{agency}", role=f"unverified:{role}")


def _unverified_claims(token: str) -> dict[str, Any]:
    import jwt

    if len(token) > _MAX_TOKEN:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:  # any bytes at all may come in a header: none of them may make a 5xx
        return {}
    return claims if isinstance(claims, dict) else {}


def _claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        return "?"
    return _text(value, 200) or "?"


def _refused_unguarded(request: Request, status: int) -> PendingRead | None:
    """The entry of a read refused before the guard knew the caller (no token, or one that is not
    valid): audited with the identity claimed."""
    route = request.scope.get("route")
    parts = getattr(request.app.state, "parts", None)
    log = getattr(parts, "audit", None)
    if request.method != "GET" or status != 401 or route is None or log is None:
        return None
    raw = request.path_params.get("case_id")
    try:
        case_id = canonical_id(raw) if isinstance(raw, str) else None
    except CaselineError:  # an id that is not one is left out, as the guard leaves it out
        case_id = None
    purpose = _text((request.headers.get(PURPOSE_HEADER) or "").strip()) or None
    return PendingRead(log, claimed_user(request), case_id, f"GET {route.path}", purpose)


async def audit_read(request: Request, response: Any) -> Any:
    """Write the read's audit entry, with the cases its answer carries; a read that cannot be
    audited is refused (503)."""
    pending = getattr(request.state, "read_audit", None)
    if not isinstance(pending, PendingRead):
        pending = _refused_unguarded(request, response.status_code)
        if pending is None:
            return response
    body = await _json_body(response) if response.status_code < 300 else None
    try:
        await asyncio.to_thread(_record, pending, response.status_code, body)
    except psycopg.Error:
        from shared.kit.http import problem

        return problem(
            503,
            "Service unavailable",
            "the read could not be audited, so it was refused",
            "unavailable",
        )
    return response


def _record(pending: PendingRead, status: int, body: bytes | None) -> None:
    pending.record(status, case_ids_in(body) if body else ())


async def _json_body(response: Any) -> bytes | None:
    """The bytes of a JSON answer (read from the stream, which is then replayed to the client)."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        return None
    iterator = getattr(response, "body_iterator", None)
    if iterator is None:
        return bytes(getattr(response, "body", b""))
    body = b"".join([chunk async for chunk in iterator])

    async def replay() -> Any:
        yield body

    response.body_iterator = replay()
    return body


async def open_read_audit(parts: Any, service: str) -> None:
    """Create the service's read-audit log (in its schema) once its other parts are up."""
    from shared.kit.clock import Clock

    audit = AuditLog(parts.settings, service, Clock(parts.settings.clock_offset_seconds).now)
    await asyncio.to_thread(audit.create)
    parts.audit = audit


# --- the auditors' routes ----------------------------------------------------------------------

audit_router = APIRouter(tags=["audit"])


def _audit_of(request: Request) -> AuditLog:
    user = current_user(request)
    if user.role not in AUDIT_READERS:
        raise ForbiddenError("only auditors read the read audit")
    return _log(request)


def _log(request: Request) -> AuditLog:
    audit = request.app.state.parts.audit
    if audit is None:
        raise UnavailableError("the read audit is not available")
    return audit  # type: ignore[no-any-return]


@audit_router.get("/audit")
def read_audit(
    request: Request,
    case_id: Annotated[str | None, query_text(100)] = None,
    actor: Annotated[str | None, query_text(300)] = None,
    since: InstantQuery = None,
    until: InstantQuery = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who read this service, which cases, when, and why (auditors only). `case_id` (any
    spelling) finds the reads whose path named the case and those whose answer carried it."""
    audit = _audit_of(request)
    wanted = canonical_id(case_id) if case_id is not None else None
    entries = audit.entries(wanted, actor, after, limit, since, until)
    return {"entries": entries, "next_after": entries[-1]["seq"] if entries else after}


@audit_router.get("/audit/head")
def audit_head(
    request: Request, seq: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> dict[str, Any]:
    """The chain's last `seq` and `hash` and, with `seq`, the hash of that entry (auditors, and
    the ledger as itself): what the ledger anchors, and how it sees an anchored entry still stands."""
    if getattr(request.state, "service_caller", None) is not None:  # admitted by the read guard
        return _log(request).head(seq)
    return _audit_of(request).head(seq)


@audit_router.get("/audit/verify")
def verify_read_audit(request: Request) -> dict[str, Any]:
    """Recompute the read audit's hash chain (auditors only)."""
    return _audit_of(request).verify()
