"""`GET /audit/cases/{case_id}`: every read of a case, across the five services, in time order.

How the ledger gets the other services' entries (decided here): it asks each service's own
`GET /audit?case_id=…` over HTTP, at the URL given in `CASELINE_SERVICE_URLS`, with the caller's
own bearer token and `Caseline-Purpose`. Each service thus checks for itself that the caller is an
auditor, and records the question in its own read audit under the auditor's name; the ledger
needs no rights of its own on the services' audits (its database role may read none of their
schemas). Its own entries it reads directly. Entries are merged by time (`at`), then service and
position, each naming its `service`.

Nothing is left out in silence: a service without a configured URL, one that does not answer, or
one that answers with an error or something that is not its audit is named under `missing` with
the reason; one with more than `MAX_PER_SERVICE` matching entries is named under `truncated`
(narrow with `since`/`until`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from fastapi import APIRouter, Request

from shared.events.registry import SERVICES
from shared.kit.audit import AUDIT_READERS, PURPOSE_HEADER, AuditLog
from shared.kit.auth import current_user
from shared.kit.clients import async_client
from shared.kit.errors import ForbiddenError, UnavailableError
from shared.kit.i18n import translate
from shared.kit.params import InstantQuery

__all__ = ["MAX_PER_SERVICE", "router"]

MAX_PER_SERVICE = 10_000
_PAGE = 1000
router = APIRouter(tags=["audit"])


class _MissingError(Exception):
    """A service's entries could not be had; the message says why."""


@router.get("/audit/cases/{case_id}")
async def case_reads(
    request: Request, case_id: UUID, since: InstantQuery = None, until: InstantQuery = None
) -> dict[str, Any]:
    """Every read of the case on every service, merged in time order (auditors only)."""
    if current_user(request).role not in AUDIT_READERS:
        raise ForbiddenError("only auditors read the read audit")
    audit: AuditLog | None = request.app.state.parts.audit
    if audit is None:
        raise UnavailableError("the read audit is not available")
    case = str(case_id)
    urls = request.app.state.settings.service_url_map()
    # The asker's language too: what a service answers (a refusal) is said in it.
    kept = ("authorization", "accept-language", PURPOSE_HEADER)
    headers = {k: v for k, v in request.headers.items() if k in kept}
    query = _query(case, since, until)
    async with async_client(timeout=10) as client:
        answers = await asyncio.gather(
            *(_entries_of(name, audit, urls.get(name), client, query, headers) for name in SERVICES)
        )
    out: dict[str, Any] = {"case_id": case, "since": _iso(since), "until": _iso(until)}
    return out | _merged(dict(zip(SERVICES, answers, strict=True)))


def _query(case: str, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    return {
        "case_id": case,
        **{k: v.isoformat() for k, v in (("since", since), ("until", until)) if v},
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _entries_of(
    name: str,
    own: AuditLog,
    url: str | None,
    client: httpx.AsyncClient,
    query: dict[str, Any],
    headers: dict[str, str],
) -> list[dict[str, Any]] | _MissingError:
    try:
        if name == "ledger":
            return await asyncio.to_thread(_own_entries, own, query)
        if url is None:
            raise _MissingError(translate("no URL configured for it (CASELINE_SERVICE_URLS)"))
        return await _asked(client, url, query, headers)
    except _MissingError as missing:
        return missing


def _own_entries(audit: AuditLog, query: dict[str, Any]) -> list[dict[str, Any]]:
    bounds = {
        k: datetime.fromisoformat(query[k]) if k in query else None for k in ("since", "until")
    }
    entries: list[dict[str, Any]] = []
    while len(entries) <= MAX_PER_SERVICE:
        after = entries[-1]["seq"] if entries else 0
        page = audit.entries(query["case_id"], None, after, _PAGE, **bounds)
        entries += page
        if len(page) < _PAGE:
            break
    return entries


async def _asked(
    client: httpx.AsyncClient, url: str, query: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    while len(entries) <= MAX_PER_SERVICE:
        params = {**query, "after": entries[-1]["seq"] if entries else 0, "limit": _PAGE}
        page = _page(await _get(client, f"{url}/audit", params, headers))
        entries += page
        if len(page) < _PAGE:
            break
    return entries


async def _get(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    try:
        response = await client.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise _MissingError(
            translate("did not answer ({error})", error=type(exc).__name__)
        ) from None
    if response.status_code != 200:
        raise _MissingError(
            translate(
                "answered {status}: {detail}", status=response.status_code, detail=_detail(response)
            )
        )
    return response


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except (ValueError, AttributeError):
        return response.text[:300]


def _page(response: httpx.Response) -> list[dict[str, Any]]:
    """A page of entries, each with the fields the merge needs; else the service is missing."""
    try:
        entries = response.json()["entries"]
        for entry in entries:
            if _at(entry).tzinfo is None:
                raise ValueError("an entry's time has no offset")
            int(entry["seq"])
    except (ValueError, KeyError, TypeError):
        raise _MissingError(
            translate("answered with something that is not its read audit")
        ) from None
    return list(entries)


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["at"]))


def _merged(answers: dict[str, list[dict[str, Any]] | _MissingError]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    missing, truncated, answered = [], [], []
    for name, answer in answers.items():
        if isinstance(answer, _MissingError):
            missing.append({"service": name, "reason": str(answer)})
            continue
        answered.append(name)
        if len(answer) > MAX_PER_SERVICE:
            truncated.append(name)
        entries += [{"service": name, **e} for e in answer[:MAX_PER_SERVICE]]
    order = {name: n for n, name in enumerate(SERVICES)}
    entries.sort(key=lambda e: (_at(e), order[e["service"]], int(e["seq"])))
    return {"entries": entries, "services": answered, "missing": missing, "truncated": truncated}
