"""The hostile read matrix's tools: every `GET` route of every service, found by walking the
apps as built (so a new route is in the matrix without anyone adding it), the spellings of an
id, the query variants of a list, and the scan of an answer for what it must not carry.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi.routing import iter_route_contexts

from shared.kit.settings import Settings
from shared.permissions import may_see
from tests.access.records import OTHER_FACILITY
from tests.access.routes import OPERATOR_ROUTES, READ_SERVICES, UNGUARDED_ROUTES
from tests.support import TEST_FACILITY

__all__ = [
    "FILLED",
    "SPELLINGS",
    "carried",
    "get_routes",
    "guarded_routes",
    "hidden_types",
    "list_variants",
    "listed",
    "next_page",
    "pages",
    "parsed",
    "path_params",
    "query_names",
    "spelled_path",
    "unfillable",
]

SPELLINGS = {
    "canonical": lambda u: u,
    "upper": lambda u: u.upper(),
    "hex": lambda u: UUID(u).hex,
    "urn": lambda u: f"urn:uuid:{u}",
    "braces": lambda u: "{" + u + "}",
}
"""Spellings of one UUID that Python's `UUID` reads as the same id."""

FILLED = frozenset(
    {"case_id", "assessment_id", "referral_id", "programme_id", "instrument_id", "version", "size"}
)
"""The path parameters the matrix knows how to fill (`tests.access.reads.read_ids`)."""

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@cache
def _app(service: str) -> Any:
    module = importlib.import_module(f"services.{service}.service")
    return module.create_app(Settings(environment="test"))


@cache
def get_routes(service: str) -> tuple[str, ...]:
    """Every `GET` route of the service's app, as built (nothing started)."""
    contexts = iter_route_contexts(_app(service).routes)
    return tuple(sorted({c.path for c in contexts if c.methods and "GET" in c.methods}))


def guarded_routes() -> list[tuple[str, str]]:
    """(service, route) of every case-reading `GET` route: not those listed as unguarded, nor
    the operators' routes (`OPERATOR_ROUTES`, swept by a test of their own)."""
    return [
        (s, r)
        for s in READ_SERVICES
        for r in get_routes(s)
        if r not in UNGUARDED_ROUTES[s] and r not in OPERATOR_ROUTES.get(s, {})
    ]


def path_params(route: str) -> list[str]:
    return _PARAM.findall(route)


def unfillable() -> list[tuple[str, str, str]]:
    """(service, route, parameter) of guarded routes whose path the matrix cannot fill."""
    return [(s, r, p) for s, r in guarded_routes() for p in path_params(r) if p not in FILLED]


def spelled_path(route: str, ids: dict[str, str], spelling: str) -> str:
    """The route's path with its ids, every UUID in `spelling` (percent-encoded)."""
    spell = SPELLINGS[spelling]
    values = {}
    for name in path_params(route):
        value = ids[name]
        values[name] = quote(spell(value) if _is_uuid(value) else value, safe=":")
    return route.format(**values)


def _is_uuid(value: str) -> bool:
    try:
        return str(UUID(value)) == value
    except ValueError:
        return False


# --- lists -------------------------------------------------------------------------------


@cache
def _query_params(service: str, route: str) -> tuple[dict[str, Any], ...]:
    operation = _app(service).openapi()["paths"][route]["get"]
    return tuple(p for p in operation.get("parameters", []) if p["in"] == "query")


def query_names(service: str, route: str) -> set[str]:
    """The names of a route's query parameters."""
    return {p["name"] for p in _query_params(service, route)}


def _choices(schema: dict[str, Any]) -> list[Any]:
    """The values an enumerated (or boolean) query parameter takes."""
    options = [schema, *schema.get("anyOf", [])]
    for option in options:
        if "enum" in option:
            return list(option["enum"])
        if "const" in option:
            return [option["const"]]
        if option.get("type") == "boolean":
            return ["true", "false"]
    return []


def list_variants(service: str, route: str, sizes: dict[str, Any]) -> list[dict[str, Any]]:
    """The queries a list is read with: as it comes, then each filter value in turn (each
    facility, each status…), each with the largest page; `sizes` fills required numbers."""
    base: dict[str, Any] = {}
    variants: list[dict[str, Any]] = []
    for param in _query_params(service, route):
        name, schema = param["name"], param["schema"]
        if name == "limit":
            base["limit"] = schema.get("maximum", 100)
        elif param.get("required"):
            base[name] = sizes[name]
        elif name == "facility":
            variants += [{name: TEST_FACILITY}, {name: OTHER_FACILITY}]
        else:
            variants += [{name: value} for value in _choices(schema)]
    return [base, *({**base, **v} for v in variants)]


def next_page(params: dict[str, Any], body: Any) -> dict[str, Any] | None:
    """The query of the page after this answer's, or None when it was the last."""
    if not isinstance(body, dict):
        return None
    if {"total", "limit", "offset"} <= body.keys():
        following = int(body["offset"]) + int(body["limit"])
        return {**params, "offset": following} if following < int(body["total"]) else None
    if "next_after" in body:
        # A feed moves past what it leaves out for the reader: a page that moved it a whole
        # `limit` on was full before it was filtered, and is not the last.
        after = int(params.get("after", 0))
        if int(body["next_after"]) - after >= int(params.get("limit", 100)):
            return {**params, "after": body["next_after"]}
    return None


def pages(world: Any, service: str, route: str, role: str, params: dict[str, Any], **who: Any):
    """Every page of a list read as `role` (one answer when it is refused)."""
    query: dict[str, Any] | None = params
    while query is not None:
        headers = world.headers(role, **who)
        response = world.clients[service].get(route, params=query, headers=headers)
        yield response
        query = next_page(query, parsed(response.text)) if response.status_code == 200 else None


def listed(world: Any, service: str, route: str, role: str, **who: Any) -> list[Any]:
    """The items of every page of a list (its `items`, or the ledger feed's `entries`)."""
    params = {"limit": 500} if service != "ledger" else {"limit": 1000}
    out: list[Any] = []
    for response in pages(world, service, route, role, params, **who):
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        out += body.get("items", body.get("entries", []))
    return out


# --- what an answer carries ----------------------------------------------------------------


def carried(text: str, case_ids: set[str], marks: list[str]) -> list[str]:
    """The case ids (in any spelling) and markers that the answer's text carries."""
    lowered = text.lower()
    found = [c for c in sorted(case_ids) if c in lowered or UUID(c).hex in lowered]
    return found + [m for m in marks if m in text]


def hidden_types(role: str, body: Any) -> list[str]:
    """The event types in a ledger answer's entries that `role` may not see."""
    return sorted({t for t in _entry_types(body) if not may_see(role, t)})


def _entry_types(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        entries = body.get("entries")
        if isinstance(entries, list):
            for entry in entries:
                event = entry.get("event") if isinstance(entry, dict) else None
                if isinstance(event, dict) and "type" in event:
                    yield str(event["type"])


def parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
