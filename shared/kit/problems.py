"""Every error of every service answered as an RFC 9457 problem document.

`problem` builds one; `install_problem_handlers` maps the kit's error tree (`shared.kit.errors`),
invalid requests and unexpected errors to problems, and a database outage to a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.kit.errors import CaselineError
from shared.kit.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    current_language,
    negotiate,
    set_language,
    translate,
)

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_RESPONSES",
    "FieldError",
    "LanguageMiddleware",
    "Problem",
    "field_message",
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
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    *,
    params: Mapping[str, object] | None = None,
    title_context: str | None = None,
) -> JSONResponse:
    """An `application/problem+json` response (RFC 9457), in the request's language.

    `title` and `detail` are English, `detail` with named placeholders filled from `params`; both
    are translated in the context of the problem's `slug` (the title in `title_context`'s if
    given: an error class's slug while its type is its rule)."""
    language = current_language()
    body: dict[str, Any] = {
        "type": f"https://caseline.example/problems/{slug}",
        "title": translate(title, language, context=title_context or slug),
        "status": status,
        "detail": translate(detail, language, context=slug, **(params or {})),
    }
    if errors is not None:
        body["errors"] = errors
    headers = {"Content-Language": language, "Vary": "Accept-Language"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Pydantic's messages by error type, in English as pydantic words them (with its context's
# placeholders): a field's message is translated by its type; English keeps pydantic's own.
_VALIDATION = "invalid-fields"
_FIELD_MESSAGES: dict[str, str] = {
    "missing": N_("Field required", "invalid-fields"),
    "extra_forbidden": N_("Extra inputs are not permitted", "invalid-fields"),
    "string_type": N_("Input should be a valid string", "invalid-fields"),
    "string_too_short": N_("String should have at least {min_length} characters", "invalid-fields"),
    "string_too_long": N_("String should have at most {max_length} characters", "invalid-fields"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'", "invalid-fields"),
    "too_short": N_("The list should have at least {min_length} items", "invalid-fields"),
    "too_long": N_("The list should have at most {max_length} items", "invalid-fields"),
    "int_type": N_("Input should be a valid integer", "invalid-fields"),
    "int_parsing": N_("Input should be a valid integer", "invalid-fields"),
    "int_from_float": N_("Input should be a valid integer", "invalid-fields"),
    "float_type": N_("Input should be a valid number", "invalid-fields"),
    "float_parsing": N_("Input should be a valid number", "invalid-fields"),
    "bool_type": N_("Input should be a valid boolean", "invalid-fields"),
    "bool_parsing": N_("Input should be a valid boolean", "invalid-fields"),
    "greater_than": N_("Input should be greater than {gt}", "invalid-fields"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}", "invalid-fields"),
    "less_than": N_("Input should be less than {lt}", "invalid-fields"),
    "less_than_equal": N_("Input should be less than or equal to {le}", "invalid-fields"),
    "enum": N_("Input should be {expected}", "invalid-fields"),
    "literal_error": N_("Input should be {expected}", "invalid-fields"),
    "datetime_type": N_("Input should be a valid datetime", "invalid-fields"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}", "invalid-fields"),
    "datetime_from_date_parsing": N_(
        "Input should be a valid datetime or date, {error}", "invalid-fields"
    ),
    "timezone_aware": N_("Input should have timezone info", "invalid-fields"),
    "date_type": N_("Input should be a valid date", "invalid-fields"),
    "date_parsing": N_(
        "Input should be a valid date in the format YYYY-MM-DD, {error}", "invalid-fields"
    ),
    "date_from_datetime_parsing": N_(
        "Input should be a valid date or datetime, {error}", "invalid-fields"
    ),
    "date_from_datetime_inexact": N_(
        "Datetimes provided to dates should have zero time", "invalid-fields"
    ),
    "uuid_type": N_("UUID input should be a string, bytes or UUID object", "invalid-fields"),
    "uuid_parsing": N_("Input should be a valid UUID, {error}", "invalid-fields"),
    "dict_type": N_("Input should be a valid dictionary", "invalid-fields"),
    "model_type": N_("Input should be a valid dictionary or object", "invalid-fields"),
    "model_attributes_type": N_("Input should be a valid dictionary or object", "invalid-fields"),
    "list_type": N_("Input should be a valid list", "invalid-fields"),
    "json_invalid": N_("Invalid JSON: {error}", "invalid-fields"),
    "value_error": N_("Value error, {error}", "invalid-fields"),
    "url_parsing": N_("Input should be a valid URL, {error}", "invalid-fields"),
    "url_scheme": N_("URL scheme should be {expected_schemes}", "invalid-fields"),
}


def field_message(error: Mapping[str, Any], language: str | None = None) -> str:
    """One pydantic error's message in `language`: by its error type, its context's values
    (lengths, patterns, the expected choices) left as they are; English keeps pydantic's own."""
    language = language or current_language()
    message = str(error.get("msg", "invalid"))
    template = _FIELD_MESSAGES.get(str(error.get("type", "")))
    if language == "en" or template is None:
        return message
    ctx = dict(error.get("ctx") or {})
    if template.startswith("Value error, ") and "error" in ctx:
        # A validator's own words, after pydantic's prefix: a message of the catalogue.
        words = message.removeprefix("Value error, ")
        ctx["error"] = translate(words, language, context=_VALIDATION)
    try:
        return translate(template, language, context=_VALIDATION, **ctx)
    except (KeyError, IndexError):
        return message


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "body", "message": field_message(err)})
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


