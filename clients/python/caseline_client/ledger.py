"""The ledger's HTTP routes an agency uses: checkpoints and proofs, and its cases' timelines.

A delivery withholds personal fields (a person's name, the grounds of an arrest): an agency whose
role may see them resolves them here, with its own token and a `Caseline-Purpose`, through the
ledger's `GET /cases/{case_id}/timeline` — a read checked against the same rules as any, and
recorded in the read audit. Once the case's personal data is erased, the ledger answers
`[erased]` for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from caseline_client.delivery import Delivery

__all__ = ["ERASED", "LedgerClient", "LedgerError", "Resolved"]

ERASED = "[erased]"


class LedgerError(RuntimeError):
    """The ledger refused or failed a request (`status`; `detail` from its problem details)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Resolved:
    """A delivery's withheld personal fields as the ledger now shows them to the agency."""

    ledger_seq: int
    event_id: str
    erased: bool
    fields: dict[str, Any]
    """Dotted path → value, for each field the ledger shows otherwise than the delivery did
    (`person.full_name`, `offences.0.description`); `[erased]` once erased."""
    event: dict[str, Any] = field(repr=False)
    """The event as the timeline shows it to the agency."""


class LedgerClient:
    """An agency's client of the ledger's HTTP API (`async with LedgerClient(...) as ledger`).

    `token` is the agency's bearer token, or a function giving a fresh one for each request.
    """

    def __init__(
        self,
        url: str,
        token: str | Callable[[], str],
        *,
        purpose: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.token = token
        self.purpose = purpose
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> LedgerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, purpose: str | None = None
    ) -> Any:
        """The JSON answer of a `GET`; `LedgerError` unless 2xx."""
        token = self.token() if callable(self.token) else self.token
        headers = {"Authorization": f"Bearer {token}"}
        if purpose or self.purpose:
            headers["Caseline-Purpose"] = str(purpose or self.purpose)
        response = await self.http.get(path, params=params, headers=headers)
        if not response.is_success:
            raise LedgerError(response.status_code, _detail(response))
        return response.json()

    # --- commitments --------------------------------------------------------------------------

    async def latest_checkpoint(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.get("/checkpoints/latest")
        return answer

    async def checkpoint(self, size: int) -> dict[str, Any]:
        answer: dict[str, Any] = await self.get(f"/checkpoints/{int(size)}")
        return answer

    async def inclusion(self, ledger_seq: int, tree_size: int) -> dict[str, Any]:
        """The entry's leaf hash, chain hash and audit path in the tree of `tree_size`."""
        params = {"ledger_seq": int(ledger_seq), "tree_size": int(tree_size)}
        answer: dict[str, Any] = await self.get("/proofs/inclusion", params)
        return answer

    async def consistency(self, first: int, second: int) -> dict[str, Any]:
        params = {"first": int(first), "second": int(second)}
        answer: dict[str, Any] = await self.get("/proofs/consistency", params)
        return answer

    # --- personal fields ----------------------------------------------------------------------

    async def timeline(
        self, case_id: str, *, purpose: str | None = None, **filters: Any
    ) -> dict[str, Any]:
        """`GET /cases/{case_id}/timeline` (filters: `types`, `since`, `until`, `as_of`)."""
        path = f"/cases/{quote(str(case_id), safe='')}/timeline"
        answer: dict[str, Any] = await self.get(path, filters, purpose=purpose)
        return answer

    async def resolve(self, delivery: Delivery, *, purpose: str | None = None) -> Resolved:
        """The delivery's entry as the ledger shows it to the agency now: the personal fields the
        delivery withheld, revealed (or `[erased]`). `purpose` (or the client's) is recorded
        with the read; the ledger refuses a read without one where it requires it."""
        if not (purpose or self.purpose):
            raise ValueError("resolving personal fields is a read that states its purpose")
        at = delivery.event.get("time")
        narrow = {"types": delivery.type, **({"since": at, "until": at} if at else {})}
        entry = await self._entry(delivery, purpose, narrow)
        if entry is None and at:  # the time filter did not match as given: the type alone
            entry = await self._entry(delivery, purpose, {"types": delivery.type})
        if entry is None:
            raise LedgerError(404, f"the ledger shows no entry {delivery.ledger_seq} of the case")
        shown = entry["event"]
        fields = _differences(delivery.event.get("data") or {}, shown.get("data") or {})
        erased = shown.get("personaldata") == "erased"
        return Resolved(delivery.ledger_seq, delivery.event_id, erased, fields, shown)

    async def _entry(
        self, delivery: Delivery, purpose: str | None, filters: dict[str, Any]
    ) -> dict[str, Any] | None:
        answer = await self.timeline(delivery.case_id, purpose=purpose, **filters)
        for entry in answer.get("entries", ()):
            if entry.get("ledger_seq") == delivery.ledger_seq:
                found: dict[str, Any] = entry
                return found
        return None


_MISSING = object()


def _differences(delivered: Any, shown: Any, prefix: str = "") -> dict[str, Any]:
    """Path → shown value wherever `shown` differs from `delivered` (objects and equally long
    lists of objects are walked into)."""
    out: dict[str, Any] = {}
    if isinstance(shown, dict) and isinstance(delivered, dict):
        for key, value in shown.items():
            out.update(_differences(delivered.get(key, _MISSING), value, f"{prefix}{key}."))
        return out
    if (
        isinstance(shown, list)
        and isinstance(delivered, list)
        and len(shown) == len(delivered)
        and any(isinstance(item, dict) for item in shown)
    ):
        for index, (before, after) in enumerate(zip(delivered, shown, strict=True)):
            out.update(_differences(before, after, f"{prefix}{index}."))
        return out
    if shown != delivered:
        out[prefix.removesuffix(".")] = shown
    return out


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]
