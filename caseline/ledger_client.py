"""The CLI's calls to the ledger: the caller's headers, and one reading of a refusal.

`caseline timeline`, `caseline stats` and `caseline agencies` ask the ledger over HTTP with the
person's token; a ledger that does not answer, or answers with a problem, becomes a
`LedgerRefusedError` whose message (in the CLI's language) says why.
"""

from __future__ import annotations

import sys
from typing import Any

import httpx

from shared.kit.i18n import current_language
from shared.kit.i18n import translate as _
from shared.kit.settings import Settings

__all__ = [
    "DEFAULT_LEDGER",
    "LedgerRefusedError",
    "ledger_client",
    "ledger_request",
    "ledger_url",
]

DEFAULT_LEDGER = "http://127.0.0.1:8005"


class LedgerRefusedError(Exception):
    """The ledger could not be asked, or refused: the message says why."""


def ledger_client(
    ledger_url: str, token: str, *, purpose: str | None = None, timeout: float = 60
) -> httpx.Client:
    """A client of the ledger carrying the caller's token, language and (for reads) purpose."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": current_language()}
    if purpose:
        headers["Caseline-Purpose"] = purpose
    return httpx.Client(base_url=ledger_url.rstrip("/"), headers=headers, timeout=timeout)


def ledger_request(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    label: str | None = None,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """The ledger's 2xx answer; `LedgerRefusedError` naming the call (`label`, else the path)."""
    try:
        response = http.request(method, path, params=params, json=body)
    except httpx.HTTPError as exc:
        raise LedgerRefusedError(
            _("the ledger at {url} did not answer: {error}", url=http.base_url, error=exc)
        ) from None
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail") or response.reason_phrase
        except ValueError:
            detail = response.text[:300]
        raise LedgerRefusedError(
            _(
                "the ledger refused {path} ({status}): {detail}",
                path=label or path,
                status=response.status_code,
                detail=detail,
            )
        )
    return response


def ledger_url(given: str | None) -> str | None:
    """The ledger to ask: `given` (a `--ledger` option), else the settings' `CASELINE_LEDGER_URL`,
    else the local one; None, once the reason is written to stderr, when the environment's
    settings do not read."""
    try:
        return given or Settings().ledger_url or DEFAULT_LEDGER
    except ValueError as exc:  # the environment's settings
        sys.stderr.write(f"{exc}\n")
        return None