# The words a detail's placeholders may hold (what ended a limit, a kind of release, a status):
# translated in the context "value" when the problem is answered, kept as they are otherwise.
_VALUES = (
    N_("admission", "value"),
    N_("release", "value"),
    N_("detention_order", "value"),
    N_("verdict", "value"),
    N_("the enrolment", "value"),
    N_("the completion", "value"),
    N_("the withdrawal", "value"),
    N_("the plan's agreement", "value"),
    N_("the follow-up", "value"),
    N_("acquittal", "value"),
    N_("dismissal", "value"),
    N_("sentence_served", "value"),
    N_("conditional", "value"),
    N_("bail", "value"),
    N_("convicted", "value"),
    N_("acquitted", "value"),
    N_("dismissed", "value"),
    N_("in progress", "value"),
    N_("submitted", "value"),
    N_("countersigned", "value"),
    N_("abandoned", "value"),
    N_("held", "value"),
    N_("adjourned", "value"),
    N_("pending", "value"),
    N_("accepted", "value"),
    N_("declined", "value"),
    N_("revoked", "value"),
)


def _words(params: Mapping[str, object]) -> dict[str, object]:
    return {
        k: translate(v, context="value") if isinstance(v, str) else v for k, v in params.items()
    }


_HTTP_TITLES = {
    404: N_("Not found", "http"),
    405: N_("Method not allowed", "http"),
    400: N_("Bad request", "http"),
}
# Starlette's own details of its refusals.
_HTTP_DETAILS = (N_("Not Found", "http"), N_("Method Not Allowed", "http"), N_("Error", "http"))


class LanguageMiddleware:
    """Sets the language of what a request answers from its `Accept-Language` (fr, ar, en, with
    q-values), `default` when it names none of them: `problem` then speaks it. Added last, so
    that it is the outermost: every middleware's own refusals speak it too."""

    def __init__(self, app: ASGIApp, default: str = DEFAULT_LANGUAGE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = Headers(scope=scope).get("accept-language")
            set_language(negotiate(header, self.default))
        await self.app(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaselineError)
    async def _caseline(_: Request, exc: CaselineError) -> JSONResponse:
        if not exc.template:  # no detail: the title, in the title's context
            detail = translate(exc.title, context=exc.slug)
            return problem(exc.status, exc.title, detail, exc.problem_type, title_context=exc.slug)
        return problem(
            exc.status,
            exc.title,
            exc.template,
            exc.problem_type,
            params=_words(exc.params),
            title_context=exc.slug,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return problem(
                400, "Malformed request", "the body is not valid JSON", "malformed", errors
            )
        named = ", ".join(sorted({e["field"] for e in errors}))
        return problem(
            422,
            "Invalid fields",
            "invalid fields: {named}",
            "invalid-fields",
            errors,
            params={"named": named},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _HTTP_TITLES.get(exc.status_code, N_("Error", "http"))
        response = problem(exc.status_code, title, str(exc.detail), "http")
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
