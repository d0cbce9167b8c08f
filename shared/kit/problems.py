"""Every error of every service answered as an RFC 9457 problem document.

`problem` builds one; `install_problem_handlers` maps the kit's error tree (`shared.kit.errors`),
invalid requests and unexpected errors to problems, and a database outage to a 503.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.kit.errors import CaselineError

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_RESPONSES",
    "FieldError",
    "Problem",
    "install_problem_handlers",
    "is_database_down",
    "methods_of",
    "problem",
    "routed",
]

log = logging.getLogger("caseline.http")
PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of every service is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("Malformed request or header"),
    401: _problem_response("No token, or a token that is not valid"),
    403: _problem_response("Not allowed for this role or agency"),
    404: _problem_response("Unknown, or not visible to the caller"),
    409: _problem_response("A domain rule refuses it; the detail says which"),
    412: _problem_response("The If-Match version is stale"),
    413: _problem_response("The body is too large"),
    415: _problem_response("The body is not JSON"),
    422: _problem_response("Invalid fields, each named in `errors`"),
    503: _problem_response("A dependency is down; nothing was recorded"),
}


def problem(
    status: int, title: str, detail: str, slug: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """An `application/problem+json` response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": f"https://caseline.example/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return out


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def methods_of(request: Request) -> set[str]:
    """Every method some route serves at the request's path (Starlette's own 405 names only the
    methods of the first route whose path matched)."""
    return {m for m in _METHODS if routed(request, m)}


def routed(request: Request, method: str | None = None) -> bool:
    """Whether a route serves `method` (the request's own by default) at the request's path."""
    scope = {**request.scope, "method": method or request.method}
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaselineError)
    async def _caseline(_: Request, exc: CaselineError) -> JSONResponse:
        detail = exc.detail
        rule = getattr(exc, "rule", None)
        response = problem(
            exc.status, exc.title, detail, rule if exc.status == 409 and rule else exc.slug
        )
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(
                400, "Malformed request", "the body is not valid JSON", "malformed", errors
            )
        named = ", ".join(sorted({e["field"] for e in errors}))
        return problem(422, "Invalid fields", f"invalid fields: {named}", "invalid-fields", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 400: "Bad request"}
        response = problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), "http"
        )
        if exc.status_code == 405:
            # RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
            response.headers["Allow"] = ", ".join(sorted(methods_of(request)))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_database_down(exc):
            log.warning("answered 503: %r", exc)
            return problem(
                503,
                "Service unavailable",
                "the database is unreachable; nothing was recorded",
                "unavailable",
            )
        log.exception("unexpected error")
        return problem(
            500, "Internal error", "an unexpected error; nothing was recorded", "internal"
        )


def is_database_down(exc: BaseException) -> bool:
    return isinstance(
        exc,
        (
            OperationalError,
            InterfaceError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
            TimeoutError,
        ),
    )
