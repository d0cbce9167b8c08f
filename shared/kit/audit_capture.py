"""Writing the read audit from HTTP: the entry of each guarded read, once its answer is known.

The read guard (`shared.kit.access`) leaves a `PendingRead` on the request; the middleware
(`shared.kit.middleware`) holds the answer of a read until its last part, then `record_read`
records the outcome and every case the answer carried
(`case_ids_in`, read from the JSON answer itself, so that no list or feed can forget to say which
cases it showed). A read refused before the guard knew the caller is audited with the identity
its token claimed. A read that cannot be audited is refused (503).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

import jwt
import psycopg
from fastapi import Request
from fastapi.responses import Response

from shared.events import EVENT_TYPES
from shared.kit.audit import PURPOSE_HEADER, AuditLog, bounded_text
from shared.kit.auth import User, bearer_token
from shared.kit.errors import CaselineError
from shared.kit.problems import problem
from shared.kit.scope import canonical_id

__all__ = [
    "PendingRead",
    "carries_cases",
    "case_ids_in",
    "claimed_user",
    "read_entry",
    "record_read",
]

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
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    claims = _unverified_claims(token)
    sub, agency, role = (_claim(claims, name) for name in ("sub", "agency", "role"))
    return User(sub=f"unverified:{sub}", agency=f"unverified:{agency}", role=f"unverified:{role}")


def _unverified_claims(token: str) -> dict[str, Any]:
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
    return bounded_text(value, 200) or "?"


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
    purpose = bounded_text((request.headers.get(PURPOSE_HEADER) or "").strip()) or None
    return PendingRead(log, claimed_user(request), case_id, f"GET {route.path}", purpose)


def read_entry(request: Request, status: int) -> PendingRead | None:
    """The entry a request's answer must write to the read audit, if any: the read guard's, or
    that of a read refused before the guard knew the caller."""
    pending = getattr(request.state, "read_audit", None)
    if isinstance(pending, PendingRead):
        return pending
    return _refused_unguarded(request, status)


def carries_cases(status: int, content_type: str) -> bool:
    """Whether an answer's bytes name the cases it showed: a JSON answer of a read that succeeded
    (the entry then needs the whole body, so it is held until its last part)."""
    ctype = content_type.split(";")[0].strip().lower()
    return status < 300 and (ctype == "application/json" or ctype.endswith("+json"))


async def record_read(pending: PendingRead, status: int, body: bytes | None) -> Response | None:
    """Write the read's entry, with the cases its answer carries (`body`, when `carries_cases`);
    the answer to give instead when the read could not be audited (503): it is then refused."""
    try:
        await asyncio.to_thread(_record, pending, status, body)
    except psycopg.Error:
        return problem(
            503,
            "Service unavailable",
            "the read could not be audited, so it was refused",
            "unavailable",
        )
    return None


def _record(pending: PendingRead, status: int, body: bytes | None) -> None:
    pending.record(status, case_ids_in(body) if body else ())
