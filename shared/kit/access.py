"""Need-to-know on reads (SPEC §8): who may read a service, sealed cases, and the read audit.

Every `GET` of a service passes `ReadGuard`: it checks the caller's role may read this service,
hides sealed cases from all but auditors and judges (404, as if they did not exist), requires a
`Caseline-Purpose` when configured, and writes an entry to the service's append-only,
hash-chained read-audit log before any data is returned — a read that cannot be audited is refused.
The read audit itself is `shared.kit.audit` (the log), `shared.kit.audit_capture` (its entries,
written by the HTTP middleware) and `shared.kit.audit_routes` (the auditors' routes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from shared.kit.audit import PURPOSE_HEADER, AuditLog
from shared.kit.audit_capture import PendingRead
from shared.kit.auth import current_user
from shared.kit.errors import CaselineError, ForbiddenError, NotFoundError, UnavailableError
from shared.kit.params import has_control
from shared.kit.scope import Scope, canonical_id, scope_of
from shared.kit.service_auth import service_caller, service_user
from shared.permissions import READ_AS, SERVICE_READERS

__all__ = ["CallerScope", "ReadGuard", "caller_scope", "refuse_control_characters"]

_UNGUARDED = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)

_UNGUARDED_UNDER = ("/schemas", "/console", "/docs/")
"""Paths of files that hold no record: event schemas, the console's pages, the docs' assets."""

SERVICE_READS = {"/audit/head": "audit-head"}
"""Routes a service may also read as itself (`shared.kit.service_auth`), and the call each is."""
NO_CASES = Scope("service", "linked", "caseline", (), False)
"""A service caller's scope: no case."""


class PurposeRequiredError(CaselineError):
    status = 400
    title = "Purpose required"
    slug = "purpose-required"


class ControlCharacterError(CaselineError):
    status = 400
    title = "Bad request"
    slug = "control-characters"


def refuse_control_characters(request: Request) -> None:
    """400 for a path or query holding control characters (a NUL cannot even be stored)."""
    # The raw path: `request.url` drops line feeds and tabs on its way.
    if has_control(str(request.scope.get("path", ""))) or any(
        has_control(k) or has_control(v) for k, v in request.query_params.multi_items()
    ):
        raise ControlCharacterError("the path or query holds control characters")


class ReadGuard:
    """The app-wide dependency that guards and audits every read of a service.

    Before any lookup or audit, the path's `case_id` is put in its canonical spelling (every
    spelling of one id gets one answer, and the audit names the case as auditors search it); a
    case the caller may not see (`shared.kit.scope`: sealed, or outside the agencies linked to
    it) is a 404, as for a case that does not exist. The caller's scope is left on
    `request.state.scope` for lists to use.
    """

    def __init__(self, service: str, audit: Callable[[], AuditLog | None], access: Any) -> None:
        self.service = service
        self.audit = audit
        self.access = access

    async def __call__(self, request: Request) -> None:
        # Async: a request that is not a guarded read (a command) is checked on the loop, with no
        # thread hop; a read's look-ups go to the thread pool.
        route = getattr(request.scope.get("route"), "path", "")
        if request.method != "GET" or route in _UNGUARDED or route.startswith(_UNGUARDED_UNDER):
            refuse_control_characters(request)
            return
        await run_in_threadpool(self._guard_read, request, route)

    def _guard_read(self, request: Request, route: str) -> None:
        log = self.audit()
        if log is None:
            raise UnavailableError("the read audit is not available; the read was refused")
        raw_case_id = request.path_params.get("case_id")
        refusal: CaselineError | None = None
        try:
            refuse_control_characters(request)
            case_id = canonical_id(raw_case_id) if raw_case_id is not None else None
        except CaselineError as exc:
            refusal, case_id = exc, None
        call = SERVICE_READS.get(route)
        service = service_caller(request, call) if call is not None else None
        request.state.service_caller = service
        user = service_user(service) if service is not None else current_user(request)
        scope = scope_of(user) if service is None else NO_CASES
        request.state.scope = scope
        purpose = request.headers.get(PURPOSE_HEADER)
        if purpose is not None:
            purpose = purpose.strip()[:500] or None
        if refusal is not None:
            pass
        elif purpose is None and request.app.state.settings.require_purpose:
            refusal = PurposeRequiredError(
                "reads must state a purpose in the Caseline-Purpose header"
            )
        elif service is None and user.role not in SERVICE_READERS.get(self.service, frozenset()):
            refusal = ForbiddenError(
                "role {role!r} may not read the {service} record",
                role=user.role,
                service=self.service,
            )
        elif case_id is not None and not self._visible(scope, case_id, READ_AS.get(route)):
            refusal = NotFoundError("no case {case_id}", case_id=case_id)
        # The entry is written once the answer is known (by the HTTP middleware, `record_read`),
        # so a refusal by the route itself (an agency check, an unknown case) is audited as such.
        request.state.read_audit = PendingRead(log, user, case_id, f"GET {route}", purpose)
        if refusal is not None:
            raise refusal

    def _visible(self, scope: Scope, case_id: str, command: str | None) -> bool:
        access = self.access()
        if access is None:
            raise UnavailableError("the access rules are not available; the read was refused")
        return bool(access.visible(scope, case_id, command=command))


async def caller_scope(request: Request) -> Scope:
    """FastAPI dependency: the caller's scope, as the read guard found it (lists filter by it)."""
    scope = getattr(request.state, "scope", None)
    return scope if isinstance(scope, Scope) else scope_of(current_user(request))


CallerScope = Annotated[Scope, Depends(caller_scope)]
"""The cases the caller may see; every list route takes it and filters its query by it."""
